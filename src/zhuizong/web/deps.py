"""Request context for pages and the API: workspace, session, actor, language, rendering."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from zhuizong import __version__
from zhuizong.access.actor import Actor
from zhuizong.access.users import get_user, load_actor
from zhuizong.errors import ZhuizongError
from zhuizong.services.directory import Names, display_names
from zhuizong.web import i18n, security
from zhuizong.web.static_files import static_url
from zhuizong.workspace import Workspace

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.globals["version"] = __version__
TEMPLATES.env.globals["static_url"] = static_url


class LoginRequired(Exception):
    """No valid session: pages redirect to /login, the API answers 401."""


@dataclass
class Ctx:
    request: Request
    ws: Workspace
    session: security.Session
    actor: Actor
    display_name: str
    lang: str
    extra: dict[str, Any] = field(default_factory=dict)

    def t(self, key: str, **kw: object) -> str:
        return i18n.t(key, self.lang, **kw)

    @property
    def names(self) -> Names:
        """Rank and org-unit names of codes (templates: ``rank_name(code)``, ``org_name(code)``)."""
        with self.ws.engine.connect() as conn:
            return display_names(conn)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(self.request, template, {
            "ctx": self, "t": self.t, "lang": self.lang, "actor": self.actor,
            "csrf_token": security.mask_token(self.session.csrf_token), "today": dt.date.today(),
            "rank_name": lambda c: self.names.rank(c), "org_name": lambda c: self.names.org(c),
            "code_label": lambda prefix, c, sep=".": i18n.code_label(prefix, c, self.lang, sep),
            "one_lang": lambda text: i18n.one_lang(text, self.lang),
            "local_time": i18n.local_time, "metric_name": lambda m: i18n.metric_name(m, self.lang),
            **context,
        }, status_code=status_code)

    @property
    def roles(self) -> frozenset[str]:
        return self.actor.roles

    def any(self, *roles: str) -> bool:
        """True when the user holds one of ``roles`` (for menus; services still check)."""
        return bool(self.actor.roles & set(roles))


def workspace(request: Request) -> Workspace:
    return request.app.state.ws  # type: ignore[no-any-return]


def _ctx(request: Request) -> Ctx:
    ws = workspace(request)
    sess = getattr(request.state, "session", None) or security.session_for(
        ws, request.cookies.get(security.COOKIE))
    if sess is None:
        raise LoginRequired()
    with ws.engine.connect() as conn:
        try:
            actor = load_actor(conn, sess.username)
            info = get_user(conn, sess.username)
        except ZhuizongError:
            raise LoginRequired() from None
    return Ctx(request, ws, sess, actor, info.display_name, sess.lang)


def page_ctx(request: Request) -> Ctx:
    """For pages: a logged-in user, else a redirect to the login page."""
    return _ctx(request)


def api_ctx(request: Request) -> Ctx:
    """For the API: a logged-in user (session cookie), else 401."""
    try:
        return _ctx(request)
    except LoginRequired:
        request.state.api = True
        raise
