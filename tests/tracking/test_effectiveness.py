"""Tracking effectiveness on a constructed scenario whose answer is known by construction.

Agency: root BR, group G1; director S (supervisor of P1..P4, formal agents hired in 2025).
April: S produces 10,000 (the top producer), P1..P4 produce 1,000 each on 2026-04-28 (after the
25th, so the activity rate of 1–25 April equals May's and no executive rule fires). May: only S
produces before the 25th. 2026-05-25 is a Monday (the day before is Sunday: no work-log rule).

``track run --date 2026-05-25`` opens one item per P (zero production by day 20, owner S).
Records: P1 on 05-25 (timely, outcome resolved), P2 on 05-28 (within the 7-day window, not
timely). Production in the window (05-25, 06-01]: P1 on 05-27, P2 on 05-29, P3 on 05-30; P4 none.

By owner S: items 4, recorded 2 (coverage 0.5), timely 1 (0.25), resolved 1 (0.25);
tracked P1, P2 → both moved (1.0); untracked P3, P4 → P3 moved (0.5); lift +50 points.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.kpi_cli.builders import cli_ok


def _csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def scenario(home: Path, tmp_path: Path) -> None:
    f = tmp_path / "files"
    f.mkdir()
    cli_ok("init")
    files = [
        ("org_units", _csv(f / "orgs.csv", "org_code,org_name,parent_code,level",
                           ["BR,营业区,,branch", "G1,一组,BR,group"])),
        ("ranks", _csv(f / "ranks.csv", "rank_code,rank_name,category,level",
                       ["A,业务员,formal,1", "D,主任,director,2"])),
        ("agents", _csv(f / "agents.csv",
                        "agent_code,agent_name,hire_date,org_code,rank_code,supervisor_code",
                        ["S,主管甲,2020-01-01,G1,D,"] +
                        [f"P{i},业务员{i},2025-01-0{i},G1,A,S" for i in range(1, 5)])),
        ("products", _csv(f / "products.csv",
                          "product_code,product_name,is_main,pay_mode,term_years,fyc_rate,std_factor",
                          ["M,主险,1,regular,10,0.3,1"])),
        ("premiums", _csv(f / "premiums.csv",
                          "txn_id,policy_no,agent_code,product_code,txn_date,txn_type,amount",
                          ["T1,PS1,S,M,2026-04-10,new,10000", "T2,PS2,S,M,2026-05-05,new,5000"]
                          + [f"T1{i},PP{i},P{i},M,2026-04-28,new,1000" for i in range(1, 5)]
                          + ["T21,PQ1,P1,M,2026-05-27,new,800", "T22,PQ2,P2,M,2026-05-29,new,900",
                             "T23,PQ3,P3,M,2026-05-30,new,700"])),
    ]
    for kind, path in files:
        cli_ok("import", kind, str(path))


def _items() -> dict[str, dict]:
    out = json.loads(cli_ok("track", "list", "--status", "all", "--format", "json"))
    return {x["subject_code"]: x for x in out["items"]}


def test_effectiveness_known_answer(scenario: None) -> None:
    cli_ok("track", "run", "--date", "2026-05-25")
    items = _items()
    assert sorted(items) == ["P1", "P2", "P3", "P4"]
    for x in items.values():
        assert x["owner_code"] == "S"
        assert [r["rule"] for r in x["reasons"]] == ["zero_production_day20"]
    cli_ok("track", "record", str(items["P1"]["id"]), "--method", "phone", "--outcome", "resolved",
           "--date", "2026-05-25")
    cli_ok("track", "record", str(items["P2"]["id"]), "--method", "wechat", "--outcome", "committed",
           "--date", "2026-05-28", "--next", "2026-05-30")
    res = json.loads(cli_ok("track", "effectiveness", "--period", "2026-05", "--by", "owner",
                            "--format", "json"))
    assert res["window_days"] == 7
    (row,) = res["rows"]
    assert row["key"] == "S" and row["name"] == "主管甲"
    assert (row["items"], row["recorded"], row["timely"], row["resolved"]) == (4, 2, 1, 1)
    assert (row["coverage"], row["timeliness"], row["resolution"]) == (0.5, 0.25, 0.25)
    assert (row["tracked"], row["tracked_moved"], row["tracked_rate"]) == (2, 2, 1.0)
    assert (row["untracked"], row["untracked_moved"], row["untracked_rate"]) == (2, 1, 0.5)
    assert row["lift_points"] == 50.0
    assert res["total"]["items"] == 4

    by_rule = json.loads(cli_ok("track", "effectiveness", "--period", "2026-05", "--by", "rule",
                                "--format", "json"))
    assert [r["key"] for r in by_rule["rows"]] == ["zero_production_day20"]
    assert by_rule["rows"][0]["lift_points"] == 50.0

    # a shorter window leaves P3's production (5 days after opening) outside: untracked 0/2
    cli_ok("config", "set", "tracking.lift_window_days", "4")
    short = json.loads(cli_ok("track", "effectiveness", "--period", "2026-05", "--format", "json"))
    r = short["rows"][0]
    assert (r["tracked"], r["tracked_moved"], r["untracked"], r["untracked_moved"]) == (2, 2, 2, 0)
    assert r["lift_points"] == 100.0

    # nothing opened in April
    empty = json.loads(cli_ok("track", "effectiveness", "--period", "2026-04", "--format", "json"))
    assert empty["rows"] == [] and empty["total"]["items"] == 0


def test_effectiveness_xlsx(scenario: None, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    cli_ok("track", "run", "--date", "2026-05-25")
    out = tmp_path / "eff.xlsx"
    cli_ok("track", "effectiveness", "--period", "2026-05", "--format", "xlsx", "--out", str(out))
    ws = load_workbook(out).active
    assert ws.cell(3, 1).value == "key"
    assert ws.cell(4, 1).value == "S" and ws.cell(4, 3).value == 4
