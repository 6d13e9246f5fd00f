"""The results store (``zhuizong.kpi.results``, ``zhuizong analytics build``): a built version
answers every stored period and segment for any unit exactly as the engine computes it (values,
numerators, denominators, order); anything else is computed live; a change of data, settings,
metric registry or package version makes every read a fresh computation (no stale row)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.kpi_cli.builders import ROOT, U1, U2, Agency, cli_ok
from tests.reports import PERIOD, build_small_demo, org_with_children
from zhuizong.kpi import compiler, engine, results
from zhuizong.kpi.engine import KpiRequest
from zhuizong.kpi.ir import Production, Ratio
from zhuizong.kpi.registry import METRICS
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

AS_OF = dt.date(2026, 5, 20)


def _rows(res: engine.KpiResult) -> list[tuple]:
    return [(r.org_code, r.org_name, r.agent_code, r.segment, r.metric, r.value, r.numerator,
             r.denominator) for r in res.rows]


def _read(ws: Workspace, req: KpiRequest) -> tuple[engine.KpiResult, str]:
    """``results.get(req)`` and where it came from (``store`` or ``live``)."""
    before = dict(results.STATS)
    got = results.get(ws, req)
    delta = {k: results.STATS[k] - before[k] for k in before}
    assert sum(delta.values()) == 1, delta
    return got, next(k for k, v in delta.items() if v)


def _check(ws: Workspace, req: KpiRequest) -> str:
    """The read equals a fresh engine computation; returns where it came from."""
    got, source = _read(ws, req)
    want = engine.compute(ws, req)
    assert (got.org_code, got.period, got.settings) == (want.org_code, want.period, want.settings)
    assert _rows(got) == _rows(want), req
    return source


@pytest.fixture
def demo_ws(workspace: Workspace) -> Workspace:
    build_small_demo(workspace)
    return workspace


def _build(ws: Workspace, *periods: results.StoredPeriod) -> results.BuildInfo:
    return results.build(ws, through=dt.date(2026, 5, 31), periods=list(periods))


def test_store_answers_every_unit_exactly(demo_ws: Workspace) -> None:
    ws = demo_ws
    org, kids = org_with_children(ws)
    info = _build(ws, results.StoredPeriod(PERIOD, None, ("none", "rank_category")),
                  results.StoredPeriod(PERIOD, AS_OF, ("none",)))
    assert info.built and info.rows > 0
    rng = random.Random(7)
    shuffled = rng.sample(list(METRICS), 9)  # an order other than the registry's
    snap = compiler.Snapshot.open(ws)
    orgs = snap.orgs_df
    leaf = sorted(set(orgs.org_code) - set(orgs.parent_code.dropna()))[0]
    snap.close()
    requests = [
        KpiRequest(period=PERIOD, org=org, by="children"),
        KpiRequest(period=PERIOD, org=org, metrics=tuple(shuffled)),
        KpiRequest(period=PERIOD, org=org, by="children", segment="rank_category",
                   metrics=("fyp", "persistency_13m", "active", "headcount_avg")),
        KpiRequest(period=PERIOD, by="subtree", org=kids[-1], metrics=("cases", "fyp_yoy")),
        KpiRequest(period=PERIOD, by="level:group", org=None, metrics=("new_hires",)),
        KpiRequest(period=PERIOD, org=None, metrics=("fyp_plan_rate", "fyp_mom")),
        KpiRequest(period=PERIOD, org=org, by="children", as_of=AS_OF, metrics=("fyp", "active")),
        KpiRequest(period=PERIOD, org=leaf, by="children", metrics=("fyp",)),  # no rows
    ]
    for req in requests:
        assert _check(ws, req) == "store", req


def test_outside_the_store_is_computed_live(demo_ws: Workspace) -> None:
    ws = demo_ws
    org, _kids = org_with_children(ws)
    _build(ws, results.StoredPeriod(PERIOD, None, ("none",)))
    for req in (KpiRequest(period=PERIOD, org=org, segment="tenure", metrics=("fyp",)),
                KpiRequest(period=PERIOD, org=org, as_of=dt.date(2026, 5, 9), metrics=("fyp",)),
                KpiRequest(period="2026-04", org=org, metrics=("fyp",)),
                KpiRequest(period="2026-05-03..2026-05-17", org=org, metrics=("fyp",)),
                KpiRequest(period=PERIOD, org=org, by="agent", metrics=("fyp",))):
        assert _check(ws, req) == "live", req
    # an unknown unit and an unknown metric are refused as by a computation
    with pytest.raises(Exception, match="NOPE"):
        results.get(ws, KpiRequest(period=PERIOD, org="NOPE"))
    with pytest.raises(Exception, match="no_such"):
        results.get(ws, KpiRequest(period=PERIOD, org=org, metrics=("no_such",)))


def _changes() -> list[str]:
    return ["settings", "registry", "package", "data"]


@pytest.mark.parametrize("change", _changes())
def test_every_change_of_what_makes_a_number_retires_the_version(
        demo_ws: Workspace, change: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A settings change, a registry change, an upgrade of the package and an import each make
    every read equal a fresh engine computation — never a stored row of the old version."""
    ws = demo_ws
    org, _kids = org_with_children(ws)
    _build(ws, results.StoredPeriod(PERIOD, None, ("none",)))
    req = KpiRequest(period=PERIOD, org=org, by="children", metrics=("fyp", "cases"))
    assert _check(ws, req) == "store"
    old_key = results.version_key(ws)
    if change == "settings":
        cli_ok("config", "set", "kpi.cases", "gross")
        ws = Workspace.open(ws.home)
    elif change == "registry":
        # a metric redefined in the registry: "cases" now counts FYC (any change of definition)
        monkeypatch.setitem(METRICS, "cases", dataclasses.replace(METRICS["cases"],
                                                                  node=Production("fyc")))
        monkeypatch.setitem(METRICS, "fyc_per_case", dataclasses.replace(
            METRICS["premium_per_case"], code="fyc_per_case",
            node=Ratio(Production("fyc"), Production("cases"))))
        req = KpiRequest(period=PERIOD, org=org, by="children",
                         metrics=("fyp", "cases", "fyc_per_case"))
    elif change == "package":
        monkeypatch.setattr(results, "package_version", lambda: "999.0")
    else:
        agent = sorted(_agents_of(ws, org))[0]
        p = table("products")
        with ws.engine.connect() as conn:
            product = conn.execute(select(p.c.product_code).where(p.c.is_main.is_(True))
                                   .order_by(p.c.product_code)).scalars().first()
        f = tmp_path / "more_premiums.csv"
        f.write_text("txn_id,policy_no,agent_code,product_code,txn_date,txn_type,amount\n"
                     f"ZZ-T1,ZZ-P1,{agent},{product},2026-05-14,new,12345\n", encoding="utf-8")
        cli_ok("import", "premiums", str(f))
    assert results.version_key(ws) != old_key
    assert _check(ws, req) == "live"
    # built again: a store read of the new numbers
    _build(ws, results.StoredPeriod(PERIOD, None, ("none",)))
    assert _check(ws, req) == "store"
    v = table("kpi_result_versions")
    with ws.engine.connect() as conn:  # the old version is gone once the new one is published
        assert list(conn.execute(select(v.c.version, v.c.status))) == \
            [(results.version_key(ws), "complete")]


def _agents_of(ws: Workspace, org: str) -> set[str]:
    res = engine.compute(ws, KpiRequest(period=PERIOD, org=org, by="agent", metrics=("fyp",)))
    return {r.agent_code for r in res.rows if r.agent_code}


def test_cli_build_and_kpi_read(demo_ws: Workspace) -> None:
    out = cli_ok("analytics", "build", "--date", "2026-05-20")
    assert "指标结果已生成" in out  # Chinese by default, one language (tests/cli/test_cli_one_language.py)
    again = cli_ok("analytics", "build", "--date", "2026-05-20")
    assert "指标结果已是最新" in again  # nothing recomputed
    v = table("kpi_result_versions")
    with demo_ws.engine.connect() as conn:
        periods = json.loads(conn.execute(select(v.c.periods)).scalar_one())
    labels = [p["period"] for p in periods]
    # the running month to date, its comparisons, 13 closed months, quarters and years
    assert labels[:3] == ["2026-05@2026-05-20", "2026-04@2026-04-20", "2025-05@2025-05-20"]
    assert [lb for lb in labels if len(lb) == 7] == \
        [f"{y}-{m:02d}" for y, m in [(2026, 4), (2026, 3), (2026, 2), (2026, 1), (2025, 12),
                                     (2025, 11), (2025, 10), (2025, 9), (2025, 8), (2025, 7),
                                     (2025, 6), (2025, 5), (2025, 4)]]
    assert "2026Q2@2026-05-20" in labels and "2026Q1" in labels and "2025Q2" in labels
    assert "2026@2026-05-20" in labels and "2025" in labels
    org, _kids = org_with_children(demo_ws)
    before = dict(results.STATS)
    res = json.loads(cli_ok("kpi", "--period", PERIOD, "--as-of", "2026-05-20", "--org", org,
                            "--by", "children", "--metrics", "fyp,active", "--format", "json"))
    assert results.STATS["store"] == before["store"] + 1
    want = engine.compute(demo_ws, KpiRequest(period=PERIOD, org=org, by="children",
                                              metrics=("fyp", "active"), as_of=AS_OF))
    assert [(r["org_code"], r["metric"], r["value"]) for r in res["rows"]] == \
        [(r.org_code, r.metric, None if r.value is None else float(r.value)
          if r.value != int(r.value) else int(r.value)) for r in want.rows]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the read path, not the database
def test_after_a_build_the_default_dashboard_of_any_unit_computes_nothing(
        demo_ws: Workspace) -> None:
    """The dashboard opens on the last closed month: its cards, 12-month trend, same month last
    year and rank segments of every unit are read from the store, none computed."""
    from zhuizong.access.actor import SYSTEM
    from zhuizong.services import dashboard as svc

    through = dt.date(2026, 5, 20)
    cli_ok("analytics", "build", "--date", through.isoformat())
    period = svc.last_closed_month(demo_ws, through)
    units = [o.org_code for o in svc.visible_orgs(demo_ws, SYSTEM)]
    before = dict(results.STATS)
    for unit in random.Random(3).sample(units, min(6, len(units))):
        d = svc._dashboard(demo_ws, SYSTEM, unit, period, through=through, with_cohort=False)
        assert len(d.months) == 12 and d.cards
    assert results.STATS["live"] == before["live"]
    assert results.STATS["store"] > before["store"]


# --- per-agent rows ------------------------------------------------------------------------------


def test_every_stored_agent_metric_reads_its_period_only() -> None:
    for code in results.AGENT_METRICS:
        assert results._within_period(code), code
    assert not results._within_period("fyp_yoy")
    assert not results._within_period("persistency_13m")
    assert not results._within_period("fyp_plan_rate")


def test_demo_units_read_their_agents_from_the_store_exactly(demo_ws: Workspace) -> None:
    ws = demo_ws
    _build(ws, results.StoredPeriod(PERIOD, None, ("none",), agents=True),
           results.StoredPeriod(PERIOD, AS_OF, ("none",), agents=True))
    snap = compiler.Snapshot.open(ws)
    units = sorted(snap.orgs_df.org_code)
    snap.close()
    rng = random.Random(11)
    stored = 0
    for org in rng.sample(units, min(25, len(units))):
        metrics = tuple(rng.sample(results.AGENT_METRICS, rng.randint(1, 4)))
        cut = AS_OF if rng.random() < 0.3 else None
        stored += _check(ws, KpiRequest(period=PERIOD, org=org, by="agent", metrics=metrics,
                                        as_of=cut)) == "store"
    assert stored >= 10  # most demo units keep their agents through a month


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
    _build(ws, results.StoredPeriod("2026-05", None, ("none",), agents=True),
           results.StoredPeriod("2026-04", None, ("none",), agents=True))
    metrics = ("fyp", "cases", "headcount_close")
    # X crossed between U1 and U2 in May: both are computed, and X's May FYP is split
    assert _check(ws, KpiRequest(period="2026-05", org=U1, by="agent", metrics=metrics)) == "live"
    assert _check(ws, KpiRequest(period="2026-05", org=U2, by="agent", metrics=metrics)) == "live"
    u1 = {(r.agent_code, r.metric): r.value for r in results.get(
        ws, KpiRequest(period="2026-05", org=U1, by="agent", metrics=("fyp",))).rows}
    assert u1[("X00001", "fyp")] == 10_000
    # the branch holds X all month: read from the store, X's whole May
    assert _check(ws, KpiRequest(period="2026-05", org=ROOT, by="agent", metrics=metrics)) == \
        "store"
    root = {(r.agent_code, r.metric): r.value for r in results.get(
        ws, KpiRequest(period="2026-05", org=ROOT, by="agent", metrics=("fyp",))).rows}
    assert root[("X00001", "fyp")] == 17_000
    # April: nobody moved; each unit is read from the store
    assert _check(ws, KpiRequest(period="2026-04", org=U1, by="agent", metrics=metrics)) == "store"
    assert _check(ws, KpiRequest(period="2026-04", org=U2, by="agent", metrics=metrics)) == "store"
    # a metric outside the stored per-agent set is computed
    assert _check(ws, KpiRequest(period="2026-04", org=U1, by="agent",
                                 metrics=("fyp_yoy",))) == "live"


def test_rows_of_some_agents_need_only_those_agents_to_stay(moved: tuple[Workspace, Agency]
                                                            ) -> None:
    """``agent_rows``: S stayed in U1 all May, so S's rows are read from the store even though X
    left U1 that month; X's rows are computed. Both as the unit's computed rows say."""
    ws, _a = moved
    _build(ws, results.StoredPeriod("2026-05", None, ("none",), agents=True))
    req = KpiRequest(period="2026-05", org=U1, by="agent", metrics=("fyp", "cases"))
    want = engine.compute(ws, req)
    for who, source in (({"S00001"}, "store"), ({"NOBODY"}, "store"), ({"X00001"}, "live"),
                        ({"S00001", "X00001"}, "live")):
        before = dict(results.STATS)
        got = results.agent_rows(ws, req, who)
        delta = {k: results.STATS[k] - before[k] for k in before}
        assert delta == {k: int(k == source) for k in before}, who
        assert _rows(got) == [r for r in _rows(want) if r[2] in who], who
    assert _rows(results.agent_rows(ws, req, {"S00001"}))[0][5] == 5_000


def test_rows_count_matches_the_published_count(demo_ws: Workspace) -> None:
    info = _build(demo_ws, results.StoredPeriod(PERIOD, None, ("none", "rank"), agents=True))
    r, v = table("kpi_results"), table("kpi_result_versions")
    with demo_ws.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(r)).scalar_one()
        published = conn.execute(select(v.c.row_count)).scalar_one()
    assert n == published == info.rows


def test_all_and_rank_categories_in_one_call(moved: tuple[Workspace, Agency]) -> None:
    """``--segment all+rank_category``: the totals' rows, then the categories' rows, as the two
    calls give them (data-contract.md, second wave)."""
    both = json.loads(cli_ok("kpi", "--period", "2026-05", "--org", ROOT, "--by", "children",
                             "--metrics", "fyp,active", "--segment", "all+rank_category",
                             "--format", "json"))["rows"]
    parts = [json.loads(cli_ok("kpi", "--period", "2026-05", "--org", ROOT, "--by", "children",
                               "--metrics", "fyp,active", "--segment", seg,
                               "--format", "json"))["rows"]
             for seg in ("none", "rank_category")]
    assert both == parts[0] + parts[1]
    assert {r["segment"] for r in both} == {"all", "probationary", "formal", "director"}
    assert sum(r["value"] for r in both if r["metric"] == "fyp" and r["segment"] == "all") == \
        sum(r["value"] for r in both if r["metric"] == "fyp" and r["segment"] != "all") == 25_000
