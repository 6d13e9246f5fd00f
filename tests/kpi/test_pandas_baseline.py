"""The pandas baseline of the full monthly report (``bench/pandas_report.py``, issue 14) gives
exactly the engine's numbers: every org unit × segments none and rank_category × every registry
metric, value / numerator / denominator compared as exact Decimals, on a generated agency.

Keeps the benchmark honest: a baseline that drifted from the engine's semantics would time a
different report.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from zhuizong.demo.params import DemoParams, last_closed_month
from zhuizong.demo.service import build_demo
from zhuizong.kpi.registry import METRICS
from zhuizong.workspace import Workspace

BENCH = Path(__file__).resolve().parents[2] / "bench" / "pandas_report.py"
#: three years, so that the 25-month persistency cohort (issue month m − 26) is not empty
PARAMS = DemoParams(agents=300, years=3, end_date=dt.date(2026, 5, 20))


def _baseline() -> ModuleType:
    spec = importlib.util.spec_from_file_location("zz_pandas_report", BENCH)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    for var in list(os.environ):
        if var.startswith("ZHUIZONG_"):
            monkeypatch.delenv(var)
    home = tmp_path / "ws"
    home.mkdir()
    ws = Workspace.open(home)
    ws.init()
    build_demo(ws, PARAMS, users=False)
    return ws


def test_pandas_full_report_equals_engine(demo: Workspace) -> None:
    mod = _baseline()
    period = last_closed_month(PARAMS.end_date)  # 2026-04: a closed month
    bad = mod.compare(demo, period)
    assert bad.empty, bad.head(20).to_string()
    report = mod.full_report(demo.analytics_dir, period)
    n_units = report.org_code.nunique()
    assert len(report) == n_units * 4 * len(METRICS)  # all + three categories
    assert set(report.metric) == set(METRICS)
    # the comparison is not vacuous: production, cohorts and both persistency cohorts have values
    top = report[(report.segment == "all")].set_index(["org_code", "metric"]).value
    orgs = pd.read_parquet(demo.analytics_dir / "orgs.parquet")
    root = orgs.org_code[orgs.parent_code.isna()].item()
    for metric in ("fyp", "active", "cases", "retention_3m", "persistency_13m",
                   "persistency_25m", "tool_usage_rate", "attendance_rate", "fyp_yoy"):
        v = top.loc[(root, metric)]
        assert v is not None and v != 0, metric
