"""Shared helpers of the benchmark scripts: fresh workspaces, timing summary, results file."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from zhuizong.workspace import Workspace

RESULTS = ROOT / "bench" / "results" / "results.jsonl"


def machine_info() -> dict[str, object]:
    info: dict[str, object] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            kb = int(f.readline().split()[1])
        info["mem_gb"] = round(kb / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return info


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def summary(times: list[float], rows: int | None = None) -> dict[str, float]:
    out = {
        "min_s": round(min(times), 3),
        "median_s": round(statistics.median(times), 3),
        "max_s": round(max(times), 3),
    }
    if rows:
        out["rows_per_s"] = round(rows / statistics.median(times), 1)
    return out


def append_result(record: dict[str, object]) -> None:
    record = {
        "ts": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        **record,
        "machine": machine_info(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"appended to {RESULTS.relative_to(ROOT)}")


def clean_environment() -> None:
    """Benchmarks configure their workspaces explicitly: ignore ZHUIZONG_* of the caller."""
    for var in list(os.environ):
        if var.startswith("ZHUIZONG_"):
            del os.environ[var]


@contextmanager
def fresh_workspace(pg_url: str | None = None) -> Iterator[Workspace]:
    """An initialised, empty workspace in a temporary folder.

    With ``pg_url`` a new database is created on that server for the workspace and dropped
    afterwards (the URL's user needs CREATEDB; its database serves only as the maintenance
    connection and is not touched).
    """
    with tempfile.TemporaryDirectory(prefix="zz-bench-") as tmp:
        home = Path(tmp) / "ws"
        home.mkdir()
        admin = None
        dbname = None
        if pg_url:
            dbname = f"zz_bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{dbname}"'))
            url = make_url(pg_url).set(database=dbname).render_as_string(hide_password=False)
            (home / "zhuizong.toml").write_text(
                f"[database]\nurl = {json.dumps(url)}\n", encoding="utf-8"
            )
        ws = Workspace.open(home)
        try:
            ws.init()
            yield ws
        finally:
            ws.engine.dispose()
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
                admin.dispose()


def database_label(pg_url: str | None) -> str:
    if not pg_url:
        return "sqlite"
    return "postgresql " + make_url(pg_url).render_as_string(hide_password=True)
