"""Both example rule files on hand-built agencies: agents on both sides of the thresholds get the
right outcome and the exact gap; team criteria count the right subtree; Q converts per branch;
a 2-of-3 rule passes with exactly two criteria met and fails with one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tests.basiclaw.builders import Agency
from zhuizong.access.actor import SYSTEM
from zhuizong.basiclaw import config
from zhuizong.basiclaw.service import ListQuery, list_results, run_assessment
from zhuizong.workspace import Workspace

AS_OF = dt.date(2026, 7, 10)


def _rules_file(tmp: Path, name: str) -> Path:
    p = tmp / name
    p.write_text(config.example_text(name), encoding="utf-8")
    return p


def _results(ws: Workspace, period: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["agent_code"], r["rule"]): r for r in list_results(ws, SYSTEM, ListQuery(period))}


def _crit(r: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in r["criteria"] if c["criterion"] == name)


def test_ladder_example(workspace: Workspace, tmp_path: Path) -> None:
    a = Agency()
    # probationary: conversion needs FYC ≥ 1,200 and 2 cases in the quarter, 2 months' tenure
    for code, fyc, cases in (("T_OK", 1200, 2), ("T_FYC", 1000, 2), ("T_CASE", 1500, 1)):
        a.agent(code, rank="T", hire="2026-01-10")
        a.sale(code, "2026-05-10", fyc, cases=cases)
    a.agent("T_NEW", rank="T", hire="2026-05-15")
    a.sale("T_NEW", "2026-06-01", 5000, cases=3)
    # formal: promotion needs FYC ≥ 6,000 and 3 cases and 6 months in rank
    a.agent("A1_OK", rank="A1")
    a.sale("A1_OK", "2026-04-02", 6000, cases=3)
    a.agent("A1_SHORT", rank="A1")
    a.sale("A1_SHORT", "2026-06-30", 5999.5, cases=3)
    a.agent("A1_YOUNG", rank="A1", rank_since="2026-02-01")
    a.sale("A1_YOUNG", "2026-04-02", 9000, cases=5)
    # recruiting tree (育成): R recruited X1 (this quarter), X2 (left in June); X1 recruited Y1
    a.agent("R", rank="A3")
    a.sale("R", "2026-04-20", 9000, cases=2)
    a.agent("X1", rank="T", hire="2026-04-05", rec="R")
    a.agent("X2", rank="T", hire="2025-06-01", rec="R", leave="2026-06-15")
    a.agent("Y1", rank="T", hire="2026-05-01", rec="X1")
    a.agent("R2", rank="A3")
    a.sale("R2", "2026-04-20", 9000, cases=2)
    a.agent("Z1", rank="A1", hire="2025-02-01", rec="R2")
    # reporting line: H leads M1–M4 and, from 20 June, M6; M5 moved to H2 on 1 June
    a.agent("H", rank="D1")
    a.agent("H2", rank="D1", org="SH1")
    a.sale("H", "2026-05-05", 2000)
    for m in ("M1", "M2", "M3", "M4"):
        a.agent(m, rank="A1", sup="H")
        a.sale(m, "2026-05-06", 3000)
    a.agent("M5", rank="A1", sup="H2")
    a.event("M5", "2025-01-05", "hire", rank="A1", org="BJ1", sup="H")
    a.event("M5", "2026-06-01", "transfer", sup="H2")
    a.sale("M5", "2026-05-07", 5000)
    a.agent("M6", rank="A1", sup="H")
    a.event("M6", "2025-01-05", "hire", rank="A1", org="BJ1", sup="H2")
    a.event("M6", "2026-06-20", "transfer", sup="H")
    a.sale("M6", "2026-05-08", 3000)
    a.load(workspace)

    rules = _rules_file(tmp_path, "ladder.toml")
    run = run_assessment(workspace, SYSTEM, "2026Q2", as_of=AS_OF, rules=rules)
    assert run.closed and not run.frozen
    r = _results(workspace, "2026Q2")

    ok = r["T_OK", "T_convert"]
    assert (ok["outcome"], ok["target_rank"], ok["gap_zh"]) == ("convert", "A1", "")
    assert r["T_FYC", "T_convert"]["outcome"] == "extra_period"
    assert r["T_FYC", "T_convert"]["gap_zh"] == "差 200 元 FYC"
    assert r["T_FYC", "T_convert"]["gap_en"] == "200 yuan FYC short"
    c = _crit(r["T_FYC", "T_convert"], "fyc")
    assert (c["actual"], c["threshold"], c["gap"], c["met"]) == (1000.0, 1200.0, 200.0, False)
    assert r["T_CASE", "T_convert"]["gap_zh"] == "差 1 件新契约"
    assert r["T_NEW", "T_convert"]["outcome"] == "not_eligible"

    assert r["A1_OK", "A1_promote"]["outcome"] == "promote"
    assert r["A1_OK", "A1_promote"]["target_rank"] == "A2"
    assert r["A1_SHORT", "A1_promote"]["outcome"] == "not_met"
    assert r["A1_SHORT", "A1_promote"]["gap_zh"] == "差 0.50 元 FYC"
    assert r["A1_YOUNG", "A1_promote"]["outcome"] == "not_eligible"  # 4 months in rank < 6
    assert r["A1_YOUNG", "A1_maintain"]["outcome"] == "maintain"  # 4 months ≥ 3

    # recruiting tree: X1 and Y1 in force at the end (X2 left); one direct recruit this quarter
    rr = r["R", "A3_promote"]
    assert _crit(rr, "育成线在职人力")["actual"] == 2
    assert _crit(rr, "direct_recruits")["actual"] == 1
    assert rr["outcome"] == "promote" and rr["target_rank"] == "D1"
    r2 = r["R2", "A3_promote"]
    assert r2["outcome"] == "not_met"
    assert r2["gap_zh"] == "差 1 名育成线在职人力, 差 1 名直接增员"

    # reporting line as of 30 June: M1–M4 and M6 (M5 moved away), team FYC incl. H himself
    h = r["H", "D1_maintain"]
    assert _crit(h, "直辖组人力")["actual"] == 5
    assert _crit(h, "直辖组 FYC")["actual"] == 2000 + 5 * 3000
    assert h["outcome"] == "extra_period" and h["gap_zh"] == "差 3,000 元 直辖组 FYC"
    assert _crit(r["H2", "D1_maintain"], "直辖组人力")["actual"] == 1


def test_q_units_example(workspace: Workspace, tmp_path: Path) -> None:
    a = Agency()
    # 1 Q = 1,500 元 in BJ, 1,600 元 in SH: the same FYC converts in BJ and not in SH
    a.agent("QB", rank="T", hire="2026-01-10", org="BJ1")
    a.agent("QS", rank="T", hire="2026-01-10", org="SH1")
    for code in ("QB", "QS"):
        a.sale(code, "2026-04-15", 1500, cases=2)
    # 2 of 3 (FYC ≥ 1Q, cases ≥ 2, attendance ≥ 80%)
    a.agent("K2", rank="A1")  # FYC and cases: 2 met
    a.sale("K2", "2026-05-01", 1500, cases=2)
    a.meetings("K2", "2026-05-04", 5, 5)
    a.agent("K1", rank="A1")  # FYC only: 1 met
    a.sale("K1", "2026-05-01", 1500, cases=1)
    a.meetings("K1", "2026-05-04", 5, 5)
    a.agent("K3", rank="A1")  # cases and attendance exactly 80%: 2 met
    a.sale("K3", "2026-05-01", 0.01, cases=2)
    a.meetings("K3", "2026-05-04", 8, 2)
    a.load(workspace)

    rules = _rules_file(tmp_path, "q_units.toml")
    run_assessment(workspace, SYSTEM, "2026-06", as_of=AS_OF, rules=rules)
    r = _results(workspace, "2026-06")
    qb, qs = r["QB", "T_convert"], r["QS", "T_convert"]
    assert (qb["outcome"], _crit(qb, "fyc")["threshold"]) == ("convert", 1500.0)
    assert (qs["outcome"], _crit(qs, "fyc")["threshold"]) == ("contract_end", 1600.0)
    assert _crit(qs, "fyc")["threshold_q"] == 1
    assert qs["gap_zh"] == "差 100 元 FYC"
    assert qb["window"] == {"start": "2026-04-01", "end": "2026-06-30"}  # rolling 3 months

    k2, k1, k3 = (r[k, "A1_maintain"] for k in ("K2", "K1", "K3"))
    assert (k2["outcome"], k2["met_count"]) == ("maintain", 2)
    assert (k3["outcome"], k3["met_count"]) == ("maintain", 2)
    assert _crit(k3, "attendance_rate")["actual"] == 0.8
    assert (k1["outcome"], k1["met_count"]) == ("extra_period", 1)
    assert k1["gap_zh"] == ("差 1 件新契约, 差 30.0 个百分点出勤率 "
                            "(非必备条件 3 项中需满足 2 项, 尚差 1 项)")

    # personal metrics are the KPI engine's numbers (the column-wise path equals compute())
    from zhuizong.kpi.engine import KpiRequest, compute

    kpi = compute(workspace, KpiRequest("2026Q2", org="HQ", by="agent",
                                        metrics=("fyc", "cases", "attendance_rate")))
    by = {(x.agent_code, x.metric): x.value for x in kpi.rows}
    for k in ("K1", "K2", "K3"):
        for metric in ("fyc", "cases", "attendance_rate"):
            want = by[k, metric]
            assert _crit(r[k, "A1_maintain"], metric)["actual"] == (
                None if want is None else round(float(want), 4)), (k, metric)
