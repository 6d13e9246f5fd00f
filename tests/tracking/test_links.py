"""The six tracking links, each owned by its role (issue 15), through the CLI on a hand-built agency.

Agency (May 2026; run date 05-20, a Wednesday)::

    B 营业区 (branch)
    └── D 一部 (department)           M  部经理 (director, no supervisor; April's top producer)
        ├── G1 一组 (group, FYP plan)  S1 主管一 (supervisor M): X, N (new hire)
        └── G2 二组 (group)            S2 主管二 (supervisor M): W, P (probationary)

Facts chosen so that exactly one link fires per situation:

* X: absent from the morning meetings 05-18..20 (coaching: ``absent_streak``);
* N: hired 04-15, attended 4 of 8 meetings, absent 05-15..20 (coaching ``absent_streak`` and
  training ``new_hire_low_attendance``: one item, two owners);
* W: no work log on 05-19 (supervisor: ``no_worklog_yesterday``);
* P: probationary since 03-01 with 300 元 FYC (assessment: ``conversion_gap``);
* M: April's top producer without production in May (campaign ``top_performer_idle`` and coaching
  ``zero_production_day20``, and executive ``exec_idle_top``; no supervisor, so the 组训 leads);
* G1: FYP plan 1,000,000 for May (executive: ``plan_behind_time``);
* D: 7 agents, morning-meeting attendance 9 of 16 recorded (coaching: ``unit_low_attendance``,
  the 组训's 每日考勤追踪, copied to the executive).

Users: sup1/sup2 (supervisors S1/S2, reporting lines), trainer1 (组训, org D), train1 and train2
(培训, org B), assess1 (考核, org B), camp1 (方案, org B), exec1 (营销干部, org D), boss (营销干部,
org B), admin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.kpi_cli.builders import cli_ok, run_cli
from tests.tracking.test_scenario import ATT, PREM, Facts, _may


@pytest.fixture
def agency(home: Path, tmp_path: Path) -> Facts:
    f = Facts(tmp_path / "facts")
    cli_ok("init")
    f.load("org_units", "org_code,org_name,parent_code,level",
           ["B,营业区,,branch", "D,一部,B,department", "G1,一组,D,group", "G2,二组,D,group"])
    f.load("ranks", "rank_code,rank_name,category,level",
           ["T,业务员(试用),probationary,1", "A,业务员,formal,2", "DR,业务主任,director,3",
            "MG,部经理,director,4"])
    f.load("products", "product_code,product_name,is_main,pay_mode,term_years,fyc_rate,std_factor",
           ["MAIN,主险终身寿,1,regular,10,0.3,1"])
    f.load("agents", "agent_code,agent_name,hire_date,org_code,rank_code,supervisor_code",
           ["M,部经理甲,2018-01-01,D,MG,", "S1,主管一,2019-03-01,G1,DR,M",
            "S2,主管二,2019-06-01,G2,DR,M", "X,业务员X,2025-06-01,G1,A,S1",
            "N,新人N,2026-04-15,G1,T,S1", "W,业务员W,2025-09-01,G2,A,S2",
            "P,试用P,2026-03-01,G2,T,S2"])
    april = {"M": 20000, "S1": 8000, "S2": 8000, "X": 1000, "W": 1000}
    may = {"S1": 3000, "S2": 3000, "X": 2000, "N": 1500, "W": 1500, "P": 1000}
    f.load("premiums", PREM,
           [f"A{a},PA{a},{a},MAIN,2026-04-28,new,{amt}" for a, amt in april.items()]
           + [f"B{a},PB{a},{a},MAIN,{_may(5)},new,{amt}" for a, amt in may.items()])
    f.load("plans", "org_code,period,metric,target", ["G1,2026-05,fyp,1000000"])
    f.load("attendance", ATT,
           [f"X,{_may(d)},morning,present" for d in (11, 12, 13, 14, 15)]
           + [f"X,{_may(d)},morning,absent" for d in (18, 19, 20)]
           + [f"N,{_may(d)},morning,present" for d in (11, 12, 13, 14)]
           + [f"N,{_may(d)},morning,absent" for d in (15, 18, 19, 20)])
    f.load("work_logs", "agent_code,date,calls,visits,interviews,proposals,closes",
           [f"{a},{_may(d)},5,3,0,1,0" for a in ("M", "S1", "S2", "X", "N", "W", "P")
            for d in range(1, 32) if not (a == "W" and d == 19)])
    for args in (
        ("users", "add", "admin", "--name", "管理员", "--role", "admin"),
        ("users", "add", "sup1", "--name", "主管一", "--role", "supervisor", "--agent", "S1"),
        ("users", "grant", "sup1", "--line", "S1"),
        ("users", "add", "sup2", "--name", "主管二", "--role", "supervisor", "--agent", "S2"),
        ("users", "grant", "sup2", "--line", "S2"),
        ("users", "add", "trainer1", "--name", "组训甲", "--role", "trainer"),
        ("users", "grant", "trainer1", "--org", "D"),
        ("users", "add", "train1", "--name", "培训甲", "--role", "training"),
        ("users", "grant", "train1", "--org", "B"),
        ("users", "add", "train2", "--name", "培训乙", "--role", "training"),
        ("users", "grant", "train2", "--org", "B"),
        ("users", "add", "assess1", "--name", "考核甲", "--role", "assessment"),
        ("users", "grant", "assess1", "--org", "B"),
        ("users", "add", "camp1", "--name", "方案甲", "--role", "campaign"),
        ("users", "grant", "camp1", "--org", "B"),
        ("users", "add", "exec1", "--name", "营销干部甲", "--role", "executive"),
        ("users", "grant", "exec1", "--org", "D"),
        ("users", "add", "boss", "--name", "总监", "--role", "executive"),
        ("users", "grant", "boss", "--org", "B"),
    ):
        cli_ok(*args)
    return f


def items(*extra: str) -> list[dict[str, Any]]:
    return json.loads(cli_ok("track", "list", "--status", "all", "--format", "json", *extra))["items"]


def subjects(*extra: str) -> list[str]:
    return sorted(x["subject_code"] for x in items(*extra))


def routing(x: dict[str, Any]) -> dict[str, tuple[str, str | None, list[str]]]:
    return {r["rule"]: (r["link"], r["owner_code"], r["copied"]) for r in x["reasons"]}


def test_each_link_owned_by_its_role(agency: Facts) -> None:
    cli_ok("track", "run", "--date", _may(20), "--as", "admin")
    by = {x["subject_code"]: x for x in items()}
    assert sorted(by) == ["D", "G1", "M", "N", "P", "W", "X"], sorted(by)

    # one item per subject, the lead (one contact a day) by precedence, every reason routed
    assert by["X"]["lead_owner"] == "S1"
    assert routing(by["X"]) == {"absent_streak": ("coaching", "trainer1", [])}
    assert by["N"]["lead_owner"] == "S1"
    assert routing(by["N"]) == {"absent_streak": ("coaching", "trainer1", []),
                                "new_hire_low_attendance": ("training", "train1", [])}
    assert sorted(by["N"]["copied"]) == ["train1", "trainer1"]  # not duplicated: one item
    assert by["W"]["lead_owner"] == "S2"
    assert routing(by["W"]) == {"no_worklog_yesterday": ("supervisor", "S2", [])}
    assert by["P"]["lead_owner"] == "S2"
    assert routing(by["P"]) == {"conversion_gap": ("assessment", "assess1", [])}
    # M has no supervisor: the 组训 leads, the campaign staff owns the campaign reason
    assert by["M"]["lead_owner"] == "trainer1"
    # ... and, top of the last three months too, M is in the executive's daily set of agents
    assert routing(by["M"]) == {"top_performer_idle": ("campaign", "camp1", []),
                                "zero_production_day20": ("coaching", "trainer1", []),
                                "exec_idle_top": ("executive", "exec1", [])}
    # the org unit: the executive with the narrowest scope over it
    assert by["G1"]["subject_type"] == "org" and by["G1"]["lead_owner"] == "exec1"
    assert routing(by["G1"]) == {"plan_behind_time": ("executive", "exec1", [])}
    # team level: the unit's attendance (KPI attendance_rate, 9 of 16) to the 组训, executive copied
    assert by["D"]["lead_owner"] == "trainer1"
    assert routing(by["D"]) == {"unit_low_attendance": ("coaching", "trainer1", ["exec1"])}
    assert by["D"]["reasons"][0]["facts"]["attendance_rate_mtd"] == 0.5625
    assert by["D"]["copied"] == ["exec1"]

    # --owner CODE: the items where CODE leads or owns a reason
    assert subjects("--owner", "trainer1") == ["D", "M", "N", "X"]
    assert subjects("--owner", "train1") == ["N"]
    assert subjects("--owner", "train2") == []
    assert subjects("--owner", "assess1") == ["P"]
    assert subjects("--owner", "camp1") == ["M"]
    assert subjects("--owner", "exec1") == ["G1", "M"]
    assert subjects("--owner", "boss") == []
    assert subjects("--owner", "S1") == ["N", "X"]
    assert subjects("--owner", "S2") == ["P", "W"]
    # 我的 of each staff user (their own scope): exactly their link's reasons
    assert subjects("--owner", "me", "--as", "train1") == ["N"]
    assert subjects("--owner", "me", "--as", "sup1") == ["N", "X"]
    mine = {x["subject_code"]: x for x in items("--owner", "me", "--as", "trainer1")}
    assert sorted(mine) == ["D", "M", "N", "X"]
    assert mine["N"]["owns_reason"] and not mine["N"]["mine"] and mine["N"]["my_reasons"] == ["absent_streak"]
    assert mine["N"]["lead_name"] == "主管一" and mine["M"]["mine"]

    # what the lead recorded is shown to the other owners
    n_id = by["N"]["id"]
    cli_ok("track", "record", str(n_id), "--method", "phone", "--outcome", "committed",
           "--finding", "家里有事, 下周恢复早会", "--date", _may(20), "--as", "sup1")
    (n,) = items("--owner", "me", "--as", "train1")
    assert n["lead_record"]["finding"] == "家里有事, 下周恢复早会"
    assert n["lead_record"]["author"] == "sup1" and n["status"] == "recorded"

    # digests follow the routing: one per person, a reason owner sees their reasons and the lead
    ds = {d["recipient"]: d for d in json.loads(cli_ok(
        "track", "digest", "--date", _may(20), "--format", "json"))["digests"]}
    assert sorted(ds) == ["S1", "S2", "assess1", "camp1", "exec1", "train1", "trainer1"]
    assert ds["train1"]["open"] == 1 and "新人本月早会出勤率" in ds["train1"]["markdown"]
    assert "连续" not in ds["train1"]["markdown"] and "牵头 主管一" in ds["train1"]["markdown"]
    assert ds["trainer1"]["open"] == 4


def test_explicit_assignment_refines_the_default(agency: Facts) -> None:
    # not a 培训 user / outside the user's scope: refused with a clear message
    code, _out, err = run_cli("track", "assign", "training", "D", "trainer1")
    assert code != 0 and "trainer1" in err
    cli_ok("users", "add", "train3", "--name", "培训丙", "--role", "training")
    cli_ok("users", "grant", "train3", "--org", "G2")
    code, _out, err = run_cli("track", "assign", "training", "D", "train3")
    assert code != 0 and "users grant train3 --org D" in err

    cli_ok("track", "assign", "training", "D", "train2")
    listed = json.loads(cli_ok("track", "assignments", "--format", "json"))["assignments"]
    assert [(a["role"], a["org_code"], a["username"]) for a in listed] == [("training", "D", "train2")]
    cli_ok("track", "run", "--date", _may(20), "--as", "admin")
    (n,) = [x for x in items() if x["subject_code"] == "N"]
    assert routing(n)["new_hire_low_attendance"] == ("training", "train2", [])
    assert subjects("--owner", "train1") == []
    assert subjects("--owner", "train2") == ["N"]

    cli_ok("track", "assign", "training", "D", "--remove")
    assert json.loads(cli_ok("track", "assignments", "--format", "json"))["assignments"] == []
