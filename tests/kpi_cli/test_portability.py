"""Portability: every registry metric's Ibis expressions compile for PySpark (architecture.md §3).

The same compiled expressions run on DuckDB and on Spark (tests/kpi/test_spark_equals_duckdb.py
executes them on Spark for the default settings). This test compiles — without executing — every expression a request would run
(:func:`zhuizong.kpi.engine.expressions`) for each metric of the registry, under every period kind,
grain, segment and setting that changes the compiled shape, and checks that
``ibis.to_sql(expr, dialect="pyspark")`` succeeds. It also runs one request per shape on DuckDB and
checks that collecting the expressions did not change what ``compute`` returns.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pytest

from tests.kpi_cli.builders import U2, A, Agency, config_set
from zhuizong.kpi import engine
from zhuizong.kpi.registry import METRICS
from zhuizong.workspace import Workspace

REQUESTS = [
    engine.KpiRequest(period="2026-05"),
    engine.KpiRequest(period="2026Q2", by="children", segment="rank_category"),
    engine.KpiRequest(period="2026", by="subtree", segment="rank"),
    engine.KpiRequest(period="2026-04-15..2026-05-20", by="agent", segment="tenure"),
    engine.KpiRequest(period="2026-05", as_of=dt.date(2026, 5, 20), by="level:team",
                      segment="tenure"),
]
#: settings that change the shape of the compiled expressions
SETTINGS = [
    {"kpi.premium_basis": "issued", "kpi.active_rule": "cases_positive", "kpi.cases": "gross",
     "calendar.month_basis": "work"},
    {"calendar.month_basis": "natural", "kpi.premium_basis": "received",
     "kpi.active_rule": "fyc_at_least:100", "kpi.average_headcount": "endpoints"},
]


@pytest.fixture
def db_url() -> str:
    """SQLite only: what is compiled does not depend on the system of record."""
    return ""


@pytest.fixture
def ws(home: Path, tmp_path: Path) -> Workspace:
    ag = Agency(tmp_path / "facts")
    a = ag.hire("A", 3, dt.date(2026, 1, 5))
    b = ag.hire("B", 2, dt.date(2025, 3, 1), org=U2, rank=A, leave=[dt.date(2026, 5, 10), None])
    ag.convert(a[:1], dt.date(2026, 4, 1))
    ag.transfer(a[1], dt.date(2026, 5, 3), U2)
    pol = ag.premium(a[0], "new", 1_000, dt.date(2026, 5, 2), issue_date=dt.date(2026, 5, 6))
    ag.premium(a[0], "free_look_cancel", 1_000, dt.date(2026, 5, 12), policy=pol)
    ag.premium(b[0], "new", 500, dt.date(2026, 4, 28))
    ag.premium(a[1], "fy_renewal", 80, dt.date(2026, 5, 9))
    ag.plan("BR", "2026-05", "fyp", 2_000)
    ag.load()
    return Workspace.open(home)


def test_every_metric_compiles_for_pyspark(ws: Workspace) -> None:
    failures: list[str] = []
    compiled = 0
    seen: dict[object, str] = {}  # metrics share leaves: compile each distinct expression once
    for settings in SETTINGS:
        for key, val in settings.items():
            config_set(key, val)
        ws.reload()
        for req in REQUESTS:
            per_metric = engine.expressions(ws, req)  # every registry metric (metrics=None)
            assert set(per_metric) == set(METRICS)
            for code, exprs in per_metric.items():
                assert exprs, f"{code}: no expression collected"
                for expr in exprs:
                    if expr.op() in seen:
                        continue
                    try:
                        sql = seen[expr.op()] = ibis.to_sql(expr, dialect="pyspark")
                    except Exception as exc:  # report every failure at once
                        failures.append(f"{code} {req} {settings}: {type(exc).__name__}: {exc}")
                        continue
                    assert "SELECT" in sql
                    compiled += 1
    assert not failures, "\n".join(failures[:20])
    assert compiled >= 10 * len(REQUESTS) * len(SETTINGS)


def test_collecting_does_not_change_results(ws: Workspace) -> None:
    for req in REQUESTS[::3]:
        before = engine.compute(ws, req).as_json()
        engine.expressions(ws, req)
        assert engine.compute(ws, req).as_json() == before
