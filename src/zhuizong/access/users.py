"""Users, roles and scope grants (service). Every change is audited in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy import Connection, delete, insert, select, update

from zhuizong.access.actor import Actor
from zhuizong.errors import NotFound, ZhuizongError
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.models import ROLES, SCOPE_TYPES, table

_hasher = PasswordHash.recommended()  # Argon2id


@dataclass(frozen=True)
class Grant:
    scope_type: str
    org_code: str | None
    agent_code: str | None

    def __str__(self) -> str:
        return f"{self.scope_type}:{self.org_code or self.agent_code}"


@dataclass(frozen=True)
class UserInfo:
    username: str
    display_name: str
    agent_code: str | None
    is_active: bool
    roles: tuple[str, ...]
    grants: tuple[Grant, ...]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> tuple[bool, str | None]:
    """(valid, new hash if the stored one should be upgraded)."""
    return _hasher.verify_and_update(password, password_hash)


def _check_roles(roles: Iterable[str]) -> list[str]:
    out = sorted(set(roles))
    bad = [r for r in out if r not in ROLES]
    if bad:
        raise ZhuizongError(
            f"未知角色 {bad[0]}; 可用: {', '.join(ROLES)}",
            f"unknown role {bad[0]}; allowed: {', '.join(ROLES)}",
        )
    return out


def _exists(conn: Connection, tbl: str, col: str, value: str) -> bool:
    t = table(tbl)
    return conn.execute(select(t.c[col]).where(t.c[col] == value)).first() is not None


def create_user(
    conn: Connection,
    username: str,
    display_name: str,
    *,
    roles: Iterable[str],
    agent_code: str | None = None,
    password: str | None = None,
    actor: str = "system",
    password_hash: str | None = None,
) -> None:
    """``password_hash`` (from :func:`hash_password`) instead of ``password``: one hash for many
    users of the same password (the demo's), as each hash costs ~0.1 s on purpose."""
    roles = _check_roles(roles)
    if _exists(conn, "users", "username", username):
        raise ZhuizongError(f"用户 {username} 已存在", f"user {username} already exists")
    if agent_code and not _exists(conn, "agents", "agent_code", agent_code):
        raise NotFound(f"未知工号 {agent_code}", f"unknown agent {agent_code}")
    conn.execute(
        insert(table("users")).values(
            username=username,
            display_name=display_name,
            agent_code=agent_code,
            password_hash=hash_password(password) if password else password_hash,
            is_active=True,
        )
    )
    if roles:
        conn.execute(insert(table("user_roles")), [{"username": username, "role": r} for r in roles])
    audit.record(conn, actor=actor, action="user.create", object_type="user", object_id=username,
                 detail={"roles": roles, "agent_code": agent_code})


def set_roles(conn: Connection, username: str, roles: Iterable[str], *, actor: str = "system") -> None:
    roles = _check_roles(roles)
    _require_user(conn, username)
    t = table("user_roles")
    conn.execute(delete(t).where(t.c.username == username))
    if roles:
        conn.execute(insert(t), [{"username": username, "role": r} for r in roles])
    audit.record(conn, actor=actor, action="user.roles", object_type="user", object_id=username,
                 detail={"roles": roles})


def set_password(conn: Connection, username: str, password: str, *, actor: str = "system") -> None:
    _require_user(conn, username)
    t = table("users")
    conn.execute(update(t).where(t.c.username == username).values(password_hash=hash_password(password)))
    audit.record(conn, actor=actor, action="user.password", object_type="user", object_id=username)


def set_active(conn: Connection, username: str, active: bool, *, actor: str = "system") -> None:
    _require_user(conn, username)
    t = table("users")
    conn.execute(update(t).where(t.c.username == username).values(is_active=active))
    audit.record(conn, actor=actor, action="user.activate" if active else "user.deactivate",
                 object_type="user", object_id=username)


def grant_scope(
    conn: Connection,
    username: str,
    scope_type: str,
    *,
    org_code: str | None = None,
    agent_code: str | None = None,
    actor: str = "system",
) -> Grant:
    """Grant visibility. Granting the same scope twice is harmless."""
    _require_user(conn, username)
    if scope_type not in SCOPE_TYPES:
        raise ZhuizongError(
            f"未知范围类型 {scope_type}; 可用: {', '.join(SCOPE_TYPES)}",
            f"unknown scope type {scope_type}; allowed: {', '.join(SCOPE_TYPES)}",
        )
    if scope_type == "org_subtree":
        if not org_code or agent_code:
            raise ZhuizongError("org_subtree 需要机构代码", "org_subtree needs an org code")
        if not _exists(conn, "org_units", "org_code", org_code):
            raise NotFound(f"未知机构代码 {org_code}", f"unknown org unit {org_code}")
    else:
        if not agent_code or org_code:
            raise ZhuizongError(f"{scope_type} 需要工号", f"{scope_type} needs an agent code")
        if not _exists(conn, "agents", "agent_code", agent_code):
            raise NotFound(f"未知工号 {agent_code}", f"unknown agent {agent_code}")
    grant = Grant(scope_type, org_code, agent_code)
    if grant not in get_user(conn, username).grants:
        conn.execute(insert(table("user_scopes")).values(
            username=username, scope_type=scope_type, org_code=org_code, agent_code=agent_code))
        audit.record(conn, actor=actor, action="scope.grant", object_type="user",
                     object_id=username, detail={"scope": str(grant)})
    return grant


def revoke_scope(conn: Connection, username: str, grant: Grant, *, actor: str = "system") -> None:
    t = table("user_scopes")
    res = conn.execute(delete(t).where(
        t.c.username == username,
        t.c.scope_type == grant.scope_type,
        (t.c.org_code == grant.org_code) if grant.org_code else t.c.org_code.is_(None),
        (t.c.agent_code == grant.agent_code) if grant.agent_code else t.c.agent_code.is_(None),
    ))
    if res.rowcount:
        audit.record(conn, actor=actor, action="scope.revoke", object_type="user",
                     object_id=username, detail={"scope": str(grant)})


def _require_user(conn: Connection, username: str) -> None:
    if not _exists(conn, "users", "username", username):
        raise NotFound(f"未知用户 {username}", f"unknown user {username}")


def get_user(conn: Connection, username: str) -> UserInfo:
    u = table("users")
    row = conn.execute(select(u).where(u.c.username == username)).first()
    if row is None:
        raise NotFound(f"未知用户 {username}", f"unknown user {username}")
    r, g = table("user_roles"), table("user_scopes")
    roles: tuple[str, ...] = tuple(conn.execute(select(r.c.role).where(r.c.username == username).order_by(r.c.role)).scalars())
    grants = tuple(
        Grant(x.scope_type, x.org_code, x.agent_code)
        for x in conn.execute(select(g).where(g.c.username == username).order_by(g.c.id))
    )
    return UserInfo(row.username, row.display_name, row.agent_code, bool(row.is_active), roles, grants)


def list_users(conn: Connection) -> list[UserInfo]:
    u = table("users")
    names: list[str] = list(conn.execute(select(u.c.username).order_by(u.c.username)).scalars())
    return [get_user(conn, n) for n in names]


def load_actor(conn: Connection, username: str) -> Actor:
    """The actor for ``username``; unknown or inactive users are refused (fail closed)."""
    info = get_user(conn, username)
    if not info.is_active:
        raise NotFound(f"用户 {username} 已停用", f"user {username} is inactive")
    return Actor(username=username, roles=frozenset(info.roles), agent_code=info.agent_code)


MIN_PASSWORD_LENGTH = 8


def change_own_password(ws: Any, actor: Any, old_password: str, new_password: str) -> None:
    """A user changes their own password: the old one must be right, the new one ≥ 8 characters."""
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise ZhuizongError(f"新密码至少 {MIN_PASSWORD_LENGTH} 位", f"the new password needs at least {MIN_PASSWORD_LENGTH} characters")
    t = table("users")
    with atomic(ws.engine) as conn:
        current: str | None = conn.execute(
            select(t.c.password_hash).where(t.c.username == actor.username)).scalar()
        ok = current is not None and current != "" and verify_password(old_password, current)[0]
        if not ok:
            raise ZhuizongError("原密码不正确", "the current password is wrong")
        set_password(conn, actor.username, new_password, actor=actor.username)
