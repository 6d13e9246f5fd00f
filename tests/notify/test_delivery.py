"""Queue and deliver against loopback robots and an SMTP server, on SQLite and PostgreSQL.

The clock is simulated (``FakeClock``): pacing and back-off sleep on it, so an hour of robot
traffic runs in well under a second while the HTTP and SMTP exchanges are real.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import shutil
import ssl
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from tests.notify.fakes import FakeClock, FakeRobot, FakeSmtp, robot_server, smtp_server
from zhuizong.notify import channels as wire
from zhuizong.notify.config import DingtalkChannel, EmailChannel, WecomChannel
from zhuizong.notify.digest import Digest, deliver, enqueue
from zhuizong.store.db import atomic
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

DAY = dt.date(2026, 5, 18)
SECRET = "SECfake0123456789abcdef0123456789abcdef0123456789abcdef0123456789"


def _digest(code: str, name: str = "", lines: int = 3, day: dt.date = DAY) -> Digest:
    body = "\n".join(
        [f"### {name or code} {day} 追踪提醒", "**逾期 1 项, 待办 2 项**"]
        + [f"- A{i:04d} 张{i}: 连续两个月无出单, 请面谈 (到期 {day})" for i in range(lines)]
    )
    return Digest(code, name or code, day, f"{name or code} {day} 追踪提醒", body)


def _users(ws: Workspace) -> None:
    with atomic(ws.engine) as conn:
        conn.execute(insert(table("org_units")).values(org_code="O1", org_name="一部"))
        conn.execute(insert(table("ranks")).values(rank_code="R1", rank_name="业务员",
                                                   category="formal", level=1))
        conn.execute(insert(table("agents")).values(
            agent_code="A0002", agent_name="赵主管", hire_date=dt.date(2020, 1, 1),
            org_code="O1", rank_code="R1"))
        conn.execute(insert(table("users")), [
            {"username": "li", "display_name": "李主管", "agent_code": None,
             "email": "li@insurer.cn", "is_active": True},
            {"username": "wang", "display_name": "王经理", "agent_code": None, "email": None,
             "is_active": True},
            {"username": "zhao", "display_name": "赵主管", "agent_code": "A0002",
             "email": "zhao@insurer.cn", "is_active": True},
        ])


def _rows(ws: Workspace) -> list[dict]:
    t = table("notify_outbox")
    with ws.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t).order_by(t.c.id))]


def _wecom(robot: FakeRobot, **kw: object) -> WecomChannel:
    return WecomChannel(name="b01-wecom", type="wecom", webhook=robot.url, **kw)  # type: ignore[arg-type]


def _ding(robot: FakeRobot, **kw: object) -> DingtalkChannel:
    return DingtalkChannel(name="b01-ding", type="dingtalk", webhook=robot.url,  # type: ignore[arg-type]
                           secret=SECRET, **kw)


def _assert_paced(sends: list, channel: str, limit: int = 20) -> None:
    times = sorted(s.at for s in sends if s.channel_name == channel)
    for k in range(len(times) - limit):
        assert times[k + limit] - times[k] >= 60.0, (channel, k, times[k], times[k + limit])
    # and directly: no 60-second window [t, t+60) holds more than `limit` sends
    assert max(sum(1 for u in times if t <= u < t + 60) for t in times) <= limit


def test_enqueue_is_idempotent_routes_and_reports(workspace: Workspace) -> None:
    _users(workspace)
    wecom = WecomChannel(name="w", type="wecom", webhook="https://w.example/send?key=k")
    ding = DingtalkChannel(name="d", type="dingtalk", webhook="https://d.example/send?t=1",
                           secret="S", recipients=("zhao",))
    mail = EmailChannel(name="m", type="email", smtp_host="localhost", sender="zz@insurer.cn",
                        recipients=("li", "wang", "A0002"))
    only_li = WecomChannel(name="w-li", type="wecom", webhook="https://w.example/send?key=2",
                           recipients=("li",))
    digests = [_digest("li", "李主管"), _digest("wang", "王经理"), _digest("A0002", "赵主管"),
               _digest("A0009", "孙", lines=300)]  # A0009: long, split for WeCom
    chans = [wecom, ding, mail, only_li]
    with atomic(workspace.engine) as conn:
        first = enqueue(conn, digests, chans)
    # DingTalk wants "zhao", who is agent A0002: matched through users.agent_code.
    assert first.digests == {"w": 4, "d": 1, "m": 2, "w-li": 1}
    n_parts = len(wire.split_markdown(digests[3].title, digests[3].body, wire.WECOM_MAX_BYTES))
    assert n_parts > 1
    assert first.queued["w"] == 3 + n_parts
    assert [(s.recipient, s.channel_name) for s in first.skipped] == [("wang", "m")]
    assert "users.email" in first.skipped[0].reason_en
    assert first.unrouted == []
    rows = _rows(workspace)
    assert len(rows) == first.total_queued
    assert {r["status"] for r in rows} == {"pending"}
    recips = [r["recipient"] for r in rows if r["channel_name"] == "w"]
    parts = [f"A0009#{i}" for i in range(2, n_parts + 1)]
    assert recips == ["li", "wang", "A0002", "A0009", *parts]
    wecom_rows = [r for r in rows if r["channel"] == "wecom"]
    assert all(len(r["body"].encode()) <= wire.WECOM_MAX_BYTES for r in wecom_rows)

    # Second run the same day, even with a changed (longer) digest: nothing new.
    with atomic(workspace.engine) as conn:
        again = enqueue(conn, [*digests[:3], _digest("A0009", "孙", lines=500)], chans)
    assert again.total_queued == 0
    assert again.already_queued == {"w": 4, "d": 1, "m": 2, "w-li": 1}
    assert len(_rows(workspace)) == len(rows)

    # A recipient no channel wants is reported, not dropped silently.
    with atomic(workspace.engine) as conn:
        rep = enqueue(conn, [_digest("li", day=DAY + dt.timedelta(days=1)),
                             _digest("nobody", day=DAY + dt.timedelta(days=1))], [only_li])
    assert rep.unrouted == ["nobody"] and rep.queued == {"w-li": 1}

    # Rows whose channel is no longer configured are left alone and reported.
    clock = FakeClock()
    report = deliver(workspace.engine, [only_li, ding], clock=clock, sleep=clock.sleep,
                     digest_date=DAY + dt.timedelta(days=3))
    assert report.ok and report.sends == []
    report = deliver(workspace.engine, [], clock=clock, sleep=clock.sleep)
    assert report.unknown_channels == {"w": 3 + n_parts, "d": 1, "m": 2, "w-li": 2}
    assert not report.ok and report.sends == []


def test_deliver_all_channels_paced_signed_and_complete(workspace: Workspace) -> None:
    _users(workspace)
    clock = FakeClock()
    digests = [_digest(f"C{i:04d}", f"业务员{i}") for i in range(45)]
    digests += [_digest("li", "李主管"), _digest("A0002", "赵主管")]
    with robot_server(FakeRobot("wecom")) as wr, \
            robot_server(FakeRobot("dingtalk", secret=SECRET)) as dr, \
            smtp_server(FakeSmtp()) as smtp:
        mail = EmailChannel(name="mail", type="email", smtp_host=smtp.host, smtp_port=smtp.port,
                            security="none", sender="zhuizong@insurer.cn",
                            recipients=("li", "zhao"))
        chans = [_wecom(wr), _ding(dr), mail]
        with atomic(workspace.engine) as conn:
            queued = enqueue(conn, digests, chans)
        assert queued.digests == {"b01-wecom": 47, "b01-ding": 47, "mail": 2}
        report = deliver(workspace.engine, chans, clock=clock, sleep=clock.sleep)

    assert report.ok, (report.failures, report.deferred)
    assert {n: c.sent for n, c in report.channels.items()} == {
        "b01-wecom": 47, "b01-ding": 47, "mail": 2}
    rows = _rows(workspace)
    assert {r["status"] for r in rows} == {"sent"} and all(r["sent_at"] for r in rows)
    assert all(r["attempts"] == 1 and r["last_error"] is None for r in rows)

    # Pacing: 47 messages per robot take two full minutes of simulated time, ≤ 20 per minute.
    _assert_paced(report.sends, "b01-wecom")
    _assert_paced(report.sends, "b01-ding")
    assert clock.t - 1000.0 >= 120.0
    assert Counter(s.at for s in report.sends if s.channel_name == "b01-wecom")[1000.0] == 20

    # Payloads exactly as the robots expect; the fake DingTalk verified every signature.
    assert len(wr.accepted) == 47 and len(dr.accepted) == 47
    w0, d0 = wr.accepted[0], dr.accepted[0]
    assert w0 == {"msgtype": "markdown", "markdown": {"content": digests[0].body}}
    assert d0 == {"msgtype": "markdown",
                  "markdown": {"title": digests[0].title, "text": digests[0].body}}
    assert all(r.content_type.startswith("application/json") for r in wr.requests)
    assert all("sign" in r.query and "timestamp" in r.query for r in dr.requests)
    assert all(r.query["access_token"] == ["test-token"] for r in dr.requests)

    # E-mail: one to li directly, one to zhao through agent code A0002; Chinese subject decoded.
    assert sorted(m.recipients[0] for m in smtp.mails) == ["li@insurer.cn", "zhao@insurer.cn"]
    for m in smtp.mails:
        msg = email.message_from_bytes(m.data, policy=email.policy.default)
        assert m.sender == "zhuizong@insurer.cn"
        assert msg["Subject"].endswith("2026-05-18 追踪提醒")
        assert msg.get_content_type() == "text/plain"
        assert "连续两个月无出单" in msg.get_content()


def test_retry_on_500_then_success(workspace: Workspace) -> None:
    clock = FakeClock()
    with robot_server(FakeRobot("wecom")) as wr:
        wr.fail_next(3, status=500)
        chans = [_wecom(wr)]
        with atomic(workspace.engine) as conn:
            enqueue(conn, [_digest("li"), _digest("wang")], chans)
        report = deliver(workspace.engine, chans, clock=clock, sleep=clock.sleep)
    assert report.ok and report.channels["b01-wecom"].sent == 2
    assert report.channels["b01-wecom"].attempts == 5
    first = [s for s in report.sends if s.row_id == report.sends[0].row_id]
    assert [s.ok for s in first] == [False, False, False, True]
    assert "HTTP 500" in (first[0].error or "")
    # exponential back-off between the attempts: 2 s, 4 s, 8 s
    assert [b.at - a.at for a, b in zip(first, first[1:], strict=False)] == [2.0, 4.0, 8.0]
    rows = _rows(workspace)
    assert [(r["status"], r["attempts"], r["last_error"]) for r in rows] == [
        ("sent", 4, None), ("sent", 1, None)]
    assert len(wr.accepted) == 2


def test_errcode_rate_limit_backs_off_other_errcodes_fail(workspace: Workspace) -> None:
    clock = FakeClock()
    with robot_server(FakeRobot("dingtalk", secret=SECRET)) as dr:
        dr.errcode_next(2, 130101, "send too fast")
        chans = [_ding(dr)]
        with atomic(workspace.engine) as conn:
            enqueue(conn, [_digest("li")], chans)
        report = deliver(workspace.engine, chans, clock=clock, sleep=clock.sleep)
        assert report.ok
        times = [s.at for s in report.sends]
        assert [b - a for a, b in zip(times, times[1:], strict=False)] == [60.0, 60.0]
        assert len(dr.accepted) == 1

        # errcode 310000 (bad signature / keyword) is not retried in the run: recorded and reported
        dr.errcode_next(1, 310000, "sign not match")
        with atomic(workspace.engine) as conn:
            enqueue(conn, [_digest("wang")], chans)
        report = deliver(workspace.engine, chans, clock=clock, sleep=clock.sleep)
    assert not report.ok and len(report.sends) == 1
    (failure,) = report.failures
    assert failure.recipient == "wang" and "310000" in failure.error and failure.attempts == 1
    row = next(r for r in _rows(workspace) if r["recipient"] == "wang")
    assert row["status"] == "failed" and "310000" in row["last_error"]


def test_failures_recorded_then_redelivered_next_run(workspace: Workspace) -> None:
    clock = FakeClock()
    with robot_server(FakeRobot("wecom")) as wr:
        chans = [_wecom(wr)]
        digests = [_digest(f"A{i:04d}") for i in range(6)] + [_digest("B0001", lines=400)]
        with atomic(workspace.engine) as conn:
            queued = enqueue(conn, digests, chans)
        total = queued.total_queued
        assert total > 7  # B0001 is split into parts

        wr.fail_next(1000, status=503)  # the robot is down
        limiters: dict = {}  # one scheduler process: pacing holds across its runs
        first = deliver(workspace.engine, chans, clock=clock, sleep=clock.sleep, max_attempts=3,
                        limiters=limiters)
        # three messages failed in a row -> the rest of the channel waits for the next run
        assert [f.recipient for f in first.failures] == ["A0000", "A0001", "A0002"]
        assert all("HTTP 503" in f.error and f.attempts == 3 for f in first.failures)
        assert first.channels["b01-wecom"].deferred == total - 3
        assert len(first.deferred) == total - 3 and first.sent == 0 and not first.ok
        rows = _rows(workspace)
        assert Counter(r["status"] for r in rows) == {"failed": 3, "pending": total - 3}
        assert all("HTTP 503" in r["last_error"] for r in rows[:3])

        wr.plan.clear()  # the robot is back
        wr.fail_next(1, status=500)
        second = deliver(workspace.engine, chans, clock=clock, sleep=clock.sleep,
                         limiters=limiters)
    assert second.ok and second.sent == total
    rows = _rows(workspace)
    assert {r["status"] for r in rows} == {"sent"}
    assert [r["attempts"] for r in rows[:3]] == [5, 4, 4]  # 3 in run 1, then 2 (500) or 1
    # nothing lost and nothing twice: the robot accepted each message exactly once, in order
    assert [a["markdown"]["content"] for a in wr.accepted] == [r["body"] for r in rows]
    _assert_paced(first.sends + second.sends, "b01-wecom")

    third = deliver(workspace.engine, chans, clock=clock, sleep=clock.sleep)
    assert third.ok and third.sends == [] and third.sent == 0


def test_later_parts_wait_for_a_failed_earlier_part(workspace: Workspace) -> None:
    clock = FakeClock()
    with robot_server(FakeRobot("wecom")) as wr:
        chans = [_wecom(wr)]
        with atomic(workspace.engine) as conn:
            enqueue(conn, [_digest("B0001", lines=200)], chans)
        wr.errcode_next(1, 93000, "invalid webhook url")
        first = deliver(workspace.engine, chans, clock=clock, sleep=clock.sleep)
        assert len(first.failures) == 1 and first.failures[0].recipient == "B0001"
        assert all(d.recipient.startswith("B0001#") for d in first.deferred)
        assert len(wr.accepted) == 0
        second = deliver(workspace.engine, chans, clock=clock, sleep=clock.sleep)
    assert second.ok
    assert [a["markdown"]["content"] for a in wr.accepted] == [r["body"] for r in _rows(workspace)]


def test_email_retries_temporary_errors_and_reports_refusals(workspace: Workspace) -> None:
    _users(workspace)
    with atomic(workspace.engine) as conn:  # an address no mail header may carry
        conn.execute(insert(table("users")).values(
            username="sun", display_name="孙", email="sun@insurer.cn\nBcc: x@evil.cn",
            is_active=True))
    clock = FakeClock()
    with smtp_server(FakeSmtp(fail_next=2, reject={"zhao@insurer.cn"})) as smtp:
        mail = EmailChannel(name="mail", type="email", smtp_host=smtp.host, smtp_port=smtp.port,
                            security="none", sender="zhuizong@insurer.cn", username="zz",
                            password_env="ZZ_PW")
        mail = mail.model_copy(update={"password": "s3cret"})
        with atomic(workspace.engine) as conn:
            rep = enqueue(conn, [_digest("li", "李主管"), _digest("wang", "王经理"),
                                 _digest("A0002", "赵主管"), _digest("sun", "孙")], [mail])
        assert [s.recipient for s in rep.skipped] == ["wang"]
        report = deliver(workspace.engine, [mail], clock=clock, sleep=clock.sleep)
    assert report.channels["mail"].sent == 1
    zhao, sun = report.failures
    assert zhao.recipient == "A0002" and "550" in zhao.error and zhao.attempts == 1
    # a bad row is recorded and reported; it does not abort the run
    assert sun.recipient == "sun" and "unexpected error: ValueError" in sun.error
    assert [m.recipients for m in smtp.mails] == [["li@insurer.cn"]]
    assert smtp.logins and smtp.logins[0] == ("zz", "s3cret")
    li = next(r for r in _rows(workspace) if r["recipient"] == "li")
    assert li["status"] == "sent" and li["attempts"] == 3  # two 451s, then accepted


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 (needs the openssl command)."""
    if not shutil.which("openssl"):
        pytest.fail("the openssl command is needed to make a test certificate (apt-get install openssl)")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


# TLS is about the SMTP exchange, not the database: SQLite only, to keep the suite fast.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_email_over_tls(workspace: Workspace, tls_files: tuple[Path, Path], security: str) -> None:
    _users(workspace)
    cert, key = tls_files
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))  # verifies host and chain
    clock = FakeClock()
    with smtp_server(FakeSmtp(security=security, tls=server_ctx)) as smtp:
        mail = EmailChannel(name="mail", type="email", smtp_host=smtp.host, smtp_port=smtp.port,
                            security=security, sender="zhuizong@insurer.cn")  # type: ignore[arg-type]
        with atomic(workspace.engine) as conn:
            enqueue(conn, [_digest("li", "李主管")], [mail])
        report = deliver(workspace.engine, [mail], clock=clock, sleep=clock.sleep,
                         ssl_context=client_ctx)
    assert report.ok and report.sent == 1
    assert smtp.tls_used == [True]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_email_untrusted_certificate_is_not_retried(workspace: Workspace,
                                                    tls_files: tuple[Path, Path]) -> None:
    _users(workspace)
    cert, key = tls_files
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    clock = FakeClock()
    with smtp_server(FakeSmtp(security="ssl", tls=server_ctx)) as smtp:
        mail = EmailChannel(name="mail", type="email", smtp_host=smtp.host, smtp_port=smtp.port,
                            security="ssl", sender="zhuizong@insurer.cn")
        with atomic(workspace.engine) as conn:
            enqueue(conn, [_digest("li", "李主管")], [mail])
        report = deliver(workspace.engine, [mail], clock=clock, sleep=clock.sleep)  # system CAs
    (failure,) = report.failures
    assert "certificate" in failure.error and failure.attempts == 1 and smtp.mails == []
