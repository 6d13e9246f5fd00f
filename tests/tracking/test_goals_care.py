"""Goals, daily plans, care and the executives' daily set of agents (issue 15, items 2, 3 and 5),
through the CLI on a hand-built agency.

Agency (2026; 05-20 is a Wednesday, day 20 of 31)::

    B 营业区 ── G 一组    S 主管 (hired 2019-05-20: 7th work anniversary on 05-20, no supervisor)
                          A1, A2, A3 (supervisor S, hired 2025-01-10)

* Goals (``agent_goals``): A1 FYP 10,000 for 2026-05 with 1,000 written (10% at 65% of the month:
  behind); A2 FYP 2,000 with 2,000 written (on track).
* Plans (work-log ``plan_*``): filed with 05-18's log for 05-19 by A1 (10 calls, 5 visits,
  2 interviews = 17; done 5 + 3 + 0 = 8) and A2 (5 calls, 3 visits; done); filed with 05-19's log
  for 05-20 by A1 and A2 only (A3 and S file none).
* Care: the first tracking run is 04-15 and nobody is contacted, so on 05-20 everyone is 35 days
  without contact (≥ 14: supervisor's care item; ≥ 30: the executive's); A3 attended the morning
  meeting on 04-01 and then on 05-20 again (back after 49 days); S's work anniversary.
* Users: sup (supervisor S), boss (executive, org B), admin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.kpi_cli.builders import cli_ok, run_cli
from tests.tracking.test_scenario import ATT, PREM, Facts
from zhuizong.tracking import generate

LOG = "agent_code,date,calls,visits,interviews,proposals,closes,plan_calls,plan_visits,plan_interviews"
AGENTS = ("S", "A1", "A2", "A3")


def _days(start: str, end: str) -> list[str]:
    import datetime as dt
    a, b = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return [(a + dt.timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]


@pytest.fixture
def agency(home: Path, tmp_path: Path) -> Facts:
    f = Facts(tmp_path / "facts")
    cli_ok("init")
    f.load("org_units", "org_code,org_name,parent_code,level", ["B,营业区,,branch", "G,一组,B,group"])
    f.load("ranks", "rank_code,rank_name,category,level", ["A,业务员,formal,2", "DR,业务主任,director,3"])
    f.load("products", "product_code,product_name,is_main,pay_mode,term_years,fyc_rate,std_factor",
           ["MAIN,主险终身寿,1,regular,10,0.3,1"])
    f.load("agents", "agent_code,agent_name,hire_date,org_code,rank_code,supervisor_code",
           ["S,主管,2019-05-20,G,DR,", "A1,业务员一,2025-01-10,G,A,S", "A2,业务员二,2025-01-10,G,A,S",
            "A3,业务员三,2025-01-10,G,A,S"])
    may = {"S": 3000, "A1": 1000, "A2": 2000, "A3": 1500}
    f.load("premiums", PREM, [f"A{a},PA{a},{a},MAIN,2026-04-10,new,2000" for a in AGENTS]
           + [f"B{a},PB{a},{a},MAIN,2026-05-05,new,{amt}" for a, amt in may.items()])
    f.load("attendance", ATT, ["A3,2026-04-01,morning,present", "A3,2026-05-20,morning,present"])
    plans = {("A1", "2026-05-18"): "10,5,2", ("A2", "2026-05-18"): "5,3,",
             ("A1", "2026-05-19"): "8,4,2", ("A2", "2026-05-19"): "5,3,1"}
    actual = {("A1", "2026-05-19"): "5,3,0"}
    f.load("work_logs", LOG, [f"{a},{d},{actual.get((a, d), '5,3,0')},1,0,{plans.get((a, d), ',,')}"
                              for a in AGENTS for d in _days("2026-04-01", "2026-05-31")])
    f.load("agent_goals", "agent_code,period,metric,target",
           ["A1,2026-05,fyp,10000", "A2,2026-05,fyp,2000"])
    for args in (
        ("users", "add", "admin", "--name", "管理员", "--role", "admin"),
        ("users", "add", "sup", "--name", "主管", "--role", "supervisor", "--agent", "S"),
        ("users", "grant", "sup", "--line", "S"),
        ("users", "add", "boss", "--name", "总监", "--role", "executive"),
        ("users", "grant", "boss", "--org", "B"),
    ):
        cli_ok(*args)
    return f


def items(*extra: str) -> dict[str, dict[str, Any]]:
    xs = json.loads(cli_ok("track", "list", "--status", "open", "--format", "json", *extra))["items"]
    return {x["subject_code"]: x for x in xs}


def reasons(x: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["rule"]: r for r in x["reasons"]}


def test_goals_plans_care_and_the_executive_set(agency: Facts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generate, "EXECUTIVE_DAILY_CAP", 2)
    cli_ok("track", "run", "--date", "2026-04-15", "--as", "admin")
    assert items() == {}
    cli_ok("track", "run", "--date", "2026-05-20", "--as", "admin")
    by = items()
    assert sorted(by) == ["A1", "A2", "A3", "S"]
    rules = {k: sorted(reasons(x)) for k, x in by.items()}
    assert rules == {
        "A1": ["exec_not_contacted", "goal_behind", "not_contacted", "plan_not_carried_out"],
        "A2": ["exec_not_contacted", "not_contacted"],
        "A3": ["care_return", "no_plan_filed", "not_contacted"],  # capped out of boss's set
        "S": ["care_anniversary", "no_plan_filed", "not_contacted"],
    }
    a1 = reasons(by["A1"])
    assert a1["goal_behind"]["message"] == "个人目标 (FYP) 达成 10%, 落后时间进度 65% 达 55 个百分点"
    assert a1["plan_not_carried_out"]["message"] == "昨日计划 17 项 (电话/拜访/面谈) 只完成 8 项 (47%)"
    assert a1["not_contacted"]["message"] == "关怀: 已 35 天无人联系, 请主动关心"
    assert a1["exec_not_contacted"]["owner_code"] == "boss" and a1["not_contacted"]["owner_code"] == "S"
    assert reasons(by["A3"])["care_return"]["facts"]["return_after_days"] == 49
    assert reasons(by["S"])["care_anniversary"]["message"] == "关怀: 入司 7 周年, 送上祝贺"
    # S has no supervisor: the executive of the unit leads and owns S's supervisor-link reasons
    assert by["S"]["lead_owner"] == "boss" and reasons(by["S"])["not_contacted"]["owner_code"] == "boss"
    assert sorted(items("--owner", "boss")) == ["A1", "A2", "S"]

    # a contact resets the count; "no answer" does not
    cli_ok("track", "record", str(by["A2"]["id"]), "--method", "phone", "--outcome", "contacted",
           "--date", "2026-05-20", "--as", "sup")
    cli_ok("track", "record", str(by["A3"]["id"]), "--method", "phone", "--outcome", "no_answer",
           "--date", "2026-05-20", "--as", "sup")
    cli_ok("track", "run", "--date", "2026-05-21", "--as", "admin")
    by = items()
    # contacted: both contact reasons cleared (nobody filed a plan for 05-21: that one is new)
    assert sorted(reasons(by["A2"])) == ["no_plan_filed"]
    assert "not_contacted" in reasons(by["A3"])
    # the executive's set: A1 kept from yesterday, A3 takes A2's place (cap 2)
    assert sorted(k for k, x in by.items() if "exec_not_contacted" in reasons(x)) == ["A1", "A3"]


def test_agent_goals_import_refuses_bad_rows(agency: Facts, tmp_path: Path) -> None:
    bad = tmp_path / "goals_bad.csv"
    bad.write_text("agent_code,period,metric,target\nA1,2026-05,fyp,-5\nZZ,2026-05,cases,3\n"
                   "A2,2026-05,happiness,1\n", encoding="utf-8")
    code, out, err = run_cli("import", "agent_goals", str(bad))
    text = out + err
    assert code != 0
    assert "ZZ" in text and "happiness" in text and "-5" in text
    # nothing stored: A2's goal is still the one imported before
    good = tmp_path / "goals_zh.csv"
    good.write_text("工号,期间,指标,目标\nA3,2026-05,件数,4\n", encoding="utf-8")
    cli_ok("import", "agent_goals", str(good))
