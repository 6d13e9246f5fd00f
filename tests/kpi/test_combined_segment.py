"""A combined segment (``all+rank_category``, ``all+tenure``, ``all+rank``) is one engine
computation that gives the totals and the split together (issue 14: the monthly report's ``all``
rows no longer take a second call). Property test on random agencies: its rows are exactly the
rows of the two separate requests (``none``, then the split), same order, same Decimals — over
every period kind, grain and setting the reference test draws, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kpi.agencies import Facts, agencies, load_agency
from tests.kpi.test_engine_vs_reference import apply_settings, queries, reset
from zhuizong.errors import ZhuizongError
from zhuizong.kpi import engine as engine_mod
from zhuizong.kpi.engine import COMBINED, KpiRequest, compute
from zhuizong.kpi.registry import METRICS
from zhuizong.workspace import Workspace

#: examples per database (each costs three engine calls over every metric)
EXAMPLES = int(os.environ.get("ZHUIZONG_COMBINED_EXAMPLES", "4"))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Facts, dict[str, Any], str]:
    facts = draw(agencies(max_agents=15))
    return facts, draw(queries(facts)), draw(st.sampled_from(COMBINED))


def _rows(res: engine_mod.KpiResult) -> list[tuple[Any, ...]]:
    return [(r.org_code, r.org_name, r.agent_code, r.segment, r.metric, r.value, r.numerator,
             r.denominator) for r in res.rows]


def test_combined_equals_separate_requests(workspace: Workspace) -> None:
    @settings(max_examples=EXAMPLES, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(cases())
    def run(case: tuple[Facts, dict[str, Any], str]) -> None:
        facts, q, combined = case
        q = {**q, "by": q["by"] or "children"}  # units with children: several rows per segment
        reset(workspace)
        load_agency(workspace, facts)
        apply_settings(workspace, q["settings"])
        split = combined.removeprefix("all+")
        base = dict(period=q["period"], org=None, by=q["by"], metrics=tuple(METRICS),
                    as_of=q["as_of"])
        together = compute(workspace, KpiRequest(segment=combined, **base))
        totals, parts = together.split_totals()
        assert _rows(totals) == _rows(compute(workspace, KpiRequest(segment="none", **base))), q
        assert _rows(parts) == _rows(compute(workspace, KpiRequest(segment=split, **base))), q
        assert len(together.rows) == len(totals.rows) + len(parts.rows)

    run()


def test_combined_segment_refused_by_agent(workspace: Workspace) -> None:
    with pytest.raises(ZhuizongError, match="all\\+rank_category"):
        compute(workspace, KpiRequest(period="2026-05", by="agent", segment="all+rank_category"))
