"""Generate one day's tracking items: evaluate rules, merge per subject, carry, close, escalate.

``run(ws, date)`` is idempotent and safe to run concurrently: signals are computed outside the
transaction; everything it writes happens in one transaction holding the tracking lock
(``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL), and the UNIQUE
key (subject, opened_on) would refuse a second item for a subject on the same day anyway. A
killed run leaves nothing behind.

Lifecycle on each run date ``D``:

1. every rule is evaluated on the whole force (vectorised); fired reasons are grouped by subject;
2. a subject with a live item (open / recorded / escalated) has it **carried**: reasons updated,
   new reasons added, reasons whose condition cleared marked inactive — never a second item;
3. a subject without a live item gets a **new** item, owned by the owner precedence; unless an
   item for it was closed on ``D`` (a manual close is respected for the rest of the day);
4. a live item none of whose rules fire any more is **auto-closed** (status ``done``) with the
   rules' clear reasons ("已出单");
5. a live item past its due date without a record is **escalated** one level up the line.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Connection, and_, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from zhuizong.access.actor import SYSTEM, Actor
from zhuizong.errors import ZhuizongError
from zhuizong.kpi import compiler
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.models import table
from zhuizong.tracking import signals as sig
from zhuizong.tracking.owners import Responsibility
from zhuizong.tracking.rules import Rule, RuleSet, facts_json, load_rules
from zhuizong.workspace import Workspace

LIVE = ("open", "recorded", "escalated")
#: agents per executive and day from the executive link's agent rules (营销干部追踪到人)
EXECUTIVE_DAILY_CAP = 10
_LOCK_KEY = 7_140_531_220  # pg_advisory_xact_lock key of the tracking generator


@dataclass
class Fired:
    rule: Rule
    org_code: str
    message_zh: str
    message_en: str
    facts: dict[str, Any]


@dataclass
class RunSummary:
    date: str
    subjects_fired: int = 0
    opened: int = 0
    carried: int = 0
    auto_closed: int = 0
    escalated: int = 0
    live: int = 0  # live items (open, recorded, escalated) after the run
    reasons_fired: int = 0
    by_link: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    signals_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(ws: Workspace, d: dt.date, rules: RuleSet | None = None,
             snap: compiler.Snapshot | None = None) -> tuple[dict[tuple[str, str], list[Fired]], dict[str, str]]:
    """Fired reasons per (subject_type, code) on ``d``, and each agent's supervisor that day."""
    fired, sup, _present, _org = _evaluate(ws, d, rules, snap)
    return fired, sup


def _evaluate(ws: Workspace, d: dt.date, rules: RuleSet | None = None,
              snap: compiler.Snapshot | None = None,
              ) -> tuple[dict[tuple[str, str], list[Fired]], dict[str, str], set[tuple[str, str]],
                         dict[str, str]]:
    """:func:`evaluate`, plus the subjects evaluated at all (agents in force, org units)."""
    rules = rules or load_rules(ws)
    snap = snap or compiler.Snapshot.open(ws)
    frames = {"agent": sig.agent_signals(ws, d, snap), "org": sig.org_signals(ws, d, snap)}
    fired: dict[tuple[str, str], list[Fired]] = defaultdict(list)
    for rule in rules.rules:
        frame = frames[rule.subject]
        if frame.empty:
            continue
        hits = rule.evaluate(frame)
        key = "agent_code" if rule.subject == "agent" else "org_code"
        for row in hits.to_dict("records"):
            zh, en, facts = rule.render(row)
            fired[(rule.subject, row[key])].append(Fired(rule, row["org_code"], zh, en, facts))
    agents = frames["agent"]
    sup = {a: s for a, s in zip(agents.agent_code, agents.supervisor_code, strict=True)
           if isinstance(s, str) and s}
    present = {("agent", a) for a in agents.agent_code} | {("org", o) for o in frames["org"].org_code}
    org_of = dict(zip(agents.agent_code, agents.org_code, strict=True))
    return dict(fired), sup, present, org_of


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def _insert(conn: Connection):  # type: ignore[no-untyped-def]
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _event(item_id: int, d: dt.date, at: dt.datetime, event: str, actor: str,
           detail: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"item_id": item_id, "on_date": d, "at": at, "event": event, "actor": actor,
            "detail": None if detail is None else json.dumps(detail, ensure_ascii=False, sort_keys=True)}


def _head(reasons: list[Fired]) -> Fired:
    return min(reasons, key=lambda f: (f.rule.priority, f.rule.order))


def run(ws: Workspace, d: dt.date, actor: Actor = SYSTEM, *, rules: RuleSet | None = None) -> RunSummary:
    """Generate the tracking items of ``d`` (see the module docstring)."""
    actor.require("run_tracking")
    t0 = time.perf_counter()
    engine = ws.require_ready()
    tr = table("track_runs")
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(tr.c.run_date))).scalar()
    if latest is not None and d < latest:
        raise ZhuizongError(
            f"已生成过更晚日期 {latest} 的追踪事项, 不能回补 {d}",
            f"tracking was already generated for the later date {latest}; cannot go back to {d}",
        )
    rules = rules or load_rules(ws)
    fired, supervisor_of, present, org_of = _evaluate(ws, d, rules)
    t_sig = time.perf_counter() - t0
    precedence = ws.settings.tracking.precedence
    esc_days = ws.settings.tracking.escalation_days
    summary = RunSummary(date=d.isoformat(), subjects_fired=len(fired),
                         reasons_fired=sum(len(v) for v in fired.values()), signals_seconds=round(t_sig, 3))
    items, reasons, events = table("track_items"), table("track_reasons"), table("track_events")
    records = table("track_records")
    now = audit.now()
    who = actor.username
    with atomic(engine) as conn:
        _lock(conn)
        # re-check under the lock: a concurrent run of a later date may have finished meanwhile
        latest = conn.execute(select(func.max(tr.c.run_date))).scalar()
        if latest is not None and d < latest:
            raise ZhuizongError(f"已生成过更晚日期 {latest} 的追踪事项", f"tracking already generated for {latest}")
        resp = Responsibility.load(conn, d, supervisor_of, org_of)
        live_rows = conn.execute(select(items).where(items.c.status.in_(LIVE))).mappings().all()
        live = {(r["subject_type"], r["subject_code"]): dict(r) for r in live_rows}
        closed_today = set(tuple(r) for r in conn.execute(
            select(items.c.subject_type, items.c.subject_code).where(items.c.closed_on == d)
        ).all())
        live_ids = [r["id"] for r in live_rows]
        old_reasons: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
        for chunk in _chunks(live_ids, 5000):
            for m in conn.execute(select(reasons).where(reasons.c.item_id.in_(chunk))).mappings():
                old_reasons[m["item_id"]][m["rule"]] = dict(m)
        fired = _cap_executive(fired, resp, live, old_reasons, EXECUTIVE_DAILY_CAP)
        summary.subjects_fired = len(fired)
        summary.reasons_fired = sum(len(v) for v in fired.values())
        ev: list[dict[str, Any]] = []

        # 3. new items
        new_rows: list[dict[str, Any]] = []
        for (stype, code), fs in fired.items():
            if (stype, code) in live or (stype, code) in closed_today:
                continue
            head = _head(fs)
            eligible = {f.rule.owner_role for f in fs}
            role, owner = resp.owner(stype, code, eligible, precedence)
            new_rows.append({
                "subject_type": stype, "subject_code": code, "org_code": head.org_code,
                "opened_on": d, "last_seen_on": d, "link": head.rule.link,
                "priority": head.rule.priority, "owner_role": role, "owner_code": owner,
                "escalated_to": None, "escalation_level": 0, "status": "open",
                "due_date": d + dt.timedelta(days=min(f.rule.due_days for f in fs)),
                "closed_on": None, "close_reason": None, "closed_by": None,
            })
        if new_rows:
            ins = _insert(conn)
            for chunk in _chunks(new_rows, 2000):
                conn.execute(ins(items).on_conflict_do_nothing(
                    index_elements=["subject_type", "subject_code", "opened_on"]), chunk)
        created = {(r.subject_type, r.subject_code): r.id for r in conn.execute(
            select(items.c.id, items.c.subject_type, items.c.subject_code).where(items.c.opened_on == d))}
        reason_rows: list[dict[str, Any]] = []
        route_rows: list[dict[str, Any]] = []
        for row in new_rows:
            key = (row["subject_type"], row["subject_code"])
            item_id = created[key]
            if item_id in old_reasons:  # pragma: no cover - only if a concurrent run won the race
                continue
            summary.opened += 1
            summary.by_link[row["link"]] = summary.by_link.get(row["link"], 0) + 1
            for f in fired[key]:
                reason_rows.append(_reason_row(item_id, f, d, d))
                route_rows.extend(_routes(resp, item_id, f, key, row["owner_code"]))
            ev.append(_event(item_id, d, now, "opened", who, {
                "owner": row["owner_code"], "owner_role": row["owner_role"],
                "rules": [f.rule.name for f in fired[key]]}))

        # 2. carry live items whose subject still fires; 4. auto-close the others
        reason_updates, reason_clears, item_updates, closes = [], [], [], []
        for key, item in live.items():
            item_id = item["id"]
            fs = fired.get(key) or []
            olds = old_reasons.get(item_id, {})
            if not fs:
                cleared = [r for r in olds.values() if r["active"]] or list(olds.values())
                by_name = rules.by_name()
                if key in present:
                    zh = "; ".join(dict.fromkeys(by_name[r["rule"]].clear_zh if r["rule"] in by_name else "条件已解除" for r in cleared))
                    en = "; ".join(dict.fromkeys(by_name[r["rule"]].clear_en if r["rule"] in by_name else "condition cleared" for r in cleared))
                    reason = f"条件已解除: {zh} / condition cleared: {en}"
                else:  # left the company (or the unit is gone): not "has produced"
                    zh, en = "对象已不在职 (离司或机构撤销)", "the subject is no longer in force (left, or unit removed)"
                    reason = f"不再追踪: {zh} / no longer tracked: {en}"
                closes.append({"b_id": item_id, "closed_on": d, "reason": reason,
                               "last_seen_on": item["last_seen_on"]})
                for r in cleared:
                    if r["active"]:
                        reason_clears.append({"b_id": item_id, "b_rule": r["rule"]})
                ev.append(_event(item_id, d, now, "auto_closed", who, {"reason_zh": zh, "reason_en": en}))
                summary.auto_closed += 1
                continue
            names = {f.rule.name for f in fs}
            for f in fs:
                if f.rule.name in olds:
                    o = olds[f.rule.name]
                    fj = facts_json(f.facts)
                    if (o["last_seen"] == d and o["active"] and o["message_zh"] == f.message_zh
                            and o["message_en"] == f.message_en and o["facts"] == fj):
                        continue  # unchanged (a repeated run of the same day)
                    reason_updates.append({"b_id": item_id, "b_rule": f.rule.name, "last_seen": d,
                                           "active": True, "message_zh": f.message_zh,
                                           "message_en": f.message_en, "facts": fj})
                else:
                    reason_rows.append(_reason_row(item_id, f, d, d))
                    route_rows.extend(_routes(resp, item_id, f, key, item["owner_code"]))
                    ev.append(_event(item_id, d, now, "reason_added", who, {"rule": f.rule.name}))
            for name, r in olds.items():
                if name not in names and r["active"]:
                    reason_clears.append({"b_id": item_id, "b_rule": name})
                    ev.append(_event(item_id, d, now, "reason_cleared", who, {"rule": name}))
            head = _head(fs)
            if item["last_seen_on"] < d:
                summary.carried += 1
                ev.append(_event(item_id, d, now, "carried", who, None))
            if (item["last_seen_on"] != d or item["org_code"] != head.org_code
                    or item["link"] != head.rule.link or item["priority"] != head.rule.priority):
                item_updates.append({"b_id": item_id, "last_seen_on": d, "org_code": head.org_code,
                                     "link": head.rule.link, "priority": head.rule.priority})
            item["last_seen_on"] = d

        if reason_rows:
            for chunk in _chunks(reason_rows, 2000):
                conn.execute(reasons.insert(), chunk)
        if route_rows:
            routes = table("track_routes")
            ins = _insert(conn)
            for chunk in _chunks(route_rows, 2000):
                conn.execute(ins(routes).on_conflict_do_nothing(), chunk)
        if reason_updates:
            conn.execute(update(reasons).where(and_(
                reasons.c.item_id == bindparam("b_id"), reasons.c.rule == bindparam("b_rule"))).values(
                last_seen=bindparam("last_seen"), active=bindparam("active"),
                message_zh=bindparam("message_zh"), message_en=bindparam("message_en"),
                facts=bindparam("facts")), reason_updates)
        if reason_clears:
            conn.execute(update(reasons).where(and_(
                reasons.c.item_id == bindparam("b_id"), reasons.c.rule == bindparam("b_rule"))).values(
                active=False), reason_clears)
        if item_updates:
            conn.execute(update(items).where(items.c.id == bindparam("b_id")).values(
                last_seen_on=bindparam("last_seen_on"), org_code=bindparam("org_code"),
                link=bindparam("link"), priority=bindparam("priority")), item_updates)
        if closes:
            conn.execute(update(items).where(items.c.id == bindparam("b_id")).values(
                status="done", closed_on=bindparam("closed_on"), close_reason=bindparam("reason"),
                closed_by=who), closes)

        # 5. escalation of carried items past due without a record since they fell due
        closed_ids = {c["b_id"] for c in closes}
        due = [it for it in live.values() if it["id"] not in closed_ids and d > it["due_date"]]
        last_rec: dict[int, dt.date] = {}
        for chunk in _chunks([it["id"] for it in due], 5000):
            last_rec.update(conn.execute(select(records.c.item_id, func.max(records.c.on_date))
                                         .where(records.c.item_id.in_(chunk))
                                         .group_by(records.c.item_id)).all())
        esc_updates = []
        for it in due:
            rec = last_rec.get(it["id"])
            if rec is not None and rec >= it["due_date"]:
                continue
            holder = it["escalated_to"] or it["owner_code"]
            up = resp.superior(holder, it["subject_type"], it["subject_code"])
            new_due = d + dt.timedelta(days=esc_days)
            if up is None or up == holder:
                esc_updates.append({"b_id": it["id"], "escalated_to": it["escalated_to"],
                                    "escalation_level": it["escalation_level"],
                                    "status": it["status"], "due_date": new_due})
                ev.append(_event(it["id"], d, now, "escalation_unavailable", who, {"holder": holder}))
                continue
            esc_updates.append({"b_id": it["id"], "escalated_to": up,
                                "escalation_level": it["escalation_level"] + 1,
                                "status": "escalated", "due_date": new_due})
            ev.append(_event(it["id"], d, now, "escalated", who, {
                "from": holder, "to": up, "level": it["escalation_level"] + 1}))
            summary.escalated += 1
        if esc_updates:
            conn.execute(update(items).where(items.c.id == bindparam("b_id")).values(
                escalated_to=bindparam("escalated_to"), escalation_level=bindparam("escalation_level"),
                status=bindparam("status"), due_date=bindparam("due_date")), esc_updates)
        if ev:
            for chunk in _chunks(ev, 5000):
                conn.execute(events.insert(), chunk)

        summary.live = conn.execute(select(func.count()).select_from(items)
                                    .where(items.c.status.in_(LIVE))).scalar_one()
        summary.seconds = round(time.perf_counter() - t0, 3)
        ins = _insert(conn)
        conn.execute(ins(tr).on_conflict_do_nothing(index_elements=["run_date"]),
                     {"run_date": d, "runs": 0})
        conn.execute(update(tr).where(tr.c.run_date == d).values(
            runs=tr.c.runs + 1, last_started_at=now, last_finished_at=audit.now(), last_actor=who,
            summary=json.dumps(summary.as_dict(), ensure_ascii=False)))
        audit.record(conn, actor=who, action="track_run", object_type="track_run",
                     object_id=d.isoformat(), detail=summary.as_dict())
    return summary


def _reason_row(item_id: int, f: Fired, first: dt.date, last: dt.date) -> dict[str, Any]:
    return {"item_id": item_id, "rule": f.rule.name, "link": f.rule.link,
            "owner_role": f.rule.owner_role, "first_seen": first, "last_seen": last, "active": True,
            "message_zh": f.message_zh, "message_en": f.message_en, "facts": facts_json(f.facts)}


def _cap_executive(fired: dict[tuple[str, str], list[Fired]], resp: Responsibility,
                   live: dict[tuple[str, str], dict[str, Any]],
                   old_reasons: dict[int, dict[str, dict[str, Any]]], cap: int,
                   ) -> dict[tuple[str, str], list[Fired]]:
    """At most ``cap`` agents a day per executive from the executive link's agent rules: agents
    already in an executive's set (a live item with an active executive reason) first, then the
    most urgent (priority, rule order), then by agent code. Other reasons are left as they are."""
    per: dict[str | None, list[tuple[tuple[int, int, int, str], tuple[str, str]]]] = defaultdict(list)
    for key, fs in fired.items():
        ex = [f for f in fs if f.rule.link == "executive" and f.rule.subject == "agent"]
        if not ex:
            continue
        item = live.get(key)
        kept = item is not None and any(r["active"] and r["link"] == "executive"
                                        for r in old_reasons.get(item["id"], {}).values())
        head = _head(ex)
        per[resp.person("executive", "agent", key[1])].append(
            ((0 if kept else 1, head.rule.priority, head.rule.order, key[1]), key))
    drop: set[tuple[str, str]] = set()
    for _who, cands in per.items():
        cands.sort()
        drop.update(key for _, key in cands[cap:])
    if not drop:
        return fired
    out: dict[tuple[str, str], list[Fired]] = {}
    for key, fs in fired.items():
        if key in drop:
            fs = [f for f in fs if not (f.rule.link == "executive" and f.rule.subject == "agent")]
        if fs:
            out[key] = fs
    return out


def _routes(resp: Responsibility, item_id: int, f: Fired, key: tuple[str, str],
            lead: str | None) -> list[dict[str, Any]]:
    """The route rows of one reason: its owner (the link's owner for the subject, else the lead)
    and the people copied; a reason nobody can own (no lead either) gets no row."""
    owner, copies = resp.route(f.rule.owner_role, f.rule.copy_roles, key[0], key[1], lead)
    out = []
    if owner is not None:
        out.append({"item_id": item_id, "rule": f.rule.name, "kind": "owner", "person": owner,
                    "role": f.rule.owner_role})
    out += [{"item_id": item_id, "rule": f.rule.name, "kind": "copy", "person": who, "role": role}
            for role, who in copies]
    return out


def _chunks(seq: list[Any], n: int) -> list[list[Any]]:
    return [seq[i:i + n] for i in range(0, len(seq), n)]


__all__ = ["Fired", "RunSummary", "evaluate", "pd", "run"]
