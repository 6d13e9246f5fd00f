"""Benchmark: build the demo agency (generation + storage) in a fresh workspace.

    python bench/bench_demo.py                        # 3,000 and 50,000 agents, 3 years
    python bench/bench_demo.py --agents 3000 --years 1
    python bench/bench_demo.py --agents 3000 --pg-url postgresql+psycopg://zz@localhost/postgres

Times ``zhuizong.demo.service.build_demo(ws, DemoParams(agents=N, years=Y, seed=S))`` for each
``--agents`` value, each in a fresh workspace (a temporary SQLite file, or a new database on the
``--pg-url`` server, created and dropped by the script). Prints the seconds, the rows written and
rows/s, and appends one JSON line per run to ``bench/results/results.jsonl``. The 50,000-agent
run takes a long time (size M: millions of premium rows).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any

from _common import (  # type: ignore[import-not-found]
    append_result,
    clean_environment,
    database_label,
    fresh_workspace,
    summary,
)


def _as_dict(obj: Any) -> dict[str, Any]:
    """The demo summary as JSON-able data (``DemoSummary.as_dict()``, else a best effort)."""
    if hasattr(obj, "as_dict"):
        data = obj.as_dict()
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        data = dataclasses.asdict(obj)
    elif hasattr(obj, "model_dump"):
        data = obj.model_dump()
    elif isinstance(obj, dict):
        data = dict(obj)
    else:
        return {"summary": repr(obj)}
    return {k: v if isinstance(v, (int, float, str, bool, type(None), dict, list)) else str(v)
            for k, v in data.items()}


def _row_count(summary_data: dict[str, Any]) -> int | None:
    """Total rows written, if the summary says (a ``counts`` mapping of kind → rows)."""
    rows = summary_data.get("counts") or summary_data.get("rows")
    if isinstance(rows, dict):
        return sum(v for v in rows.values() if isinstance(v, int))
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[3_000, 50_000])
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260501)
    parser.add_argument("--repeat", type=int, default=1, help="runs per size, each fresh")
    parser.add_argument("--pg-url", help="build on this PostgreSQL server instead of SQLite")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    clean_environment()

    from zhuizong.demo.params import DemoParams
    from zhuizong.demo.service import build_demo

    def progress(step: str, done: int, total: int) -> None:
        if not args.quiet:
            print(f"    {step}: {done:,}/{total:,}", flush=True)

    for agents in args.agents:
        params = DemoParams(agents=agents, years=args.years, seed=args.seed)
        times: list[float] = []
        data: dict[str, Any] = {}
        for n in range(1, args.repeat + 1):
            print(f"demo {agents:,} agents × {args.years} years on {database_label(args.pg_url)}, "
                  f"run {n}/{args.repeat}")
            with fresh_workspace(args.pg_url) as ws:
                t0 = time.perf_counter()
                result = build_demo(ws, params, progress=progress)
                elapsed = time.perf_counter() - t0
            times.append(elapsed)
            data = _as_dict(result)
            print(f"  {elapsed:.1f} s; rows per kind: {data.get('counts')}")
        rows = _row_count(data)
        stats = summary(times, rows)
        line = (f"demo {agents:,} agents × {args.years} years: median {stats['median_s']:.1f} s "
                f"(min {stats['min_s']:.1f}, max {stats['max_s']:.1f})")
        if rows:
            line += f", {rows:,} rows, {stats['rows_per_s']:,.0f} rows/s"
        print(line)
        append_result({
            "bench": "build_demo",
            "database": "postgresql" if args.pg_url else "sqlite",
            "agents": agents,
            "years": args.years,
            "seed": args.seed,
            "repeat": args.repeat,
            "times_s": [round(t, 3) for t in times],
            **stats,
            "rows": rows,
            "demo_summary": data,
        })
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
