"""Explicit staff assignments of tracking links (追踪分工): role × org unit → staff user.

By default a staff user owns their link for the agents of the org units granted to them (``users
grant USER --org CODE``); an assignment refines that: for the unit and everything below it, the
assigned user owns the role's link, and the nearest assignment at or above a subject's unit wins.
Managed by admins through ``zhuizong track assign``, the admin page ``/tracking/assignments`` and
the import kind ``track_assignments``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from zhuizong.access.actor import Actor
from zhuizong.access.scope import scope_for
from zhuizong.access.users import load_actor
from zhuizong.errors import NotFound, ZhuizongError
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.models import ASSIGNABLE_ROLES, table
from zhuizong.workspace import Workspace

ROLE_ZH = {"supervisor": "主管", "trainer": "组训", "training": "培训", "assessment": "考核",
           "campaign": "方案", "executive": "营销干部"}


def assign(ws: Workspace, actor: Actor, role: str, org_code: str, username: str) -> dict[str, Any]:
    """Assign ``username`` to work ``role``'s link for ``org_code`` and below (replaces the unit's
    previous assignment of that role)."""
    actor.require("manage_users")
    if role not in ASSIGNABLE_ROLES:
        raise ZhuizongError(f"角色应为 {', '.join(ASSIGNABLE_ROLES)} 之一",
                            f"role must be one of {', '.join(ASSIGNABLE_ROLES)}")
    ta, o, u, r = table("track_assignments"), table("org_units"), table("users"), table("user_roles")
    with atomic(ws.require_ready()) as conn:
        if conn.execute(select(o.c.org_code).where(o.c.org_code == org_code)).scalar() is None:
            raise NotFound(f"未知机构代码 {org_code}", f"unknown org unit {org_code}")
        if conn.execute(select(u.c.username).where(u.c.username == username)).scalar() is None:
            raise NotFound(f"未知用户 {username}", f"unknown user {username}")
        has = conn.execute(select(r.c.role).where(r.c.username == username, r.c.role == role)).scalar()
        if has is None:
            raise ZhuizongError(f"用户 {username} 没有 {ROLE_ZH[role]} ({role}) 角色, 不能分配该环节",
                                f"user {username} does not hold the role {role}")
        scope = scope_for(conn, load_actor(conn, username))
        if scope.orgs is not None and conn.execute(
                select(o.c.org_code).where(o.c.org_code == org_code, scope.org_filter(o.c.org_code))).scalar() is None:
            raise ZhuizongError(f"机构 {org_code} 不在用户 {username} 的数据范围内, 请先授权 (users grant {username} --org {org_code})",
                                f"org unit {org_code} is outside {username}'s scope; grant it first "
                                f"(users grant {username} --org {org_code})")
        conn.execute(delete(ta).where(ta.c.role == role, ta.c.org_code == org_code))
        conn.execute(ta.insert().values(role=role, org_code=org_code, username=username))
        audit.record(conn, actor=actor.username, action="track_assign", object_type="org_unit",
                     object_id=org_code, detail={"role": role, "username": username})
    return {"role": role, "org_code": org_code, "username": username}


def unassign(ws: Workspace, actor: Actor, role: str, org_code: str) -> bool:
    actor.require("manage_users")
    ta = table("track_assignments")
    with atomic(ws.require_ready()) as conn:
        n = conn.execute(delete(ta).where(ta.c.role == role, ta.c.org_code == org_code)).rowcount
        if n:
            audit.record(conn, actor=actor.username, action="track_unassign", object_type="org_unit",
                         object_id=org_code, detail={"role": role})
    return bool(n)


def assignments(ws: Workspace, actor: Actor) -> list[dict[str, Any]]:
    actor.require("manage_users")
    ta, o, u = table("track_assignments"), table("org_units"), table("users")
    with ws.require_ready().connect() as conn:
        rows = conn.execute(
            select(ta.c.role, ta.c.org_code, o.c.org_name, ta.c.username, u.c.display_name)
            .join(o, o.c.org_code == ta.c.org_code).join(u, u.c.username == ta.c.username)
            .order_by(ta.c.org_code, ta.c.role)).all()
    return [{"role": r.role, "role_zh": ROLE_ZH.get(r.role, r.role), "org_code": r.org_code,
             "org_name": r.org_name, "username": r.username, "display_name": r.display_name}
            for r in rows]


__all__ = ["ROLE_ZH", "assign", "assignments", "unassign"]
