"""Materialised KPI results (architecture.md §4): the second read of a request is served from the
store, an import that changes the data makes the next read recompute (a version check, not a
timer), and the KPI settings are part of the key. Read through ``zhuizong kpi --format json``
(which goes through ``kpi.service.kpi_report`` → ``kpi.materialized.get``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.kpi_cli.builders import Agency, cli_ok, config_set, kpi, value
from zhuizong.kpi import engine, materialized
from zhuizong.workspace import Workspace

METRICS = ["fyp", "cases", "active", "headcount_close", "activity_rate"]


@pytest.fixture
def agency(home: Path, tmp_path: Path) -> Agency:
    ag = Agency(tmp_path / "facts")
    a = ag.hire("A", 2, dt.date(2026, 1, 5))
    pol = ag.premium(a[0], "new", 1_000, dt.date(2026, 5, 2))
    ag.premium(a[0], "free_look_cancel", 1_000, dt.date(2026, 5, 12), policy=pol)
    ag.premium(a[1], "new", 300, dt.date(2026, 5, 20))
    ag.load()
    return ag


def stored_files(home: Path) -> list[Path]:
    return sorted((home / "analytics" / materialized.RESULTS_DIR).glob("*.parquet"))


def test_second_read_is_served_from_the_store(agency: Agency, home: Path) -> None:
    before = dict(materialized.STATS)
    first = kpi("2026-05", METRICS, by="children")
    assert materialized.STATS["computed"] == before["computed"] + 1
    [path] = stored_files(home)
    mtime = path.stat().st_mtime_ns
    second = kpi("2026-05", METRICS, by="children")
    assert second == first
    assert materialized.STATS["computed"] == before["computed"] + 1  # not recomputed
    assert materialized.STATS["hits"] == before["hits"] + 1
    assert path.stat().st_mtime_ns == mtime
    assert value(first, "fyp", "U1") == 300


def test_import_that_changes_the_data_recomputes(agency: Agency, home: Path) -> None:
    assert value(kpi("2026-05", METRICS), "fyp") == 300
    [path] = stored_files(home)
    computed = materialized.STATS["computed"]
    # one more premium in May, imported through the CLI
    agency.premium(next(iter(agency.agents)), "new", 50, dt.date(2026, 5, 28))
    cli_ok("import", "premiums", str(agency.write()["premiums"]))
    res = kpi("2026-05", METRICS)
    assert materialized.STATS["computed"] == computed + 1
    assert value(res, "fyp") == 350
    assert value(res, "cases") == 2  # net: 3 new main policies − 1 free-look cancellation
    assert stored_files(home) == [path]  # same request key, file replaced
    # and the next read is a hit again
    hits = materialized.STATS["hits"]
    assert kpi("2026-05", METRICS) == res
    assert materialized.STATS["hits"] == hits + 1


def test_settings_are_part_of_the_key(agency: Agency, home: Path) -> None:
    net = kpi("2026-05", METRICS)
    assert value(net, "cases") == 1  # 2 new main policies − 1 free-look cancellation
    config_set("kpi.cases", "gross")
    gross = kpi("2026-05", METRICS)
    assert gross["settings"]["kpi.cases"] == "gross"
    assert value(gross, "cases") == 2
    assert len(stored_files(home)) == 2
    # back to net: the stored net result is still current (the data did not change)
    hits = materialized.STATS["hits"]
    config_set("kpi.cases", "net")
    assert kpi("2026-05", METRICS) == net
    assert materialized.STATS["hits"] == hits + 1


def test_get_equals_compute(agency: Agency, home: Path) -> None:
    ws = Workspace.open(home)
    for req in (engine.KpiRequest("2026-05", by="children", segment="rank_category"),
                engine.KpiRequest("2026Q2", by="agent", segment="tenure"),
                engine.KpiRequest("2026-05", as_of=dt.date(2026, 5, 15))):
        fresh = engine.compute(ws, req)
        for _ in range(2):  # computed and stored, then read back
            got = materialized.get(ws, req)
            assert got.rows == fresh.rows
            assert got.as_json() == fresh.as_json()
            assert (got.period, got.org_code, got.settings) == \
                (fresh.period, fresh.org_code, fresh.settings)


def test_unreadable_file_is_recomputed(agency: Agency, home: Path) -> None:
    first = kpi("2026-05", METRICS)
    [path] = stored_files(home)
    path.write_bytes(b"not parquet")
    computed = materialized.STATS["computed"]
    assert kpi("2026-05", METRICS) == first
    assert materialized.STATS["computed"] == computed + 1
