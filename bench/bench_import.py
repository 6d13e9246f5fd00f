"""Benchmark: import a premiums file (CSV and XLSX) into a fresh workspace.

    python bench/bench_import.py                     # 200,000 CSV rows, 50,000 XLSX rows, 3 runs
    python bench/bench_import.py --rows 20000 --xlsx-rows 5000 --repeat 1
    python bench/bench_import.py --pg-url postgresql+psycopg://zz@localhost:5432/postgres
    python bench/bench_import.py --stream-rows 1000000 --pg    # streamed import, peak memory

The org tree, ranks, products and agents the premiums refer to are generated too (deterministic,
``--seed``) and imported untimed; only ``import_file(ws, "premiums", path)`` is timed, in a fresh
workspace for every run (a new temporary SQLite file, or a new database on the ``--pg-url``
server, created and dropped by the script). Prints min/median/max seconds and rows/s and appends
one JSON line per (format, database) to ``bench/results/results.jsonl``.

``--stream-rows N`` (issue 18) measures the streamed import of a large CSV instead: the file is
written in blocks (never held whole, so N may be tens of millions), the reference data is imported
untimed, and the premiums import runs in a child process (``import_file`` as the CLI calls it),
timed, with its peak resident memory measured by ``/usr/bin/time``. One run per database (the file is
large; run it once on a shared machine). ``--pg`` starts a throwaway PostgreSQL server
(``tests/pgserver.py``, as the tests do) when no ``--pg-url`` is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from _common import (  # type: ignore[import-not-found]
    append_result,
    clean_environment,
    database_label,
    fresh_workspace,
    summary,
)

from zhuizong.importing.kinds import IMPORT_ORDER

ROOT = Path(__file__).resolve().parent.parent

TXN_TYPES = np.array(["new", "fy_renewal", "renewal", "free_look_cancel", "surrender"])
TXN_P = np.array([0.55, 0.15, 0.22, 0.04, 0.04])
START = dt.date(2025, 1, 1)
DAYS = (dt.date(2026, 5, 31) - START).days + 1


def reference_frames(agents: int, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """A branch with departments and groups, a five-rank ladder, 20 products, ``agents`` agents."""
    departments = max(2, agents // 300)
    groups_per_dep = 5
    org = [("B01", "基准分公司", "", "branch")]
    groups = []
    for d in range(1, departments + 1):
        dcode = f"D{d:03d}"
        org.append((dcode, f"第{d}营业部", "B01", "department"))
        for g in range(1, groups_per_dep + 1):
            gcode = f"{dcode}G{g}"
            org.append((gcode, f"第{d}营业部{g}组", dcode, "group"))
            groups.append(gcode)
    ranks = [
        ("AP", "试用业务员", "probationary", "1"),
        ("AF", "业务员", "formal", "2"),
        ("SA", "高级业务员", "formal", "3"),
        ("DR", "业务主任", "director", "4"),
        ("SDR", "高级业务主任", "director", "5"),
    ]
    products = []
    for p in range(1, 21):
        single = p % 5 == 0
        products.append((
            f"P{p:03d}", f"产品{p:03d}", "0" if p % 4 == 0 else "1",
            "single" if single else "regular", "" if single else str(5 + p % 4 * 5),
            "0.03" if single else f"{0.15 + (p % 5) * 0.05:.2f}", "0.1" if single else "1.0",
        ))
    codes = np.array([f"{i:08d}" for i in range(1, agents + 1)])
    hire = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, agents), unit="D")
    rank = rng.choice(["AP", "AF", "SA", "DR", "SDR"], size=agents, p=[0.3, 0.35, 0.2, 0.1, 0.05])
    agent_groups = rng.choice(groups, size=agents)
    agents_df = pd.DataFrame({
        "agent_code": codes,
        "agent_name": [f"员工{i}" for i in range(1, agents + 1)],
        "hire_date": hire.strftime("%Y-%m-%d"),
        "org_code": agent_groups,
        "rank_code": rank,
    })
    return {
        "org_units": pd.DataFrame(org, columns=["org_code", "org_name", "parent_code", "level"]),
        "ranks": pd.DataFrame(ranks, columns=["rank_code", "rank_name", "category", "level"]),
        "products": pd.DataFrame(products, columns=[
            "product_code", "product_name", "is_main", "pay_mode", "term_years", "fyc_rate",
            "std_factor",
        ]),
        "agents": agents_df,
    }


def premiums_frame(rows: int, agents: pd.Series, rng: np.random.Generator,
                   start: int = 1) -> pd.DataFrame:
    txn_date = pd.Timestamp(START) + pd.to_timedelta(rng.integers(0, DAYS, rows), unit="D")
    types = rng.choice(TXN_TYPES, size=rows, p=TXN_P)
    is_new = types == "new"
    back = np.where(is_new, -rng.integers(0, 6, rows), rng.integers(15, 700, rows))
    issue = txn_date - pd.to_timedelta(back, unit="D")
    amount = np.round(rng.lognormal(8.3, 0.9, rows), 2)
    first_year = types != "renewal"
    year = np.where(first_year, 1, rng.integers(2, 6, rows))
    fyc = np.where(first_year, np.round(amount * 0.3, 2), np.nan)
    return pd.DataFrame({
        "txn_id": np.char.add("T", np.char.zfill(np.arange(start, start + rows).astype(str), 10)),
        "policy_no": np.char.add("PL", np.char.zfill(rng.integers(1, rows, rows).astype(str), 10)),
        "agent_code": rng.choice(agents.to_numpy(), size=rows),
        "product_code": np.char.add("P", np.char.zfill(rng.integers(1, 21, rows).astype(str), 3)),
        "txn_date": txn_date.strftime("%Y-%m-%d"),
        "txn_type": types,
        "amount": [f"{a:.2f}" for a in amount],
        "issue_date": issue.strftime("%Y-%m-%d"),
        "policy_year": year.astype(str),
        "fyc": ["" if np.isnan(f) else f"{f:.2f}" for f in fyc],
    })


def write_xlsx(df: pd.DataFrame, path: Path) -> None:
    """Write like Excel users do: real dates, numbers as numbers, codes as text."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("premiums")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, list(df.columns))
    dates = {c: pd.to_datetime(df[c]).dt.date.tolist() for c in ("txn_date", "issue_date")}
    cols = list(df.columns)
    values = {c: df[c].tolist() for c in cols}
    for i in range(len(df)):
        r = i + 1
        for j, c in enumerate(cols):
            if c in dates:
                ws.write_datetime(r, j, dt.datetime.combine(dates[c][i], dt.time()), date_fmt)
            elif c in ("amount", "fyc", "policy_year"):
                v = values[c][i]
                if v != "":
                    ws.write_number(r, j, float(v))
            else:
                ws.write_string(r, j, values[c][i])
    wb.close()


def run(path: Path, refs: dict[Path, str], rows: int, repeat: int, pg_url: str | None,
        fmt: str) -> dict[str, object]:
    from zhuizong.importing.service import import_file

    times = []
    for n in range(1, repeat + 1):
        with fresh_workspace(pg_url) as ws:
            for ref_path, kind in refs.items():
                res = import_file(ws, kind, ref_path)
                if res.status != "committed":
                    raise SystemExit(f"reference import {kind} failed: {res.status} {res.errors[:3]}")
            t0 = time.perf_counter()
            res = import_file(ws, "premiums", path)
            elapsed = time.perf_counter() - t0
        if res.status != "committed" or res.rows_total != rows:
            raise SystemExit(
                f"premiums import not committed: {res.status}, {res.rows_total} rows, "
                f"errors {res.errors[:3]}"
            )
        times.append(elapsed)
        print(f"  run {n}/{repeat}: {elapsed:.2f} s ({rows / elapsed:,.0f} rows/s)")
    stats = summary(times, rows)
    print(
        f"{fmt} {rows:,} rows on {database_label(pg_url)}: min {stats['min_s']:.2f} s, "
        f"median {stats['median_s']:.2f} s, max {stats['max_s']:.2f} s, "
        f"{stats['rows_per_s']:,.0f} rows/s"
    )
    return {"times_s": [round(t, 3) for t in times], **stats}


_CHILD = """
import json, sys, time
from pathlib import Path
from zhuizong.importing.service import import_file
from zhuizong.workspace import Workspace
ws = Workspace.open(Path(sys.argv[1]))
t0 = time.perf_counter()
res = import_file(ws, "premiums", Path(sys.argv[2]))
print(json.dumps({"status": res.status, "rows": res.rows_total, "inserted": res.inserted,
                  "errors": [e.reason_en for e in res.errors[:3]],
                  "seconds": time.perf_counter() - t0}))
"""


def write_big_csv(path: Path, rows: int, agents: pd.Series, rng: np.random.Generator,
                  block: int = 500_000) -> None:
    """A premiums CSV of ``rows`` rows, written ``block`` rows at a time."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        for start in range(1, rows + 1, block):
            n = min(block, rows + 1 - start)
            premiums_frame(n, agents, rng, start=start).to_csv(fh, index=False,
                                                                header=start == 1)


def run_streamed(path: Path, refs: dict[Path, str], rows: int, pg_url: str | None) -> dict[str, object]:
    """Import ``path`` in a child process; its wall time and peak RSS (``/usr/bin/time``)."""
    with fresh_workspace(pg_url) as ws:
        for ref_path, kind in refs.items():
            res = import_file_untimed(ws, kind, ref_path)
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        rss_file = Path(ws.home) / "rss.txt"
        # /usr/bin/time measures its own child: the ru_maxrss of a child of *this* process would
        # include this process's memory (the generated frames) from before the child's exec
        t0 = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss_file), sys.executable,
                               "-c", _CHILD, str(ws.home), str(path)],
                              stdout=subprocess.PIPE, env=env, check=False)
        elapsed = time.perf_counter() - t0
        out = proc.stdout
        peak_kb = int(rss_file.read_text().split()[-1])
    if proc.returncode != 0:
        raise SystemExit(f"the import child failed with exit code {proc.returncode}")
    res = json.loads(out.decode().strip().splitlines()[-1])
    if res["status"] != "committed" or res["rows"] != rows:
        raise SystemExit(f"premiums import not committed: {res}")
    stats = {
        "process_s": round(elapsed, 2),
        "import_s": round(res["seconds"], 2),
        "rows_per_s": round(rows / res["seconds"], 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }
    print(f"streamed CSV {rows:,} rows on {database_label(pg_url)}: import {stats['import_s']} s "
          f"({stats['rows_per_s']:,.0f} rows/s), process {stats['process_s']} s, "
          f"peak RSS {stats['peak_rss_mb']:,.0f} MB")
    return stats


def import_file_untimed(ws, kind: str, path: Path):  # type: ignore[no-untyped-def]
    from zhuizong.importing.service import import_file

    res = import_file(ws, kind, path)
    if res.status != "committed":
        raise SystemExit(f"reference import {kind} failed: {res.status} {res.errors[:3]}")
    return res


def main_streamed(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(args.seed)
    server = None
    pg_url = args.pg_url
    if args.pg and not pg_url:
        sys.path.insert(0, str(ROOT))
        from tests import pgserver

        server = pgserver.start()
        if server is None:
            raise SystemExit("no PostgreSQL server could be started")
        pg_url = server.admin_url
    databases: list[str | None] = [None] + ([pg_url] if pg_url else [])
    try:
        with tempfile.TemporaryDirectory(prefix="zz-bench-data-", dir=args.data_dir) as tmp:
            data = Path(tmp)
            t0 = time.perf_counter()
            frames = reference_frames(args.agents, rng)
            refs: dict[Path, str] = {}
            for kind in IMPORT_ORDER:
                if kind in frames:
                    p = data / f"{kind}.csv"
                    frames[kind].to_csv(p, index=False)
                    refs[p] = kind
            path = data / "premiums.csv"
            write_big_csv(path, args.stream_rows, frames["agents"]["agent_code"], rng)
            size = path.stat().st_size
            print(f"generated {args.stream_rows:,} rows, {size / 1e6:,.0f} MB in "
                  f"{time.perf_counter() - t0:.0f} s")
            for db in databases:
                stats = run_streamed(path, refs, args.stream_rows, db)
                append_result({
                    "bench": "import_premiums_streamed", "format": "csv",
                    "database": "postgresql" if db else "sqlite", "rows": args.stream_rows,
                    "agents": args.agents, "file_mb": round(size / 1e6, 1), "seed": args.seed,
                    "load": os.getloadavg(), **stats,
                })
    finally:
        if server is not None:
            server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="CSV premium rows (0 = skip)")
    parser.add_argument("--xlsx-rows", type=int, default=50_000, help="XLSX premium rows (0 = skip)")
    parser.add_argument("--agents", type=int, default=3_000, help="agents the premiums refer to")
    parser.add_argument("--repeat", type=int, default=3, help="runs, each in a fresh workspace")
    parser.add_argument("--seed", type=int, default=20260501)
    parser.add_argument("--pg-url", help="also benchmark on this PostgreSQL server (needs CREATEDB)")
    parser.add_argument("--stream-rows", type=int, default=0,
                        help="instead: the streamed import of a CSV of N rows, with peak memory")
    parser.add_argument("--pg", action="store_true",
                        help="with --stream-rows and no --pg-url: start a throwaway PostgreSQL")
    parser.add_argument("--data-dir", help="folder for the generated files (default: temp)")
    args = parser.parse_args(argv)
    clean_environment()
    if args.stream_rows:
        return main_streamed(args)
    rng = np.random.default_rng(args.seed)
    databases: list[str | None] = [None] + ([args.pg_url] if args.pg_url else [])

    with tempfile.TemporaryDirectory(prefix="zz-bench-data-") as tmp:
        data = Path(tmp)
        t0 = time.perf_counter()
        frames = reference_frames(args.agents, rng)
        refs: dict[Path, str] = {}
        for kind in IMPORT_ORDER:
            if kind in frames:
                path = data / f"{kind}.csv"
                frames[kind].to_csv(path, index=False)
                refs[path] = kind
        premiums = premiums_frame(max(args.rows, args.xlsx_rows), frames["agents"]["agent_code"], rng)
        files = []
        if args.rows:
            csv_path = data / "premiums.csv"
            premiums.head(args.rows).to_csv(csv_path, index=False)
            files.append(("csv", csv_path, args.rows))
        if args.xlsx_rows:
            xlsx_path = data / "premiums.xlsx"
            write_xlsx(premiums.head(args.xlsx_rows), xlsx_path)
            files.append(("xlsx", xlsx_path, args.xlsx_rows))
        print(f"generated test data in {time.perf_counter() - t0:.1f} s "
              f"({args.agents:,} agents; " + ", ".join(f"{f}: {n:,} rows, "
              f"{p.stat().st_size / 1e6:.1f} MB" for f, p, n in files) + ")")

        for fmt, path, rows in files:
            for db in databases:
                print(f"{fmt}, {database_label(db)}:")
                stats = run(path, refs, rows, args.repeat, db, fmt)
                append_result({
                    "bench": "import_premiums",
                    "format": fmt,
                    "database": "postgresql" if db else "sqlite",
                    "rows": rows,
                    "agents": args.agents,
                    "file_mb": round(path.stat().st_size / 1e6, 2),
                    "repeat": args.repeat,
                    "seed": args.seed,
                    **stats,
                })
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
