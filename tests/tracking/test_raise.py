"""Report up (上报, issue 15 item 4) and care coverage (关怀覆盖率, item 3) through the CLI, on the
hand-built agency of :mod:`tests.tracking.test_goals_care`::

    B 营业区 ── G 一组    S 主管 (no supervisor) ── A1, A2, A3

Users: sup (supervisor S, line S), boss (executive, org B), admin (no scope grant: the reads
below run as the local operator, without ``--as``); added here: coach (trainer, org
B: sees every item, holds none of A1's), nosy (supervisor, line A3 only: A1 is out of scope).

sup holds A1's item and raises it; S has no supervisor, so the superior is the executive with the
next wider scope over A1: boss. boss sees it (raises, digest), answers; the raise is closed with
its time to answer, counted in ``track effectiveness``.
"""

from __future__ import annotations

import json
from typing import Any

from tests.kpi_cli.builders import cli_ok, run_cli
from tests.tracking.test_goals_care import agency, items  # noqa: F401  (fixture)
from tests.tracking.test_scenario import Facts


def _raises(user: str, *extra: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(cli_ok("track", "raises", "--format", "json", "--as", user,
                                                  *extra))["raises"]
    return out


def _setup() -> dict[str, dict[str, Any]]:
    cli_ok("users", "add", "coach", "--name", "组训", "--role", "trainer")
    cli_ok("users", "grant", "coach", "--org", "B")
    cli_ok("users", "add", "nosy", "--name", "别组主管", "--role", "supervisor")
    cli_ok("users", "grant", "nosy", "--line", "A3")
    cli_ok("track", "run", "--date", "2026-04-15", "--as", "admin")
    cli_ok("track", "run", "--date", "2026-05-20", "--as", "admin")
    return items()


def test_raise_answer_closes_the_loop(agency: Facts) -> None:  # noqa: F811
    by = _setup()
    a1 = by["A1"]["id"]
    assert by["A1"]["owner_code"] == "S"

    # only the holder raises: not the trainer who sees the item, not someone out of scope
    code, out, err = run_cli("track", "raise", str(a1), "--category", "family", "--note", "家里有事",
                             "--as", "coach")
    assert code != 0 and "负责人" in out + err and "holder" in out + err
    code, out, err = run_cli("track", "raise", str(a1), "--category", "family", "--note", "家里有事",
                             "--as", "nosy")
    assert code != 0 and "找不到" in out + err
    # a bad category and an empty note are refused in both languages
    code, out, err = run_cli("track", "raise", str(a1), "--category", "money", "--note", "x", "--as", "sup")
    assert code != 0 and "上报类别" in out + err and "unknown category" in out + err
    code, out, err = run_cli("track", "raise", str(a1), "--category", "family", "--note", "  ", "--as", "sup")
    assert code != 0 and "情况说明" in out + err

    r = json.loads(cli_ok("track", "raise", str(a1), "--category", "family", "--note",
                          "家中老人住院, 本月难以出单, 请求延缓考核", "--date", "2026-05-20",
                          "--format", "json", "--as", "sup"))
    assert (r["raised_by"], r["raised_to"], r["category_zh"], r["open"]) == ("S", "boss", "家庭", True)
    assert r["subject_code"] == "A1"

    # the superior sees it: in their list of open raises, and in their digest
    [mine] = _raises("boss", "--open")
    assert mine["id"] == r["id"] and mine["note"].startswith("家中老人住院")
    assert [x["id"] for x in _raises("sup")] == [r["id"]]  # the raiser sees their own
    assert _raises("nosy") == []  # out of scope
    assert _raises("coach") == []  # neither by nor to the trainer
    ds = json.loads(cli_ok("track", "digest", "--date", "2026-05-20", "--format", "json"))
    assert sorted(x["recipient"] for x in ds["digests"]) == ["S", "boss"], ds
    boss = next(x for x in ds["digests"] if x["recipient"] == "boss")
    assert "待回复上报" in boss["markdown"] and "家中老人住院" in boss["markdown"]
    assert "待回复上报" not in next(x for x in ds["digests"] if x["recipient"] == "S")["markdown"]

    # only the superior (or an admin) answers; out of scope: not found
    code, out, err = run_cli("track", "answer", str(r["id"]), "--note", "好", "--as", "coach")
    assert code != 0 and "被上报人" in out + err
    code, out, err = run_cli("track", "answer", str(r["id"]), "--note", "好", "--as", "nosy")
    assert code != 0 and "找不到上报" in out + err
    code, out, err = run_cli("track", "answer", str(r["id"]), "--note", "好", "--as", "sup")
    assert code != 0 and "被上报人" in out + err

    done = json.loads(cli_ok("track", "answer", str(r["id"]), "--note", "同意, 本月考核顺延, 主管多关心",
                             "--date", "2026-05-21", "--format", "json", "--as", "boss"))
    assert done["open"] is False and done["answered_by"] == "boss"
    assert done["answer"] == "同意, 本月考核顺延, 主管多关心" and done["answered_on"] == "2026-05-21"
    assert done["hours_to_answer"] is not None and done["hours_to_answer"] >= 0
    assert _raises("boss", "--open") == []
    [seen] = _raises("sup")
    assert seen["answer"] == "同意, 本月考核顺延, 主管多关心" and seen["open"] is False
    code, out, err = run_cli("track", "answer", str(r["id"]), "--note", "再说", "--as", "boss")
    assert code != 0 and "已回复" in out + err
    # the digest of a later day has no open raise any more
    ds = json.loads(cli_ok("track", "digest", "--date", "2026-05-21", "--format", "json"))
    assert all("待回复上报" not in x["markdown"] for x in ds["digests"])
    # history of the item
    events = [e["event"] for e in json.loads(cli_ok("track", "show", str(a1), "--format", "json",
                                                    "--as", "sup"))["events"]]
    assert "raised" in events and "raise_answered" in events

    # measured: raised, answered, median hours to answer
    eff = json.loads(cli_ok("track", "effectiveness", "--period", "2026-05", "--format", "json"))
    rz = eff["raises"]
    assert (rz["raised"], rz["answered"], rz["open"]) == (1, 1, 0)
    assert rz["median_hours_to_answer"] is not None and rz["by_category"]["family"]["raised"] == 1
    table = cli_ok("track", "effectiveness", "--period", "2026-05")
    assert "上报 1 项, 已回复 1 项" in table
    assert json.loads(cli_ok("track", "effectiveness", "--period", "2026-05", "--format", "json",
                             "--as", "nosy"))["raises"]["raised"] == 0


def test_no_superior_and_system_actor(agency: Facts) -> None:  # noqa: F811
    by = _setup()
    a1 = by["A1"]["id"]
    # boss owns A1's exec_not_contacted reason (a holder), but nobody is above boss
    code, out, err = run_cli("track", "raise", str(a1), "--category", "other", "--note", "x", "--as", "boss")
    assert code != 0 and "上级" in out + err and "superior" in out + err
    code, out, err = run_cli("track", "raise", str(a1), "--category", "other", "--note", "x")
    assert code != 0 and "--as" in out + err


def test_care_coverage(agency: Facts) -> None:  # noqa: F811
    """Hand-computed: on 05-28, in force S, A1, A2, A3. Contacts: A2 on 05-20 (contacted), A3 on
    05-20 (no answer: not a contact), A1 on 05-25 (committed).
    Last 7 days = 05-22..05-28: A1 only. Last 30 days = 04-29..05-28: A1, A2.
    By owner: S's agents A1, A2, A3 → 1/3 and 2/3; S (no supervisor) → "—": 0/1 and 0/1."""
    by = _setup()
    for code, outcome, day in (("A2", "contacted", "2026-05-20"), ("A3", "no_answer", "2026-05-20"),
                               ("A1", "committed", "2026-05-25")):
        cli_ok("track", "record", str(by[code]["id"]), "--method", "phone", "--outcome", outcome,
               "--date", day, "--as", "sup")
    cov = json.loads(cli_ok("track", "effectiveness", "--coverage", "--date", "2026-05-28", "--format",
                            "json"))
    rows = {x["key"]: x for x in cov["rows"]}
    assert sorted(rows) == ["S", "—"]
    assert (rows["S"]["agents"], rows["S"]["contacted_7"], rows["S"]["contacted_30"]) == (3, 1, 2)
    assert (rows["S"]["share_7"], rows["S"]["share_30"]) == (0.3333, 0.6667)
    assert (rows["—"]["agents"], rows["—"]["contacted_7"], rows["—"]["share_30"]) == (1, 0, 0.0)
    assert rows["—"]["name"] == "无主管"
    t = cov["total"]
    assert (t["agents"], t["contacted_7"], t["share_7"], t["contacted_30"], t["share_30"]) == (4, 1, 0.25, 2, 0.5)
    org = json.loads(cli_ok("track", "effectiveness", "--coverage", "--by", "org", "--date", "2026-05-28",
                            "--format", "json"))
    assert [(x["key"], x["name"], x["agents"], x["share_7"], x["share_30"]) for x in org["rows"]] == [
        ("G", "一组", 4, 0.25, 0.5)]
    # 05-20 itself: A2 counts in both windows, A1 not yet
    early = json.loads(cli_ok("track", "effectiveness", "--coverage", "--date", "2026-05-20", "--format",
                              "json"))["total"]
    assert (early["contacted_7"], early["contacted_30"]) == (1, 1)
    # scoped: nosy sees A3 only, never contacted
    mine = json.loads(cli_ok("track", "effectiveness", "--coverage", "--date", "2026-05-28", "--format",
                             "json", "--as", "nosy"))["total"]
    assert (mine["agents"], mine["contacted_30"]) == (1, 0)
    table = cli_ok("track", "effectiveness", "--coverage", "--date", "2026-05-28")
    assert "关怀覆盖率" in table and "33.3%" in table
    code, out, err = run_cli("track", "effectiveness", "--coverage", "--by", "rule")
    assert code != 0 and "owner" in out + err
