"""Basic-law decisions at exact thresholds: the number the KPI report shows decides.

Actual values, projections and thresholds are Decimals combined by the KPI engine's own evaluator
(:mod:`zhuizong.kpi.evaluate`); each case below is one where float arithmetic (or the former
"round to 4 decimals, then ≥ with a 1e-6 tolerance") decides the other way."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from tests.basiclaw.builders import Agency
from zhuizong.basiclaw import config, engine
from zhuizong.kpi import compiler
from zhuizong.kpi.engine import KpiRequest, compute
from zhuizong.workspace import Workspace

LAW = """
[basic_law]
name = "exact thresholds"

[q]
default = 3

[ranks.A1]
name = "业务员"
category = "formal"
level = 2

[ranks.D1]
name = "主任"
category = "director"
level = 5

[rules.A1_keep]
rank = "A1"
kind = "maintain"

[[rules.A1_keep.criteria]]
metric = "attendance_rate"
min = 0.6667
label = "att_high"

[[rules.A1_keep.criteria]]
metric = "attendance_rate"
min = 0.6666
label = "att_low"

[[rules.A1_keep.criteria]]
metric = "fyc"
min = 0.1
unit = "Q"

[rules.D1_keep]
rank = "D1"
kind = "maintain"

[[rules.D1_keep.criteria]]
metric = "team_fyc"
scope = "line"
min = 0.8
include_self = false
"""


def _criteria(results: Any, agent: str, rule: str) -> dict[str, dict[str, Any]]:
    row = results[(results.agent_code == agent) & (results.rule == rule)].iloc[0]
    return {c["criterion"]: c for c in json.loads(row.criteria)}


def test_decisions_follow_the_exact_kpi_value(workspace: Workspace) -> None:
    a = Agency()
    a.agent("A", rank="A1")
    a.meetings("A", "2026-05-04", 2, 1)  # attendance 2 / 3
    a.sale("A", "2026-05-10", 0.30)  # FYC 0.30 元 against 0.1 Q × 3 元
    a.agent("H", rank="D1")
    a.agent("M1", rank="A1", sup="H")
    a.sale("M1", "2026-05-11", 0.70)
    a.agent("M2", rank="A1", sup="H")
    a.sale("M2", "2026-05-12", 0.10)  # team FYC 0.70 + 0.10 against 0.8
    a.load(workspace)

    # float arithmetic decides these the other way
    assert round(2 / 3, 4) + 1e-6 >= 0.6667  # the former rule: met
    assert 0.1 * 3 > 0.30  # a float threshold above the actual: not met
    assert 0.70 + 0.10 < 0.8  # a float team sum below the threshold: not met

    law = config.parse(LAW, "exact.toml")
    res = engine.evaluate(workspace, law, "2026-06", dt.date(2026, 7, 10))

    # the KPI report's number for A's attendance, and the decision it implies
    kpi = compute(workspace, KpiRequest("2026Q2", org="HQ", by="agent",
                                        metrics=("attendance_rate", "fyc")))
    by = {(r.agent_code, r.metric): r.value for r in kpi.rows}
    att = by["A", "attendance_rate"]
    assert att == Decimal(2) / Decimal(3)
    crit = _criteria(res, "A", "A1_keep")
    assert crit["att_high"]["met"] is (att >= Decimal("0.6667")) is False
    assert crit["att_low"]["met"] is (att >= Decimal("0.6666")) is True
    assert crit["att_high"]["actual"] == 0.6667  # shown rounded, decided exactly
    assert crit["att_high"]["gap_zh"] == "差 0.1 个百分点att_high"  # 0.0033… points, rounded up
    # 0.1 Q at Q = 3 is exactly 0.3 元, reached by FYC 0.30
    assert by["A", "fyc"] == Decimal("0.30")
    assert (crit["fyc"]["met"], crit["fyc"]["threshold"], crit["fyc"]["threshold_q"]) == (
        True, 0.3, 0.1)
    # the team sum is exact: 0.70 + 0.10 = 0.80 ≥ 0.8
    team = _criteria(res, "H", "D1_keep")["team_fyc@line"]
    assert (team["met"], team["actual"]) == (True, 0.8)
    row = res[(res.agent_code == "A") & (res.rule == "A1_keep")].iloc[0]
    assert (row.outcome, row.met_count) == ("not_met", 2)


def test_personal_values_are_the_kpi_engines(workspace: Workspace) -> None:
    """The basic law's per-agent values are ``compute``'s Decimals, not close floats."""
    a = Agency()
    for code, present, absent, fyc in (("P1", 1, 2, 100.01), ("P2", 7, 3, 0.1), ("P3", 0, 0, 5)):
        a.agent(code, rank="A1")
        if present + absent:
            a.meetings(code, "2026-04-06", present, absent)
        if fyc:
            a.sale(code, "2026-04-20", fyc, cases=3)
    a.load(workspace)
    window = engine.window_for(config.parse(LAW, "x.toml").rules["A1_keep"],
                               engine.parse_period("2026Q2", engine.basis(workspace)))
    metrics = ("attendance_rate", "cases", "fyc", "premium_per_case")
    snap = compiler.Snapshot.open(workspace)
    mine = engine._kpi(workspace, snap, window, window.end, metrics).set_index("agent_code")
    kpi = compute(workspace, KpiRequest("2026Q2", org="HQ", by="agent", metrics=metrics))
    rows = kpi.rows
    assert {r.agent_code for r in rows} == set(mine.index) == {"P1", "P2", "P3"}
    for r in rows:
        got = mine.loc[r.agent_code, r.metric]
        assert got == r.value and type(got) is type(r.value), (r.agent_code, r.metric, got)
    assert mine.loc["P3", "attendance_rate"] is None  # no meetings: no value (not met)
