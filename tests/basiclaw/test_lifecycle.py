"""Results over time: the failure ladder over successive windows, apply (dry run, idempotent,
through the import path), projection at a known pace, frozen closed windows, scope, signals."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from tests.basiclaw.builders import Agency
from tests.kpi_cli.builders import run_cli
from zhuizong.access.actor import SYSTEM, Actor
from zhuizong.access.users import create_user, grant_scope, load_actor
from zhuizong.basiclaw import config
from zhuizong.basiclaw.service import (
    ListQuery,
    apply_assessment,
    install_demo_basic_law,
    list_results,
    run_assessment,
)
from zhuizong.basiclaw.signals import SIGNALS, basic_law_signals
from zhuizong.errors import NotFound, PermissionDenied
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

LATE = dt.date(2026, 10, 10)


def _one(ws: Workspace, period: str, agent: str, rule: str, actor: Actor = SYSTEM) -> dict:
    rows = list_results(ws, actor, ListQuery(period, agent=agent, rule=rule))
    assert len(rows) == 1
    return rows[0]


def _count(ws: Workspace, name: str, **where: str) -> int:
    t = table(name)
    stmt = select(func.count()).select_from(t)
    for k, v in where.items():
        stmt = stmt.where(t.c[k] == v)
    with ws.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def test_failure_ladder_and_apply(workspace: Workspace) -> None:
    a = Agency()
    a.agent("L", rank="D1", hire="2025-01-05")  # a director without a team: fails every quarter
    a.agent("OK", rank="T", hire="2025-12-01")
    a.sale("OK", "2026-02-10", 1300, cases=2)
    a.load(workspace)
    install_demo_basic_law(workspace)  # ladder.toml as <workspace>/basic_law.toml

    outcomes = []
    for q in ("2026Q1", "2026Q2", "2026Q3"):
        run_assessment(workspace, SYSTEM, q, as_of=LATE)
        outcomes.append(_one(workspace, q, "L", "D1_maintain")["outcome"])
    assert outcomes == ["extra_period", "demote", "contract_end"]
    assert _one(workspace, "2026Q2", "L", "D1_maintain")["target_rank"] == "A3"
    assert _one(workspace, "2026Q1", "OK", "T_convert")["outcome"] == "convert"

    events = _count(workspace, "agent_events")
    dry = apply_assessment(workspace, SYSTEM, "2026Q1", dry_run=True)
    assert dry.status == "dry_run"
    assert [(c["agent_code"], c["event_type"], c["to_rank"], c["event_date"])
            for c in dry.changes] == [("OK", "convert", "A1", "2026-04-01")]
    assert _count(workspace, "agent_events") == events  # nothing written
    done = apply_assessment(workspace, SYSTEM, "2026Q2")
    assert [(c["agent_code"], c["event_type"], c["to_rank"], c["event_date"])
            for c in done.changes] == [("L", "demote", "A3", "2026-07-01")]
    assert done.status == "committed"
    again = apply_assessment(workspace, SYSTEM, "2026Q2")
    assert again.status == "nothing" and _count(workspace, "agent_events") == events + 1
    h = table("agent_history")
    with workspace.engine.connect() as conn:
        ranks = conn.execute(select(h.c.valid_from, h.c.rank_code).where(
            h.c.agent_code == "L").order_by(h.c.valid_from)).all()
    assert [(str(f), r) for f, r in ranks] == [("2025-01-05", "D1"), ("2026-07-01", "A3")]
    assert _count(workspace, "audit_log", action="assess_apply") == 1
    assert _one(workspace, "2026Q2", "L", "D1_maintain")["applied"]
    # contract end is applied as a leave on the day after the window
    end = apply_assessment(workspace, SYSTEM, "2026Q3", outcomes="contract_end")
    # (OK's Q1 conversion was never applied: still T, OK failed Q2 and Q3 and ends too)
    assert [(c["agent_code"], c["event_type"], c["event_date"]) for c in end.changes] == [
        ("L", "leave", "2026-10-01"), ("OK", "leave", "2026-10-01")]


def test_projection_frozen_recompute_scope_and_signals(workspace: Workspace,
                                                       tmp_path: Path) -> None:
    a = Agency()
    a.agent("P", rank="T", hire="2026-01-10", org="BJ1")
    a.sale("P", "2026-04-10", 600, cases=2)
    a.agent("S", rank="T", hire="2026-01-10", org="SH1")
    a.load(workspace)
    install_demo_basic_law(workspace)

    # 2026Q2 has 91 days; on 15 May 45 have elapsed: 600 元 → 600 / 45 × 91 = 1,213.33 ≥ 1,200
    run = run_assessment(workspace, SYSTEM, "2026Q2", as_of=dt.date(2026, 5, 15))
    assert not run.closed
    p = _one(workspace, "2026Q2", "P", "T_convert")
    fyc = next(c for c in p["criteria"] if c["metric"] == "fyc")
    assert fyc["projection"] == pytest.approx(600 / 45 * 91, abs=1e-4)
    assert (fyc["met"], fyc["projected_met"]) == (False, True)
    assert (p["status"], p["outcome"]) == ("provisional", "on_track")
    assert _one(workspace, "2026Q2", "S", "T_convert")["outcome"] == "at_risk"

    sig = basic_law_signals(workspace, dt.date(2026, 5, 15),
                            pd.DataFrame({"agent_code": ["P", "S", "NOBODY"]}))
    assert set(SIGNALS) <= set(sig.columns)
    row = sig.set_index("agent_code")
    assert row.loc["P", "conversion_gap_fyc"] == 600
    assert row.loc["P", "conversion_days_left"] == (dt.date(2026, 6, 30) - dt.date(2026, 5, 15)).days
    assert (row.loc["P", "conversion_projected"], row.loc["S", "demotion_risk"]) == (1, 0)
    assert row.loc["S", "assessment_at_risk"] == 1

    # closed: frozen at the first run after the window; later data changes nothing
    run_assessment(workspace, SYSTEM, "2026Q2", as_of=dt.date(2026, 7, 2))
    assert _one(workspace, "2026Q2", "P", "T_convert")["outcome"] == "extra_period"
    a.add_sales(workspace, [{"txn_id": "LATE1", "policy_no": "PL1", "agent_code": "P",
                             "product_code": "MAIN", "txn_date": "2026-06-20", "txn_type": "new",
                             "amount": 4000, "fyc": 1000}])
    again = run_assessment(workspace, SYSTEM, "2026Q2", as_of=dt.date(2026, 7, 20))
    assert again.frozen
    assert _one(workspace, "2026Q2", "P", "T_convert")["outcome"] == "extra_period"

    # users: an assessment officer of BJ sees BJ only; only an admin may recompute
    with workspace.engine.begin() as conn:
        create_user(conn, "bj", "北京考核", roles=["assessment"])
        grant_scope(conn, "bj", "org_subtree", org_code="BJ")
        create_user(conn, "root", "管理员", roles=["admin"])
        grant_scope(conn, "root", "org_subtree", org_code="HQ")
        bj, root = load_actor(conn, "bj"), load_actor(conn, "root")
    assert {r["agent_code"] for r in list_results(workspace, bj, ListQuery("2026Q2"))} == {"P"}
    with pytest.raises(NotFound):
        list_results(workspace, bj, ListQuery("2026Q2", agent="S"))
    with pytest.raises(PermissionDenied):
        run_assessment(workspace, bj, "2026Q2", as_of=dt.date(2026, 7, 20), recompute=True)
    run_assessment(workspace, root, "2026Q2", as_of=dt.date(2026, 7, 20), recompute=True)
    assert _one(workspace, "2026Q2", "P", "T_convert")["outcome"] == "convert"
    assert _count(workspace, "audit_log", action="assess_recompute") == 1

    # the CLI: list under --as, json and xlsx
    code, out, err = run_cli("--as", "bj", "assess", "list", "--period", "2026Q2", "--outcome",
                             "convert", "--format", "json")
    assert code == 0, err
    assert [r["agent_code"] for r in json.loads(out)["results"]] == ["P"]
    xlsx = tmp_path / "a.xlsx"
    code, out, err = run_cli("assess", "list", "--period", "2026Q2", "--format", "xlsx", "--out",
                             str(xlsx))
    assert code == 0 and xlsx.stat().st_size > 0, err
    code, out, err = run_cli("assess", "run", "--period", "2026Q2", "--date", "2026-07-21",
                             "--format", "json")
    assert code == 0 and json.loads(out)["run"]["frozen"], err
    assert config.DEMO_EXAMPLE == "ladder.toml"
