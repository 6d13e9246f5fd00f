"""Administration (管理): users, roles and scopes, org units, settings, plans, tracking rules.

Only the ``manage_users`` permission (role ``admin``) may use these; every change goes through
the access layer (:mod:`zhuizong.access.users`), which audits it in the same transaction. Setting
changes are validated by :func:`zhuizong.settings.set_setting` and audited here. Two guards keep an
administrator from locking everyone out: they cannot deactivate themselves nor drop their own
``admin`` role.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from zhuizong.access import users as access_users
from zhuizong.access.actor import Actor
from zhuizong.errors import ConfigError, NotFound, ZhuizongError
from zhuizong.settings import SETTINGS, load_settings, set_setting
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.models import SCOPE_TYPES, table
from zhuizong.tracking.rules import load_rules
from zhuizong.workspace import Workspace

#: settings that only the deployment may change (not from a web page)
READ_ONLY_SETTINGS = frozenset({"database.url"})
MIN_PASSWORD_LENGTH = access_users.MIN_PASSWORD_LENGTH
_USERNAME_MAX = 64


def _require(actor: Actor) -> None:
    actor.require("manage_users")


# --- users -----------------------------------------------------------------------------------


def list_users(ws: Workspace, actor: Actor) -> list[access_users.UserInfo]:
    _require(actor)
    with ws.require_ready().connect() as conn:
        return access_users.list_users(conn)


def get_user(ws: Workspace, actor: Actor, username: str) -> access_users.UserInfo:
    _require(actor)
    with ws.require_ready().connect() as conn:
        return access_users.get_user(conn, username)


def create_user(ws: Workspace, actor: Actor, *, username: str, display_name: str, password: str,
                roles: list[str], agent_code: str | None = None) -> None:
    _require(actor)
    username, display_name = username.strip(), display_name.strip()
    if not username or len(username) > _USERNAME_MAX or any(c.isspace() or c in "/?#%" for c in username):
        raise ZhuizongError("用户名不能为空, 不含空格或 / ? # %, 最多 64 个字符",
                            "the username must be 1-64 characters without spaces or / ? # %")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ZhuizongError(f"初始密码至少 {MIN_PASSWORD_LENGTH} 位",
                            f"the initial password needs at least {MIN_PASSWORD_LENGTH} characters")
    with atomic(ws.require_ready()) as conn:
        access_users.create_user(conn, username, display_name or username, roles=roles,
                                 agent_code=(agent_code or "").strip() or None, password=password,
                                 actor=actor.username)


def set_roles(ws: Workspace, actor: Actor, username: str, roles: list[str]) -> None:
    _require(actor)
    if username == actor.username and "admin" not in roles:
        raise ZhuizongError("不能取消自己的管理员角色", "you cannot remove your own admin role")
    with atomic(ws.require_ready()) as conn:
        access_users.set_roles(conn, username, roles, actor=actor.username)


def set_active(ws: Workspace, actor: Actor, username: str, active: bool) -> None:
    _require(actor)
    if username == actor.username and not active:
        raise ZhuizongError("不能停用自己的账户", "you cannot deactivate your own account")
    with atomic(ws.require_ready()) as conn:
        access_users.set_active(conn, username, active, actor=actor.username)
        if not active:  # log them out everywhere
            s = table("web_sessions")
            conn.execute(s.delete().where(s.c.username == username))


def reset_password(ws: Workspace, actor: Actor, username: str, password: str) -> None:
    _require(actor)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ZhuizongError(f"密码至少 {MIN_PASSWORD_LENGTH} 位",
                            f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    with atomic(ws.require_ready()) as conn:
        access_users.set_password(conn, username, password, actor=actor.username)


def _grant(scope_type: str, code: str) -> access_users.Grant:
    code = code.strip()
    if scope_type not in SCOPE_TYPES:
        raise ZhuizongError(f"未知范围类型 {scope_type}", f"unknown scope type {scope_type}")
    if not code:
        raise ZhuizongError("请填写机构代码或工号", "enter an org code or an agent code")
    if scope_type == "org_subtree":
        return access_users.Grant(scope_type, code, None)
    return access_users.Grant(scope_type, None, code)


def grant_scope(ws: Workspace, actor: Actor, username: str, scope_type: str, code: str) -> None:
    _require(actor)
    g = _grant(scope_type, code)
    with atomic(ws.require_ready()) as conn:
        access_users.grant_scope(conn, username, g.scope_type, org_code=g.org_code,
                                 agent_code=g.agent_code, actor=actor.username)


def revoke_scope(ws: Workspace, actor: Actor, username: str, scope_type: str, code: str) -> None:
    _require(actor)
    g = _grant(scope_type, code)
    with atomic(ws.require_ready()) as conn:
        if g not in access_users.get_user(conn, username).grants:
            raise NotFound(f"用户 {username} 没有范围 {g}", f"user {username} has no scope {g}")
        access_users.revoke_scope(conn, username, g, actor=actor.username)


# --- org units -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrgNode:
    org_code: str
    org_name: str
    parent_code: str | None
    level: str | None
    depth: int
    agents: int  # agents currently placed in this unit (not below it)


def org_tree(ws: Workspace, actor: Actor) -> list[OrgNode]:
    """Every org unit in depth-first order with its depth (read-only)."""
    _require(actor)
    o, a = table("org_units"), table("agents")
    with ws.require_ready().connect() as conn:
        rows = conn.execute(select(o.c.org_code, o.c.org_name, o.c.parent_code, o.c.level)
                            .order_by(o.c.org_code)).all()
        counts: dict[str, int] = dict(conn.execute(
            select(a.c.org_code, func.count()).where(a.c.leave_date.is_(None))
            .group_by(a.c.org_code)).all())
    children: dict[str | None, list[Any]] = {}
    codes = {r.org_code for r in rows}
    for r in rows:
        parent = r.parent_code if r.parent_code in codes else None
        children.setdefault(parent, []).append(r)
    out: list[OrgNode] = []
    stack = [(r, 0) for r in reversed(children.get(None, []))]
    seen: set[str] = set()
    while stack:
        r, depth = stack.pop()
        if r.org_code in seen:  # a cycle in bad data must not loop forever
            continue
        seen.add(r.org_code)
        out.append(OrgNode(r.org_code, r.org_name, r.parent_code, r.level, depth,
                           int(counts.get(r.org_code, 0))))
        stack.extend((c, depth + 1) for c in reversed(children.get(r.org_code, [])))
    return out


# --- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingRow:
    key: str
    value: Any
    default: Any
    allowed: str
    zh: str
    en: str
    choices: tuple[str, ...]  # for a select; empty = free text
    read_only: bool
    env_override: str | None  # the environment variable that overrides the file, if set


def _choices(allowed: str) -> tuple[str, ...]:
    parts = [p.strip() for p in allowed.split("|")]
    if len(parts) > 1 and all(p and " " not in p and "<" not in p for p in parts):
        return tuple(parts)
    return ()


def list_settings(ws: Workspace, actor: Actor) -> list[SettingRow]:
    _require(actor)
    out = []
    for key, info in SETTINGS.items():
        section, name = key.split(".")
        var = f"ZHUIZONG_{section.upper()}_{name.upper()}"
        value = ws.settings.get(key)
        if key == "database.url" and value:
            from sqlalchemy.engine import make_url

            value = make_url(value).render_as_string(hide_password=True)
        out.append(SettingRow(key, value, info.default, info.allowed, info.zh, info.en,
                              _choices(info.allowed), key in READ_ONLY_SETTINGS,
                              var if var in os.environ else None))
    return out


def change_setting(ws: Workspace, actor: Actor, key: str, value: str) -> Any:
    """Validate and write ``key = value`` to the workspace's zhuizong.toml; audited. The running
    app sees it at once (other worker processes after their restart)."""
    _require(actor)
    if key not in SETTINGS:
        raise ConfigError(f"未知设置项 {key!r}", f"unknown setting {key!r}")
    if key in READ_ONLY_SETTINGS:
        raise ZhuizongError(f"设置 {key} 只能在部署时修改", f"{key} can only be changed by the deployment")
    old = ws.settings.get(key)
    typed = set_setting(ws.home, key, value.strip())
    ws.settings = load_settings(ws.home)  # not ws.reload(): keep the engine and its pool
    with atomic(ws.require_ready()) as conn:
        audit.record(conn, actor=actor.username, action="setting.set", object_type="setting",
                     object_id=key, detail={"old": old, "new": typed})
    return typed


# --- plans and rules -------------------------------------------------------------------------


def list_plans(ws: Workspace, actor: Actor, *, period: str | None = None, org_code: str | None = None,
               limit: int = 500) -> tuple[list[dict[str, Any]], int]:
    """Plan targets (read-only), newest period first; (rows, total matching)."""
    _require(actor)
    p, o = table("plans"), table("org_units")
    q = select(p.c.org_code, o.c.org_name, p.c.period, p.c.metric, p.c.target).join(
        o, o.c.org_code == p.c.org_code)
    cq = select(func.count()).select_from(p)
    if period:
        q, cq = q.where(p.c.period == period), cq.where(p.c.period == period)
    if org_code:
        q, cq = q.where(p.c.org_code == org_code), cq.where(p.c.org_code == org_code)
    with ws.require_ready().connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(
            q.order_by(p.c.period.desc(), p.c.org_code, p.c.metric).limit(limit))]
        total = int(conn.execute(cq).scalar_one())
    return rows, total


@dataclass(frozen=True)
class RulesView:
    rules: list[dict[str, Any]]
    path: Path  # the workspace rule file (may not exist)
    exists: bool
    sources: list[str]
    error: ZhuizongError | None = None


def rules_view(ws: Workspace, actor: Actor) -> RulesView:
    """The tracking rules in force (defaults overlaid with the workspace file), read-only."""
    _require(actor)
    path = ws.home / ws.settings.tracking.rules_file
    try:
        rs = load_rules(ws)
    except ZhuizongError as e:
        return RulesView([], path, path.exists(), [], e)
    rules = [{"name": r.name, "link": r.link, "subject": r.subject, "condition": r.when.text,
              "params": dict(r.params), "owner": r.owner_role, "copy_roles": list(r.copy_roles),
              "due_days": r.due_days, "priority": r.priority, "message_zh": r.message_zh,
              "message_en": r.message_en, "source": r.source} for r in rs.rules]
    return RulesView(rules, path, path.exists(), list(rs.sources))

