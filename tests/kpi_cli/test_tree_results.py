"""Whole-tree KPI results (``materialized.warm``, ``zhuizong analytics warm``): once the tree of a
period is stored, any unit's request for that period is read from it — and the rows read are
exactly the rows a direct computation gives (values, numerators, denominators, order)."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from tests.kpi_cli.builders import cli_ok
from tests.reports import PERIOD, build_small_demo, org_with_children
from zhuizong.kpi import engine, materialized
from zhuizong.kpi.engine import KpiRequest
from zhuizong.kpi.registry import METRICS
from zhuizong.workspace import Workspace


@pytest.fixture
def demo_ws(workspace: Workspace) -> Workspace:
    build_small_demo(workspace)
    return workspace


def _json(res: engine.KpiResult) -> list[tuple]:
    return [(r.org_code, r.org_name, r.agent_code, r.segment, r.metric, r.value, r.numerator,
             r.denominator) for r in res.rows]


def test_tree_answers_every_unit_exactly(demo_ws: Workspace) -> None:
    ws = demo_ws
    org, kids = org_with_children(ws)
    as_of = dt.date(2026, 5, 20)
    materialized.warm(ws, [(PERIOD, None, ("none", "rank_category")), (PERIOD, as_of, ("none",))])
    codes = list(METRICS)
    rng = random.Random(7)
    shuffled = rng.sample(codes, 9)  # an order other than the registry's
    requests = [
        KpiRequest(period=PERIOD, org=org, by="children"),
        KpiRequest(period=PERIOD, org=org, metrics=tuple(shuffled)),
        KpiRequest(period=PERIOD, org=org, by="children", segment="rank_category",
                   metrics=("fyp", "persistency_13m", "active", "headcount_avg")),
        KpiRequest(period=PERIOD, by="subtree", org=kids[-1], metrics=("cases", "fyp_yoy")),
        KpiRequest(period=PERIOD, by="level:group", org=None, metrics=("new_hires",)),
        KpiRequest(period=PERIOD, org=None, metrics=("fyp_plan_rate", "fyp_mom")),
        KpiRequest(period=PERIOD, org=org, by="children", as_of=as_of, metrics=("fyp", "active")),
    ]
    # the children of a unit without any: no rows, as computed
    from zhuizong.kpi import compiler

    snap = compiler.Snapshot.open(ws)
    orgs = snap.orgs_df
    leaf = sorted(set(orgs.org_code) - set(orgs.parent_code.dropna()))[0]
    snap.close()
    requests.append(KpiRequest(period=PERIOD, org=leaf, by="children", metrics=("fyp",)))
    for req in requests:
        before = dict(materialized.STATS)
        got = materialized.get(ws, req)
        assert materialized.STATS["tree_hits"] == before["tree_hits"] + 1, req
        assert materialized.STATS["computed"] == before["computed"], req
        want = engine.compute(ws, req)
        assert got.org_code == want.org_code and got.period == want.period
        assert got.settings == want.settings
        assert _json(got) == _json(want), req
        assert len(got) > 0 or req.org == leaf


def test_without_a_current_tree_the_request_is_computed(demo_ws: Workspace) -> None:
    ws = demo_ws
    org, _kids = org_with_children(ws)
    materialized.warm(ws, [(PERIOD, None, ("none",))])
    before = dict(materialized.STATS)
    # another segment, another as-of day, per agent: no tree holds them
    for req in (KpiRequest(period=PERIOD, org=org, segment="tenure", metrics=("fyp",)),
                KpiRequest(period=PERIOD, org=org, as_of=dt.date(2026, 5, 9), metrics=("fyp",)),
                KpiRequest(period=PERIOD, org=org, by="agent", metrics=("fyp",))):
        materialized.get(ws, req)
    assert materialized.STATS["tree_hits"] == before["tree_hits"]
    assert materialized.STATS["computed"] == before["computed"] + 3
    # unknown unit and unknown metric are refused as by a computation
    with pytest.raises(Exception) as e1:
        materialized.get(ws, KpiRequest(period=PERIOD, org="NOPE"))
    assert "NOPE" in str(e1.value)
    with pytest.raises(Exception) as e2:
        materialized.get(ws, KpiRequest(period=PERIOD, org=org, metrics=("no_such",)))
    assert "no_such" in str(e2.value)


def test_a_change_of_data_or_settings_retires_the_tree(demo_ws: Workspace, home) -> None:  # type: ignore[no-untyped-def]
    ws = demo_ws
    org, _kids = org_with_children(ws)
    materialized.warm(ws, [(PERIOD, None, ("none",))])
    req = KpiRequest(period=PERIOD, org=org, by="children", metrics=("fyp", "cases"))
    before = dict(materialized.STATS)
    materialized.get(ws, req)
    assert materialized.STATS["tree_hits"] == before["tree_hits"] + 1
    cli_ok("config", "set", "kpi.cases", "gross")
    ws2 = Workspace.open(ws.home)
    before = dict(materialized.STATS)
    got = materialized.get(ws2, req)
    assert materialized.STATS["tree_hits"] == before["tree_hits"]  # another settings hash
    assert materialized.STATS["computed"] == before["computed"] + 1
    assert _json(got) == _json(engine.compute(ws2, req))


def test_cli_warm_prepares_the_dashboard_periods(demo_ws: Workspace) -> None:
    out = cli_ok("analytics", "warm", "--months", "2", "--date", "2026-05-20")
    # 2026-05 ≤ 20th (two segments + by agent), 2026-04 ≤ 20th (环比), 2025-05 ≤ 20th (同比),
    # 2026-04 (the last closed month: two segments + by agent), 2026-03 (+ by agent), 2026-02
    assert "warmed: 11" in out
    assert "home pages prepared" in out
    again = cli_ok("analytics", "warm", "--months", "2", "--date", "2026-05-20")
    assert "warmed: 0" in again  # current: nothing recomputed
    org, _kids = org_with_children(demo_ws)
    res = json.loads(cli_ok("kpi", "--period", PERIOD, "--as-of", "2026-05-20", "--org", org,
                            "--by", "children", "--metrics", "fyp,active", "--format", "json"))
    want = engine.compute(demo_ws, KpiRequest(period=PERIOD, org=org, by="children",
                                              metrics=("fyp", "active"), as_of=dt.date(2026, 5, 20)))
    assert [(r["org_code"], r["metric"]) for r in res["rows"]] == \
        [(r.org_code, r.metric) for r in want.rows]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the tree logic, not the database
def test_after_warm_the_default_dashboard_of_any_unit_is_a_read(demo_ws: Workspace) -> None:
    """The dashboard opens on the last closed month: its cards, 12-month trend, same month last
    year and rank segments of every unit are read from the warmed results, none computed."""
    from zhuizong.access.actor import SYSTEM
    from zhuizong.services import dashboard as svc

    through = dt.date(2026, 5, 20)
    cli_ok("analytics", "warm", "--date", through.isoformat())
    period = svc.last_closed_month(demo_ws, through)
    units = [o.org_code for o in svc.visible_orgs(demo_ws, SYSTEM)]
    before = dict(materialized.STATS)
    for unit in random.Random(3).sample(units, min(6, len(units))):
        d = svc._dashboard(demo_ws, SYSTEM, unit, period, through=through, with_cohort=False)
        assert len(d.months) == 12 and d.cards
    assert materialized.STATS["computed"] == before["computed"]
    assert materialized.STATS["tree_hits"] > before["tree_hits"]
