"""Spark computes the same results store as DuckDB, row for row (issue 18).

A generated agency (the demo generator, 30 agents over a year) is built into the store once on
DuckDB and once on Spark in local mode (Java from Debian's packages; ``.ci/run`` installs it),
for a set of stored periods that holds every period kind (running month to date with per-agent
rows, a closed month, the running quarter to date, a closed year), under both calendar bases
(natural months — with every segmentation — and work months with a cut-off day).
Every row the store holds — every unit, level, segment, metric, numerator and denominator — must
be equal. A live ``zhuizong kpi --engine spark`` answers as the store does.

Spark is part of the test environment (the ``spark`` extra in the test command): a missing PySpark
or Java fails here, it is never skipped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.kpi_cli.builders import cli_ok, run_cli
from zhuizong.kpi import results
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

#: tiny data: one shuffle partition and no whole-stage code generation keep local Spark's
#: per-query overhead low (the defaults are for real volumes; docs/deployment-spark.md)
SPARK_CONF = "spark.sql.shuffle.partitions=1 spark.sql.codegen.wholeStage=false"
MASTER = "local[2]"


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    home = tmp_path_factory.mktemp("spark") / "ws"
    home.mkdir()
    saved = {k: v for k, v in os.environ.items() if k.startswith("ZHUIZONG_")}
    for k in saved:
        if k not in ("ZHUIZONG_REQUIRE_PG", "ZHUIZONG_TEST_PG_URL", "ZHUIZONG_REQUIRE_BROWSER"):
            del os.environ[k]
    os.environ["ZHUIZONG_HOME"] = str(home)
    os.environ["ZHUIZONG_SPARK_CONF"] = SPARK_CONF
    try:
        cli_ok("demo", "--agents", "30", "--years", "1", "--no-serve")
        ws = Workspace.open(home)
        yield ws
        ws.engine.dispose()
    finally:
        for k in [k for k in os.environ if k.startswith("ZHUIZONG_")]:
            del os.environ[k]
        os.environ.update(saved)


def _periods(ws: Workspace, through: dt.date, every_split: bool) -> list[results.StoredPeriod]:
    """One stored period of each kind: the running month to date (per-agent rows; every
    segmentation when ``every_split``), the last closed month, the running quarter to date and
    the last closed year (totals and rank categories: the dashboard's and report's reads)."""
    stored = results.stored_periods(ws, through)
    month = stored[0]
    if not every_split:
        month = dataclasses.replace(month, segments=("none", "rank_category"))
    closed = next(sp for sp in stored if sp.as_of is None and sp.agents)
    quarter = next(sp for sp in stored if "Q" in sp.text)
    year = next(sp for sp in stored if len(sp.text) == 4 and sp.as_of is None)
    return [month, dataclasses.replace(closed, segments=("none", "rank_category"), agents=False),
            quarter, year]


def _store_rows(ws: Workspace) -> list[tuple[Any, ...]]:
    sl, r = table("kpi_result_slices"), table("kpi_results")
    with ws.engine.connect() as conn:
        rows = conn.execute(
            select(sl.c.period, sl.c.grain, sl.c.segment_by, r.c.org_code, r.c.agent_code,
                   r.c.segment, r.c.metric, r.c.value, r.c.numerator, r.c.denominator)
            .join(r, r.c.slice_id == sl.c.slice_id)).all()
    return sorted((tuple(row) for row in rows), key=repr)


@pytest.mark.timeout(1800)  # local Spark: a second or more per query on two loaded cores
@pytest.mark.parametrize("basis", ["natural", "work"])
def test_store_built_on_spark_equals_duckdb(demo_ws: Workspace, basis: str) -> None:
    ws = demo_ws
    cli_ok("config", "set", "calendar.month_basis", basis)
    ws.reload()
    through = results.data_through(ws)
    periods = _periods(ws, through, every_split=basis == "natural")
    assert len({sp.text for sp in periods}) == 4 and periods[0].agents

    duck = results.build(ws, through=through, periods=periods, force=True)
    want = _store_rows(ws)
    spark = results.build(ws, through=through, periods=periods, force=True, engine="spark",
                          master=MASTER)
    got = _store_rows(ws)

    assert spark.version == duck.version and spark.rows == duck.rows > 0
    # the store holds what the test says it checks: several levels, every segmentation,
    # per-agent rows and every metric of a unit
    splits = {"none", "rank_category"} | ({"tenure", "rank"} if basis == "natural" else set())
    assert {row[2] for row in want} == splits
    assert {row[1] for row in want} == {"org", "agent"}
    assert len({row[3] for row in want}) > 5
    assert len(got) == len(want)
    diff = [(w, g) for w, g in zip(want, got, strict=True) if w != g]
    assert not diff, f"{len(diff)} rows differ, e.g. {diff[:5]}"


def test_kpi_engine_spark_answers_as_the_store(demo_ws: Workspace) -> None:
    ws = demo_ws
    cli_ok("config", "set", "calendar.month_basis", "natural")
    ws.reload()
    through = results.data_through(ws)
    period = f"{through.year}-{through.month:02d}"
    args = ("kpi", "--period", period, "--as-of", through.isoformat(), "--by", "children",
            "--segment", "rank_category", "--format", "json")
    duck = json.loads(cli_ok(*args))
    spark = json.loads(cli_ok(*args, "--engine", "spark", "--master", MASTER))
    assert duck["rows"] and spark == duck


def test_unknown_engine_is_refused_before_any_work(demo_ws: Workspace) -> None:
    code, out, err = run_cli("analytics", "build", "--engine", "hadoop")
    assert code != 0 and "hadoop" in (out + err) and "Traceback" not in (out + err)

