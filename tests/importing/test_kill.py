"""Crash safety: ``zhuizong import`` killed with SIGKILL at random moments leaves nothing behind.

A 50,000-row premiums file is imported by the real CLI in a subprocess which is SIGKILLed after a
seeded random delay, the delays spread over the whole duration of an import (measured first).
After every kill the database is intact (SQLite ``PRAGMA integrity_check``; PostgreSQL reachable)
and the import is all or nothing: no premium row and no batch — or, when the kill landed after the
commit, all 50,000 rows and exactly one batch. Finally a clean run imports exactly 50,000 rows and a
second run reports ``already_imported``. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.importing.test_bad_corpus import GOOD, zhuizong_cmd
from zhuizong.importing import service as svc
from zhuizong.workspace import DB_FILE, Workspace

N_ROWS = 50_000
N_AGENTS = 200
N_KILLS = 12
SEED = 20260506
PREM_H = (
    "txn_id,policy_no,agent_code,product_code,txn_date,txn_type,amount,issue_date,policy_year,fyc"
)


def _write_inputs(d: Path) -> tuple[Path, Path]:
    rng = random.Random(SEED)
    agents = d / "kill_agents.csv"
    lines = [
        "agent_code,agent_name,hire_date,org_code,rank_code,supervisor_code,recruiter_code,leave_date"
    ]
    for i in range(1, N_AGENTS + 1):
        org = ("T011", "B02")[i % 2]
        rank = ("AG", "SA", "DM")[i % 3]
        lines.append(f"K{i:04d},测试员{i},2025-01-{1 + i % 28:02d},{org},{rank},,,")
    agents.write_text("\n".join(lines) + "\n", encoding="utf-8")

    prem = d / "kill_premiums.csv"
    out = [PREM_H]
    types = ("new", "new", "new", "fy_renewal", "renewal", "free_look_cancel", "surrender")
    for i in range(1, N_ROWS + 1):
        a = rng.randint(1, N_AGENTS)
        day = dt_str(rng.randint(0, 364))
        amt = rng.randint(100, 5_000_000)  # fen
        out.append(
            f"KT{i:07d},KP{i // 2:07d},K{a:04d},{('P01', 'P02')[i % 2]},{day},"
            f"{types[i % len(types)]},{amt // 100}.{amt % 100:02d},{day},1,{amt // 300}.00"
        )
    prem.write_text("\n".join(out) + "\n", encoding="utf-8")
    return agents, prem


def dt_str(offset: int) -> str:
    import datetime as dt

    return (dt.date(2026, 1, 1) + dt.timedelta(days=offset)).isoformat()


def _counts(ws: Workspace) -> tuple[int, int]:
    with ws.engine.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM premiums")).scalar_one()
        b = conn.execute(
            text("SELECT COUNT(*) FROM import_batches WHERE kind = 'premiums'")
        ).scalar_one()
    return int(n), int(b)


def _reset(ws: Workspace) -> None:
    with ws.engine.begin() as conn:
        conn.execute(text("DELETE FROM premiums"))
        conn.execute(text("DELETE FROM import_batches WHERE kind = 'premiums'"))


def _settle_and_check_db(ws: Workspace) -> None:
    """Wait for a killed client's server-side work to end; then check the database is sound."""
    if ws.engine.dialect.name == "sqlite":
        con = sqlite3.connect(ws.home / DB_FILE, timeout=30)
        try:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            con.close()
        return
    deadline = time.monotonic() + 60
    while True:
        with ws.engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            busy = conn.execute(
                text(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state IS NOT NULL AND state <> 'idle'"
                )
            ).scalar_one()
        if busy == 0:
            return
        assert time.monotonic() < deadline, "a killed import's server session never ended"
        time.sleep(0.1)


def _start(prem: Path, log: Path) -> subprocess.Popen[bytes]:
    fh = log.open("wb")
    try:
        return subprocess.Popen(
            [*zhuizong_cmd(), "import", "premiums", str(prem)],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONIOENCODING="utf-8"),
        )
    finally:
        fh.close()


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_sigkill_during_import(workspace: Workspace, tmp_path: Path) -> None:
    t_begin = time.monotonic()
    agents, prem = _write_inputs(tmp_path)
    for kind, path in (
        ("org_units", GOOD / "org_units.csv"),
        ("ranks", GOOD / "ranks.csv"),
        ("products", GOOD / "products.csv"),
        ("agents", agents),
    ):
        res = svc.import_file(workspace, kind, path)
        assert res.status == "committed", (kind, res.errors[:5])

    # A full run through the CLI, to scale the kill delays to this machine and database.
    log = tmp_path / "full.log"
    t0 = time.monotonic()
    proc = _start(prem, log)
    assert proc.wait(timeout=300) == 0, log.read_text("utf-8", "replace")
    full = time.monotonic() - t0
    assert _counts(workspace) == (N_ROWS, 1)
    _reset(workspace)

    rng = random.Random(SEED)
    killed_mid = completed = 0
    outcomes: list[str] = []
    for i in range(N_KILLS):
        # stratified: run i is killed in the i-th slice of 90% of the measured duration (later runs
        # are often faster than the first: warm caches)
        delay = max(0.05, 0.9 * full * (i + rng.random()) / N_KILLS)
        log = tmp_path / f"kill{i}.log"
        proc = _start(prem, log)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        rc = proc.wait(timeout=60)
        _settle_and_check_db(workspace)
        output = log.read_text("utf-8", "replace")
        assert "Traceback" not in output, output
        n, b = _counts(workspace)
        outcomes.append(f"{delay:.2f}s rc={rc} rows={n} batches={b}")
        if (n, b) == (0, 0):
            killed_mid += 1
        elif (n, b) == (N_ROWS, 1):  # the kill landed after the commit (or the run finished)
            completed += 1
            _reset(workspace)
        else:
            pytest.fail(f"partial import after SIGKILL at {delay:.2f}s: {n} rows, {b} batches")
    assert killed_mid >= N_KILLS // 2, (full, outcomes)

    # A clean run imports everything, once.
    log = tmp_path / "clean.log"
    proc = _start(prem, log)
    assert proc.wait(timeout=300) == 0, log.read_text("utf-8", "replace")
    assert _counts(workspace) == (N_ROWS, 1)
    again = svc.import_file(workspace, "premiums", prem)
    assert again.status == "already_imported", again
    assert _counts(workspace) == (N_ROWS, 1)
    log = tmp_path / "again.log"
    proc = _start(prem, log)
    assert proc.wait(timeout=300) == 0, log.read_text("utf-8", "replace")
    assert _counts(workspace) == (N_ROWS, 1)
    print(f"full run {full:.2f}s; kills: {outcomes}; total {time.monotonic() - t_begin:.1f}s")
