"""Daily digests (每日追踪提醒): queued in ``notify_outbox``, then delivered, paced and retried.

Two steps, because sending can take long (a robot takes 20 messages a minute) and can fail, while
queueing is one quick transaction:

1. :func:`enqueue` writes one outbox row per (digest, matching channel), idempotently: the UNIQUE
   key (digest_date, channel_name, recipient) and ``INSERT … ON CONFLICT DO NOTHING`` make a second
   run on the same day — or two concurrent runs — queue nothing new. A digest longer than a robot
   accepts is split at line boundaries into numbered parts; part 1 keeps the recipient's code as
   its key and part i ≥ 2 is keyed ``code#i``, so each part is sent, retried and recorded on its
   own (a failed part 3 never makes parts 1-2 go out twice) and whether a digest is queued at all
   is decided by part 1 alone.
2. :func:`deliver` sends every row that is not yet ``sent`` (``pending``, or ``failed`` in an
   earlier run), channel by channel interleaved, each channel paced by its own sliding window.
   Retryable failures (HTTP 5xx/429, connection errors, timeouts, rate-limit errcodes 45009/130101,
   SMTP 4xx) are retried with exponential back-off up to ``max_attempts`` per run; then the row is
   marked ``failed`` with its error, reported, and picked up again by the next run. Nothing is
   dropped. Each attempt is first *claimed* (``attempts`` incremented by compare-and-set in its own
   short transaction) so two concurrent ``deliver`` runs never send the same attempt twice; a
   process killed between sending and recording leaves the row unsent, so delivery is at least once.
"""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from zhuizong.notify import channels as wire
from zhuizong.notify.config import DingtalkChannel, EmailChannel, WecomChannel
from zhuizong.notify.pacing import Clock, Sleep, SlidingWindowLimiter
from zhuizong.store.db import atomic
from zhuizong.store.models import table

AnyChannel = WecomChannel | DingtalkChannel | EmailChannel
PART_SEP = "#"

#: Back-off before retry k (k = 1, 2, ...): BASE * 2^(k-1), capped; at least a minute when the
#: robot said "too many messages" (its window is a minute).
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 300.0
RATE_LIMIT_BACKOFF_S = 60.0


@dataclass(frozen=True)
class Digest:
    """One recipient's digest for one day; ``body`` is the markdown the tracking engine wrote."""

    recipient: str  # owner code: a username or an agent code
    recipient_name: str
    digest_date: dt.date
    title: str
    body: str

    def __post_init__(self) -> None:
        if not self.recipient or PART_SEP in self.recipient:
            raise ValueError(f"invalid recipient code {self.recipient!r}")


@dataclass(frozen=True)
class Skipped:
    """A digest that matched a channel but could not be queued on it (reported, never silent)."""

    recipient: str
    channel_name: str
    reason_zh: str
    reason_en: str


@dataclass
class EnqueueReport:
    queued: dict[str, int] = field(default_factory=dict)  # channel -> messages (parts) queued
    digests: dict[str, int] = field(default_factory=dict)  # channel -> digests newly queued
    already_queued: dict[str, int] = field(default_factory=dict)  # channel -> digests seen before
    skipped: list[Skipped] = field(default_factory=list)
    unrouted: list[str] = field(default_factory=list)  # recipients no channel wants

    @property
    def total_queued(self) -> int:
        return sum(self.queued.values())


@dataclass
class ChannelCounts:
    sent: int = 0  # messages sent in this run
    failed: int = 0  # messages given up on in this run (status 'failed', error recorded)
    deferred: int = 0  # messages not attempted (channel stopped, earlier part failed, ...)
    attempts: int = 0  # HTTP/SMTP requests made


@dataclass(frozen=True)
class Failure:
    row_id: int
    digest_date: dt.date
    channel_name: str
    recipient: str
    attempts: int  # over all runs
    error: str


@dataclass(frozen=True)
class Deferred:
    row_id: int
    channel_name: str
    recipient: str
    reason_zh: str
    reason_en: str


@dataclass(frozen=True)
class Send:
    """One request as the pacing saw it; ``at`` is on the injected clock."""

    channel_name: str
    row_id: int
    at: float
    ok: bool
    error: str | None


@dataclass
class DeliveryReport:
    channels: dict[str, ChannelCounts] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    deferred: list[Deferred] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)
    #: unsent rows whose channel is no longer configured: left alone, reported
    unknown_channels: dict[str, int] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        return sum(c.sent for c in self.channels.values())

    @property
    def ok(self) -> bool:
        """True when every message this run looked at was sent."""
        return not self.failures and not self.deferred and not self.unknown_channels


# --- enqueue ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Person:
    aliases: frozenset[str]
    email: str | None


def _people(conn: Connection, codes: Iterable[str]) -> dict[str, _Person]:
    """For each code: the names it is known by (username ↔ agent code) and its e-mail address.

    A code matching a username takes that user's address; otherwise the active users linked to
    the agent code are used (first address by username).
    """
    codes = sorted(set(codes))
    users = table("users")
    rows: list[tuple[str, str | None, str | None, bool]] = []
    for i in range(0, len(codes), 500):
        chunk = codes[i : i + 500]
        rows += [
            tuple(r)  # type: ignore[misc]
            for r in conn.execute(
                select(users.c.username, users.c.agent_code, users.c.email, users.c.is_active)
                .where(users.c.username.in_(chunk) | users.c.agent_code.in_(chunk))
                .order_by(users.c.username)
            )
        ]
    out: dict[str, _Person] = {}
    for code in codes:
        by_name = [r for r in rows if r[0] == code]
        by_agent = [r for r in rows if r[1] == code]
        aliases = {code} | {r[0] for r in by_agent} | {r[1] for r in by_name if r[1]}
        email = next((r[2] for r in by_name if r[3] and r[2]), None) or next(
            (r[2] for r in by_agent if r[3] and r[2]), None
        )
        out[code] = _Person(frozenset(aliases), email.strip() if email else None)
    return out


def _insert(conn: Connection):  # type: ignore[no-untyped-def]
    t = table("notify_outbox")
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return sqlite.insert(t)
    if dialect == "postgresql":
        return postgresql.insert(t)
    raise NotImplementedError(f"notify_outbox insert on {dialect}")  # pragma: no cover


def _utcnow(wall: Callable[[], float] = time.time) -> dt.datetime:
    return dt.datetime.fromtimestamp(wall(), dt.UTC).replace(tzinfo=None)


def enqueue(
    conn: Connection, digests: Sequence[Digest], channels: Sequence[AnyChannel]
) -> EnqueueReport:
    """Queue each digest on every channel that wants its recipient. Idempotent per day.

    Runs in the caller's transaction (nested as a savepoint when one is open). A recipient that
    matches no channel is listed in ``unrouted``; one without an e-mail address is ``skipped`` on
    e-mail channels. Neither is an error: both are in the report for the operator to act on.
    """
    report = EnqueueReport()
    people = _people(conn, (d.recipient for d in digests))
    now = _utcnow()
    with atomic(conn) as c:
        for d in digests:
            person = people[d.recipient]
            matched = [ch for ch in channels if ch.wants(person.aliases)]
            if not matched:
                report.unrouted.append(d.recipient)
            for ch in matched:
                if isinstance(ch, EmailChannel) and not person.email:
                    report.skipped.append(Skipped(
                        d.recipient, ch.name,
                        f"{d.recipient_name} ({d.recipient}) 没有电子邮箱 (users.email), "
                        "未发送邮件",
                        f"{d.recipient_name} ({d.recipient}) has no e-mail address (users.email); "
                        "no mail queued",
                    ))
                    continue
                parts = wire.split_markdown(d.title, d.body, wire.max_bytes(ch.type))
                rows = [
                    {
                        "digest_date": d.digest_date,
                        "channel": ch.type,
                        "channel_name": ch.name,
                        "recipient": d.recipient if i == 1 else f"{d.recipient}{PART_SEP}{i}",
                        "subject": subject,
                        "body": body,
                        "status": "pending",
                        "attempts": 0,
                        "created_at": now,
                    }
                    for i, (subject, body) in enumerate(parts, start=1)
                ]
                # Part 1 decides: if it is already there, the whole digest was queued before.
                # (RETURNING, not rowcount: with implicit RETURNING psycopg reports rowcount -1.)
                t = table("notify_outbox")
                first = c.execute(
                    _insert(c).values(rows[0]).on_conflict_do_nothing().returning(t.c.id)
                ).first()
                if first is None:
                    report.already_queued[ch.name] = report.already_queued.get(ch.name, 0) + 1
                    continue
                if len(rows) > 1:
                    c.execute(_insert(c).on_conflict_do_nothing(), rows[1:])
                report.queued[ch.name] = report.queued.get(ch.name, 0) + len(rows)
                report.digests[ch.name] = report.digests.get(ch.name, 0) + 1
    return report


# --- deliver ----------------------------------------------------------------------------------


@dataclass
class _Job:
    row_id: int
    digest_date: dt.date
    recipient: str
    subject: str
    body: str
    attempts: int  # as stored: the compare-and-set value for the next claim
    tries: int = 0  # in this run

    @property
    def digest_key(self) -> str:
        return self.recipient.split(PART_SEP, 1)[0]


@dataclass
class _Lane:
    channel: AnyChannel
    limiter: SlidingWindowLimiter
    jobs: deque[_Job]
    not_before: float = 0.0
    consecutive_failures: int = 0
    failed_digests: set[tuple[dt.date, str]] = field(default_factory=set)


def backoff(tries: int, rate_limited: bool) -> float:
    """Seconds to wait before retry number ``tries`` (1 = after the first failure)."""
    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (tries - 1))
    return max(delay, RATE_LIMIT_BACKOFF_S) if rate_limited else delay


def _load_jobs(
    engine: Engine, names: Sequence[str], digest_date: dt.date | None
) -> tuple[dict[str, list[_Job]], dict[str, int]]:
    t = table("notify_outbox")
    q = select(t.c.id, t.c.digest_date, t.c.channel_name, t.c.recipient, t.c.subject, t.c.body,
               t.c.attempts).where(t.c.status != "sent").order_by(t.c.id)
    if digest_date is not None:
        q = q.where(t.c.digest_date == digest_date)
    jobs: dict[str, list[_Job]] = {n: [] for n in names}
    unknown: dict[str, int] = {}
    with atomic(engine, write=False) as conn:
        for r in conn.execute(q):
            if r.channel_name in jobs:
                jobs[r.channel_name].append(
                    _Job(r.id, r.digest_date, r.recipient, r.subject, r.body, r.attempts)
                )
            else:
                unknown[r.channel_name] = unknown.get(r.channel_name, 0) + 1
    return jobs, unknown


def _emails(engine: Engine, jobs: Iterable[_Job]) -> dict[str, str]:
    with atomic(engine, write=False) as conn:
        people = _people(conn, (j.digest_key for j in jobs))
    return {code: p.email for code, p in people.items() if p.email}


def _claim(engine: Engine, job: _Job) -> bool:
    t = table("notify_outbox")
    with atomic(engine) as conn:
        res = conn.execute(
            update(t)
            .where(t.c.id == job.row_id, t.c.status != "sent", t.c.attempts == job.attempts)
            .values(attempts=t.c.attempts + 1)
        )
    if res.rowcount == 1:
        job.attempts += 1
        return True
    return False


def _record(engine: Engine, job: _Job, *, status: str | None, error: str | None,
            sent_at: dt.datetime | None = None) -> None:
    t = table("notify_outbox")
    values: dict[str, object] = {"last_error": error}
    if status:
        values["status"] = status
    if sent_at:
        values["sent_at"] = sent_at
    with atomic(engine) as conn:
        conn.execute(update(t).where(t.c.id == job.row_id).values(**values))


def deliver(
    engine: Engine,
    channels: Sequence[AnyChannel],
    *,
    digest_date: dt.date | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    wall: Callable[[], float] = time.time,
    max_attempts: int = 5,
    give_up_after: int = 3,
    transport: httpx.BaseTransport | None = None,
    ssl_context: ssl.SSLContext | None = None,
    window_s: float = 60.0,
    limiters: dict[str, SlidingWindowLimiter] | None = None,
) -> DeliveryReport:
    """Send every queued message that is not yet sent; return what happened per channel.

    ``clock``/``sleep`` drive pacing and back-off (inject a fake pair in tests); ``wall`` gives
    the DingTalk signature timestamp and ``sent_at``. Each message gets up to ``max_attempts``
    requests in this run. After ``give_up_after`` messages in a row have failed on a channel
    (wrong key, robot removed, server down), the rest of that channel is left for the next run
    and reported as deferred instead of burning through the queue. ``digest_date`` limits the
    run to one day's digests; by default every unsent message is delivered.

    Pacing holds within a run. A process that calls ``deliver`` repeatedly (a scheduler) passes
    the same ``limiters`` dict each time so that it also holds across runs; separate processes
    within the same minute may exceed a robot's limit, which then answers 45009/130101 — backed
    off and retried, so nothing is lost.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    report = DeliveryReport()
    jobs, report.unknown_channels = _load_jobs(engine, [c.name for c in channels], digest_date)
    emails = _emails(engine, (j for c in channels if isinstance(c, EmailChannel)
                              for j in jobs[c.name]))
    limiters = {} if limiters is None else limiters
    lanes: list[_Lane] = []
    for ch in channels:
        limiter = limiters.get(ch.name)
        if limiter is None or limiter.limit != ch.per_minute:
            limiter = SlidingWindowLimiter(ch.per_minute, window_s, clock=clock, sleep=sleep)
            limiters[ch.name] = limiter
        lanes.append(_Lane(ch, limiter, deque(jobs[ch.name])))
    for lane in lanes:
        report.channels[lane.channel.name] = ChannelCounts()

    def defer(lane: _Lane, job: _Job, zh: str, en: str) -> None:
        report.deferred.append(Deferred(job.row_id, lane.channel.name, job.recipient, zh, en))
        report.channels[lane.channel.name].deferred += 1

    with httpx.Client(transport=transport, follow_redirects=False) as client:

        def send(ch: AnyChannel, job: _Job) -> wire.Outcome:
            # One malformed row (say, an address smtplib cannot encode) must not abort the run
            # and strand every message behind it: it is recorded and reported like any failure.
            try:
                return send_one(ch, job)
            except Exception as exc:  # reported per row, see above
                return wire.Outcome(False, error=f"unexpected error: {type(exc).__name__}: {exc}")

        def send_one(ch: AnyChannel, job: _Job) -> wire.Outcome:
            if isinstance(ch, WecomChannel):
                return wire.send_wecom(client, ch, job.subject, job.body)
            if isinstance(ch, DingtalkChannel):
                return wire.send_dingtalk(client, ch, job.subject, job.body, wall=wall)
            to = emails.get(job.digest_key)
            if not to:
                return wire.Outcome(
                    False, error=f"no e-mail address for {job.digest_key} (users.email)"
                )
            return wire.send_email(ch, to, job.subject, job.body, ssl_context=ssl_context)

        while True:
            live = [lane for lane in lanes if lane.jobs]
            if not live:
                break
            now = clock()
            lane = min(live, key=lambda ln: max(ln.limiter.next_free(now), ln.not_before))
            ready = max(lane.limiter.next_free(now), lane.not_before)
            if ready > now:
                sleep(ready - now)
                continue
            job = lane.jobs[0]
            name = lane.channel.name
            counts = report.channels[name]
            if (job.digest_date, job.digest_key) in lane.failed_digests:
                lane.jobs.popleft()
                defer(lane, job, "同一提醒的前一部分发送失败, 留待下次按顺序发送",
                      "an earlier part of the same digest failed; left for the next run, in order")
                continue
            if not _claim(engine, job):
                lane.jobs.popleft()
                defer(lane, job, "已被另一个发送进程处理", "taken by another delivery run")
                continue
            at = lane.limiter.record(now)
            outcome = send(lane.channel, job)
            job.tries += 1
            counts.attempts += 1
            report.sends.append(Send(name, job.row_id, at, outcome.ok, outcome.error))
            if outcome.ok:
                _record(engine, job, status="sent", error=None, sent_at=_utcnow(wall))
                lane.jobs.popleft()
                counts.sent += 1
                lane.consecutive_failures = 0
                continue
            if outcome.retryable and job.tries < max_attempts:
                _record(engine, job, status=None, error=outcome.error)
                lane.not_before = clock() + backoff(job.tries, outcome.rate_limited)
                continue
            error = outcome.error or "unknown error"
            _record(engine, job, status="failed", error=error)
            lane.jobs.popleft()
            counts.failed += 1
            report.failures.append(
                Failure(job.row_id, job.digest_date, name, job.recipient, job.attempts, error)
            )
            lane.failed_digests.add((job.digest_date, job.digest_key))
            lane.consecutive_failures += 1
            if lane.consecutive_failures >= give_up_after:
                while lane.jobs:
                    defer(lane, lane.jobs.popleft(),
                          f"通道连续 {give_up_after} 条发送失败, 其余留待下次发送 "
                          f"(最后错误: {error})",
                          f"{give_up_after} messages in a row failed on this channel; the rest "
                          f"are left for the next run (last error: {error})")
    return report
