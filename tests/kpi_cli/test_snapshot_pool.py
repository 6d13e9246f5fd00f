"""The snapshot pool (``compiler.SnapshotPool``): open snapshots are reused between requests of
one data version, never across versions, and a snapshot is never leased to two users at once."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.kpi_cli.builders import U1, Agency, cli_ok
from zhuizong.kpi import compiler, results
from zhuizong.kpi.engine import KpiRequest, compute
from zhuizong.workspace import Workspace


def _agency(tmp_path: Path) -> Agency:
    import datetime as dt

    a = Agency(tmp_path / "files")
    (x,) = a.hire("X", 1, dt.date(2025, 1, 5), org=U1)
    a.premium(x, "new", 1_000, dt.date(2026, 4, 3))
    a.load()
    return a


def test_pool_reuses_within_a_version_and_drops_old_versions(home: Path, tmp_path: Path) -> None:
    a = _agency(tmp_path)
    ws = Workspace.open(home)
    pool = compiler.SnapshotPool(keep=2)
    req = KpiRequest(period="2026-04", org=U1, by="agent", metrics=("fyp",))
    v1 = results.data_version(ws)
    with pool.lease(ws, v1) as s1:
        first = compute(ws, req, s1)
    with pool.lease(ws, v1) as s2:
        assert s2 is s1  # reused
        assert compute(ws, req, s2).rows == first.rows
    assert pool.opened == 1
    # two at once: two different snapshots
    with pool.lease(ws, v1) as s3, pool.lease(ws, v1) as s4:
        assert s3 is not s4
    assert pool.opened == 2
    # new data: a new version, a new snapshot that sees it
    a.premium("X00001", "new", 500, __import__("datetime").date(2026, 4, 9))
    cli_ok("import", "premiums", str(a.write()["premiums"]))
    v2 = results.data_version(ws)
    assert v2 != v1
    with pool.lease(ws, v2) as s5:
        assert s5 is not s1 and s5 is not s3 and s5 is not s4
        fyp = {r.metric: r.value for r in compute(ws, req, s5).rows}["fyp"]
    assert fyp == 1_500
    assert pool.opened == 3
    pool.clear()


def test_a_failed_request_does_not_return_its_snapshot(home: Path, tmp_path: Path) -> None:
    _agency(tmp_path)
    ws = Workspace.open(home)
    pool = compiler.SnapshotPool()
    v = results.data_version(ws)
    try:
        with pool.lease(ws, v) as s1:
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with pool.lease(ws, v) as s2:
        assert s2 is not s1
    pool.clear()


def test_concurrent_leases_never_share_a_snapshot(home: Path, tmp_path: Path) -> None:
    _agency(tmp_path)
    ws = Workspace.open(home)
    pool = compiler.SnapshotPool(keep=3)
    v = results.data_version(ws)
    in_use: set[int] = set()
    lock = threading.Lock()
    errors: list[str] = []

    def worker() -> None:
        for _ in range(5):
            with pool.lease(ws, v) as s:
                with lock:
                    if id(s) in in_use:
                        errors.append("shared")
                    in_use.add(id(s))
                compute(ws, KpiRequest(period="2026-04", org=U1, metrics=("fyp",)), s)
                with lock:
                    in_use.discard(id(s))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert pool.opened < 20  # 20 leases: idle snapshots were reused
    pool.clear()
