"""The supervisor's phone day (issue 16 item 1) through the CLI and the tracking services, on the
hand-built agency of :mod:`tests.tracking.test_goals_care`::

    B 营业区 ── G 一组    S 主管 (no supervisor) ── A1, A2, A3

Users there: sup (supervisor S, line S), boss (executive, org B), admin. Added here: dep (a deputy:
supervisor, agent A3, line S — in sup's scope and sees A1), nosy (supervisor, line A3 only: blind
to A1 and A2), coach (trainer, org B: its grant is outside sup's line scope).

Reassign (转派) goes to users in the actor's scope who may own tracking and see the subject,
anyone else is refused alike; snooze (暂缓) hides an item from the day's inbox until its date and
keeps it from escalating; close (结案) needs a reason; out of scope is "not found" for every move;
the counter 今日已跟进 x / y counts the day's inbox; ``track list`` pages.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from tests.kpi_cli.builders import cli_ok, run_cli
from tests.tracking.test_goals_care import agency, items  # noqa: F401  (fixture)
from tests.tracking.test_scenario import Facts
from zhuizong.access.users import load_actor
from zhuizong.tracking.day import card_facts, day_count
from zhuizong.tracking.service import ListQuery, list_items
from zhuizong.workspace import Workspace

DAY = "2026-05-20"
D = dt.date.fromisoformat(DAY)


def _setup() -> dict[str, dict[str, Any]]:
    for args in (("users", "add", "dep", "--name", "副主管", "--role", "supervisor", "--agent", "A3"),
                 ("users", "grant", "dep", "--line", "S"),
                 ("users", "add", "nosy", "--name", "别组主管", "--role", "supervisor"),
                 ("users", "grant", "nosy", "--line", "A3"),
                 ("users", "add", "coach", "--name", "组训", "--role", "trainer"),
                 ("users", "grant", "coach", "--org", "B")):
        cli_ok(*args)
    cli_ok("track", "run", "--date", "2026-04-15", "--as", "admin")
    cli_ok("track", "run", "--date", DAY, "--as", "admin")
    return items()


def _ws() -> Workspace:
    return Workspace.open(Path(os.environ["ZHUIZONG_HOME"]))


def _count(user: str, on: dt.date = D) -> tuple[int, int]:
    ws = _ws()
    with ws.engine.connect() as conn:
        actor = load_actor(conn, user)
    c = day_count(ws, actor, on)
    return c.followed, c.total


def _inbox(user: str, on: dt.date = D) -> set[str]:
    ws = _ws()
    with ws.engine.connect() as conn:
        actor = load_actor(conn, user)
    return {x["subject_code"] for x in list_items(ws, actor, ListQuery(inbox_on=on, owner="me"))}


def _show(item: int) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(cli_ok("track", "show", str(item), "--format", "json"))
    return out


def test_reassign_in_and_out_of_scope(agency: Facts) -> None:  # noqa: F811
    by = _setup()
    a1 = by["A1"]["id"]
    assert by["A1"]["owner_code"] == "S"
    # refused alike: out of sup's scope (coach's and boss's grants are org B), blind to A1 (nosy), unknown
    for to in ("coach", "nosy", "nobody", "boss"):
        code, out, err = run_cli("track", "reassign", str(a1), "--to", to, "--date", DAY, "--as", "sup")
        assert code != 0, to
        assert "不在您的管辖范围内" in out + err and "not in your scope" in out + err, (to, out, err)
    # a user who cannot see the item cannot move it: not found, as for a missing item
    code, out, err = run_cli("track", "reassign", str(a1), "--to", "dep", "--as", "nosy")
    assert code != 0 and "找不到" in out + err
    assert _show(a1)["owner_code"] == "S"

    assert _inbox("sup") >= {"A1"} and "A1" not in _inbox("dep")
    x = json.loads(cli_ok("track", "reassign", str(a1), "--to", "dep", "--date", DAY, "--format", "json",
                          "--as", "sup"))
    assert (x["owner_code"], x["tracked_by"], x["status"]) == ("A3", "业务员三", "open")
    assert x["events"][-1]["event"] == "reassigned" and x["events"][-1]["detail"]["from"] == "S"
    # the reasons routed to sup went with it; the executive's own reason stayed with boss
    owners = {r["rule"]: r["owner_code"] for r in x["reasons"]}
    assert owners["not_contacted"] == "A3" and owners["exec_not_contacted"] == "boss"
    assert "A1" not in _inbox("sup") and "A1" in _inbox("dep")
    # to the same holder again: refused, nothing changes
    code, out, err = run_cli("track", "reassign", str(a1), "--to", "dep", "--as", "sup")
    assert code != 0 and "已由" in out + err
    # the next daily run keeps the new lead
    cli_ok("track", "run", "--date", "2026-05-21", "--as", "admin")
    assert _show(a1)["owner_code"] == "A3"


def test_snooze_hides_until_the_date(agency: Facts) -> None:  # noqa: F811
    by = _setup()
    a2 = by["A2"]["id"]
    assert "A2" in _inbox("sup")
    for until, word in (("2026-05-20", "须晚于今天"), ("2026-05-19", "须晚于今天"), ("2026-12-31", "最多暂缓")):
        code, out, err = run_cli("track", "snooze", str(a2), "--until", until, "--date", DAY, "--as", "sup")
        assert code != 0 and word in out + err, (until, out, err)
    code, out, err = run_cli("track", "snooze", str(a2), "--until", "2026-05-25", "--as", "nosy")
    assert code != 0 and "找不到" in out + err

    out = cli_ok("track", "snooze", str(a2), "--until", "2026-05-25", "--date", DAY, "--as", "sup")
    assert "已暂缓" in out
    x = _show(a2)
    assert x["due_date"] == "2026-05-25" and x["events"][-1]["event"] == "snoozed"
    for day, shown in ((D, False), (dt.date(2026, 5, 24), False), (dt.date(2026, 5, 25), True),
                       (dt.date(2026, 5, 26), True)):
        assert ("A2" in _inbox("sup", day)) is shown, day
    # still live, carried by the daily run, and not escalated while snoozed
    cli_ok("track", "run", "--date", "2026-05-22", "--as", "admin")
    x = _show(a2)
    assert x["status"] in ("open", "recorded") and x["escalation_level"] == 0 and x["last_seen"] == "2026-05-22"
    assert "A2" not in _inbox("sup", dt.date(2026, 5, 22))
    ws = _ws()
    with ws.engine.connect() as conn:
        sup = load_actor(conn, "sup")
    [item] = list_items(ws, sup, ListQuery(subject="A2"))
    assert card_facts(ws, sup, [item], dt.date(2026, 5, 22))[a2]["snoozed_until"] == "2026-05-25"


def test_counter_close_and_card_facts(agency: Facts) -> None:  # noqa: F811
    by = _setup()
    mine = _inbox("sup")
    assert mine and _count("sup") == (0, len(mine))
    a1, a2 = by["A1"]["id"], by["A2"]["id"]
    cli_ok("track", "record", str(a1), "--method", "phone", "--outcome", "contacted", "--finding", "明天出单",
           "--date", DAY, "--as", "sup")
    assert _count("sup") == (1, len(mine))
    # a record that resolves the item keeps it in the day's inbox, followed up
    cli_ok("track", "record", str(a2), "--method", "phone", "--outcome", "resolved", "--date", DAY, "--as", "sup")
    assert _count("sup") == (2, len(mine)) and _show(a2)["status"] == "done"
    # the next day: records of yesterday do not count; the resolved item is gone
    assert _count("sup", dt.date(2026, 5, 21))[0] == 0

    # the card: last contact is the latest record on any item of the subject; never: None
    ws = _ws()
    with ws.engine.connect() as conn:
        sup = load_actor(conn, "sup")
    xs = list_items(ws, sup, ListQuery(inbox_on=D, owner="me"))
    facts = card_facts(ws, sup, xs, D)
    by_code = {x["subject_code"]: facts[x["id"]] for x in xs}
    assert by_code["A1"]["last_contact"] == DAY and by_code["A1"]["followed_today"] is True
    never = [c for c in by_code if c not in ("A1", "A2")]
    assert never and all(by_code[c]["last_contact"] is None and not by_code[c]["followed_today"] for c in never)
    assert by_code["A1"]["phone"] is None  # not imported

    # 结案 needs a reason; out of scope: not found; closed, it leaves the inbox (no record today)
    a3 = by["A3"]["id"]
    code, out, err = run_cli("track", "close", str(a3), "--reason", " ", "--as", "sup")
    assert code != 0 and "原因" in out + err
    code, out, err = run_cli("track", "close", str(by["A1"]["id"]), "--reason", "离司", "--as", "nosy")
    assert code != 0 and "找不到" in out + err
    cli_ok("track", "close", str(a3), "--reason", "已转入其他团队", "--date", DAY, "--as", "sup")
    assert _show(a3)["status"] == "closed"
    assert "A3" not in _inbox("sup") and _count("sup") == (2, len(mine) - 1)


def test_track_list_pages(agency: Facts) -> None:  # noqa: F811
    _setup()
    total = len(json.loads(cli_ok("track", "list", "--status", "all", "--format", "json"))["items"])
    assert total >= 4
    page = json.loads(cli_ok("track", "list", "--status", "all", "--format", "json", "--limit", "2",
                             "--offset", "1"))
    assert (len(page["items"]), page["total"], page["offset"], page["limit"]) == (2, total, 1, 2)
    out = cli_ok("track", "list", "--status", "all", "--limit", "2")
    assert f"显示 1–2 / 共 {total:,} 条" in out and "--offset 2" in out
    assert "对象" in out and "Subject" not in out and "subject" not in out  # one language per run
    en = cli_ok("--lang", "en", "track", "list", "--status", "all", "--limit", "2", "--offset", "2")
    assert f"showing 3–4 of {total:,}" in en and "显示" not in en and "Tracking items" in en
    code, out, err = run_cli("track", "list", "--limit", "0")
    assert code != 0 and "--limit" in out + err
