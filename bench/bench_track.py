"""Benchmark: the tracking engine on a demo agency (issue 4).

Builds (or reuses, with ``--home``) a demo workspace with its users, then measures:
- ``track run`` for the day after the data ends (the first run of a day: signals for the whole
  force, rules, one item per subject, owners) — items generated per second;
- the same day again (idempotent: nothing new) and the next day (carry-over, escalation);
- ``track list`` for one supervisor (the demo user ``supervisor``): min/median/max of R runs.

    python bench/bench_track.py --agents 3000 --years 3
    python bench/bench_track.py --agents 50000 --years 3 --home /tmp/demo50k   # reuse the build
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path

from _common import append_result, clean_environment  # type: ignore[import-not-found]
from sqlalchemy import delete

from zhuizong.access.users import load_actor
from zhuizong.demo.params import DemoParams
from zhuizong.demo.service import build_demo
from zhuizong.store.db import atomic
from zhuizong.store.models import table
from zhuizong.tracking.generate import run
from zhuizong.tracking.service import ListQuery, list_items
from zhuizong.workspace import Workspace


def stats(xs: list[float]) -> dict[str, float]:
    return {"min": round(min(xs), 4), "median": round(statistics.median(xs), 4), "max": round(max(xs), 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=3000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--home", type=Path, default=None, help="reuse/build the demo here")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--end", type=dt.date.fromisoformat, default=None, help="demo end date")
    args = ap.parse_args()
    clean_environment()
    home = args.home or Path(f"/tmp/zz-bench-track-{args.agents}x{args.years}")
    ws = Workspace.open(home)
    params = DemoParams(agents=args.agents, years=args.years,
                        **({"end_date": args.end} if args.end else {}))
    built = (home / "zhuizong.db").exists()
    ws.init()  # creates, or upgrades a reused workspace to the current schema
    if not built:
        t = time.perf_counter()
        build_demo(ws, params)
        print(f"demo built in {time.perf_counter() - t:.1f}s")
    with ws.engine.connect() as conn:
        end = conn.execute(table("premiums").select().with_only_columns(
            table("premiums").c.txn_date).order_by(table("premiums").c.txn_date.desc()).limit(1)).scalar()
    day = end + dt.timedelta(days=1)
    # start from no tracking history, so the first run is a real first run
    with atomic(ws.engine) as conn:
        for name in ("track_events", "track_records", "track_reasons", "track_items", "track_runs"):
            conn.execute(delete(table(name)))
    runs = []
    for label, d in (("first run", day), ("same day again", day), ("next day", day + dt.timedelta(days=1))):
        t = time.perf_counter()
        s = run(ws, d)
        sec = time.perf_counter() - t
        runs.append({"label": label, "date": d.isoformat(), "seconds": round(sec, 3),
                     "signals_seconds": s.signals_seconds, "opened": s.opened, "carried": s.carried,
                     "auto_closed": s.auto_closed, "escalated": s.escalated, "live": s.live,
                     "reasons_fired": s.reasons_fired})
        print(f"track run {label} {d}: {sec:.2f}s (signals {s.signals_seconds:.2f}s) "
              f"opened {s.opened}, carried {s.carried}, auto-closed {s.auto_closed}, "
              f"escalated {s.escalated}, live {s.live}")
    first = runs[0]
    items_per_s = round(first["opened"] / first["seconds"], 1) if first["seconds"] else None
    print(f"items generated per second (first run): {items_per_s}")
    with ws.engine.connect() as conn:
        actor = load_actor(conn, "supervisor")
    times, n = [], 0
    for _ in range(args.repeat):
        t = time.perf_counter()
        n = len(list_items(ws, actor, ListQuery(status="open")))
        times.append(time.perf_counter() - t)
    print(f"track list for the supervisor ({n} items): {stats(times)} s")
    append_result({"bench": "track", "agents": args.agents, "years": args.years, "runs": runs,
                   "items_per_s": items_per_s, "list_supervisor_s": stats(times), "list_items": n})


if __name__ == "__main__":
    main()
