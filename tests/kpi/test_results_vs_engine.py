"""Property test: the results store equals ``engine.compute`` on random agencies.

Each Hypothesis example is a random agency (``tests.kpi.agencies``) imported into a freshly reset
workspace, a few of the periods a build stores (drawn from :func:`zhuizong.kpi.results.
stored_periods` of a random "data through" day: running months to date, closed months, quarters
and years to date, comparison periods) and a random unit. The store is built for them, then for
every drawn period and stored segment the whole tree, the unit, its children and its agents are
read through the store and compared row for row (values, numerators, denominators, order) with a
fresh computation. On SQLite and PostgreSQL (the ``workspace`` fixture).

Examples: ``ZHUIZONG_STORE_EXAMPLES`` (default 3) per database.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from typing import Any

from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from tests.kpi.agencies import Facts, agencies, load_agency
from zhuizong.kpi import engine, results
from zhuizong.kpi.engine import KpiRequest
from zhuizong.store.models import Base
from zhuizong.workspace import Workspace

EXAMPLES = int(os.environ.get("ZHUIZONG_STORE_EXAMPLES", "3"))


def _reset(ws: Workspace) -> None:
    with ws.engine.begin() as conn:
        for t in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(t))
    shutil.rmtree(ws.analytics_dir, ignore_errors=True)


def _rows(res: engine.KpiResult) -> list[tuple[Any, ...]]:
    return [(r.org_code, r.org_name, r.agent_code, r.segment, r.metric, r.value, r.numerator,
             r.denominator) for r in res.rows]


@st.composite
def cases(draw: st.DrawFn) -> tuple[Facts, dt.date, list[int], int, list[str]]:
    facts = draw(agencies(max_agents=15))
    through = dt.date(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 360)))
    picks = draw(st.lists(st.integers(0, 40), min_size=2, max_size=2, unique=True))
    unit = draw(st.integers(0, 100))
    metrics = draw(st.lists(st.sampled_from(results.AGENT_METRICS), min_size=1, max_size=3,
                            unique=True))
    return facts, through, picks, unit, metrics


def _check(ws: Workspace, req: KpiRequest, stored: bool) -> None:
    before = dict(results.STATS)
    got = results.get(ws, req)
    if stored:
        assert results.STATS["store"] == before["store"] + 1, req
    want = engine.compute(ws, req)
    assert (got.org_code, got.period, got.settings) == (want.org_code, want.period, want.settings)
    assert _rows(got) == _rows(want), req


def test_store_equals_engine_on_random_agencies(workspace: Workspace) -> None:
    ws = workspace

    @settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(cases())
    def run(case: tuple[Facts, dt.date, list[int], int, list[str]]) -> None:
        facts, through, picks, unit_pick, metrics = case
        _reset(ws)
        load_agency(ws, facts)
        every = results.stored_periods(ws, through)
        chosen = [every[i % len(every)] for i in picks]
        chosen = list({sp.text + str(sp.as_of): sp for sp in chosen}.values())
        note(f"through {through}; periods {chosen}")
        results.build(ws, through=through, periods=chosen)
        units = sorted(o["org_code"] for o in facts["org_units"])
        unit = units[unit_pick % len(units)]
        for sp in chosen:
            for seg in sp.segments:
                for org, by in ((None, "subtree"), (unit, None), (unit, "children")):
                    _check(ws, KpiRequest(period=sp.text, org=org, by=by, segment=seg,
                                          as_of=sp.as_of), stored=True)
            if sp.agents:  # read from the store unless an agent crossed the unit's border
                _check(ws, KpiRequest(period=sp.text, org=unit, by="agent",
                                      metrics=tuple(metrics), as_of=sp.as_of), stored=False)
                _check(ws, KpiRequest(period=sp.text, org=None, by="agent",
                                      metrics=tuple(metrics), as_of=sp.as_of), stored=True)

    run()
