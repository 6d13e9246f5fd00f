"""The FastAPI application: middleware, error pages, login/logout/language/account, routers."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import cookie_parser

from zhuizong import __version__
from zhuizong.access.users import change_own_password
from zhuizong.common.cache import request_scope
from zhuizong.errors import NotFound, PermissionDenied, ZhuizongError
from zhuizong.kpi import results
from zhuizong.services import uploads
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.web import i18n, security
from zhuizong.web.deps import TEMPLATES, Ctx, LoginRequired, page_ctx, workspace
from zhuizong.web.pages import register
from zhuizong.web.pages.me import home_of
from zhuizong.web.static_files import StaticAssets
from zhuizong.workspace import Workspace

STATIC = Path(__file__).with_name("static")
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "public, max-age=86400")
        else:
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def csrf_guard(request: Request) -> None:
    """Refuse cross-origin and token-less state changes (see :mod:`zhuizong.web.security`)."""
    if request.method not in security.UNSAFE_METHODS:
        return
    host = request.headers.get("host")
    if not security.same_origin(request.headers.get("origin"), request.headers.get("referer"),
                                host, request.url.scheme):
        raise PermissionDenied("跨站请求被拒绝 (CSRF)", "cross-origin request refused (CSRF)")
    token = request.headers.get("x-csrf-token")
    ws = workspace(request)
    ctype = request.headers.get("content-type", "")
    is_login = request.url.path == "/login"
    # the session (looked up by BodyLimit already) before a byte of a form is read: an anonymous
    # or forged-cookie request never gets its body parsed
    sess = request.scope.get("state", {}).get(BODY_LIMIT_SESSION, _UNSET)
    if sess is _UNSET:
        sess = security.session_for(ws, request.cookies.get(security.COOKIE))
    if not is_login and sess is None:
        raise LoginRequired()
    if token is None and ctype.startswith("multipart/form-data"):
        # the token is inside the body: refuse an oversized upload before parsing any of it
        limit = ws.settings.import_.max_file_mb * 1024 * 1024 + 1024 * 1024
        length = request.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > limit:
            raise HTTPException(status_code=413, detail="upload too large or without Content-Length")
    if token is None and ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        v = form.get("csrf_token")
        token = v if isinstance(v, str) else None
    if is_login:
        if not security.tokens_match(token, request.cookies.get(security.LOGIN_CSRF_COOKIE)):
            raise PermissionDenied("登录表单已过期, 请刷新页面", "login form expired; reload the page")
        return
    assert isinstance(sess, security.Session)
    request.state.session = sess  # read once per request: deps.page_ctx/api_ctx reuse it
    if not security.tokens_match(token, sess.csrf_token):
        raise PermissionDenied("缺少或错误的 CSRF 令牌", "missing or wrong CSRF token")


#: the largest id a path may name: ids are 64-bit integers in both databases (SQLite refuses a
#: larger Python int with OverflowError, PostgreSQL with an out-of-range error: both were a 500)
MAX_ID = 2**62


def ids_in_range(request: Request) -> None:
    """A path id (``item_id``, ``raise_id`` …) too large to be stored names nothing: 404, as a
    missing id, before any route looks it up."""
    for name, value in request.path_params.items():
        if name.endswith("_id") and isinstance(value, str) and value.isdigit() and int(value) >= MAX_ID:
            raise NotFound(f"找不到 {value}", f"{value} not found")


#: what a driver says when the disk is full / the database cannot be written (as the CLI's
#: ``cli.main._DISK_FULL_WORDS`` / ``_READ_ONLY_WORDS``: SQLite and PostgreSQL messages)
_FULL_WORDS = ("database or disk is full", "no space left on device", "disk full", "could not extend file")
_READ_ONLY_WORDS = ("attempt to write a readonly database", "read-only transaction",
                    "read-only file system", "readonly database")


def storage_problem(exc: BaseException) -> str | None:
    """"full", "read_only" or None for a database error (its chain of causes included)."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        text = str(e).lower()
        if any(w in text for w in _FULL_WORDS):
            return "full"
        if any(w in text for w in _READ_ONLY_WORDS):
            return "read_only"
        e = e.__cause__ or e.__context__ or getattr(e, "orig", None)
    return None


def _safe_next(path: str | None) -> str:
    if not path or not path.startswith("/") or path.startswith("//") or urlsplit(path).netloc:
        return "/"
    return path


#: bodies without a valid session (the login form is a few hundred bytes)
ANONYMOUS_BODY_BYTES = 64 * 1024
#: bodies of signed-in requests other than file uploads (forms, API JSON)
SIGNED_IN_BODY_BYTES = 1024 * 1024
#: routes that receive an import file: limited by ``import.max_file_mb`` (+ multipart overhead)
UPLOAD_PATHS = frozenset({"/imports/upload"})
#: key in the request's state: the session BodyLimit looked up (None: no valid session)
BODY_LIMIT_SESSION = "body_limit_session"
_UNSET = object()


def body_limit(ws: Workspace, path: str, signed_in: bool) -> int:
    """The largest request body accepted on ``path`` (bytes), decided before a byte is read."""
    if not signed_in:
        return ANONYMOUS_BODY_BYTES
    if path in UPLOAD_PATHS:
        return uploads.max_bytes(ws) + uploads.OVERHEAD_BYTES
    return SIGNED_IN_BODY_BYTES


def _cookie(headers: dict[bytes, bytes], name: str) -> str | None:
    raw = headers.get(b"cookie")
    return cookie_parser(raw.decode("latin-1")).get(name) if raw else None


class BodyLimit:
    """Refuse an over-size request body with 413 *before* anything reads or parses it, on every
    route, authenticated or not (FastAPI parses a JSON or form body before the dependencies that
    check the session run). "Signed in" means a valid session, looked up here (a forged cookie
    gets the anonymous limit); the session is handed on to :func:`csrf_guard`. The declared
    ``Content-Length`` decides; a body without one (chunked) is counted as it arrives: the
    message that passes the limit answers 413 at once and the app's own answer (FastAPI turns the
    interrupted read into "400 error parsing the body") is dropped. Pure ASGI: nothing buffered."""

    def __init__(self, app: Any, ws: Workspace) -> None:
        self.app = app
        self.ws = ws

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in security.UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        token = _cookie(headers, security.COOKIE)
        sess = await run_in_threadpool(security.session_for, self.ws, token) if token else None
        scope.setdefault("state", {})[BODY_LIMIT_SESSION] = sess
        limit = body_limit(self.ws, scope.get("path", ""), sess is not None)
        length = headers.get(b"content-length", b"").decode("latin-1").strip()
        if length and (not length.isdigit() or int(length) > limit):
            await self._refuse(scope, headers, send, limit)
            return
        received = 0
        started = refused = False

        async def counted() -> Any:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started and not refused:
                        refused = True
                        await self._refuse(scope, headers, send, limit)
                    raise _BodyTooLarge()
            return message

        async def watch(message: Any) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent: whatever the app answers to the cut body is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except _BodyTooLarge:
            pass
        except BaseExceptionGroup as group:  # raised inside a middleware's task group
            too_large, rest = group.split(_BodyTooLarge)
            if too_large is None:
                raise
            if rest is not None:
                raise rest from None

    async def _refuse(self, scope: Any, headers: dict[bytes, bytes], send: Any, limit: int) -> None:
        mb = f"{limit / (1024 * 1024):.2f}".rstrip("0").rstrip(".")
        zh = f"请求内容过大: 上限 {mb} MB"
        en = f"request body too large: the limit is {mb} MB"
        if scope.get("path", "").startswith("/api/"):
            body = json.dumps({"detail": en, "detail_zh": zh}, ensure_ascii=False).encode()
            ctype = b"application/json"
        else:  # one language, as every screen: the visitor's language cookie, else the default
            lang = _cookie(headers, security.LANG_COOKIE)
            lang = lang if lang in i18n.LANGS else self.ws.settings.web.default_lang
            body = (en if lang == "en" else zh).encode()
            ctype = b"text/plain; charset=utf-8"
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


class OneDataVersion:
    """Each HTTP request reads KPI results of one data version (``results.one_version``):
    one version check per page, not one per result; values marked per request (the user's
    visible org units) are read once (``common.cache.request_scope``). Pure ASGI: the request's context (with the
    pinned version) is copied into the threads that run its endpoint and dependencies."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with results.one_version(), request_scope():
            await self.app(scope, receive, send)


def create_app(ws: Workspace) -> FastAPI:
    ws.require_ready()
    app = FastAPI(title="zhuizong API", version=__version__, openapi_url="/api/openapi.json",
                  docs_url=None, redoc_url=None, dependencies=[Depends(csrf_guard), Depends(ids_in_range)],
                  description="追踪 zhuizong: agency KPIs and tracking. Authenticate with the "
                              "session cookie from /login; send X-CSRF-Token on changes.")
    app.state.ws = ws
    # pages and API answers compressed (their CSRF token is masked per response: BREACH); static
    # files come compressed already (StaticAssets sets Content-Encoding, left as it is)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(StaticAssets)  # static files: gzip, hashed URLs, favicon (web/static_files.py)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(OneDataVersion)
    app.add_middleware(BodyLimit, ws=ws)  # outermost: before any other code sees the body
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    def lang_of(request: Request) -> str:
        c = request.cookies.get(security.LANG_COOKIE)
        return c if c in i18n.LANGS else ws.settings.web.default_lang

    def error_page(request: Request, status: int, zh: str, en: str) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": en, "detail_zh": zh}, status_code=status)
        lang = lang_of(request)
        return TEMPLATES.TemplateResponse(request, "error.html", {
            "t": lambda k, **kw: i18n.t(k, lang, **kw), "lang": lang, "status": status,
            "message": en if lang == "en" else zh, "ctx": None}, status_code=status)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if _is_api(request) or request.method != "GET":
            return JSONResponse({"detail": "login required", "detail_zh": "请先登录"}, status_code=401)
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return error_page(request, 404, exc.zh, exc.en)

    @app.exception_handler(PermissionDenied)
    async def _denied(request: Request, exc: PermissionDenied) -> Response:
        sess = security.session_for(ws, request.cookies.get(security.COOKIE))
        with atomic(ws.engine) as conn:
            audit.record(conn, actor=sess.username if sess else "anonymous", action="web.denied",
                         object_type="route", object_id=f"{request.method} {request.url.path}"[:200],
                         detail={"reason": exc.en})
        return error_page(request, 403, exc.zh, exc.en)

    @app.exception_handler(ZhuizongError)
    async def _bad_request(request: Request, exc: ZhuizongError) -> Response:
        return error_page(request, 400, exc.zh, exc.en)

    @app.exception_handler(DBAPIError)
    async def _storage(request: Request, exc: DBAPIError) -> Response:
        # a database that cannot take the write (the transaction was rolled back: nothing saved)
        kind = storage_problem(exc)
        if kind == "full":
            return error_page(request, 507, "磁盘已满, 未保存任何更改: 请联系管理员释放空间",
                              "the disk is full: nothing was saved; ask the administrator to free space")
        if kind == "read_only":
            return error_page(request, 503, "数据库只读, 未保存任何更改",
                              "the database is read-only: nothing was saved")
        raise exc

    @app.exception_handler(404)
    async def _404(request: Request, exc: Exception) -> Response:
        return error_page(request, 404, "找不到该页面或无权查看", "not found")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # pages (the API answers its own 422 JSON, web/api.py): a malformed path names no page
        # (404, as an unknown route); a malformed query or form field is a clean 400 page
        errors = exc.errors()
        if any(e.get("loc", ("",))[0] == "path" for e in errors):
            return error_page(request, 404, "找不到该页面或无权查看", "not found")
        fields = ", ".join(sorted({str(e.get("loc", ("", "?"))[-1]) for e in errors}))
        return error_page(request, 400, f"请求参数有误: {fields}", f"invalid request: {fields}")

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> Response:
        # a number from the request too large for the database (a form field that is an id)
        return error_page(request, 400, "请求中的数字超出范围", "a number in the request is out of range")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, next: str = "/", error: str | None = None) -> Response:
        import secrets

        lang = lang_of(request)
        token = secrets.token_urlsafe(32)
        resp = TEMPLATES.TemplateResponse(request, "login.html", {
            "t": lambda k, **kw: i18n.t(k, lang, **kw), "lang": lang, "next": _safe_next(next),
            "error": error, "login_csrf": security.mask_token(token), "ctx": None})
        resp.set_cookie(security.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=security.cookie_secure(ws, request.url.scheme, request.headers.get("host")),
                        path="/login")
        return resp

    @app.post("/login", include_in_schema=False)
    def login_submit(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()],
                     next: Annotated[str, Form()] = "/") -> Response:
        ip = request.client.host if request.client else None
        result, token = security.login(ws, username, password, ip)
        lang = lang_of(request)
        if result == security.LoginResult.LOCKED:
            return TEMPLATES.TemplateResponse(request, "login.html", {
                "t": lambda k, **kw: i18n.t(k, lang, **kw), "lang": lang, "next": _safe_next(next),
                "error": i18n.t("locked", lang), "login_csrf": security.mask_token(request.cookies.get(security.LOGIN_CSRF_COOKIE, "")),
                "ctx": None}, status_code=429)
        if result != security.LoginResult.OK or token is None:
            return TEMPLATES.TemplateResponse(request, "login.html", {
                "t": lambda k, **kw: i18n.t(k, lang, **kw), "lang": lang, "next": _safe_next(next),
                "error": i18n.t("bad_login", lang), "login_csrf": security.mask_token(request.cookies.get(security.LOGIN_CSRF_COOKIE, "")),
                "ctx": None}, status_code=401)
        resp = RedirectResponse(_safe_next(next), status_code=303)
        resp.set_cookie(security.COOKIE, token, httponly=True, samesite="lax",
                        secure=security.cookie_secure(ws, request.url.scheme, request.headers.get("host")),
                        max_age=ws.settings.web.session_hours * 3600, path="/")
        resp.delete_cookie(security.LOGIN_CSRF_COOKIE, path="/login")
        return resp

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        security.logout(ws, request.cookies.get(security.COOKIE))
        resp = RedirectResponse("/login", status_code=303)
        resp.delete_cookie(security.COOKIE, path="/")
        return resp

    @app.get("/lang/{code}", include_in_schema=False)
    def switch_lang(request: Request, code: str, back: str = "/") -> Response:
        code = code if code in i18n.LANGS else "zh"
        sess = security.session_for(ws, request.cookies.get(security.COOKIE))
        if sess is not None:
            security.set_lang(ws, sess, code)
        resp = RedirectResponse(_safe_next(back), status_code=303)
        resp.set_cookie(security.LANG_COOKIE, code, samesite="lax", max_age=365 * 86400, path="/")
        return resp

    @app.get("/", include_in_schema=False)
    def home(ctx: Annotated[Ctx, Depends(page_ctx)]) -> Response:
        return RedirectResponse(home_of(ctx), status_code=303)  # each role's home: pages/me.py

    @app.get("/account", response_class=HTMLResponse, include_in_schema=False)
    def account(ctx: Annotated[Ctx, Depends(page_ctx)], saved: int = 0, error: str | None = None) -> Response:
        return ctx.render("account.html", saved=bool(saved), error=error)

    @app.post("/account/password", include_in_schema=False)
    def change_password(ctx: Annotated[Ctx, Depends(page_ctx)], old_password: Annotated[str, Form()],
                        new_password: Annotated[str, Form()]) -> Response:
        try:
            change_own_password(ctx.ws, ctx.actor, old_password, new_password)
        except ZhuizongError as e:
            return ctx.render("account.html", saved=False, error=e.en if ctx.lang == "en" else e.zh,
                              status_code=400)
        security.end_sessions(ctx.ws, ctx.actor.username, keep=ctx.session.token_hash)
        return RedirectResponse("/account?saved=1", status_code=303)

    register(app)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (several workers): the workspace from ``ZHUIZONG_HOME``."""
    return create_app(Workspace.open(os.environ.get("ZHUIZONG_HOME")))
