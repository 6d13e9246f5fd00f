"""Benchmark: ``assess run`` for a quarter on a demo agency (issue 5; goal ≤ 15 s at 50,000 agents).

Builds (or reuses, with ``--home``) a demo workspace, installs the demo basic law
(``ladder.toml``) and times, R times each:

- ``run`` of the last closed quarter with ``--recompute`` (the full computation: snapshot check,
  KPIs by agent for the window, trees, criteria, storing every result) — the number that matters;
- ``run`` of the same quarter without ``--recompute`` (frozen: returns the stored results);
- ``run`` of the current quarter (open window: provisional results with projections);
- ``list --outcome promote`` for the demo user ``assessment`` (scoped).

    python bench/bench_assess.py --agents 3000 --years 3
    python bench/bench_assess.py --home /tmp/demo50k-assess --agents 50000   # reuse a build
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path

from _common import append_result, clean_environment, machine_info  # type: ignore[import-not-found]
from sqlalchemy import delete, func, select

from zhuizong.access.actor import SYSTEM
from zhuizong.analytics import snapshot
from zhuizong.access.users import load_actor
from zhuizong.basiclaw.service import (
    ListQuery,
    install_demo_basic_law,
    list_results,
    run_assessment,
)
from zhuizong.demo.params import DemoParams
from zhuizong.demo.service import build_demo
from zhuizong.store.db import atomic
from zhuizong.store.models import table
from zhuizong.workspace import Workspace


def stats(xs: list[float]) -> dict[str, float]:
    return {"min": round(min(xs), 3), "median": round(statistics.median(xs), 3),
            "max": round(max(xs), 3)}


def _quarter(d: dt.date) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=3000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--home", type=Path, default=None, help="reuse/build the demo here")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-record", action="store_true", help="do not append to bench/results")
    args = ap.parse_args()
    clean_environment()
    home = args.home or Path(f"/tmp/zz-bench-assess-{args.agents}x{args.years}")
    ws = Workspace.open(home)
    built = (home / "zhuizong.db").exists()
    ws.init()  # creates, or upgrades a reused workspace to the current schema
    if not built:
        t = time.perf_counter()
        build_demo(ws, DemoParams(agents=args.agents, years=args.years))
        print(f"demo built in {time.perf_counter() - t:.1f}s")
    install_demo_basic_law(ws)
    t = time.perf_counter()
    snapshot.refresh(ws)  # a copied or rebuilt workspace re-exports its snapshot once: not timed
    print(f"snapshot refresh (untimed warm-up): {time.perf_counter() - t:.1f}s")
    p = table("premiums")
    with ws.engine.connect() as conn:
        end = conn.execute(select(func.max(p.c.txn_date))).scalar_one()
    today = end + dt.timedelta(days=1)
    q_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    closed = _quarter(q_start - dt.timedelta(days=1))
    current = _quarter(today)
    with atomic(ws.engine) as conn:  # start from no stored results
        conn.execute(delete(table("assess_results")))
        conn.execute(delete(table("assess_runs")))

    full, frozen, open_ = [], [], []
    n = 0
    for i in range(args.repeat):
        t = time.perf_counter()
        r = run_assessment(ws, SYSTEM, closed, as_of=today, recompute=i > 0)
        full.append(time.perf_counter() - t)
        n = sum(sum(c.values()) for c in r.counts.values())
        print(f"assess run {closed} (full computation, as of {today}): {full[-1]:.2f}s, "
              f"{n} results")
    for _ in range(args.repeat):
        t = time.perf_counter()
        r = run_assessment(ws, SYSTEM, closed, as_of=today)
        frozen.append(time.perf_counter() - t)
        assert r.frozen
    print(f"assess run {closed} again (frozen): {stats(frozen)} s")
    for _ in range(args.repeat):
        t = time.perf_counter()
        run_assessment(ws, SYSTEM, current, as_of=today)
        open_.append(time.perf_counter() - t)
    print(f"assess run {current} (open window, projections): {stats(open_)} s")
    with ws.engine.connect() as conn:
        actor = load_actor(conn, "assessment")
    lists = []
    rows = 0
    for _ in range(args.repeat):
        t = time.perf_counter()
        rows = len(list_results(ws, actor, ListQuery(closed, outcome="promote")))
        lists.append(time.perf_counter() - t)
    print(f"assess list {closed} --outcome promote --as assessment ({rows} rows): {stats(lists)} s")
    print(f"assess run {closed} full computation: {stats(full)} s (goal ≤ 15 s at 50,000 agents)")
    info = machine_info()
    print(f"machine: {info.get('cpu_count')} cores, {info.get('mem_gb')} GB, {info.get('platform')}")
    if args.no_record:
        return
    append_result({"bench": "assess", "agents": args.agents, "years": args.years,
                   "quarter": closed, "results": n, "run_full_s": stats(full),
                   "run_frozen_s": stats(frozen), "run_open_s": stats(open_),
                   "list_promote_s": stats(lists), "list_rows": rows})


if __name__ == "__main__":
    main()
