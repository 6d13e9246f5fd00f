"""Per-agent rows from the whole-company by-agent result (``materialized._from_agent_tree``).

Once the by-agent result of a period is stored (``warm`` with the ``AGENTS`` segment), a unit's
by-agent request for its metrics is read from it — but only when that is exact: when no agent
placed in the unit's subtree during the period was also placed outside it. The rows read must be
exactly the rows a direct computation gives; a unit that an agent entered or left during the
period is computed."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from tests.kpi_cli.builders import ROOT, U1, U2, Agency, cli_ok
from tests.reports import PERIOD, build_small_demo
from zhuizong.kpi import engine, materialized
from zhuizong.kpi.engine import KpiRequest
from zhuizong.workspace import Workspace


def _rows(res: engine.KpiResult) -> list[tuple]:
    return [(r.org_code, r.org_name, r.agent_code, r.segment, r.metric, r.value, r.numerator,
             r.denominator) for r in res.rows]


def _check(ws: Workspace, req: KpiRequest) -> bool:
    """``materialized.get(req)`` equals ``engine.compute(req)``; True when it was a tree read."""
    before = dict(materialized.STATS)
    got = materialized.get(ws, req)
    hit = materialized.STATS["tree_hits"] == before["tree_hits"] + 1
    assert hit or materialized.STATS["computed"] == before["computed"] + 1, req
    want = engine.compute(ws, req)
    assert (got.org_code, got.period, got.settings) == (want.org_code, want.period, want.settings)
    assert _rows(got) == _rows(want), req
    return hit


def test_every_metric_is_read_from_its_period_only() -> None:
    for code in materialized.AGENT_TREE_METRICS:
        assert materialized._within_period(code), code
    # and the check refuses the others
    assert not materialized._within_period("fyp_yoy")
    assert not materialized._within_period("persistency_13m")
    assert not materialized._within_period("fyp_plan_rate")


def test_demo_units_read_from_the_agent_tree_exactly(workspace: Workspace) -> None:
    ws = workspace
    build_small_demo(ws)
    as_of = dt.date(2026, 5, 20)
    materialized.warm(ws, [(PERIOD, None, (materialized.AGENTS,)),
                           (PERIOD, as_of, (materialized.AGENTS,))])
    from zhuizong.kpi import compiler

    snap = compiler.Snapshot.open(ws)
    units = sorted(snap.orgs_df.org_code)
    snap.close()
    rng = random.Random(11)
    hits = 0
    for org in rng.sample(units, min(25, len(units))):
        metrics = tuple(rng.sample(materialized.AGENT_TREE_METRICS, rng.randint(1, 4)))
        cut = as_of if rng.random() < 0.3 else None
        hits += _check(ws, KpiRequest(period=PERIOD, org=org, by="agent", metrics=metrics,
                                      as_of=cut))
    assert hits >= 10  # most demo units keep their agents through a month


@pytest.fixture
def moved(home: Path, tmp_path: Path) -> tuple[Workspace, Agency]:
    """U1: agents X (moves to U2 on 10 May) and S (stays); U2: agent Y (stays). Production in
    May before and after X's move."""
    a = Agency(tmp_path / "files")
    d = dt.date
    x, s = a.hire("X", 1, d(2025, 1, 5), org=U1) + a.hire("S", 1, d(2025, 1, 5), org=U1)
    (y,) = a.hire("Y", 1, d(2025, 2, 5), org=U2)
    a.transfer(x, d(2026, 5, 10), U2)
    for agent, day, amount in ((x, d(2026, 5, 3), 10_000), (x, d(2026, 5, 20), 7_000),
                               (s, d(2026, 5, 4), 5_000), (y, d(2026, 5, 6), 3_000),
                               (x, d(2026, 4, 20), 2_000)):
        a.premium(agent, "new", amount, day)
    a.load()
    return Workspace.open(home), a


def test_a_unit_someone_moved_across_is_computed(moved: tuple[Workspace, Agency]) -> None:
    ws, _a = moved
    materialized.warm(ws, [("2026-05", None, (materialized.AGENTS,)),
                           ("2026-04", None, (materialized.AGENTS,))])
    metrics = ("fyp", "cases", "headcount_close")
    # X crossed between U1 and U2 in May: both are computed, and X's May FYP is split
    assert not _check(ws, KpiRequest(period="2026-05", org=U1, by="agent", metrics=metrics))
    assert not _check(ws, KpiRequest(period="2026-05", org=U2, by="agent", metrics=metrics))
    u1 = {(r.agent_code, r.metric): r.value for r in materialized.get(
        ws, KpiRequest(period="2026-05", org=U1, by="agent", metrics=("fyp",))).rows}
    assert u1[("X00001", "fyp")] == 10_000
    # the branch holds X all month: read from the tree, X's whole May
    assert _check(ws, KpiRequest(period="2026-05", org=ROOT, by="agent", metrics=metrics))
    root = {(r.agent_code, r.metric): r.value for r in materialized.get(
        ws, KpiRequest(period="2026-05", org=ROOT, by="agent", metrics=("fyp",))).rows}
    assert root[("X00001", "fyp")] == 17_000
    # April: nobody moved; each unit is read from the tree
    assert _check(ws, KpiRequest(period="2026-04", org=U1, by="agent", metrics=metrics))
    assert _check(ws, KpiRequest(period="2026-04", org=U2, by="agent", metrics=metrics))
    # a metric outside the tree's set is computed
    assert not _check(ws, KpiRequest(period="2026-04", org=U1, by="agent", metrics=("fyp_yoy",)))


def test_a_stale_agent_tree_is_not_used(moved: tuple[Workspace, Agency]) -> None:
    ws, a = moved
    materialized.warm(ws, [("2026-04", None, (materialized.AGENTS,))])
    req = KpiRequest(period="2026-04", org=U1, by="agent", metrics=("fyp",))
    assert _check(ws, req)
    a.premium("S00001", "new", 4_000, dt.date(2026, 4, 21))
    cli_ok("import", "premiums", str(a.write()["premiums"]))
    assert not _check(ws, req)  # the data changed: computed again, with the new premium
    vals = {(r.agent_code, r.metric): r.value for r in materialized.get(ws, req).rows}
    assert vals[("S00001", "fyp")] == 4_000


def test_rows_of_some_agents_need_only_those_agents_to_stay(moved: tuple[Workspace, Agency]
                                                            ) -> None:
    """``agent_rows``: S stayed in U1 all May, so S's rows are read from the tree even though X
    left U1 that month; X's rows are computed. Both as the unit's computed rows say."""
    ws, _a = moved
    materialized.warm(ws, [("2026-05", None, (materialized.AGENTS,))])
    req = KpiRequest(period="2026-05", org=U1, by="agent", metrics=("fyp", "cases"))
    want = engine.compute(ws, req)
    # S and nobody: from the tree; X: computed (and stored); S and X: the stored result
    for who, counter in (({"S00001"}, "tree_hits"), ({"NOBODY"}, "tree_hits"),
                         ({"X00001"}, "computed"), ({"S00001", "X00001"}, "hits")):
        before = dict(materialized.STATS)
        got = materialized.agent_rows(ws, req, who)
        assert {k: materialized.STATS[k] - before[k] for k in before} == \
            {k: int(k == counter) for k in before}, who
        assert _rows(got) == [r for r in _rows(want) if r[2] in who], who
    assert _rows(materialized.agent_rows(ws, req, {"S00001"}))[0][5] == 5_000
