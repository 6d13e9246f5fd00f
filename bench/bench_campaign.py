"""Benchmark: campaign standings (issue 5) — goal ≤ 2 s for 50,000 eligible agents.

Builds (or reuses, with ``--home``) a demo workspace, defines a month-long FYP campaign covering
the demo's last month with *everyone* eligible (no rank, org or tenure filter; leavers kept), and
times ``campaigns.service.standings`` for the system actor (every row, names included) R times:
min / median / max. The first call, which may refresh the analytic snapshot, is reported apart.

    python bench/bench_campaign.py --agents 3000 --years 3
    python bench/bench_campaign.py --home /tmp/demo50k-campaign --no-record   # reuse a 50k build
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

from _common import append_result, clean_environment, machine_info, summary  # type: ignore[import-not-found]
from sqlalchemy import func, select

from zhuizong.access.actor import SYSTEM
from zhuizong.campaigns import service
from zhuizong.campaigns.config import parse_campaign
from zhuizong.demo.params import DemoParams
from zhuizong.demo.service import build_demo
from zhuizong.store.models import table
from zhuizong.workspace import Workspace


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=3000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--home", type=Path, default=None, help="reuse/build the demo here")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--team", default=None, help="also rank teams at this org level (e.g. group)")
    ap.add_argument("--no-record", action="store_true", help="do not append to bench/results")
    args = ap.parse_args()
    clean_environment()
    home = args.home or Path(f"/tmp/zz-bench-campaign-{args.agents}x{args.years}")
    ws = Workspace.open(home)
    built = (home / "zhuizong.db").exists()
    ws.init()
    if not built:
        t = time.perf_counter()
        build_demo(ws, DemoParams(agents=args.agents, years=args.years), users=False)
        print(f"demo built in {time.perf_counter() - t:.1f}s")
    p = table("premiums")
    with ws.engine.connect() as conn:
        end = conn.execute(select(func.max(p.c.txn_date))).scalar()
    start = end.replace(day=1)
    camp = parse_campaign({"id": "bench-all", "name": "基准测试 FYP 方案", "start": start, "end": end,
                           "measure": "fyp", "grace_days": 0,
                           "eligibility": {"exclude_leavers": False},
                           "tiers": [{"name": "铜", "threshold": 10000}, {"name": "银", "threshold": 30000},
                                     {"name": "金", "threshold": 60000}]}, "bench")
    service.define(ws, SYSTEM, [camp], "bench")
    t = time.perf_counter()
    st = service.standings(ws, SYSTEM, camp.id, end, args.team)
    first = time.perf_counter() - t
    print(f"first call (may refresh the snapshot): {first:.2f}s, {st.eligible:,} eligible agents")
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        st = service.standings(ws, SYSTEM, camp.id, end, args.team)
        times.append(time.perf_counter() - t)
    s = summary(times)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"standings, {st.eligible:,} eligible agents ({args.repeat} runs): min {s['min_s']}s, "
          f"median {s['median_s']}s, max {s['max_s']}s; load average {load}; {machine_info()}")
    if not args.no_record:
        append_result({"bench": "campaign_standings", "agents": args.agents, "years": args.years,
                       "home": str(home), "eligible": st.eligible, "as_of": dt.date.isoformat(end),
                       "team": args.team, "first_s": round(first, 3), **s,
                       "load_avg": list(load) if load else None})


if __name__ == "__main__":
    main()
