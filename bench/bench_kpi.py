"""Benchmark: the KPI engine on a demo agency (issue 3).

Builds (or reuses, with ``--home``) a demo workspace, then measures:
- snapshot rebuild (cold export of the system of record to Parquet);
- the full monthly report: every catalog metric, every org unit at every level, split by rank
  category, with plan / 同比 / 环比 (the derived metrics) — one engine call per org level;
  cold (first call after the rebuild, new process state) and warm (repeated), R runs each;
- snapshot refresh after importing one more month of premiums.

    python bench/bench_kpi.py --agents 3000 --years 3
    python bench/bench_kpi.py --agents 50000 --years 3 --home /tmp/demo50k   # reuse the build
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path

from _common import append_result, clean_environment, machine_info  # type: ignore[import-not-found]

from zhuizong.analytics import snapshot
from zhuizong.demo.params import DemoParams
from zhuizong.demo.service import build_demo
from zhuizong.kpi.engine import KpiRequest, compute
from zhuizong.workspace import Workspace


def monthly_report(ws: Workspace, period: str) -> int:
    """Every metric for every org unit at every level (one pass over the tree), by rank category."""
    res = compute(ws, KpiRequest(period=period, by="subtree", segment="rank_category"))
    return len(res.rows)


def stats(xs: list[float]) -> dict[str, float]:
    return {"min": round(min(xs), 3), "median": round(statistics.median(xs), 3),
            "max": round(max(xs), 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=3000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--home", type=Path, default=None, help="reuse/build the demo here")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    clean_environment()
    home = args.home or Path(f"/tmp/zz-bench-kpi-{args.agents}x{args.years}")
    ws = Workspace.open(home)
    params = DemoParams(agents=args.agents, years=args.years)
    if not (home / "zhuizong.db").exists():
        ws.init()
        t = time.perf_counter()
        build_demo(ws, params, users=False)
        print(f"demo built in {time.perf_counter() - t:.1f}s")
    end = params.end_date
    period = f"{end.year:04d}-{end.month:02d}"
    t = time.perf_counter()
    snapshot.rebuild(ws)
    rebuild_s = time.perf_counter() - t
    print(f"snapshot rebuild: {rebuild_s:.2f}s")
    cold, warm = [], []
    for _ in range(args.repeat):
        # cold: a fresh Workspace object (new DuckDB connection, Parquet read again)
        ws = Workspace.open(home)
        t = time.perf_counter()
        n = monthly_report(ws, period)
        cold.append(time.perf_counter() - t)
    for _ in range(args.repeat):
        t = time.perf_counter()
        monthly_report(ws, period)
        warm.append(time.perf_counter() - t)
    print(f"monthly report ({n:,} KPI rows, {period}): cold {stats(cold)}, warm {stats(warm)}")
    # one more month of premiums: move every premium of the last month forward by a month's copy
    import pandas as pd
    from sqlalchemy import text

    from zhuizong.importing.service import import_frame

    with ws.engine.connect() as conn:
        last = pd.read_sql(text("select * from premiums where txn_date >= :d"), conn,
                           params={"d": dt.date(end.year, end.month, 1)})
    nxt = last.assign(
        txn_id="N" + last.txn_id, txn_date=pd.to_datetime(last.txn_date) + pd.DateOffset(months=1),
        amount=last.amount_fen / 100, fyc=last.fyc_fen / 100,
        issue_date=pd.to_datetime(last.issue_date) + pd.DateOffset(months=1))
    nxt = nxt[["txn_id", "policy_no", "agent_code", "product_code", "txn_date", "txn_type",
               "amount", "issue_date", "policy_year", "fyc"]]
    res = import_frame(ws, "premiums", nxt, source_name="bench-next-month")
    assert res.status == "committed", res.errors[:3]
    t = time.perf_counter()
    info = snapshot.refresh(ws)
    refresh_s = time.perf_counter() - t
    print(f"refresh after one more month ({len(nxt):,} premium rows): {refresh_s:.2f}s "
          f"exported {info.exported}")
    append_result({"bench": "kpi", "agents": args.agents, "years": args.years,
                   "rebuild_s": round(rebuild_s, 3), "monthly_cold": stats(cold),
                   "monthly_warm": stats(warm), "refresh_s": round(refresh_s, 3),
                   "kpi_rows": n, "machine": machine_info(), "at": dt.datetime.now().isoformat()})


if __name__ == "__main__":
    main()
