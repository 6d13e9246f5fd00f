"""The supervisor's phone day (issue 16 item 1): the day's inbox with what a card needs to call
someone (contacts, last contact, followed up today), the counter 今日已跟进 x / y, and the three
moves besides a record: reassign (转派), snooze (暂缓) and close (结案, :func:`service.close`).

* **Today's inbox** of a day: the live items not snoozed past that day, plus the items with a
  record on that day (so a card followed up today — even one the record resolved — stays on the
  list, marked). The counter is x = those with a record on the day, y = all of them.
* **Reassign**: the item's lead becomes another user who may own tracking (a role that works a
  link, :data:`OWNER_ROLES`), who is in the actor's scope (the one scope function: an agent user
  whose agent is visible to the actor; a staff user whose every grant lies within the actor's
  scope) and who can see the item's subject. Anyone else — unknown, inactive, out of scope, not an
  owner role, blind to the subject — is refused with one and the same message (no oracle).
  The reasons routed to the old holder move with it; the escalation is reset (the new lead holds it).
* **Snooze**: until a later date (at most :data:`SNOOZE_MAX_DAYS` ahead); the item stays live (the
  daily run still carries its reasons) but leaves the inbox until then, and its due date moves to
  that date so it is not escalated meanwhile.

Every write checks the permission, then the item's visibility (out of scope: not found), then the
input; each is one transaction with an event on the item and an audit-log entry.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from zhuizong.access.actor import Actor
from zhuizong.access.scope import scope_for
from zhuizong.errors import ZhuizongError
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.models import table
from zhuizong.tracking.rules import OWNER_ROLES
from zhuizong.tracking.service import (
    LIVE,
    ListQuery,
    _get_visible,
    _me,
    _visible,
    _where,
    show_item,
)
from zhuizong.workspace import Workspace

#: the furthest a snooze may put an item off
SNOOZE_MAX_DAYS = 90


@dataclass(frozen=True)
class DayCount:
    followed: int  # items of the day's inbox with a record on the day
    total: int  # all items of the day's inbox


def day_count(ws: Workspace, actor: Actor, on: dt.date, owner: str | None = "me") -> DayCount:
    """今日已跟进 x / y for the day's inbox of ``owner`` ("me", or None: the whole scope)."""
    actor.require("view_tracking")
    engine = ws.require_ready()
    i, rec = table("track_items"), table("track_records")
    with engine.connect() as conn:
        where = _where(conn, actor, ListQuery(inbox_on=on, owner=owner), _me(conn, actor))
        total = conn.execute(select(func.count()).select_from(i).where(where)).scalar_one()
        followed = conn.execute(select(func.count()).select_from(i).where(
            where, i.c.id.in_(select(rec.c.item_id).where(rec.c.on_date == on)))).scalar_one()
    return DayCount(int(followed), int(total))


def card_facts(ws: Workspace, actor: Actor, items: list[dict[str, Any]], on: dt.date) -> dict[int, dict[str, Any]]:
    """item id → what an inbox card shows besides the item: the agent's ``phone``, ``wecom_id``
    and ``dingtalk_id`` (as imported; None when not), ``last_contact`` (ISO date of the latest
    record on any item about the same subject; None: never contacted), ``followed_today`` (a
    record on this item on ``on``) and ``snoozed_until``. Items the actor may not see are left out."""
    actor.require("view_tracking")
    if not items:
        return {}
    engine = ws.require_ready()
    i, rec, a = table("track_items"), table("track_records"), table("agents")
    ids = [x["id"] for x in items]
    out: dict[int, dict[str, Any]] = {}
    with engine.connect() as conn:
        visible = {r.id: r for r in conn.execute(
            select(i.c.id, i.c.subject_type, i.c.subject_code, i.c.snoozed_until)
            .where(i.c.id.in_(ids), _visible(scope_for(conn, actor))))}
        agents = sorted({r.subject_code for r in visible.values() if r.subject_type == "agent"})
        contacts = {r.agent_code: r for r in conn.execute(
            select(a.c.agent_code, a.c.phone, a.c.wecom_id, a.c.dingtalk_id).where(a.c.agent_code.in_(agents)))}
        subjects = sorted({r.subject_code for r in visible.values()})
        last = {(r.subject_type, r.subject_code): r.last for r in conn.execute(
            select(i.c.subject_type, i.c.subject_code, func.max(rec.c.on_date).label("last"))
            .join(rec, rec.c.item_id == i.c.id).where(i.c.subject_code.in_(subjects))
            .group_by(i.c.subject_type, i.c.subject_code))}
        today: set[int] = set(conn.execute(select(rec.c.item_id).where(rec.c.item_id.in_(list(visible)),
                                                             rec.c.on_date == on)).scalars())
    for item_id, r in visible.items():
        c = contacts.get(r.subject_code) if r.subject_type == "agent" else None
        lc = last.get((r.subject_type, r.subject_code))
        out[item_id] = {"phone": _clean(c.phone) if c else None, "wecom_id": _clean(c.wecom_id) if c else None,
                        "dingtalk_id": _clean(c.dingtalk_id) if c else None,
                        "last_contact": lc.isoformat() if lc else None, "followed_today": item_id in today,
                        "snoozed_until": r.snoozed_until.isoformat() if r.snoozed_until else None}
    return out


def _clean(v: str | None) -> str | None:
    v = (v or "").strip()
    return v or None


# --- reassign (转派) ---------------------------------------------------------------------------


def _users_in_scope(conn: Connection, actor: Actor) -> list[dict[str, Any]]:
    """Active users holding a role that owns tracking, in the actor's scope (not the actor)."""
    u, ur, g, a, o = (table("users"), table("user_roles"), table("user_scopes"), table("agents"),
                      table("org_units"))
    rows = conn.execute(select(u.c.username, u.c.display_name, u.c.agent_code, ur.c.role)
                        .join(ur, ur.c.username == u.c.username)
                        .where(u.c.is_active.is_(True), ur.c.role.in_(OWNER_ROLES))
                        .order_by(u.c.username)).all()
    users: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r.username == actor.username:
            continue
        e = users.setdefault(r.username, {"username": r.username, "display_name": r.display_name,
                                          "agent_code": r.agent_code, "roles": []})
        e["roles"].append(r.role)
    scope = scope_for(conn, actor)
    if scope.agents is None:  # the system actor: everyone
        return list(users.values())
    codes = sorted({e["agent_code"] for e in users.values() if e["agent_code"]})
    seen_agents: set[str] = set(conn.execute(select(a.c.agent_code).where(
        a.c.agent_code.in_(codes), scope.agent_filter(a.c.agent_code))).scalars()) if codes else set()
    staff = sorted(n for n, e in users.items() if not e["agent_code"])
    grants: dict[str, list[Any]] = {}
    if staff:
        for gr in conn.execute(select(g.c.username, g.c.scope_type, g.c.org_code, g.c.agent_code)
                               .where(g.c.username.in_(staff))):
            grants.setdefault(gr.username, []).append(gr)
    g_orgs = sorted({x.org_code for gs in grants.values() for x in gs if x.org_code})
    g_agents = sorted({x.agent_code for gs in grants.values() for x in gs if x.agent_code})
    seen_orgs: set[str] = set(conn.execute(select(o.c.org_code).where(
        o.c.org_code.in_(g_orgs), scope.org_filter(o.c.org_code))).scalars()) if g_orgs else set()
    seen_agents |= set(conn.execute(select(a.c.agent_code).where(
        a.c.agent_code.in_(g_agents), scope.agent_filter(a.c.agent_code))).scalars()) if g_agents else set()
    out = []
    for name, e in users.items():
        if e["agent_code"]:
            ok = e["agent_code"] in seen_agents
        else:
            gs = grants.get(name, [])
            ok = bool(gs) and all((x.org_code in seen_orgs) if x.org_code else (x.agent_code in seen_agents)
                                  for x in gs)
        if ok:
            out.append(e)
    return out


def reassign_targets(ws: Workspace, actor: Actor) -> list[dict[str, Any]]:
    """Users the actor may reassign items to (each also needs to see the item's subject, checked on
    :func:`reassign`): ``username``, ``display_name``, ``agent_code``, ``roles``."""
    actor.require("record_tracking")
    engine = ws.require_ready()
    with engine.connect() as conn:
        return _users_in_scope(conn, actor)


def _owner_code(user: dict[str, Any]) -> tuple[str, str]:
    """(owner code, owner role) of a user taking an item over: supervisors and executives who are
    agents are owners by their agent code (as :class:`tracking.owners.Responsibility` routes
    them), staff by their username."""
    roles = [r for r in OWNER_ROLES if r in user["roles"]]
    if user["agent_code"] and ({"supervisor", "executive"} & set(roles)):
        return user["agent_code"], "supervisor" if "supervisor" in roles else "executive"
    return user["username"], roles[0]


def reassign(ws: Workspace, actor: Actor, item_id: int, to: str | None,
             on_date: dt.date | None = None) -> dict[str, Any]:
    """转派: item ``item_id``'s lead becomes user ``to`` (see the module's rules)."""
    actor.require("record_tracking")
    on = on_date or dt.date.today()
    engine = ws.require_ready()
    i, rt, ev = table("track_items"), table("track_routes"), table("track_events")
    with atomic(engine) as conn:
        row = _get_visible(conn, actor, item_id)
        if row["status"] not in LIVE:
            raise ZhuizongError(f"追踪事项 {item_id} 已结束, 不能转派", f"tracking item {item_id} is over; it cannot be reassigned")
        to = (to or "").strip()
        if not to:
            raise ZhuizongError("请选择转派给谁", "choose whom to reassign to")
        target = next((e for e in _users_in_scope(conn, actor) if e["username"] == to), None)
        if target is not None:
            sees = conn.execute(select(i.c.id).where(i.c.id == item_id, _visible(scope_for(
                conn, Actor(target["username"], frozenset(target["roles"]), target["agent_code"]))))).first()
            target = target if sees is not None else None
        if target is None:
            raise ZhuizongError(f"不能转派给 {to}: 不在您的管辖范围内, 或不能负责这个事项",
                                f"cannot reassign to {to}: not in your scope, or not able to own this item")
        code, role = _owner_code(target)
        holder = row["escalated_to"] or row["owner_code"]
        if code == holder:
            raise ZhuizongError(f"这个事项已由 {target['display_name']} 负责", f"{to} already holds this item")
        status = "open" if row["status"] == "escalated" else row["status"]
        conn.execute(update(i).where(i.c.id == item_id).values(
            owner_code=code, owner_role=role, escalated_to=None, escalation_level=0, status=status))
        moved = [holder, row["owner_code"]]
        for old in {c for c in moved if c and c != code}:
            conn.execute(update(rt).where(and_(rt.c.item_id == item_id, rt.c.kind == "owner",
                                               rt.c.person == old)).values(person=code))
        detail = {"from": holder, "to": code, "user": target["username"]}
        conn.execute(ev.insert().values(item_id=item_id, on_date=on, at=audit.now(), event="reassigned",
                                        actor=actor.username, detail=json.dumps(detail, ensure_ascii=False)))
        audit.record(conn, actor=actor.username, action="track_reassign", object_type="track_item",
                     object_id=str(item_id), detail=detail)
    return show_item(ws, actor, item_id)


# --- snooze (暂缓) -----------------------------------------------------------------------------


def snooze(ws: Workspace, actor: Actor, item_id: int, until: dt.date | None,
           on_date: dt.date | None = None) -> dict[str, Any]:
    """暂缓 item ``item_id`` until ``until`` (a later day, at most :data:`SNOOZE_MAX_DAYS` ahead)."""
    actor.require("record_tracking")
    on = on_date or dt.date.today()
    engine = ws.require_ready()
    i, ev = table("track_items"), table("track_events")
    with atomic(engine) as conn:
        row = _get_visible(conn, actor, item_id)
        if row["status"] not in LIVE:
            raise ZhuizongError(f"追踪事项 {item_id} 已结束, 不能暂缓", f"tracking item {item_id} is over; it cannot be snoozed")
        if until is None:
            raise ZhuizongError("请给出暂缓到哪一天 (YYYY-MM-DD)", "give the date to snooze until (YYYY-MM-DD)")
        if until <= on:
            raise ZhuizongError("暂缓日期须晚于今天", "the snooze date must be after today")
        if until > on + dt.timedelta(days=SNOOZE_MAX_DAYS):
            raise ZhuizongError(f"最多暂缓 {SNOOZE_MAX_DAYS} 天", f"an item can be snoozed {SNOOZE_MAX_DAYS} days at most")
        conn.execute(update(i).where(i.c.id == item_id).values(
            snoozed_until=until, due_date=max(row["due_date"], until)))
        detail = {"until": until.isoformat()}
        conn.execute(ev.insert().values(item_id=item_id, on_date=on, at=audit.now(), event="snoozed",
                                        actor=actor.username, detail=json.dumps(detail)))
        audit.record(conn, actor=actor.username, action="track_snooze", object_type="track_item",
                     object_id=str(item_id), detail=detail)
    return show_item(ws, actor, item_id)


__all__ = ["SNOOZE_MAX_DAYS", "DayCount", "card_facts", "day_count", "reassign", "reassign_targets", "snooze"]
