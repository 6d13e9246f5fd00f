"""A build of the results store killed midway (SIGKILL) never exposes its rows: the previous
version stays complete (every row it published is there), reads equal a fresh computation, and
the next build starts the killed version again and publishes it whole."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from pathlib import Path

from sqlalchemy import func, select

from tests.kpi_cli.builders import U1, U2, Agency, cli_ok, zhuizong_exe
from zhuizong.kpi import engine, results
from zhuizong.kpi.engine import KpiRequest
from zhuizong.store.models import table
from zhuizong.workspace import Workspace


def _counts(ws: Workspace) -> dict[str, tuple[str, int, int]]:
    """version → (status, published row count, rows present)."""
    v, sl, r = (table(n) for n in ("kpi_result_versions", "kpi_result_slices", "kpi_results"))
    with ws.engine.connect() as conn:
        present = dict(conn.execute(
            select(sl.c.version, func.count()).select_from(r.join(sl, r.c.slice_id == sl.c.slice_id))
            .group_by(sl.c.version)).all())
        return {row.version: (row.status, row.row_count, present.get(row.version, 0))
                for row in conn.execute(select(v.c.version, v.c.status, v.c.row_count))}


def test_killed_build_leaves_the_previous_version_whole(home: Path, tmp_path: Path) -> None:
    a = Agency(tmp_path / "files")
    d = dt.date
    agents = a.hire("X", 6, d(2025, 1, 5), org=U1) + a.hire("Y", 6, d(2025, 3, 5), org=U2)
    for i, agent in enumerate(agents):
        for m in range(1, 12):
            a.premium(agent, "new", 1_000 + 10 * i + m, d(2026, m, 3 + i))
    a.load()
    ws = Workspace.open(home)
    first = results.build(ws, through=d(2026, 11, 30),
                          periods=[results.StoredPeriod("2026-10", None, ("none",), agents=True)])
    v1 = first.version
    assert _counts(ws) == {v1: ("complete", first.rows, first.rows)}

    a.premium(agents[0], "new", 5_000, d(2026, 10, 20))  # the data changes: a new version
    cli_ok("import", "premiums", str(a.write()["premiums"]))
    v2 = results.version_key(ws)
    assert v2 != v1
    proc = subprocess.Popen([zhuizong_exe(), "analytics", "build", "--date", "2026-11-30"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=dict(os.environ))
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:  # until some of its rows are written
            if _counts(ws).get(v2, ("", 0, 0))[2] > 0 or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the build ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    counts = _counts(ws)
    assert counts[v1] == ("complete", first.rows, first.rows)  # untouched
    assert counts[v2][0] == "building" and counts[v2][2] > 0  # rows written, never published
    # readers: the current key has no complete version, so every read is computed (and equal)
    req = KpiRequest(period="2026-10", org=U1, by="agent", metrics=("fyp",))
    before = dict(results.STATS)
    got = results.get(ws, req)
    assert results.STATS["live"] == before["live"] + 1
    assert [(r.agent_code, r.value) for r in got.rows] == \
        [(r.agent_code, r.value) for r in engine.compute(ws, req).rows]
    # the next build starts the killed version afresh and publishes it whole
    again = results.build(ws, through=d(2026, 11, 30),
                          periods=[results.StoredPeriod("2026-10", None, ("none",), agents=True)])
    assert again.version == v2 and again.built
    assert _counts(ws) == {v2: ("complete", again.rows, again.rows)}
    assert {r.agent_code: r.value for r in results.get(ws, req).rows}[agents[0]] == 1_010 + 5_000
