"""The tools (工具) people type into: the agent's work log and the meeting attendance sheet.

Both write through the import pipeline (:func:`zhuizong.importing.service.import_frame`), so a web
form is validated, recorded as an import batch (the analytic snapshot re-exports its dates),
audited and committed all-or-nothing exactly like an uploaded file. Scope comes first and fails
closed:

* a work log is written only for the actor's own agent code (``users.agent_code``); any other
  agent code answers :class:`NotFound`, like an id outside the scope;
* attendance is marked only by the roles in :data:`ATTENDANCE_ROLES`, and only for agents who are
  in the actor's scope *and in force* on the meeting date; one agent code outside that set refuses
  the whole sheet (nothing is written).

Every submission gets its own batch hash (frame hash + a random nonce): the importer skips a file
whose hash it has seen, and re-saving yesterday's values after a change must not be mistaken for
"already imported" (saving A, then B, then A again has to end at A).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Connection, and_, exists, func, or_, select

from zhuizong.access.actor import Actor
from zhuizong.access.scope import scope_for
from zhuizong.errors import ImportFailed, NotFound, PermissionDenied, ZhuizongError
from zhuizong.importing.service import ImportResult, frame_sha256, import_frame
from zhuizong.store.models import ATTENDANCE_STATUSES, MEETINGS, table
from zhuizong.workspace import Workspace

#: the activity counters of a work log, in form order
WORKLOG_FIELDS = ("calls", "visits", "interviews", "proposals", "closes", "referrals", "recruit_talks")
#: a work log may be entered for today and the days before it, this many days in all
WORKLOG_DAYS = 7
#: roles that may mark meeting attendance (for the agents in their scope)
ATTENDANCE_ROLES = frozenset({"trainer", "supervisor", "training", "admin"})
#: attendance may be corrected this many days back (never for a future date)
ATTENDANCE_BACKFILL_DAYS = 31
#: larger scopes pick one group at a time (a phone cannot show thousands of rows, and a form
#: of more than 1000 fields is refused by the form parser)
SHEET_MAX_AGENTS = 300


def _unique_sha(frame: pd.DataFrame, actor: Actor) -> str:
    h = hashlib.sha256()
    h.update(frame_sha256(frame).encode())
    h.update(f"/web/{actor.username}/{secrets.token_hex(16)}".encode())
    return h.hexdigest()


def _failed(result: ImportResult) -> ImportFailed:
    return ImportFailed("提交的数据有误, 未保存", "the form has errors; nothing was saved", result)


# --- work log (工作日志) -------------------------------------------------------------------------


def worklog_days(today: dt.date) -> list[dt.date]:
    """The dates a work log may be entered for, newest first."""
    return [today - dt.timedelta(days=i) for i in range(WORKLOG_DAYS)]


def own_agent_code(actor: Actor) -> str:
    """The actor's own agent code; a user who is not an agent has no work log."""
    if not actor.agent_code:
        raise PermissionDenied("你的账户没有关联工号, 无法填写工作日志",
                               "your account has no agent code, so it has no work log")
    return actor.agent_code


@dataclass
class WorkLogInput:
    date: dt.date
    #: field -> the text typed (empty = not given); validated by the importer
    counts: dict[str, str] = field(default_factory=dict)
    note: str = ""
    #: the agent code the form names, if any: must be the actor's own
    agent_code: str | None = None


def recent_worklogs(ws: Workspace, actor: Actor, today: dt.date) -> list[dict[str, object]]:
    """The actor's own work logs of the last :data:`WORKLOG_DAYS` days, one dict per day (newest
    first; ``saved`` False for a day without a log)."""
    code = own_agent_code(actor)
    days = worklog_days(today)
    wl = table("work_logs")
    with ws.require_ready().connect() as conn:
        rows = {r.date: dict(r._mapping) for r in conn.execute(
            select(wl.c.date, *(wl.c[f] for f in WORKLOG_FIELDS), wl.c.note)
            .where(wl.c.agent_code == code, wl.c.date >= days[-1], wl.c.date <= days[0]))}
    out: list[dict[str, object]] = []
    for d in days:
        r = rows.get(d)
        out.append({"date": d, "saved": r is not None,
                    **{f: (r or {}).get(f) for f in WORKLOG_FIELDS}, "note": (r or {}).get("note")})
    return out


def save_worklog(ws: Workspace, actor: Actor, data: WorkLogInput, today: dt.date) -> ImportResult:
    """Upsert the actor's own work log of ``data.date`` (today or one of the 6 days before).

    Raises NotFound for another agent's code, ZhuizongError for a date outside the window and
    :class:`ImportFailed` (with the row errors) when a value is invalid; nothing is written then.
    """
    code = own_agent_code(actor)
    if data.agent_code is not None and data.agent_code.strip() != code:
        raise NotFound(f"找不到工号 {data.agent_code}", f"agent {data.agent_code} not found")
    days = worklog_days(today)
    if data.date not in days:
        raise ZhuizongError(
            f"工作日志只能填写 {days[-1]} 至 {days[0]} 的日期",
            f"a work log can be entered only for {days[-1]} to {days[0]}")
    unknown = set(data.counts) - set(WORKLOG_FIELDS)
    if unknown:
        raise ZhuizongError(f"未知字段 {sorted(unknown)[0]}", f"unknown field {sorted(unknown)[0]}")
    row: dict[str, object] = {"agent_code": code, "date": data.date.isoformat()}
    for f in WORKLOG_FIELDS:
        v = (data.counts.get(f) or "").strip()
        row[f] = v or None
    row["note"] = data.note.strip()[:2000] or None
    frame = pd.DataFrame([row], dtype=object)
    result = import_frame(ws, "work_logs", frame, source_name=f"web:worklog:{actor.username}",
                          sha256=_unique_sha(frame, actor), actor=actor.username)
    if not result.ok:
        raise _failed(result)
    return result


# --- meeting attendance (早会/夕会考勤) -----------------------------------------------------------


@dataclass
class SheetAgent:
    agent_code: str
    agent_name: str
    rank_code: str
    status: str | None  # saved status of this date and meeting, if any


@dataclass
class SheetGroup:
    org_code: str
    org_name: str
    agents: list[SheetAgent]


@dataclass
class Sheet:
    date: dt.date
    meeting: str
    groups: list[SheetGroup]
    #: every group in scope with its number of agents (for the group picker of large scopes)
    all_groups: list[tuple[str, str, int]]
    group: str | None = None  # the group shown, when one was picked
    too_many: bool = False  # the scope is too large to show without picking a group

    @property
    def codes(self) -> set[str]:
        return {a.agent_code for g in self.groups for a in g.agents}


def require_attendance_role(actor: Actor) -> None:
    if not (actor.is_system or actor.roles & ATTENDANCE_ROLES):
        raise PermissionDenied(f"用户 {actor.username} 无权登记考勤",
                               f"user {actor.username} may not mark attendance")


def check_attendance_date(date: dt.date, meeting: str, today: dt.date) -> None:
    if meeting not in MEETINGS:
        raise ZhuizongError(f"会议只能是 {', '.join(MEETINGS)}", f"meeting must be one of {', '.join(MEETINGS)}")
    first = today - dt.timedelta(days=ATTENDANCE_BACKFILL_DAYS)
    if date > today or date < first:
        raise ZhuizongError(f"考勤日期只能在 {first} 至 {today} 之间",
                            f"the attendance date must be between {first} and {today}")


def _in_force_placed(conn: Connection, actor: Actor, date: dt.date):  # type: ignore[no-untyped-def]
    """(agent_code, agent_name, rank_code, org_code, org_name) of agents in scope and in force
    on ``date``, placed in their org unit of that date."""
    h, a, o, s = table("agent_history"), table("agents"), table("org_units"), table("employment_spells")
    scope = scope_for(conn, actor, on=date)
    in_force = exists().where(s.c.agent_code == h.c.agent_code, s.c.hire_date <= date,
                              or_(s.c.leave_date.is_(None), s.c.leave_date > date))
    return (
        select(h.c.agent_code, a.c.agent_name, h.c.rank_code, h.c.org_code, o.c.org_name)
        .join(a, a.c.agent_code == h.c.agent_code)
        .join(o, o.c.org_code == h.c.org_code)
        .where(h.c.valid_from <= date, or_(h.c.valid_to.is_(None), h.c.valid_to > date),
               in_force, scope.agent_filter(h.c.agent_code))
    )


def attendance_sheet(ws: Workspace, actor: Actor, date: dt.date, meeting: str, today: dt.date,
                     group: str | None = None) -> Sheet:
    """The agents the actor may mark on ``date``, by group, with the statuses already saved."""
    require_attendance_role(actor)
    check_attendance_date(date, meeting, today)
    att = table("attendance")
    with ws.require_ready().connect() as conn:
        base = _in_force_placed(conn, actor, date).subquery("placed")
        all_groups = {r.org_code: (r.org_code, r.org_name, int(r.n)) for r in conn.execute(
            select(base.c.org_code, base.c.org_name, func.count().label("n"))
            .group_by(base.c.org_code, base.c.org_name).order_by(base.c.org_code))}
        if group is not None and group not in all_groups:
            raise NotFound(f"找不到机构 {group}", f"org unit {group} not found")
        too_many = group is None and sum(g[2] for g in all_groups.values()) > SHEET_MAX_AGENTS
        groups: list[SheetGroup] = []
        if not too_many:
            q = (select(base, att.c.status)
                 .select_from(base.outerjoin(att, and_(att.c.agent_code == base.c.agent_code,
                                                       att.c.date == date, att.c.meeting == meeting)))
                 .order_by(base.c.org_code, base.c.agent_code))
            if group is not None:
                q = q.where(base.c.org_code == group)
            for r in conn.execute(q):
                if not groups or groups[-1].org_code != r.org_code:
                    groups.append(SheetGroup(r.org_code, r.org_name, []))
                groups[-1].agents.append(SheetAgent(r.agent_code, r.agent_name, r.rank_code, r.status))
    return Sheet(date, meeting, groups, list(all_groups.values()), group, too_many)


def save_attendance(ws: Workspace, actor: Actor, date: dt.date, meeting: str,
                    marks: dict[str, str], today: dt.date) -> ImportResult:
    """Upsert ``marks`` (agent code -> status) for ``date`` and ``meeting`` in one batch.

    Every agent must be in the actor's scope and in force on ``date``: otherwise NotFound and
    nothing is written. Invalid statuses come back as :class:`ImportFailed` with row errors.
    """
    require_attendance_role(actor)
    check_attendance_date(date, meeting, today)
    if not marks:
        raise ZhuizongError("没有要保存的考勤", "there is no attendance to save")
    codes = sorted(marks)
    with ws.require_ready().connect() as conn:
        placed = _in_force_placed(conn, actor, date).subquery("placed")
        visible: set[str] = set(conn.execute(
            select(placed.c.agent_code).where(placed.c.agent_code.in_(codes))).scalars())
    outside = [c for c in codes if c not in visible]
    if outside:
        shown = ", ".join(outside[:5]) + (" …" if len(outside) > 5 else "")
        raise NotFound(f"找不到工号 {shown} (不在你的范围内或当日不在职)",
                       f"agent {shown} not found (outside your scope or not in force that day)")
    frame = pd.DataFrame(
        {"agent_code": codes, "date": [date.isoformat()] * len(codes),
         "meeting": [meeting] * len(codes), "status": [marks[c].strip() for c in codes]},
        dtype=object)
    result = import_frame(ws, "attendance", frame,
                          source_name=f"web:attendance:{actor.username}:{date}:{meeting}",
                          sha256=_unique_sha(frame, actor), actor=actor.username)
    if not result.ok:
        raise _failed(result)
    return result


def row_agent(result: ImportResult, codes: list[str]) -> dict[int, str]:
    """Row number in ``result.errors`` -> the agent code of that row (frames start at row 2)."""
    return {i + 2: c for i, c in enumerate(sorted(codes))}


__all__ = [
    "ATTENDANCE_BACKFILL_DAYS", "ATTENDANCE_ROLES", "ATTENDANCE_STATUSES", "WORKLOG_DAYS",
    "WORKLOG_FIELDS", "Sheet", "SheetAgent", "SheetGroup", "WorkLogInput", "attendance_sheet",
    "own_agent_code", "recent_worklogs", "require_attendance_role", "save_attendance",
    "save_worklog", "worklog_days",
]
