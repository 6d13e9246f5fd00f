"""Tables of the system of record (SQLAlchemy 2 declarative models).

Natural codes (工号, 机构代码, 流水号 …) are the primary keys: they are what users type, what import
files reference, and they never change meaning. Money is stored as integer 分 (fen) so sums are
exact on every database; import files and reports speak 元.

Three groups:
- imported facts, one table per import kind of data-contract.md (``batch_id`` = the import batch
  that last wrote the row);
- history derived from ``agents`` + ``agent_events`` (employment spells, dated rank/org/supervisor),
  rebuilt for the affected agents inside the import transaction;
- access and operations: users, roles, scopes, import batches, audit log.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CODE = String(64)
NAME = String(200)

naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=naming_convention)


def _batch_fk() -> Mapped[int | None]:
    return mapped_column(ForeignKey("import_batches.id"), nullable=True)


# Self-references may point at rows of the same file: check them at commit, not per statement.
_DEFERRED: dict[str, Any] = {"deferrable": True, "initially": "DEFERRED"}

RANK_CATEGORIES = ("probationary", "formal", "director")
EVENT_TYPES = ("hire", "convert", "promote", "demote", "transfer", "leave", "rehire")
PAY_MODES = ("single", "regular")
TXN_TYPES = ("new", "fy_renewal", "free_look_cancel", "surrender", "renewal")
MEETINGS = ("morning", "evening")
ATTENDANCE_STATUSES = ("present", "late", "leave", "absent")
ROLES = (
    "admin",
    "executive",
    "assessment",
    "campaign",
    "training",
    "trainer",
    "supervisor",
    "agent",
)
SCOPE_TYPES = ("org_subtree", "reporting_line", "self")
TRACK_LINKS = ("campaign", "supervisor", "executive", "training", "coaching", "assessment")
TRACK_STATUSES = ("open", "recorded", "escalated", "done", "closed")
TRACK_METHODS = ("phone", "wechat", "face_to_face", "accompany", "other")
TRACK_OUTCOMES = ("contacted", "committed", "resolved", "no_answer", "refused", "other")
NOTIFY_CHANNELS = ("wecom", "dingtalk", "email")
NOTIFY_STATUSES = ("pending", "sent", "failed")


def _in(col: str, values: tuple[str, ...]) -> str:
    return f"{col} IN ({', '.join(repr(v) for v in values)})"


# --- imported facts ---------------------------------------------------------------------------


class OrgUnit(Base):
    __tablename__ = "org_units"
    org_code: Mapped[str] = mapped_column(CODE, primary_key=True)
    org_name: Mapped[str] = mapped_column(NAME)
    parent_code: Mapped[str | None] = mapped_column(
        CODE, ForeignKey("org_units.org_code", **_DEFERRED), index=True
    )
    level: Mapped[str | None] = mapped_column(String(32))
    batch_id: Mapped[int | None] = _batch_fk()


class Rank(Base):
    __tablename__ = "ranks"
    rank_code: Mapped[str] = mapped_column(CODE, primary_key=True)
    rank_name: Mapped[str] = mapped_column(NAME)
    category: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    batch_id: Mapped[int | None] = _batch_fk()
    __table_args__ = (CheckConstraint(_in("category", RANK_CATEGORIES), name="category"),)


class Agent(Base):
    __tablename__ = "agents"
    agent_code: Mapped[str] = mapped_column(CODE, primary_key=True)
    agent_name: Mapped[str] = mapped_column(NAME)
    hire_date: Mapped[dt.date] = mapped_column(Date)
    org_code: Mapped[str] = mapped_column(CODE, ForeignKey("org_units.org_code"), index=True)
    rank_code: Mapped[str] = mapped_column(CODE, ForeignKey("ranks.rank_code"))
    supervisor_code: Mapped[str | None] = mapped_column(
        CODE, ForeignKey("agents.agent_code", **_DEFERRED), index=True
    )
    recruiter_code: Mapped[str | None] = mapped_column(
        CODE, ForeignKey("agents.agent_code", **_DEFERRED), index=True
    )
    leave_date: Mapped[dt.date | None] = mapped_column(Date)
    batch_id: Mapped[int | None] = _batch_fk()
    # optional contacts (issue 16): tap-to-call and WeCom/DingTalk chat links on the inbox cards
    phone: Mapped[str | None] = mapped_column(CODE)
    wecom_id: Mapped[str | None] = mapped_column(CODE)
    dingtalk_id: Mapped[str | None] = mapped_column(CODE)


class AgentEvent(Base):
    __tablename__ = "agent_events"
    agent_code: Mapped[str] = mapped_column(
        CODE, ForeignKey("agents.agent_code", **_DEFERRED), primary_key=True
    )
    event_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    rank_code: Mapped[str | None] = mapped_column(CODE, ForeignKey("ranks.rank_code"))
    org_code: Mapped[str | None] = mapped_column(CODE, ForeignKey("org_units.org_code"))
    supervisor_code: Mapped[str | None] = mapped_column(
        CODE, ForeignKey("agents.agent_code", **_DEFERRED)
    )
    batch_id: Mapped[int | None] = _batch_fk()
    __table_args__ = (CheckConstraint(_in("event_type", EVENT_TYPES), name="event_type"),)


class Product(Base):
    __tablename__ = "products"
    product_code: Mapped[str] = mapped_column(CODE, primary_key=True)
    product_name: Mapped[str] = mapped_column(NAME)
    is_main: Mapped[bool] = mapped_column(Boolean)
    pay_mode: Mapped[str] = mapped_column(String(16))
    term_years: Mapped[int | None] = mapped_column(Integer)
    fyc_rate: Mapped[Decimal | None] = mapped_column(Numeric(9, 6, asdecimal=True))
    std_factor: Mapped[Decimal | None] = mapped_column(Numeric(9, 4, asdecimal=True))
    batch_id: Mapped[int | None] = _batch_fk()
    __table_args__ = (CheckConstraint(_in("pay_mode", PAY_MODES), name="pay_mode"),)


class Premium(Base):
    __tablename__ = "premiums"
    txn_id: Mapped[str] = mapped_column(CODE, primary_key=True)
    # No index on policy_no: random keys make it the costliest index to maintain on bulk
    # imports, and policy-level questions (persistency) are answered by the analytic snapshot.
    policy_no: Mapped[str] = mapped_column(CODE)
    agent_code: Mapped[str] = mapped_column(CODE, ForeignKey("agents.agent_code"), index=True)
    product_code: Mapped[str] = mapped_column(CODE, ForeignKey("products.product_code"))
    txn_date: Mapped[dt.date] = mapped_column(Date, index=True)
    txn_type: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    issue_date: Mapped[dt.date | None] = mapped_column(Date)
    policy_year: Mapped[int | None] = mapped_column(Integer)
    fyc_fen: Mapped[int | None] = mapped_column(BigInteger)
    batch_id: Mapped[int | None] = _batch_fk()
    __table_args__ = (
        CheckConstraint(_in("txn_type", TXN_TYPES), name="txn_type"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )


class Plan(Base):
    __tablename__ = "plans"
    org_code: Mapped[str] = mapped_column(
        CODE, ForeignKey("org_units.org_code"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[Decimal] = mapped_column(Numeric(20, 4, asdecimal=True))
    batch_id: Mapped[int | None] = _batch_fk()


class Attendance(Base):
    __tablename__ = "attendance"
    agent_code: Mapped[str] = mapped_column(
        CODE, ForeignKey("agents.agent_code"), primary_key=True
    )
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    meeting: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    batch_id: Mapped[int | None] = _batch_fk()
    __table_args__ = (
        CheckConstraint(_in("meeting", MEETINGS), name="meeting"),
        CheckConstraint(_in("status", ATTENDANCE_STATUSES), name="status"),
        # The table is its primary-key B-tree (no hidden rowid + separate key index): the
        # largest tables load about a third faster and per-agent look-ups read one range.
        {"sqlite_with_rowid": False},
    )


class WorkLog(Base):
    __tablename__ = "work_logs"
    agent_code: Mapped[str] = mapped_column(
        CODE, ForeignKey("agents.agent_code"), primary_key=True
    )
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    calls: Mapped[int | None] = mapped_column(Integer)
    visits: Mapped[int | None] = mapped_column(Integer)
    interviews: Mapped[int | None] = mapped_column(Integer)
    proposals: Mapped[int | None] = mapped_column(Integer)
    closes: Mapped[int | None] = mapped_column(Integer)
    referrals: Mapped[int | None] = mapped_column(Integer)
    recruit_talks: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    # issue 15: the daily work plan (日工作计划) for the next day, filed with the day's log
    plan_calls: Mapped[int | None] = mapped_column(Integer)
    plan_visits: Mapped[int | None] = mapped_column(Integer)
    plan_interviews: Mapped[int | None] = mapped_column(Integer)
    batch_id: Mapped[int | None] = _batch_fk()
    __table_args__ = ({"sqlite_with_rowid": False},)


# --- history derived from agents + agent_events -----------------------------------------------


class EmploymentSpell(Base):
    """One employment spell (入司 … 离司). ``leave_date`` is the first day no longer in force."""

    __tablename__ = "employment_spells"
    agent_code: Mapped[str] = mapped_column(
        CODE, ForeignKey("agents.agent_code", ondelete="CASCADE"), primary_key=True
    )
    spell_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    hire_date: Mapped[dt.date] = mapped_column(Date)
    leave_date: Mapped[dt.date | None] = mapped_column(Date)


class AgentHistory(Base):
    """Rank, org unit and supervisor valid on ``[valid_from, valid_to)`` (``valid_to`` NULL = open)."""

    __tablename__ = "agent_history"
    agent_code: Mapped[str] = mapped_column(
        CODE, ForeignKey("agents.agent_code", ondelete="CASCADE"), primary_key=True
    )
    valid_from: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    rank_code: Mapped[str] = mapped_column(CODE, ForeignKey("ranks.rank_code"))
    org_code: Mapped[str] = mapped_column(CODE, ForeignKey("org_units.org_code"), index=True)
    supervisor_code: Mapped[str | None] = mapped_column(CODE, index=True)


# --- access and operations --------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(NAME)
    agent_code: Mapped[str | None] = mapped_column(CODE, ForeignKey("agents.agent_code"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())


class UserRole(Base):
    __tablename__ = "user_roles"
    username: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.username", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)


class UserScope(Base):
    """A grant of visibility: an org subtree, the reporting line below an agent, or one agent."""

    __tablename__ = "user_scopes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.username", ondelete="CASCADE"), index=True
    )
    scope_type: Mapped[str] = mapped_column(String(32))
    org_code: Mapped[str | None] = mapped_column(CODE, ForeignKey("org_units.org_code"))
    agent_code: Mapped[str | None] = mapped_column(CODE, ForeignKey("agents.agent_code"))
    __table_args__ = (
        CheckConstraint(_in("scope_type", SCOPE_TYPES), name="scope_type"),
        CheckConstraint(
            "(scope_type = 'org_subtree' AND org_code IS NOT NULL AND agent_code IS NULL) OR "
            "(scope_type <> 'org_subtree' AND agent_code IS NOT NULL AND org_code IS NULL)",
            name="scope_target",
        ),
        UniqueConstraint("username", "scope_type", "org_code", "agent_code", name="uq_scope"),
    )


class ImportBatch(Base):
    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64))
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_inserted: Mapped[int] = mapped_column(Integer)
    rows_updated: Mapped[int] = mapped_column(Integer)
    rows_unchanged: Mapped[int] = mapped_column(Integer)
    min_date: Mapped[dt.date | None] = mapped_column(Date)
    max_date: Mapped[dt.date | None] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("kind", "file_sha256", name="uq_import_file"),)


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)  # JSON


# --- tracking (追踪) ------------------------------------------------------------------------------


class TrackItem(Base):
    """One tracking item: a subject (agent or org unit) to follow up, from ``opened_on`` until done.

    An open item whose condition persists is carried (``last_seen_on`` moves on), never duplicated:
    at most one item per subject is live at a time, and the UNIQUE key on (subject, opened_on) makes
    a second creation on the same day impossible even for two concurrent runs.
    """

    __tablename__ = "track_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_type: Mapped[str] = mapped_column(String(8))
    subject_code: Mapped[str] = mapped_column(CODE)
    org_code: Mapped[str] = mapped_column(CODE, index=True)  # subject's org unit when last seen
    opened_on: Mapped[dt.date] = mapped_column(Date)
    last_seen_on: Mapped[dt.date] = mapped_column(Date)
    link: Mapped[str] = mapped_column(String(16))  # link of the highest-priority reason
    priority: Mapped[int] = mapped_column(Integer)  # 1 = highest
    owner_role: Mapped[str] = mapped_column(String(32))
    owner_code: Mapped[str | None] = mapped_column(String(64), index=True)
    escalated_to: Mapped[str | None] = mapped_column(String(64), index=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), index=True)
    due_date: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    close_reason: Mapped[str | None] = mapped_column(Text)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    # put off (暂缓) until this date: live, but out of the inbox until then (issue 16)
    snoozed_until: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (
        CheckConstraint(_in("subject_type", ("agent", "org")), name="subject_type"),
        CheckConstraint(_in("link", TRACK_LINKS), name="link"),
        CheckConstraint(_in("status", TRACK_STATUSES), name="status"),
        UniqueConstraint("subject_type", "subject_code", "opened_on", name="uq_track_item_day"),
    )


class TrackReason(Base):
    """Why an item exists: one row per rule that fired for it, with the facts when last seen."""

    __tablename__ = "track_reasons"
    item_id: Mapped[int] = mapped_column(
        ForeignKey("track_items.id", ondelete="CASCADE"), primary_key=True
    )
    rule: Mapped[str] = mapped_column(String(64), primary_key=True)
    link: Mapped[str] = mapped_column(String(16))
    owner_role: Mapped[str] = mapped_column(String(32))
    first_seen: Mapped[dt.date] = mapped_column(Date)
    last_seen: Mapped[dt.date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean)
    message_zh: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text)
    facts: Mapped[str] = mapped_column(Text)  # JSON object


class TrackRecord(Base):
    """What the owner did (追踪记录). Append-only: a correction is a new record naming the old one."""

    __tablename__ = "track_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("track_items.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    on_date: Mapped[dt.date] = mapped_column(Date)
    author: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    finding: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    next_date: Mapped[dt.date | None] = mapped_column(Date)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("track_records.id"))
    __table_args__ = (
        CheckConstraint(_in("method", TRACK_METHODS), name="method"),
        CheckConstraint(_in("outcome", TRACK_OUTCOMES), name="outcome"),
    )


class TrackEvent(Base):
    """Lifecycle of an item: opened, carried, reason added/cleared, recorded, escalated, closed."""

    __tablename__ = "track_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("track_items.id", ondelete="CASCADE"), index=True)
    on_date: Mapped[dt.date] = mapped_column(Date)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    event: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)  # JSON


class TrackRun(Base):
    """One generation run per day; the row is locked while the day is generated."""

    __tablename__ = "track_runs"
    run_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    last_started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_actor: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str | None] = mapped_column(Text)  # JSON counts of the last run


class NotifyOutbox(Base):
    """A digest message to deliver. Queued first, then paced and retried; never dropped."""

    __tablename__ = "notify_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest_date: Mapped[dt.date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))
    channel_name: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    __table_args__ = (
        CheckConstraint(_in("channel", NOTIFY_CHANNELS), name="channel"),
        CheckConstraint(_in("status", NOTIFY_STATUSES), name="status"),
        UniqueConstraint("digest_date", "channel_name", "recipient", name="uq_notify_digest"),
    )


# --- web (sessions, login throttling) ----------------------------------------------------------


class WebSession(Base):
    """A server-side login session. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(
        String(64), ForeignKey("users.username", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    ip: Mapped[str | None] = mapped_column(String(64))


class LoginAttempt(Base):
    """Every login attempt (throttling: N failures in a row lock the username for a while)."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    ok: Mapped[bool] = mapped_column(Boolean)


# --- basic law (基本法) ---------------------------------------------------------------------------

ASSESS_STATUSES = ("final", "provisional")
ASSESS_OUTCOMES = ("convert", "promote", "maintain", "extra_period", "demote", "contract_end",
                   "not_met", "on_track", "at_risk", "not_eligible")


class AssessRun(Base):
    """One ``assess run`` that computed results (a frozen period's re-run computes nothing)."""

    __tablename__ = "assess_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(32), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean)  # every window ended before as_of: frozen
    rules_name: Mapped[str] = mapped_column(NAME)
    rules_source: Mapped[str] = mapped_column(String(500))
    rules_sha256: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    recompute: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    summary: Mapped[str | None] = mapped_column(Text)  # JSON counts by rule and outcome


class AssessResult(Base):
    """An agent's result under one rule for one period: the latest run's (frozen once closed).

    The primary key (period, rule, agent) keeps one current result; ``criteria`` is a JSON list of
    {criterion, metric, met, actual, threshold, gap, projection, projected_met, ...}."""

    __tablename__ = "assess_results"
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    rule: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_code: Mapped[str] = mapped_column(CODE, primary_key=True, index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("assess_runs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    rank_code: Mapped[str] = mapped_column(CODE)
    org_code: Mapped[str] = mapped_column(CODE)
    window_start: Mapped[dt.date] = mapped_column(Date)
    window_end: Mapped[dt.date] = mapped_column(Date)
    as_of: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    target_rank: Mapped[str | None] = mapped_column(CODE)
    fail_streak: Mapped[int] = mapped_column(Integer, default=0)
    met_count: Mapped[int] = mapped_column(Integer)
    required_count: Mapped[int] = mapped_column(Integer)
    passed: Mapped[bool] = mapped_column(Boolean)
    projected_passed: Mapped[bool] = mapped_column(Boolean)
    gap_zh: Mapped[str] = mapped_column(Text)
    gap_en: Mapped[str] = mapped_column(Text)
    criteria: Mapped[str] = mapped_column(Text)  # JSON
    applied_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    applied_by: Mapped[str | None] = mapped_column(String(64))
    applied_note: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (
        CheckConstraint(_in("status", ASSESS_STATUSES), name="status"),
        CheckConstraint(_in("outcome", ASSESS_OUTCOMES), name="outcome"),
        # the latest application of a period, one index seek (the basic-law page's data version)
        Index("ix_assess_results_period_applied_at", "period", "applied_at"),
    )


# --- campaigns (方案) ---------------------------------------------------------------------------

CAMPAIGN_STATUSES = ("open", "closed")


class Campaign(Base):
    """A sales campaign (方案): its validated definition (canonical JSON) and its close-out state.

    ``definition`` is the whole validated definition (``zhuizong.campaigns.config.Campaign``); the
    columns beside it repeat what lists and filters need. Once ``status`` is ``closed`` the
    definition can no longer change and the results live in ``campaign_results``."""

    __tablename__ = "campaigns"
    campaign_id: Mapped[str] = mapped_column(CODE, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    measure: Mapped[str] = mapped_column(String(32))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    grace_days: Mapped[int] = mapped_column(Integer, default=0)
    definition: Mapped[str] = mapped_column(Text)  # JSON
    definition_sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    results_as_of: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (CheckConstraint(_in("status", CAMPAIGN_STATUSES), name="status"),)


class CampaignResult(Base):
    """An eligible agent's frozen result, written once when the campaign is closed."""

    __tablename__ = "campaign_results"
    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("campaigns.campaign_id", ondelete="CASCADE"), primary_key=True)
    agent_code: Mapped[str] = mapped_column(CODE, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    agent_name: Mapped[str] = mapped_column(NAME)
    org_code: Mapped[str] = mapped_column(CODE)
    value: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    cases: Mapped[int] = mapped_column(Integer)
    fyp: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    fyc: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    std_premium: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    reached_on: Mapped[dt.date | None] = mapped_column(Date)
    tier_index: Mapped[int | None] = mapped_column(Integer)  # 0 = lowest tier; null = none
    tier_name: Mapped[str | None] = mapped_column(NAME)


class CampaignTeamResult(Base):
    """A team's (org unit at some level) frozen result, written with the individual results."""

    __tablename__ = "campaign_team_results"
    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("campaigns.campaign_id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_code: Mapped[str] = mapped_column(CODE, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    org_name: Mapped[str] = mapped_column(NAME)
    value: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    members: Mapped[int] = mapped_column(Integer)
    achievers: Mapped[int] = mapped_column(Integer)
    cases: Mapped[int] = mapped_column(Integer)


# --- training (培训班与培训签到) ------------------------------------------------------------------

COURSE_KINDS = ("new_hire", "top_performer", "quasi_director", "other")


class TrainingSession(Base):
    """A training session (培训班次) run by an org unit on one day.

    Its roster (应训人员) is the union of the audience rule — when ``max_tenure_days`` is set, every
    agent in force on ``session_date`` placed in the ``org_code`` subtree whose current spell is at
    most that many days old — and the agents with a ``training_attendance`` row (explicit
    invitations, walk-ins). See docs/training.md."""

    __tablename__ = "training_sessions"
    session_code: Mapped[str] = mapped_column(CODE, primary_key=True)
    title: Mapped[str] = mapped_column(NAME)
    course_kind: Mapped[str] = mapped_column(String(16))
    session_date: Mapped[dt.date] = mapped_column(Date, index=True)
    org_code: Mapped[str] = mapped_column(CODE, ForeignKey("org_units.org_code"), index=True)
    max_tenure_days: Mapped[int | None] = mapped_column(Integer)
    location: Mapped[str | None] = mapped_column(NAME)
    batch_id: Mapped[int | None] = _batch_fk()
    __table_args__ = (
        CheckConstraint(_in("course_kind", COURSE_KINDS), name="course_kind"),
        CheckConstraint("max_tenure_days IS NULL OR max_tenure_days >= 0", name="max_tenure_days"),
    )


class TrainingAttendance(Base):
    """An agent on a session's roster; ``status`` NULL = invited, not marked yet."""

    __tablename__ = "training_attendance"
    session_code: Mapped[str] = mapped_column(
        CODE, ForeignKey("training_sessions.session_code", ondelete="CASCADE"), primary_key=True
    )
    agent_code: Mapped[str] = mapped_column(
        CODE, ForeignKey("agents.agent_code"), primary_key=True, index=True
    )
    status: Mapped[str | None] = mapped_column(String(16))
    batch_id: Mapped[int | None] = _batch_fk()
    __table_args__ = (CheckConstraint(_in("status", ATTENDANCE_STATUSES), name="status"),)


# --- results store (KPI results, docs/results-store.md) -----------------------------------------

RESULT_STATUSES = ("building", "complete")


class KpiResultVersion(Base):
    """One version of the results store: a key over everything that changes a number (data
    version, number-changing settings, metric-registry fingerprint, package version). Readers use
    only a ``complete`` version whose key equals the workspace's current key; a build writes its
    rows under a ``building`` version and publishes it in one transaction."""

    __tablename__ = "kpi_result_versions"
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    data_version: Mapped[str] = mapped_column(String(64))
    through_day: Mapped[dt.date] = mapped_column(Date)
    #: JSON list of the stored periods: [{"period": label, "segments": [...], "agents": bool}]
    periods: Mapped[str] = mapped_column(Text)
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    __table_args__ = (CheckConstraint(_in("status", RESULT_STATUSES), name="status"),)


class KpiResultSlice(Base):
    """One stored piece of a version: a period × grain (``org``: units' totals, ``agent``: agents'
    numbers) × segmentation (none, rank_category, rank, tenure). Its rows are in ``kpi_results``."""

    __tablename__ = "kpi_result_slices"
    slice_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(64))
    grain: Mapped[str] = mapped_column(String(8))
    segment_by: Mapped[str] = mapped_column(String(16))
    __table_args__ = (
        UniqueConstraint("version", "period", "grain", "segment_by", name="uq_kpi_result_slice"),
    )


class KpiResultRow(Base):
    """One KPI number of a slice: org unit [× agent] × segment × metric, with value, numerator and
    denominator as exact decimal text. ``org_code`` of an agent row is the agent's unit at the
    period's end; ``segment`` is ``all`` for no segmentation. ``present`` (agent rows): whether
    the agent has a value of one of the metric's base measures."""

    __tablename__ = "kpi_results"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True, autoincrement=True)
    slice_id: Mapped[int] = mapped_column(Integer)
    org_code: Mapped[str] = mapped_column(CODE)
    agent_code: Mapped[str | None] = mapped_column(CODE)
    segment: Mapped[str] = mapped_column(CODE)
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(Text)
    numerator: Mapped[str | None] = mapped_column(Text)
    denominator: Mapped[str | None] = mapped_column(Text)
    present: Mapped[bool | None] = mapped_column(Boolean)
    __table_args__ = (
        Index("ix_kpi_results_org", "slice_id", "org_code"),
        Index("ix_kpi_results_agent", "slice_id", "agent_code"),
    )


# issue 15 --- tracking links: staff assignments, routes, agent goals, report-up ----------------

GOAL_METRICS = ("fyp", "cases", "visits", "interviews", "calls", "recruits")
ASSIGNABLE_ROLES = ("trainer", "training", "assessment", "campaign", "executive")
RAISE_CATEGORIES = ("attitude", "family", "complaint", "health", "resource", "other")


class TrackAssignment(Base):
    """An explicit assignment of a staff user to a tracking role for an org unit and everything
    below it (refines the default: a staff user owns their link for the units granted to them)."""

    __tablename__ = "track_assignments"
    role: Mapped[str] = mapped_column(String(32), primary_key=True)  # one of ASSIGNABLE_ROLES
    org_code: Mapped[str] = mapped_column(CODE, ForeignKey("org_units.org_code"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), ForeignKey("users.username"), index=True)
    batch_id: Mapped[int | None] = _batch_fk()


class TrackRoute(Base):
    """Who a reason of an item is routed to: its owner (the owner of the rule's link for the
    subject on the day it was first seen) and the people copied (``copy_roles``)."""

    __tablename__ = "track_routes"
    item_id: Mapped[int] = mapped_column(
        ForeignKey("track_items.id", ondelete="CASCADE"), primary_key=True
    )
    rule: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # owner | copy
    person: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(32))
    __table_args__ = (CheckConstraint(_in("kind", ("owner", "copy")), name="kind"),)


class AgentGoal(Base):
    """An agent's own monthly goal (个人目标 / 定标), import kind ``agent_goals``."""

    __tablename__ = "agent_goals"
    agent_code: Mapped[str] = mapped_column(CODE, ForeignKey("agents.agent_code"), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    target: Mapped[Decimal] = mapped_column(Numeric(20, 4, asdecimal=True))
    batch_id: Mapped[int | None] = _batch_fk()
    __table_args__ = (CheckConstraint(_in("metric", GOAL_METRICS), name="metric"),)


class TrackRaise(Base):
    """A finding reported up (上报): raised by the holder of an item to their superior with a
    category and note; closed by the superior's answer (time to answer = answered_at − raised_at)."""

    __tablename__ = "track_raises"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("track_items.id"), index=True)
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_to: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text)
    raised_on: Mapped[dt.date] = mapped_column(Date)
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_on: Mapped[dt.date | None] = mapped_column(Date)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    __table_args__ = (CheckConstraint(_in("category", RAISE_CATEGORIES), name="category"),)


# issue 17 --- basic law, the benefit side: income runs and items ---------------------------------


class IncomeRun(Base):
    """A run of ``zhuizong assess income`` for a period (frozen once every window closed)."""

    __tablename__ = "income_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(32), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean)  # every benefit window ended before as_of
    rules_name: Mapped[str] = mapped_column(NAME)
    rules_sha256: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    recompute: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class IncomeItem(Base):
    """One benefit item of an agent for a period (the latest run's; frozen once closed). Numbers
    are exact decimal text in 元 (``basis`` and ``amount``: the projection while the window is
    open, ``*_to_date``: so far); ``source`` is the bred director of a breeding-bonus item."""

    __tablename__ = "income_items"
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    item: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_code: Mapped[str] = mapped_column(CODE, primary_key=True, index=True)
    source: Mapped[str] = mapped_column(CODE, primary_key=True, default="")
    run_id: Mapped[int] = mapped_column(ForeignKey("income_runs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    rank_code: Mapped[str] = mapped_column(CODE)
    org_code: Mapped[str] = mapped_column(CODE)
    window_start: Mapped[dt.date] = mapped_column(Date)
    window_end: Mapped[dt.date] = mapped_column(Date)
    as_of: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    basis: Mapped[str] = mapped_column(Text)
    basis_to_date: Mapped[str] = mapped_column(Text)
    rate: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[str] = mapped_column(Text)
    amount_to_date: Mapped[str] = mapped_column(Text)
    next_amount: Mapped[str | None] = mapped_column(Text)
    next_gap: Mapped[str | None] = mapped_column(Text)
    note_zh: Mapped[str] = mapped_column(Text)
    note_en: Mapped[str] = mapped_column(Text)
    __table_args__ = (CheckConstraint(_in("status", ASSESS_STATUSES), name="status"),)


def table(name: str):  # type: ignore[no-untyped-def]
    """The Core ``Table`` of ``name``."""
    return Base.metadata.tables[name]
