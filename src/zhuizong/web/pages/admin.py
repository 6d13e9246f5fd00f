"""Administration (管理), for the ``admin`` role only (everyone else: 403): users, roles and scopes,
org units, settings, plans and the tracking rule configuration. Thin over
:mod:`zhuizong.services.admin`, which checks the permission and audits every change."""

from __future__ import annotations

import errno
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhuizong.errors import ZhuizongError
from zhuizong.services import admin as svc
from zhuizong.store.models import ROLES, SCOPE_TYPES
from zhuizong.web.deps import Ctx, page_ctx

router = APIRouter(include_in_schema=False)


def _admin_ctx(ctx: Annotated[Ctx, Depends(page_ctx)]) -> Ctx:
    ctx.actor.require("manage_users")
    return ctx


AdminCtx = Annotated[Ctx, Depends(_admin_ctx)]


def _msg(ctx: Ctx, e: ZhuizongError) -> str:
    return e.en if ctx.lang == "en" else e.zh


def _user_url(username: str, **q: str) -> str:
    qs = "&".join(f"{k}={quote(v)}" for k, v in q.items())
    return f"/admin/users/{quote(username, safe='')}" + (f"?{qs}" if qs else "")


@router.get("/admin", response_class=HTMLResponse)
def admin_home(ctx: AdminCtx) -> Response:
    return RedirectResponse("/admin/users", status_code=303)


# --- users -----------------------------------------------------------------------------------


def _users_page(ctx: Ctx, *, error: str | None = None, form: dict[str, object] | None = None,
                status_code: int = 200) -> Response:
    return ctx.render("admin/users.html", tab="users", users=svc.list_users(ctx.ws, ctx.actor),
                      roles=ROLES, error=error, form=form or {}, status_code=status_code,
                      min_password=svc.MIN_PASSWORD_LENGTH)


@router.get("/admin/users", response_class=HTMLResponse)
def users(ctx: AdminCtx) -> Response:
    return _users_page(ctx)


@router.post("/admin/users")
async def create_user(request: Request, ctx: AdminCtx) -> Response:
    form = await request.form()
    text = {k: v for k, v in form.items() if isinstance(v, str)}
    roles = [r for r in form.getlist("roles") if isinstance(r, str)]
    try:
        svc.create_user(ctx.ws, ctx.actor, username=text.get("username", ""),
                        display_name=text.get("display_name", ""), password=text.get("password", ""),
                        roles=roles, agent_code=text.get("agent_code") or None)
    except ZhuizongError as e:
        if type(e).__name__ == "PermissionDenied":
            raise
        keep = {k: text.get(k, "") for k in ("username", "display_name", "agent_code")}
        return _users_page(ctx, error=_msg(ctx, e), form={**keep, "roles": roles}, status_code=400)
    return RedirectResponse(_user_url(text.get("username", "").strip(), saved="created"), status_code=303)


def _user_page(ctx: Ctx, username: str, *, saved: str | None = None, error: str | None = None,
               status_code: int = 200) -> Response:
    info = svc.get_user(ctx.ws, ctx.actor, username)  # NotFound -> 404
    return ctx.render("admin/user.html", tab="users", u=info, roles=ROLES, scope_types=SCOPE_TYPES,
                      saved=saved, error=error, status_code=status_code,
                      min_password=svc.MIN_PASSWORD_LENGTH, is_self=username == ctx.actor.username)


@router.get("/admin/users/{username}", response_class=HTMLResponse)
def user(ctx: AdminCtx, username: str, saved: str | None = None) -> Response:
    return _user_page(ctx, username, saved=saved)


def _change(ctx: Ctx, username: str, what: str, fn, *args) -> Response:  # type: ignore[no-untyped-def]
    try:
        fn(ctx.ws, ctx.actor, username, *args)
    except ZhuizongError as e:
        if type(e).__name__ in ("PermissionDenied",) or (
                type(e).__name__ == "NotFound" and what != "scope"):
            raise
        return _user_page(ctx, username, error=_msg(ctx, e), status_code=400)
    return RedirectResponse(_user_url(username, saved=what), status_code=303)


@router.post("/admin/users/{username}/roles")
async def set_roles(request: Request, ctx: AdminCtx, username: str) -> Response:
    form = await request.form()
    roles = [r for r in form.getlist("roles") if isinstance(r, str)]
    svc.get_user(ctx.ws, ctx.actor, username)  # unknown user: 404
    return _change(ctx, username, "roles", svc.set_roles, roles)


@router.post("/admin/users/{username}/grant")
def grant(ctx: AdminCtx, username: str, scope_type: Annotated[str, Form()],
          code: Annotated[str, Form()]) -> Response:
    svc.get_user(ctx.ws, ctx.actor, username)
    return _change(ctx, username, "scope", svc.grant_scope, scope_type, code)


@router.post("/admin/users/{username}/revoke")
def revoke(ctx: AdminCtx, username: str, scope_type: Annotated[str, Form()],
           code: Annotated[str, Form()]) -> Response:
    svc.get_user(ctx.ws, ctx.actor, username)
    return _change(ctx, username, "scope", svc.revoke_scope, scope_type, code)


@router.post("/admin/users/{username}/active")
def set_active(ctx: AdminCtx, username: str, active: Annotated[str, Form()]) -> Response:
    svc.get_user(ctx.ws, ctx.actor, username)
    return _change(ctx, username, "active", svc.set_active, active == "1")


@router.post("/admin/users/{username}/password")
def reset_password(ctx: AdminCtx, username: str, password: Annotated[str, Form()]) -> Response:
    svc.get_user(ctx.ws, ctx.actor, username)
    return _change(ctx, username, "password", svc.reset_password, password)


# --- org units, settings, plans, rules ---------------------------------------------------------


@router.get("/admin/orgs", response_class=HTMLResponse)
def orgs(ctx: AdminCtx) -> Response:
    return ctx.render("admin/orgs.html", tab="orgs", nodes=svc.org_tree(ctx.ws, ctx.actor))


def _settings_page(ctx: Ctx, *, saved: str | None = None, error: str | None = None,
                   error_key: str | None = None, status_code: int = 200) -> Response:
    return ctx.render("admin/settings.html", tab="settings", rows=svc.list_settings(ctx.ws, ctx.actor),
                      saved=saved, error=error, error_key=error_key, status_code=status_code,
                      settings_file=ctx.ws.home / "zhuizong.toml")


@router.get("/admin/settings", response_class=HTMLResponse)
def settings(ctx: AdminCtx, saved: str | None = None) -> Response:
    return _settings_page(ctx, saved=saved)


@router.post("/admin/settings")
def change_setting(ctx: AdminCtx, key: Annotated[str, Form()], value: Annotated[str, Form()] = "") -> Response:
    try:
        svc.change_setting(ctx.ws, ctx.actor, key, value)
    except ZhuizongError as e:
        if type(e).__name__ == "PermissionDenied":
            raise
        return _settings_page(ctx, error=_msg(ctx, e), error_key=key, status_code=400)
    except OSError as e:  # a full disk, a read-only workspace: the page says so, nothing changed
        where = ctx.ws.home / "zhuizong.toml"
        if e.errno == errno.ENOSPC:
            err = ZhuizongError(f"磁盘已满, 无法写入 {where}; 设置未改", f"the disk is full: cannot write {where}; "
                                "the setting is unchanged")
        else:
            err = ZhuizongError(f"无法写入 {where} ({e.strerror}); 设置未改",
                                f"cannot write {where} ({e.strerror}); the setting is unchanged")
        return _settings_page(ctx, error=_msg(ctx, err), error_key=key,
                              status_code=507 if e.errno == errno.ENOSPC else 500)
    return RedirectResponse(f"/admin/settings?saved={quote(key)}#s-{quote(key)}", status_code=303)


@router.get("/admin/plans", response_class=HTMLResponse)
def plans(ctx: AdminCtx, period: str | None = None, org: str | None = None) -> Response:
    rows, total = svc.list_plans(ctx.ws, ctx.actor, period=(period or "").strip() or None,
                                 org_code=(org or "").strip() or None)
    return ctx.render("admin/plans.html", tab="plans", rows=rows, total=total, period=period or "",
                      org=org or "")


@router.get("/admin/rules", response_class=HTMLResponse)
def rules(ctx: AdminCtx) -> Response:
    view = svc.rules_view(ctx.ws, ctx.actor)
    return ctx.render("admin/rules.html", tab="rules", view=view,
                      error=_msg(ctx, view.error) if view.error else None)
