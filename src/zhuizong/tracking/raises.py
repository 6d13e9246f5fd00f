"""Report up (上报, issue 15 item 4): "及时解决并反馈上级" — a tracking item's holder raises what
they found to their superior, with a category and a note; the superior answers, which closes the
loop (time to answer = answered_at − raised_at).

* Only the item's holder (its lead, whom it was escalated to) or the owner of one of its reasons
  may raise it, and only while they can see the item (the one scope function). The system actor
  (CLI without ``--as``) has nobody above it and is refused.
* The superior is :meth:`Responsibility.superior` of the raiser's code for the item's subject on
  the raise date: the raiser's own supervisor when the raiser is an agent with one, else the
  executive with the next wider scope over the subject. No superior: refused.
* Only the person raised to (or an admin) answers, once, while the item is visible to them.
* Raises are listed for a user: those they raised and those raised to them (an admin, or the
  system actor: every raise on an item in scope).
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from zhuizong.access.actor import Actor
from zhuizong.access.scope import scope_for
from zhuizong.errors import NotFound, PermissionDenied, ZhuizongError
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.models import RAISE_CATEGORIES, table
from zhuizong.tracking.owners import Responsibility
from zhuizong.tracking.service import (
    RAISE_CATEGORY_EN,
    RAISE_CATEGORY_ZH,
    _get_visible,
    _me,
    _names,
    _visible,
)
from zhuizong.workspace import Workspace

NOTE_MAX = 2000


def _holders(conn: Connection, item: Any) -> set[str]:
    """Codes that hold the item: its lead (or whom it was escalated to) and its reasons' owners."""
    rt, rs = table("track_routes"), table("track_reasons")
    owners: set[str] = set(conn.execute(
        select(rt.c.person).join(rs, and_(rs.c.item_id == rt.c.item_id, rs.c.rule == rt.c.rule))
        .where(rt.c.item_id == item["id"], rt.c.kind == "owner", rs.c.active.is_(True))).scalars())
    return {c for c in (item["owner_code"], item["escalated_to"], *owners) if c}


def _supervisor_on(conn: Connection, code: str, on: dt.date) -> dict[str, str]:
    h = table("agent_history")
    sup = conn.execute(select(h.c.supervisor_code).where(
        h.c.agent_code == code, h.c.valid_from <= on,
        or_(h.c.valid_to.is_(None), h.c.valid_to > on))).scalar()
    return {code: sup} if sup else {}


def _is_admin(actor: Actor) -> bool:
    return actor.is_system or "admin" in actor.roles


def _json(r: Any, names: dict[str, str], items: dict[int, Any]) -> dict[str, Any]:
    hours = None
    if r["answered_at"] is not None:
        hours = round((r["answered_at"] - r["raised_at"]).total_seconds() / 3600, 2)
    it = items.get(r["item_id"])
    return {
        "id": r["id"], "item_id": r["item_id"], "category": r["category"],
        "category_zh": RAISE_CATEGORY_ZH.get(r["category"], r["category"]),
        "category_en": RAISE_CATEGORY_EN.get(r["category"], r["category"]),
        "note": r["note"], "raised_by": r["raised_by"], "raised_by_name": names.get(r["raised_by"], ""),
        "raised_to": r["raised_to"], "raised_to_name": names.get(r["raised_to"], ""),
        "raised_on": r["raised_on"].isoformat(), "raised_at": r["raised_at"].isoformat(timespec="seconds"),
        "answer": r["answer"], "answered_by": r["answered_by"],
        "answered_by_name": names.get(r["answered_by"] or "", ""),
        "answered_on": r["answered_on"].isoformat() if r["answered_on"] else None,
        "answered_at": r["answered_at"].isoformat(timespec="seconds") if r["answered_at"] else None,
        "open": r["answered_at"] is None, "hours_to_answer": hours,
        "subject_type": it["subject_type"] if it is not None else None,
        "subject_code": it["subject_code"] if it is not None else None,
        "subject_name": names.get(it["subject_code"], "") if it is not None else "",
    }


def _rows_json(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    i = table("track_items")
    ids = sorted({r["item_id"] for r in rows})
    items = {x["id"]: x for x in conn.execute(select(i).where(i.c.id.in_(ids))).mappings()} if ids else {}
    codes = {c for r in rows for c in (r["raised_by"], r["raised_to"], r["answered_by"]) if c}
    codes |= {x["subject_code"] for x in items.values()}
    names = _names(conn, codes)
    return [_json(r, names, items) for r in rows]


def raise_item(ws: Workspace, actor: Actor, item_id: int, category: str, note: str,
               on_date: dt.date | None = None) -> dict[str, Any]:
    """Raise item ``item_id`` to the raiser's superior (上报)."""
    actor.require("record_tracking")
    if category not in RAISE_CATEGORIES:
        raise ZhuizongError(
            f"无法识别的上报类别 {category} (可选: "
            + ", ".join(f"{c} {RAISE_CATEGORY_ZH[c]}" for c in RAISE_CATEGORIES) + ")",
            f"unknown category {category}; use {', '.join(RAISE_CATEGORIES)}")
    note = (note or "").strip()
    if not note:
        raise ZhuizongError("上报需要填写情况说明", "a raise needs a note")
    if len(note) > NOTE_MAX:
        raise ZhuizongError(f"说明过长 (最多 {NOTE_MAX} 字)", f"the note is too long (at most {NOTE_MAX} characters)")
    if actor.is_system:
        raise ZhuizongError("上报需要 --as 用户 (事项的负责人)", "raising needs --as USER (the item's holder)")
    on = on_date or dt.date.today()
    engine = ws.require_ready()
    rz, ev = table("track_raises"), table("track_events")
    now = audit.now()
    with atomic(engine) as conn:
        item = _get_visible(conn, actor, item_id)
        me = _me(conn, actor)
        mine = me & _holders(conn, item)
        if not mine:
            raise PermissionDenied(f"只有事项 {item_id} 的负责人可以上报",
                                   f"only the holder of item {item_id} may raise it")
        # the raiser's code: the agent code when the user is an agent holding it, else the username
        code = next((c for c in sorted(mine) if c != actor.username), actor.username)
        resp = Responsibility.load(conn, on, _supervisor_on(conn, code, on))
        to = resp.superior(code, item["subject_type"], item["subject_code"])
        if to is None or to in me:
            raise ZhuizongError(f"找不到 {code} 的上级, 无法上报",
                                f"no superior found above {code}; nothing to raise to")
        rid: int = conn.execute(rz.insert().values(
            item_id=item_id, raised_by=code, raised_to=to, category=category, note=note,
            raised_on=on, raised_at=now).returning(rz.c.id)).scalar_one()
        conn.execute(ev.insert().values(item_id=item_id, on_date=on, at=now, event="raised", actor=actor.username,
                                        detail=json.dumps({"raise": rid, "to": to, "category": category},
                                                          ensure_ascii=False)))
        audit.record(conn, actor=actor.username, action="track_raise", object_type="track_item",
                     object_id=str(item_id), detail={"raise": rid, "to": to, "category": category})
        row = conn.execute(select(rz).where(rz.c.id == rid)).mappings().one()
        return _rows_json(conn, [row])[0]


def answer(ws: Workspace, actor: Actor, raise_id: int, note: str,
           on_date: dt.date | None = None) -> dict[str, Any]:
    """The superior's answer (回复); closes the raise."""
    actor.require("record_tracking")
    note = (note or "").strip()
    if not note:
        raise ZhuizongError("回复需要填写内容", "an answer needs a note")
    if len(note) > NOTE_MAX:
        raise ZhuizongError(f"回复过长 (最多 {NOTE_MAX} 字)", f"the answer is too long (at most {NOTE_MAX} characters)")
    on = on_date or dt.date.today()
    engine = ws.require_ready()
    rz, ev = table("track_raises"), table("track_events")
    now = audit.now()
    with atomic(engine) as conn:
        row = conn.execute(select(rz).where(rz.c.id == raise_id)).mappings().first()
        if row is None:
            raise NotFound(f"找不到上报 {raise_id}", f"raise {raise_id} not found")
        try:
            _get_visible(conn, actor, row["item_id"])
        except NotFound:
            raise NotFound(f"找不到上报 {raise_id}", f"raise {raise_id} not found") from None
        me = _me(conn, actor)
        if row["raised_to"] not in me and not _is_admin(actor):
            raise PermissionDenied(f"只有被上报人可以回复上报 {raise_id}",
                                   f"only the person raised to may answer raise {raise_id}")
        if row["answered_at"] is not None:
            raise ZhuizongError(f"上报 {raise_id} 已回复", f"raise {raise_id} is already answered")
        who = next((c for c in sorted(me) if c == row["raised_to"]), actor.username)
        conn.execute(update(rz).where(rz.c.id == raise_id, rz.c.answered_at.is_(None)).values(
            answer=note, answered_by=who, answered_on=on, answered_at=now))
        conn.execute(ev.insert().values(item_id=row["item_id"], on_date=on, at=now, event="raise_answered",
                                        actor=actor.username, detail=json.dumps({"raise": raise_id})))
        audit.record(conn, actor=actor.username, action="track_raise_answer", object_type="track_item",
                     object_id=str(row["item_id"]), detail={"raise": raise_id})
        row = conn.execute(select(rz).where(rz.c.id == raise_id)).mappings().one()
        return _rows_json(conn, [row])[0]


def list_raises(ws: Workspace, actor: Actor, *, open_only: bool = False, to_me: bool = False,
                item_id: int | None = None) -> list[dict[str, Any]]:
    """Raises on items the actor can see: by or to the actor (an admin: all); ``to_me``: only
    those raised to the actor; ``item_id``: only that item's."""
    actor.require("view_tracking")
    engine = ws.require_ready()
    rz, i = table("track_raises"), table("track_items")
    with engine.connect() as conn:
        scope = scope_for(conn, actor)
        me = _me(conn, actor)
        stmt = select(rz).join(i, i.c.id == rz.c.item_id).where(_visible(scope))
        if to_me:
            stmt = stmt.where(rz.c.raised_to.in_(sorted(me)))
        elif item_id is None and not _is_admin(actor):
            stmt = stmt.where(or_(rz.c.raised_to.in_(sorted(me)), rz.c.raised_by.in_(sorted(me))))
        if item_id is not None:
            stmt = stmt.where(rz.c.item_id == item_id)
        if open_only:
            stmt = stmt.where(rz.c.answered_at.is_(None))
        rows = list(conn.execute(stmt.order_by(rz.c.raised_at, rz.c.id)).mappings())
        out = _rows_json(conn, rows)
    for x in out:  # the page shows the answer form only to whom may answer
        x["can_answer"] = x["open"] and (x["raised_to"] in me or _is_admin(actor))
    return out


def can_raise(ws: Workspace, actor: Actor, item: dict[str, Any]) -> bool:
    """Whether the actor holds the item (the web page shows the 上报 form only then)."""
    if actor.is_system or not actor.can("record_tracking"):
        return False
    engine = ws.require_ready()
    with engine.connect() as conn:
        return bool(_me(conn, actor) & _holders(conn, item))


def raise_stats(ws: Workspace, actor: Actor, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Raises made in [start, end] on items in scope: raised, answered, open, median hours to
    answer, and the same by category."""
    engine = ws.require_ready()
    rz, i = table("track_raises"), table("track_items")
    with engine.connect() as conn:
        scope = scope_for(conn, actor)
        rows = conn.execute(select(rz.c.category, rz.c.raised_at, rz.c.answered_at)
                            .join(i, i.c.id == rz.c.item_id)
                            .where(_visible(scope), rz.c.raised_on >= start, rz.c.raised_on <= end)).all()

    def summary(rs: list[Any]) -> dict[str, Any]:
        hours = [(r.answered_at - r.raised_at).total_seconds() / 3600 for r in rs if r.answered_at is not None]
        return {"raised": len(rs), "answered": len(hours), "open": len(rs) - len(hours),
                "median_hours_to_answer": round(statistics.median(hours), 2) if hours else None}

    out = summary(list(rows))
    out["by_category"] = {c: summary([r for r in rows if r.category == c])
                          for c in RAISE_CATEGORIES if any(r.category == c for r in rows)}
    return out


__all__ = ["NOTE_MAX", "answer", "can_raise", "list_raises", "raise_item", "raise_stats"]
