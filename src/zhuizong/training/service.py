"""Scoped training services (培训班与培训签到): list, create, roster, mark, completion.

The web pages and the tracking signal call these functions; they hold every rule.

**Roster (应训名单).** A session's roster is the union of

* the *audience rule*: with ``max_tenure_days`` set, every agent in force on the session date,
  placed (dated history) in the session's org unit or below, whose current spell began at most
  ``max_tenure_days`` days before the session (新人: tenure ≤ N days);
* the agents with a ``training_attendance`` row: explicit invitations (empty status), walk-ins and
  everyone already marked.

Everyone on the roster is *required*. ``present``/``late`` = attended; ``leave`` (请假) = excused;
``absent``, or no mark once the session day is over, = missed; no mark on or before the session
day = pending.

**Scope.** Reads go through the one scope function (:func:`zhuizong.access.scope.scope_for`,
current placement), and fail closed:

* a session is *visible* to an actor whose org grants cover the session's org unit, or whose scope
  holds at least one agent of its roster; otherwise it answers "not found", exactly like a session
  that does not exist;
* inside a visible session an actor sees (and may mark) only the roster agents in their scope.

**Writes** (roles in ``manage_training``: ``training`` staff and ``admin``) go through the import
pipeline (:func:`zhuizong.importing.service.import_frame`, kinds ``training_sessions`` and
``training_attendance``): validated, recorded as a batch, audited, all or nothing — a web form and
an uploaded file follow the same rules. A session is created only for an org unit inside the
actor's org grants; marks are accepted only for agents on the roster (or, for walk-ins, in force on
the session date) and in the actor's scope; one code outside that refuses the whole sheet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Connection, Select, exists, or_, select

from zhuizong.access.actor import Actor
from zhuizong.access.scope import Scope, scope_for
from zhuizong.errors import ImportFailed, NotFound, ZhuizongError
from zhuizong.importing.service import ImportResult, frame_sha256, import_frame
from zhuizong.store.models import ATTENDANCE_STATUSES, COURSE_KINDS, table
from zhuizong.workspace import Workspace

ATTENDED = ("present", "late")
#: sessions per page of the list (newest first)
LIST_LIMIT = 500
#: a roster larger than this cannot be marked in one form (the form parser's field limit)
ROSTER_MAX = 900


@dataclass
class Session:
    session_code: str
    title: str
    course_kind: str
    session_date: dt.date
    org_code: str
    org_name: str
    max_tenure_days: int | None
    location: str | None


@dataclass
class RosterEntry:
    agent_code: str
    agent_name: str
    org_code: str | None
    status: str | None  # None = not marked
    by_rule: bool  # named by the audience rule
    listed: bool  # has a training_attendance row (invited / marked)


@dataclass
class SessionView:
    session: Session
    roster: list[RosterEntry]
    #: the actor's org grants cover the session's org unit (walk-ins may be added)
    org_visible: bool

    def counts(self, today: dt.date) -> dict[str, int]:
        return tally(self.roster, self.session.session_date, today)


@dataclass
class SessionSummary:
    session: Session
    counts: dict[str, int]


@dataclass
class CompletionRow:
    agent_code: str
    agent_name: str
    org_code: str | None
    required: int = 0
    attended: int = 0
    excused: int = 0
    missed: int = 0
    pending: int = 0
    missed_sessions: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        done = self.required - self.pending
        return self.attended / done if done > 0 else None


def outcome(status: str | None, session_date: dt.date, today: dt.date) -> str:
    """attended / excused / missed / pending for one roster entry, as of ``today``."""
    if status in ATTENDED:
        return "attended"
    if status == "leave":
        return "excused"
    if status == "absent" or session_date < today:
        return "missed"
    return "pending"


def tally(roster: Iterable[RosterEntry], session_date: dt.date, today: dt.date) -> dict[str, int]:
    out = {"required": 0, "attended": 0, "excused": 0, "missed": 0, "pending": 0}
    for e in roster:
        out["required"] += 1
        out[outcome(e.status, session_date, today)] += 1
    return out


# --- reading ------------------------------------------------------------------------------------


def _session_cols():  # type: ignore[no-untyped-def]
    s, o = table("training_sessions"), table("org_units")
    return s, o, select(s.c.session_code, s.c.title, s.c.course_kind, s.c.session_date, s.c.org_code,
                        o.c.org_name, s.c.max_tenure_days, s.c.location).join(
        o, o.c.org_code == s.c.org_code)


def _session(r) -> Session:  # type: ignore[no-untyped-def]
    return Session(r.session_code, r.title, r.course_kind, r.session_date, r.org_code, r.org_name,
                   r.max_tenure_days, r.location)


def org_subtrees(conn: Connection) -> dict[str, set[str]]:
    """Every org unit → itself and all units below it (the tree is small: read it once)."""
    o = table("org_units")
    children: dict[str, list[str]] = {}
    codes: list[str] = []
    tree: Select[str, str | None] = select(o.c.org_code, o.c.parent_code)
    for code, parent in conn.execute(tree):
        codes.append(code)
        if parent is not None:
            children.setdefault(parent, []).append(code)
    memo: dict[str, set[str]] = {}

    def sub(c: str) -> set[str]:
        if c not in memo:
            out = {c}
            stack = list(children.get(c, ()))
            while stack:
                x = stack.pop()
                out.add(x)
                stack.extend(children.get(x, ()))
            memo[c] = out
        return memo[c]

    return {c: sub(c) for c in codes}


def _audience_query(d: dt.date, max_days: int, orgs: set[str] | None):  # type: ignore[no-untyped-def]
    h, s, a = table("agent_history"), table("employment_spells"), table("agents")
    q = (select(h.c.agent_code, a.c.agent_name, h.c.org_code)
         .join(a, a.c.agent_code == h.c.agent_code)
         .join(s, s.c.agent_code == h.c.agent_code)
         .where(h.c.valid_from <= d, or_(h.c.valid_to.is_(None), h.c.valid_to > d),
                s.c.hire_date <= d, or_(s.c.leave_date.is_(None), s.c.leave_date > d),
                s.c.hire_date >= d - dt.timedelta(days=max_days)))
    if orgs is not None:
        q = q.where(h.c.org_code.in_(sorted(orgs)))
    return q


#: above this many org units in one audience query, filter by org unit in Python instead of SQL
AUDIENCE_IN_MAX = 2000
#: session codes per query of the listed agents
LISTED_CHUNK = 500


def rosters(conn: Connection, sessions: list[Session], trees: dict[str, set[str]],
            scope: Scope | None = None) -> dict[str, list[RosterEntry]]:
    """The rosters of ``sessions`` (restricted to ``scope``'s agents when given), each by agent code.

    Batched: one audience query per (date, tenure limit) — the sessions of one day share it, each
    taking the agents placed in its own subtree — and one query per :data:`LISTED_CHUNK` sessions
    for the listed agents. The scope is applied once at the end, on the set of agents it holds
    (a scope filter inside each query made the planners re-walk the org tree per row)."""
    if scope is not None and scope.agents is not None:
        ros = rosters(conn, sessions, trees)
        if not any(ros.values()):
            return ros
        visible = {r[0] for r in conn.execute(scope.agents)}
        return {code: [e for e in entries if e.agent_code in visible] for code, entries in ros.items()}
    out: dict[str, dict[str, RosterEntry]] = {x.session_code: {} for x in sessions}
    groups: dict[tuple[dt.date, int], list[Session]] = {}
    for x in sessions:
        if x.max_tenure_days is not None:
            groups.setdefault((x.session_date, x.max_tenure_days), []).append(x)
    for (d, n), group in groups.items():
        by_org: dict[str, list[str]] = {}
        for x in group:
            for o in trees.get(x.org_code, {x.org_code}):
                by_org.setdefault(o, []).append(x.session_code)
        orgs = set(by_org) if len(by_org) <= AUDIENCE_IN_MAX else None
        for r in conn.execute(_audience_query(d, n, orgs)):
            for code in by_org.get(r.org_code, ()):
                out[code][r.agent_code] = RosterEntry(r.agent_code, r.agent_name, r.org_code, None, True, False)
    t, a = table("training_attendance"), table("agents")
    codes = list(out)
    for i in range(0, len(codes), LISTED_CHUNK):
        q = (select(t.c.session_code, t.c.agent_code, t.c.status, a.c.agent_name, a.c.org_code)
             .join(a, a.c.agent_code == t.c.agent_code)
             .where(t.c.session_code.in_(codes[i:i + LISTED_CHUNK])))
        for r in conn.execute(q):
            m = out[r.session_code]
            e = m.get(r.agent_code)
            if e is None:
                m[r.agent_code] = RosterEntry(r.agent_code, r.agent_name, r.org_code, r.status, False, True)
            else:
                e.status, e.listed = r.status, True
    return {code: [m[c] for c in sorted(m)] for code, m in out.items()}


def roster(conn: Connection, session: Session, subtree: set[str],
           scope: Scope | None = None) -> list[RosterEntry]:
    """One session's roster (restricted to ``scope``'s agents when given), by agent code."""
    return rosters(conn, [session], {session.org_code: subtree}, scope)[session.session_code]


def _scope(conn: Connection, actor: Actor) -> Scope:
    return scope_for(conn, actor)


def _org_visible(conn: Connection, scope: Scope, org_code: str) -> bool:
    o = table("org_units")
    return conn.execute(select(o.c.org_code).where(
        o.c.org_code == org_code, scope.org_filter(o.c.org_code))).first() is not None


def _visible_sessions(conn: Connection, scope: Scope, base):  # type: ignore[no-untyped-def]
    """``base`` (a select over training_sessions) narrowed to what SQL alone can prove visible:
    the session's unit in the org grants, or a listed agent in the scope."""
    s, t = table("training_sessions"), table("training_attendance")
    listed = exists().where(t.c.session_code == s.c.session_code, scope.agent_filter(t.c.agent_code))
    return base.where(or_(scope.org_filter(s.c.org_code), listed))


def _month_bounds(month: str) -> tuple[dt.date, dt.date]:
    try:
        y, m = (int(x) for x in month.split("-"))
        start = dt.date(y, m, 1)
    except ValueError:
        raise ZhuizongError(f"月份格式应为 YYYY-MM: {month!r}", f"months are YYYY-MM: {month!r}") from None
    end = dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in COURSE_KINDS:
        raise ZhuizongError(f"课程类别只能是 {', '.join(COURSE_KINDS)}",
                            f"the course kind must be one of {', '.join(COURSE_KINDS)}")


def _sessions_in_scope(conn: Connection, actor: Actor, month: str | None, kind: str | None
                       ) -> tuple[Scope, dict[str, set[str]], list[tuple[Session, list[RosterEntry]]]]:
    _check_kind(kind)
    scope = _scope(conn, actor)
    s, _o, base = _session_cols()
    if month:
        lo, hi = _month_bounds(month)
        base = base.where(s.c.session_date >= lo, s.c.session_date <= hi)
    if kind:
        base = base.where(s.c.course_kind == kind)
    base = base.order_by(s.c.session_date.desc(), s.c.session_code).limit(LIST_LIMIT)
    trees = org_subtrees(conn)
    by_sql = {r.session_code for r in conn.execute(_visible_sessions(conn, scope, base))}
    # without an audience rule, SQL alone decides; with one, the rule may name agents of the scope
    cands = [x for x in (_session(r) for r in conn.execute(base))
             if x.session_code in by_sql or x.max_tenure_days is not None]
    ros = rosters(conn, cands, trees, None if actor.is_system else scope)
    out = [(x, ros[x.session_code]) for x in cands if x.session_code in by_sql or ros[x.session_code]]
    return scope, trees, out


def list_sessions(ws: Workspace, actor: Actor, *, month: str | None = None, kind: str | None = None,
                  today: dt.date | None = None) -> list[SessionSummary]:
    """Visible sessions (newest first) with their counts over the roster agents in scope."""
    actor.require("view_training")
    today = today or dt.date.today()
    with ws.require_ready().connect() as conn:
        _scope_, _trees, rows = _sessions_in_scope(conn, actor, month, kind)
    return [SessionSummary(sess, tally(ros, sess.session_date, today)) for sess, ros in rows]


def get_session(ws: Workspace, actor: Actor, code: str) -> SessionView:
    """One visible session with its roster (the agents in the actor's scope); NotFound otherwise."""
    actor.require("view_training")
    with ws.require_ready().connect() as conn:
        return _get(conn, actor, code)


def _not_found(code: str) -> NotFound:
    return NotFound(f"找不到培训班次 {code}", f"training session {code} not found")


def _get(conn: Connection, actor: Actor, code: str) -> SessionView:
    s, _o, base = _session_cols()
    r = conn.execute(base.where(s.c.session_code == code)).first()
    if r is None:
        raise _not_found(code)
    sess = _session(r)
    trees = org_subtrees(conn)
    subtree = trees.get(sess.org_code, {sess.org_code})
    if actor.is_system:
        return SessionView(sess, roster(conn, sess, subtree), True)
    scope = _scope(conn, actor)
    org_visible = _org_visible(conn, scope, sess.org_code)
    ros = roster(conn, sess, subtree, scope)
    if not org_visible and not ros:
        raise _not_found(code)
    return SessionView(sess, ros, org_visible)


def completion(ws: Workspace, actor: Actor, *, month: str | None = None, kind: str | None = None,
               today: dt.date | None = None) -> list[CompletionRow]:
    """Per agent in scope: sessions required, attended, excused, missed, pending (in the filter)."""
    actor.require("view_training")
    today = today or dt.date.today()
    with ws.require_ready().connect() as conn:
        _scope_, _trees, rows = _sessions_in_scope(conn, actor, month, kind)
    out: dict[str, CompletionRow] = {}
    for sess, ros in rows:
        for e in ros:
            c = out.setdefault(e.agent_code, CompletionRow(e.agent_code, e.agent_name, e.org_code))
            c.required += 1
            res = outcome(e.status, sess.session_date, today)
            setattr(c, res, getattr(c, res) + 1)
            if res == "missed":
                c.missed_sessions.append(sess.session_code)
    return sorted(out.values(), key=lambda c: (-c.missed, c.agent_code))


# --- writing ------------------------------------------------------------------------------------


def _unique_sha(frame: pd.DataFrame, actor: Actor) -> str:
    h = hashlib.sha256()
    h.update(frame_sha256(frame).encode())
    h.update(f"/web/{actor.username}/{secrets.token_hex(16)}".encode())
    return h.hexdigest()


def _failed(result: ImportResult) -> ImportFailed:
    return ImportFailed("提交的数据有误, 未保存", "the form has errors; nothing was saved", result)


@dataclass
class SessionInput:
    session_code: str
    title: str
    course_kind: str
    session_date: str
    org_code: str
    max_tenure_days: str = ""
    location: str = ""
    #: agent codes invited explicitly (on the roster without a mark)
    invite: list[str] = field(default_factory=list)


def _outside(codes: list[str]) -> NotFound:
    shown = ", ".join(codes[:5]) + (" …" if len(codes) > 5 else "")
    return NotFound(f"找不到工号 {shown} (不在你的范围内)", f"agent {shown} not found (outside your scope)")


def _in_scope_agents(conn: Connection, actor: Actor, codes: list[str]) -> set[str]:
    a = table("agents")
    q = select(a.c.agent_code).where(a.c.agent_code.in_(codes))
    if not actor.is_system:
        q = q.where(_scope(conn, actor).agent_filter(a.c.agent_code))
    return set(conn.execute(q).scalars())


def create_session(ws: Workspace, actor: Actor, data: SessionInput) -> ImportResult:
    """Create (or, same code, correct) a session of an org unit in the actor's org grants, and
    list the invited agents (who must be in scope). Both batches are checked before either is
    written; the invitations are written only when the session was."""
    actor.require("manage_training")
    code = data.session_code.strip()
    org = data.org_code.strip()
    invite = sorted({c.strip() for c in data.invite if c.strip()})
    with ws.require_ready().connect() as conn:
        if org and not actor.is_system and not _org_visible(conn, _scope(conn, actor), org):
            raise NotFound(f"找不到机构 {org}", f"org unit {org} not found")
        if code:
            s = table("training_sessions")
            taken = conn.execute(select(s.c.session_code).where(s.c.session_code == code)).first()
            if taken is not None:
                try:
                    mine = _get(conn, actor, code).org_visible
                except NotFound:
                    mine = False
                if not mine:  # another unit's session: the code is taken, nothing more is said
                    raise ZhuizongError(f"班次代码 {code} 已被使用", f"session code {code} is taken")
        if invite:
            outside = sorted(set(invite) - _in_scope_agents(conn, actor, invite))
            if outside:
                raise _outside(outside)
    frame = pd.DataFrame([{
        "session_code": code or None, "title": data.title.strip() or None,
        "course_kind": data.course_kind.strip() or None, "session_date": data.session_date.strip() or None,
        "org_code": org or None, "max_tenure_days": data.max_tenure_days.strip() or None,
        "location": data.location.strip()[:200] or None}], dtype=object)
    result = import_frame(ws, "training_sessions", frame, source_name=f"web:training:{actor.username}",
                          sha256=_unique_sha(frame, actor), actor=actor.username)
    if not result.ok:
        raise _failed(result)
    if invite:
        t = table("training_attendance")
        with ws.engine.connect() as conn:
            already: set[str] = set(conn.execute(select(t.c.agent_code).where(
                t.c.session_code == code, t.c.agent_code.in_(invite))).scalars())
        new = [c for c in invite if c not in already]  # an invitation never clears a mark
        if new:
            inv = pd.DataFrame({"session_code": [code] * len(new), "agent_code": new,
                                "status": [None] * len(new)}, dtype=object)
            r2 = import_frame(ws, "training_attendance", inv,
                              source_name=f"web:training-invite:{actor.username}:{code}",
                              sha256=_unique_sha(inv, actor), actor=actor.username)
            if not r2.ok:
                raise _failed(r2)
    return result


def save_marks(ws: Workspace, actor: Actor, code: str, marks: dict[str, str]) -> ImportResult:
    """Record the marks (agent code → status) of a visible session in one batch.

    Every agent must be on the roster as the actor sees it, or — a walk-in — in the actor's scope
    and in force on the session date, with the session's unit in the actor's org grants; otherwise
    NotFound and nothing is written. Invalid statuses come back as :class:`ImportFailed`."""
    actor.require("manage_training")
    marks = {k.strip(): v.strip() for k, v in marks.items() if k.strip() and v and v.strip()}
    with ws.require_ready().connect() as conn:
        view = _get(conn, actor, code)  # NotFound when not visible
        if not marks:
            raise ZhuizongError("没有要保存的签到", "there is no attendance to save")
        on_roster = {e.agent_code for e in view.roster}
        extra = sorted(set(marks) - on_roster)
        if extra:
            allowed: set[str] = set()
            if view.org_visible:
                allowed = _walk_ins(conn, actor, view.session.session_date, extra)
            outside = [c for c in extra if c not in allowed]
            if outside:
                raise _outside(outside)
    codes = sorted(marks)
    frame = pd.DataFrame({"session_code": [view.session.session_code] * len(codes), "agent_code": codes,
                          "status": [marks[c] for c in codes]}, dtype=object)
    result = import_frame(ws, "training_attendance", frame,
                          source_name=f"web:training-marks:{actor.username}:{code}",
                          sha256=_unique_sha(frame, actor), actor=actor.username)
    if not result.ok:
        raise _failed(result)
    return result


def _walk_ins(conn: Connection, actor: Actor, d: dt.date, codes: list[str]) -> set[str]:
    """Of ``codes``, the agents in the actor's scope and in force on ``d``."""
    sp = table("employment_spells")
    a = table("agents")
    in_force = exists().where(sp.c.agent_code == a.c.agent_code, sp.c.hire_date <= d,
                              or_(sp.c.leave_date.is_(None), sp.c.leave_date > d))
    q = select(a.c.agent_code).where(a.c.agent_code.in_(codes), in_force)
    if not actor.is_system:
        q = q.where(_scope(conn, actor).agent_filter(a.c.agent_code))
    return set(conn.execute(q).scalars())


def org_choices(ws: Workspace, actor: Actor) -> list[tuple[str, str]]:
    """(org code, name) of the units a session may be created for: the actor's org grants."""
    o = table("org_units")
    with ws.require_ready().connect() as conn:
        q = select(o.c.org_code, o.c.org_name).order_by(o.c.org_code)
        if not actor.is_system:
            q = q.where(_scope(conn, actor).org_filter(o.c.org_code))
        return [(r.org_code, r.org_name) for r in conn.execute(q)]


def row_agent(codes: Iterable[str]) -> dict[int, str]:
    """Row number in an :class:`ImportResult`'s errors → agent code (frames start at row 2)."""
    return {i + 2: c for i, c in enumerate(sorted(codes))}


__all__ = [
    "ATTENDANCE_STATUSES", "COURSE_KINDS", "CompletionRow", "RosterEntry", "Session", "SessionInput",
    "SessionSummary", "SessionView", "completion", "create_session", "get_session", "list_sessions",
    "org_choices", "org_subtrees", "outcome", "roster", "rosters", "row_agent", "save_marks", "tally",
]
