"""Scoped tracking services: list, show, record, close and daily digests.

Every read goes through the one scope function: an actor sees an item only when its subject (an
agent, or an org unit) is in the actor's scope; anything else answers "not found". Records are
append-only: a correction is a new record that names the one it corrects.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select, update

from zhuizong.access.actor import Actor
from zhuizong.access.scope import Scope, scope_for
from zhuizong.errors import NotFound, ZhuizongError
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.models import TRACK_METHODS, TRACK_OUTCOMES, table
from zhuizong.workspace import Workspace

LIVE = ("open", "recorded", "escalated")
STATUS_FILTERS = ("open", "done", "escalated", "all")
LINK_ZH = {"campaign": "方案追踪", "supervisor": "主管追踪", "executive": "营销干部追踪",
           "training": "培训追踪", "coaching": "组训追踪", "assessment": "考核晋升追踪"}
METHOD_ZH = {"phone": "电话", "wechat": "微信", "face_to_face": "面谈", "accompany": "陪访", "other": "其他"}
OUTCOME_ZH = {"contacted": "已沟通", "committed": "已承诺", "resolved": "已解决", "no_answer": "未联系上",
              "refused": "拒绝", "other": "其他"}
LINK_EN = {"campaign": "Campaign", "supervisor": "Supervisor", "executive": "Executive",
           "training": "Training", "coaching": "Coaching", "assessment": "Assessment"}
METHOD_EN = {"phone": "Phone", "wechat": "WeChat", "face_to_face": "Face to face",
             "accompany": "Joint visit", "other": "Other"}
OUTCOME_EN = {"contacted": "Contacted", "committed": "Committed", "resolved": "Resolved",
              "no_answer": "No answer", "refused": "Refused", "other": "Other"}
#: categories of a raise (上报, store.models.RAISE_CATEGORIES)
RAISE_CATEGORY_ZH = {"attitude": "心态", "family": "家庭", "complaint": "客户投诉", "health": "健康",
                     "resource": "需要支持", "other": "其他"}
RAISE_CATEGORY_EN = {"attitude": "Mindset", "family": "Family", "complaint": "Customer complaint",
                     "health": "Health", "resource": "Support needed", "other": "Other"}


def _visible(scope: Scope):  # type: ignore[no-untyped-def]
    i = table("track_items")
    return or_(and_(i.c.subject_type == "agent", scope.agent_filter(i.c.subject_code)),
               and_(i.c.subject_type == "org", scope.org_filter(i.c.subject_code)))


def _me(conn: Connection, actor: Actor) -> set[str]:
    if actor.is_system:
        return set()
    u = table("users")
    code = conn.execute(select(u.c.agent_code).where(u.c.username == actor.username)).scalar()
    return {actor.username} | ({code} if code else set())


def _names(conn: Connection, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    a, u, o = table("agents"), table("users"), table("org_units")
    out: dict[str, str] = {}
    lst = sorted(codes)
    for i in range(0, len(lst), 5000):
        chunk = lst[i:i + 5000]
        out.update(conn.execute(select(o.c.org_code, o.c.org_name).where(o.c.org_code.in_(chunk))).all())
        out.update(conn.execute(select(u.c.username, u.c.display_name).where(u.c.username.in_(chunk))).all())
        out.update(conn.execute(select(a.c.agent_code, a.c.agent_name).where(a.c.agent_code.in_(chunk))).all())
    return out


def _routes(conn: Connection, ids: list[int]) -> dict[tuple[int, str], dict[str, Any]]:
    """(item, rule) -> {"owner": code, "owner_role": role, "copied": [codes]} (track_routes)."""
    rt = table("track_routes")
    out: dict[tuple[int, str], dict[str, Any]] = {}
    for k in range(0, len(ids), 5000):
        q = select(rt).where(rt.c.item_id.in_(ids[k:k + 5000])).order_by(rt.c.item_id, rt.c.rule,
                                                                         rt.c.kind, rt.c.person)
        for row in conn.execute(q).mappings():
            e = out.setdefault((row["item_id"], row["rule"]), {"owner": None, "owner_role": None,
                                                              "copied": []})
            if row["kind"] == "owner":
                e["owner"], e["owner_role"] = row["person"], row["role"]
            else:
                e["copied"].append(row["person"])
    return out


def _reasons(conn: Connection, ids: list[int], active_only: bool) -> dict[int, list[dict[str, Any]]]:
    r = table("track_reasons")
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    routes = _routes(conn, ids)
    for k in range(0, len(ids), 5000):
        q = select(r).where(r.c.item_id.in_(ids[k:k + 5000])).order_by(r.c.item_id, r.c.first_seen, r.c.rule)
        if active_only:
            q = q.where(r.c.active.is_(True))
        for row in conn.execute(q).mappings():
            route = routes.get((row["item_id"], row["rule"]), {})
            out[row["item_id"]].append({"rule": row["rule"], "link": row["link"],
                                        "owner_role": route.get("owner_role") or row["owner_role"],
                                        "owner_code": route.get("owner"),
                                        "copied": route.get("copied", []),
                                        "message": row["message_zh"], "message_en": row["message_en"],
                                        "facts": json.loads(row["facts"]), "active": bool(row["active"]),
                                        "first_seen": row["first_seen"].isoformat(),
                                        "last_seen": row["last_seen"].isoformat()})
    return out


def _lead_records(conn: Connection, rows: Sequence[Any]) -> dict[int, dict[str, Any]]:
    """item id -> the latest record written by the item's lead (the lead's username or agent
    code), for "what the lead recorded" beside each reason owner's own view."""
    if not rows:
        return {}
    rec, u = table("track_records"), table("users")
    leads = {r["id"]: r["owner_code"] for r in rows if r["owner_code"]}
    user_code: dict[str, str] = dict(conn.execute(
        select(u.c.username, u.c.agent_code).where(u.c.agent_code.in_(sorted(set(leads.values()))))).all()) \
        if leads else {}
    out: dict[int, dict[str, Any]] = {}
    ids = sorted(leads)
    for k in range(0, len(ids), 5000):
        q = select(rec).where(rec.c.item_id.in_(ids[k:k + 5000])).order_by(rec.c.item_id, rec.c.id)
        for r in conn.execute(q).mappings():
            lead = leads[r["item_id"]]
            if r["author"] == lead or user_code.get(r["author"]) == lead:
                out[r["item_id"]] = dict(r)
    return out


def _item_json(row: Any, reasons: list[dict[str, Any]], names: dict[str, str], me: set[str],
               on: dt.date | None, lead_record: dict[str, Any] | None = None) -> dict[str, Any]:
    holder = row["escalated_to"] or row["owner_code"]
    today = on or dt.date.today()
    lead = row["owner_code"]
    others = sorted({c for r in reasons for c in (r.get("owner_code"), *r.get("copied", ()))
                     if c and c != lead})
    reasons = [{**r, "owner_name": names.get(r.get("owner_code") or "", r.get("owner_code") or ""),
                "copied_names": [names.get(c, c) for c in r.get("copied", ())]} for r in reasons]
    return {
        "lead_owner": lead, "lead_name": names.get(lead or "", ""),
        "lead_record": None if lead_record is None else _record_json(lead_record, names),
        "copied": others,
        "owns_reason": bool(me & {r.get("owner_code") for r in reasons}),
        "my_reasons": [r["rule"] for r in reasons if r.get("owner_code") in me],
        "id": row["id"], "date": row["opened_on"].isoformat(), "last_seen": row["last_seen_on"].isoformat(),
        "subject_type": row["subject_type"], "subject_code": row["subject_code"],
        "subject_name": names.get(row["subject_code"], ""), "org_code": row["org_code"],
        "link": row["link"], "priority": row["priority"], "owner_role": row["owner_role"],
        "owner_code": row["owner_code"], "owner_name": names.get(row["owner_code"] or "", ""),
        "escalated_to": row["escalated_to"], "escalation_level": row["escalation_level"],
        "status": row["status"], "due_date": row["due_date"].isoformat(),
        "overdue": row["status"] in LIVE and row["due_date"] < today,
        "closed_on": row["closed_on"].isoformat() if row["closed_on"] else None,
        "close_reason": row["close_reason"],
        "mine": bool(me & {row["owner_code"], row["escalated_to"]} - {None}),
        "tracked_by": names.get(holder or "", holder) if holder else None,
        "reasons": reasons,
    }


@dataclass(frozen=True)
class ListQuery:
    date: dt.date | None = None
    owner: str | None = None  # owner code, username, or "me"
    status: str = "open"
    link: str | None = None
    subject: str | None = None
    limit: int | None = None
    subjects: frozenset[str] | None = None  # only items on one of these subjects
    offset: int = 0
    #: the inbox of a day (issue 16): live items not snoozed past that day, plus those with a
    #: record on that day (followed up today, even when the record resolved them)
    inbox_on: dt.date | None = None
    overdue_on: dt.date | None = None  # only live items due before this day
    max_priority: int | None = None  # only items of this priority or higher (1 = highest)


def _where(conn: Connection, actor: Actor, q: ListQuery, me: set[str]) -> Any:
    """The WHERE clause of the items :func:`list_items` lists for ``q`` (scope included)."""
    if q.status not in STATUS_FILTERS:
        raise ZhuizongError(f"无法识别的状态 {q.status}", f"unknown status {q.status}; use {', '.join(STATUS_FILTERS)}")
    i = table("track_items")
    scope = scope_for(conn, actor)
    conds: list[Any] = [_visible(scope)]
    if q.date is not None:
        conds += [i.c.opened_on <= q.date, or_(i.c.closed_on.is_(None), i.c.closed_on >= q.date)]
    if q.inbox_on is not None:
        rec = table("track_records")
        awake = and_(i.c.status.in_(LIVE), or_(i.c.snoozed_until.is_(None), i.c.snoozed_until <= q.inbox_on))
        conds.append(or_(awake, i.c.id.in_(select(rec.c.item_id).where(rec.c.on_date == q.inbox_on))))
    elif q.status == "open":
        conds.append(i.c.status.in_(LIVE))
    elif q.status == "done":
        conds.append(i.c.status.in_(("done", "closed")))
    elif q.status == "escalated":
        conds.append(i.c.status == "escalated")
    if q.overdue_on is not None:
        conds += [i.c.status.in_(LIVE), i.c.due_date < q.overdue_on]
    if q.max_priority is not None:
        conds.append(i.c.priority <= q.max_priority)
    if q.owner is not None:
        owners = me if q.owner == "me" else {q.owner}
        if not owners:
            raise ZhuizongError("--owner me 需要 --as 用户", "--owner me needs --as USER")
        rt, rs = table("track_routes"), table("track_reasons")
        owns = select(rt.c.item_id).join(rs, and_(rs.c.item_id == rt.c.item_id, rs.c.rule == rt.c.rule)).where(
            rt.c.kind == "owner", rt.c.person.in_(sorted(owners)), rs.c.active.is_(True))
        conds.append(or_(i.c.owner_code.in_(owners), i.c.escalated_to.in_(owners), i.c.id.in_(owns)))
    if q.link is not None:
        conds.append(i.c.link == q.link)
    if q.subject is not None:
        conds.append(i.c.subject_code == q.subject)
    if q.subjects is not None:
        conds.append(i.c.subject_code.in_(sorted(q.subjects)))
    return and_(*conds)


def count_items(ws: Workspace, actor: Actor, q: ListQuery) -> int:
    """How many items :func:`list_items` lists for ``q`` without its limit and offset."""
    actor.require("view_tracking")
    engine = ws.require_ready()
    i = table("track_items")
    with engine.connect() as conn:
        where = _where(conn, actor, q, _me(conn, actor))
        return int(conn.execute(select(func.count()).select_from(i).where(where)).scalar_one())


def list_items(ws: Workspace, actor: Actor, q: ListQuery) -> list[dict[str, Any]]:
    actor.require("view_tracking")
    if q.status not in STATUS_FILTERS:
        raise ZhuizongError(f"无法识别的状态 {q.status}", f"unknown status {q.status}; use {', '.join(STATUS_FILTERS)}")
    engine = ws.require_ready()
    i = table("track_items")
    with engine.connect() as conn:
        me = _me(conn, actor)
        stmt = select(i).where(_where(conn, actor, q, me))
        if q.inbox_on is not None:  # the day's work first: followed up on the day, at the end
            rec = table("track_records")
            done = case((i.c.id.in_(select(rec.c.item_id).where(rec.c.on_date == q.inbox_on)), 1), else_=0)
            stmt = stmt.order_by(done, i.c.priority, i.c.due_date, i.c.id)
        else:
            stmt = stmt.order_by(i.c.priority, i.c.due_date, i.c.id)
        if q.limit:
            stmt = stmt.limit(q.limit)
        if q.offset:
            stmt = stmt.offset(q.offset)
        rows = conn.execute(stmt).mappings().all()
        ids = [r["id"] for r in rows]
        reasons = _reasons(conn, ids, active_only=True)
        lead_recs = _lead_records(conn, rows)
        codes = {c for r in rows for c in (r["subject_code"], r["owner_code"], r["escalated_to"]) if c}
        codes |= {c for rs_ in reasons.values() for x in rs_ for c in (x["owner_code"], *x["copied"]) if c}
        codes |= {x["author"] for x in lead_recs.values()}
        names = _names(conn, codes)
    return [_item_json(r, reasons[r["id"]], names, me, q.date, lead_recs.get(r["id"])) for r in rows]


def _get_visible(conn: Connection, actor: Actor, item_id: int) -> Any:
    i = table("track_items")
    scope = scope_for(conn, actor)
    row = conn.execute(select(i).where(i.c.id == item_id, _visible(scope))).mappings().first()
    if row is None:
        raise NotFound(f"找不到追踪事项 {item_id}", f"tracking item {item_id} not found")
    return row


def show_item(ws: Workspace, actor: Actor, item_id: int) -> dict[str, Any]:
    actor.require("view_tracking")
    engine = ws.require_ready()
    rec, ev = table("track_records"), table("track_events")
    with engine.connect() as conn:
        row = _get_visible(conn, actor, item_id)
        me = _me(conn, actor)
        reasons = _reasons(conn, [item_id], active_only=False)[item_id]
        records = [dict(r) for r in conn.execute(
            select(rec).where(rec.c.item_id == item_id).order_by(rec.c.id)).mappings()]
        events = [dict(r) for r in conn.execute(
            select(ev).where(ev.c.item_id == item_id).order_by(ev.c.id)).mappings()]
        lead_rec = _lead_records(conn, [row]).get(item_id)
        codes = {c for c in (row["subject_code"], row["owner_code"], row["escalated_to"]) if c}
        codes |= {r["author"] for r in records}
        codes |= {c for x in reasons for c in (x["owner_code"], *x["copied"]) if c}
        names = _names(conn, codes)
    out = _item_json(row, reasons, names, me, None, lead_rec)
    out["records"] = [_record_json(r, names) for r in records]
    out["events"] = [{"date": e["on_date"].isoformat(), "event": e["event"], "actor": e["actor"],
                      "detail": json.loads(e["detail"]) if e["detail"] else None} for e in events]
    return out


def _record_json(r: Any, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": r["id"], "at": r["at"].isoformat(timespec="seconds"), "date": r["on_date"].isoformat(),
        "author": r["author"], "author_name": names.get(r["author"], ""), "method": r["method"],
        "outcome": r["outcome"], "finding": r["finding"], "note": r["note"],
        "next_date": r["next_date"].isoformat() if r["next_date"] else None,
        "corrects": r["corrects_id"]}


def records_of(ws: Workspace, actor: Actor, item_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """item id → its records (as :func:`show_item` gives them), for items the actor may see
    (others are left out): one query for a page listing several items."""
    actor.require("view_tracking")
    if not item_ids:
        return {}
    engine = ws.require_ready()
    items, records = table("track_items"), table("track_records")
    with engine.connect() as conn:
        scope = scope_for(conn, actor)
        visible: set[int] = set(conn.execute(select(items.c.id).where(
            items.c.id.in_(item_ids), _visible(scope))).scalars())
        rows = [dict(r) for r in conn.execute(
            select(records).where(records.c.item_id.in_(sorted(visible)))
            .order_by(records.c.item_id, records.c.id)).mappings()]
        names = _names(conn, {r["author"] for r in rows})
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in item_ids if i in visible}
    for r in rows:
        out[r["item_id"]].append(_record_json(r, names))
    return out


@dataclass(frozen=True)
class RecordInput:
    method: str
    outcome: str
    finding: str | None = None
    note: str | None = None
    next_date: dt.date | None = None
    on_date: dt.date | None = None
    corrects: int | None = None


def record(ws: Workspace, actor: Actor, item_id: int, inp: RecordInput) -> dict[str, Any]:
    """Append a tracking record; ``resolved`` closes the item as done."""
    actor.require("record_tracking")
    if inp.method not in TRACK_METHODS:
        raise ZhuizongError(f"无法识别的方式 {inp.method}", f"unknown method {inp.method}; use {', '.join(TRACK_METHODS)}")
    if inp.outcome not in TRACK_OUTCOMES:
        raise ZhuizongError(f"无法识别的结果 {inp.outcome}", f"unknown outcome {inp.outcome}; use {', '.join(TRACK_OUTCOMES)}")
    on = inp.on_date or dt.date.today()
    if inp.next_date is not None and inp.next_date < on:
        raise ZhuizongError("下次跟进日期不能早于记录日期", "the next date cannot be before the record date")
    i, rec, ev = table("track_items"), table("track_records"), table("track_events")
    engine = ws.require_ready()
    now = audit.now()
    with atomic(engine) as conn:
        row = _get_visible(conn, actor, item_id)
        if row["status"] not in LIVE:
            raise ZhuizongError(f"追踪事项 {item_id} 已结束 ({row['status']}), 不能再记录",
                                f"tracking item {item_id} is {row['status']}; it takes no more records")
        if inp.corrects is not None:
            ok = conn.execute(select(rec.c.id).where(rec.c.id == inp.corrects, rec.c.item_id == item_id)).scalar()
            if ok is None:
                raise NotFound(f"本事项没有记录 {inp.corrects}", f"record {inp.corrects} is not on this item")
        rec_id: int = conn.execute(rec.insert().values(
            item_id=item_id, at=now, on_date=on, author=actor.username, method=inp.method,
            outcome=inp.outcome, finding=inp.finding, note=inp.note, next_date=inp.next_date,
            corrects_id=inp.corrects).returning(rec.c.id)).scalar_one()
        due = inp.next_date or on + dt.timedelta(days=1)
        if inp.outcome == "resolved":
            conn.execute(update(i).where(i.c.id == item_id).values(
                status="done", closed_on=on, close_reason=f"跟进已解决 / resolved by {actor.username}",
                closed_by=actor.username))
            event = "resolved"
        else:
            conn.execute(update(i).where(i.c.id == item_id).values(status="recorded", due_date=max(due, on)))
            event = "recorded"
        conn.execute(ev.insert().values(item_id=item_id, on_date=on, at=now, event=event,
                                        actor=actor.username,
                                        detail=json.dumps({"record": rec_id}, ensure_ascii=False)))
        audit.record(conn, actor=actor.username, action="track_record", object_type="track_item",
                     object_id=str(item_id), detail={"record": rec_id, "method": inp.method,
                                                     "outcome": inp.outcome})
    return show_item(ws, actor, item_id)


def close(ws: Workspace, actor: Actor, item_id: int, reason: str, on_date: dt.date | None = None) -> dict[str, Any]:
    actor.require("record_tracking")
    if not reason.strip():
        raise ZhuizongError("关闭追踪事项需要说明原因", "closing an item needs a reason")
    on = on_date or dt.date.today()
    i, ev = table("track_items"), table("track_events")
    engine = ws.require_ready()
    with atomic(engine) as conn:
        row = _get_visible(conn, actor, item_id)
        if row["status"] not in LIVE:
            raise ZhuizongError(f"追踪事项 {item_id} 已结束 ({row['status']})",
                                f"tracking item {item_id} is already {row['status']}")
        conn.execute(update(i).where(i.c.id == item_id).values(
            status="closed", closed_on=on, close_reason=reason.strip(), closed_by=actor.username))
        conn.execute(ev.insert().values(item_id=item_id, on_date=on, at=audit.now(), event="closed",
                                        actor=actor.username,
                                        detail=json.dumps({"reason": reason.strip()}, ensure_ascii=False)))
        audit.record(conn, actor=actor.username, action="track_close", object_type="track_item",
                     object_id=str(item_id), detail={"reason": reason.strip()})
    return show_item(ws, actor, item_id)


# --- digests -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestText:
    recipient: str
    recipient_name: str
    date: dt.date
    title: str
    markdown: str
    open_count: int
    overdue_count: int


def digests(ws: Workspace, actor: Actor, d: dt.date) -> list[DigestText]:
    """One markdown digest per person on ``d`` (within the actor's scope), routed like the inbox:
    the holder of an item (its lead, or whom it was escalated to) and every owner of one of its
    reasons; a reason owner who does not lead sees their own reasons and who leads."""
    items = list_items(ws, actor, ListQuery(date=d, status="open"))
    by: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        holder = it["escalated_to"] or it["owner_code"]
        routed = {holder} | {r["owner_code"] for r in it["reasons"]}
        for who in sorted(c for c in routed if c):
            by.setdefault(who, []).append(it)
    engine = ws.require_ready()
    rz, ti = table("track_raises"), table("track_items")
    raised: dict[str, list[Any]] = {}
    with engine.connect() as conn:
        # open raises (上报) to a person, on items in the actor's scope, made on or before d
        for row in conn.execute(select(rz.c.id, rz.c.item_id, rz.c.raised_to, rz.c.raised_by, rz.c.category,
                                       rz.c.note, rz.c.raised_on, ti.c.subject_code)
                                .join(ti, ti.c.id == rz.c.item_id)
                                .where(_visible(scope_for(conn, actor)), rz.c.raised_on <= d,
                                       or_(rz.c.answered_on.is_(None), rz.c.answered_on > d))
                                .order_by(rz.c.raised_on, rz.c.id)):
            raised.setdefault(row.raised_to, []).append(row)
        names = _names(conn, set(by) | set(raised) | {r.raised_by for rs in raised.values() for r in rs}
                       | {r.subject_code for rs in raised.values() for r in rs})
    out = []
    for who in sorted(set(by) | set(raised)):
        its = sorted(by.get(who, []), key=lambda x: (not x["overdue"], x["priority"], x["due_date"], x["id"]))
        overdue = [x for x in its if x["due_date"] < d.isoformat()]
        name = names.get(who, who)
        title = f"追踪日报 {d.isoformat()} · {name}"
        lines = [f"## {title}", "",
                 f"待跟进 **{len(its)}** 项, 其中逾期 **{len(overdue)}** 项", ""]
        if raised.get(who):
            lines.append(f"### 待回复上报 ({len(raised[who])})")
            for r in raised[who]:
                lines.append(f"- 上报 {r.id} · #{r.item_id} {names.get(r.subject_code, '')} ({r.subject_code}) · "
                             f"{RAISE_CATEGORY_ZH.get(r.category, r.category)} · {r.note} · "
                             f"{names.get(r.raised_by, r.raised_by)} {r.raised_on.isoformat()} 上报")
            lines.append("")
        for section, rows in (("逾期", overdue), ("待跟进", [x for x in its if x not in overdue])):
            if not rows:
                continue
            lines.append(f"### {section}")
            for x in rows:
                holder = x["escalated_to"] or x["owner_code"]
                mine = [r for r in x["reasons"] if r["owner_code"] == who]
                shown = x["reasons"] if who == holder or not mine else mine
                why = "; ".join(r["message"] for r in shown)
                esc = f" ⬆升级{x['escalation_level']}级" if x["escalation_level"] else ""
                lead = "" if who == holder else f" · 牵头 {x['tracked_by'] or '—'}"
                lines.append(f"- #{x['id']} {x['subject_name']} ({x['subject_code']}) · "
                             f"{LINK_ZH.get(shown[0]['link'] if shown else x['link'], x['link'])} · {why} · "
                             f"期限 {x['due_date']}{esc}{lead}")
            lines.append("")
        out.append(DigestText(who, name, d, title, "\n".join(lines).rstrip() + "\n", len(its), len(overdue)))
    return out


def run_dates(ws: Workspace) -> list[dict[str, Any]]:
    tr = table("track_runs")
    engine = ws.require_ready()
    with engine.connect() as conn:
        rows = conn.execute(select(tr).order_by(tr.c.run_date.desc()).limit(30)).mappings().all()
    return [{"date": r["run_date"].isoformat(), "runs": r["runs"],
             "summary": json.loads(r["summary"]) if r["summary"] else None} for r in rows]


__all__ = ["DigestText", "ListQuery", "RecordInput", "close", "count_items", "digests", "func", "list_items",
           "record", "records_of", "run_dates", "show_item"]
