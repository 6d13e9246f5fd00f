"""Benchmark: the KPI engine on a demo agency (issue 3).

Builds (or reuses, with ``--home``) a demo workspace, then measures:
- snapshot rebuild (cold export of the system of record to Parquet);
- the full monthly report: every catalog metric, every org unit at every level, split by rank
  category, with plan / 同比 / 环比 (the derived metrics) — one engine call per org level;
  cold (first call after the rebuild, new process state) and warm (repeated), R runs each;
- the results store: the whole build (``zhuizong analytics build``), then reads of stored rows
  (a unit's children, a unit's cards, children by rank category, the full report);
- a straightforward pandas computation of the same monthly core report (FYP, cases, active,
  headcount open/close by child org unit of the root) from the system-of-record tables, timed
  next to the engine on the same request (and checked to give the same numbers);
- snapshot refresh and the store's build after importing one more month of premiums.

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
from zhuizong.kpi.engine import KpiRequest, KpiResult, compute
from zhuizong.workspace import Workspace

#: the core monthly report the pandas baseline computes too
CORE = ("fyp", "cases", "active", "headcount_open", "headcount_close")


def monthly_report(ws: Workspace, period: str) -> KpiResult:
    """Every metric for every org unit at every level (one pass over the tree), by rank category:
    the result's table (``KpiResult.frame()`` / ``columns()``; row objects are built only when
    ``rows`` is read — timed separately)."""
    return compute(ws, KpiRequest(period=period, by="subtree", segment="rank_category"))


def pandas_core_report(ws: Workspace, period: str) -> dict[tuple[str, str], float]:
    """The core monthly report by child org unit of the root, in plain pandas from the system of
    record (employment_spells, agent_history, premiums of the month, products, org_units), with
    the engine's semantics for the default settings (natural month, received basis, net cases,
    FYP > 0 active rule, attribution on the transaction date / the snapshot day)."""
    import pandas as pd
    from sqlalchemy import text

    y, m = (int(x) for x in period.split("-"))
    start = pd.Timestamp(y, m, 1)
    end = start + pd.offsets.MonthEnd(0)
    with ws.engine.connect() as conn:
        orgs = pd.read_sql(text("select org_code, parent_code from org_units"), conn)
        hist = pd.read_sql(text("select agent_code, valid_from, org_code from agent_history"), conn)
        spells = pd.read_sql(text("select agent_code, hire_date, leave_date from employment_spells"),
                             conn)
        prods = pd.read_sql(text("select product_code, is_main from products"), conn)
        prem = pd.read_sql(text(
            "select policy_no, agent_code, product_code, txn_date, txn_type, amount_fen "
            "from premiums where txn_date >= :s and txn_date <= :e"), conn,
            params={"s": start.date(), "e": end.date()})
    # org unit -> child of the root that contains it
    parent = dict(zip(orgs.org_code, orgs.parent_code, strict=True))
    root = next(o for o, p in parent.items() if p is None or p != p)
    top: dict[str, str | None] = {}
    for o in parent:
        x, path = o, []
        while x is not None and x == x and x != root:
            path.append(x)
            x = parent[x]
        top[o] = path[-1] if path else None
    hist["valid_from"] = pd.to_datetime(hist.valid_from).astype("datetime64[ns]")
    hist = hist.sort_values("valid_from")
    first = hist.drop_duplicates("agent_code")[["agent_code", "org_code"]]

    def place(df: pd.DataFrame, day_col: str) -> pd.Series:
        """org unit of each row's agent on its day (earliest row before the first placement)"""
        d = df[["agent_code", day_col]].reset_index()
        d[day_col] = d[day_col].astype("datetime64[ns]")
        d = d.sort_values(day_col)
        j = pd.merge_asof(d, hist, left_on=day_col, right_on="valid_from", by="agent_code")
        j = j.set_index("index").sort_index()
        fill = j.agent_code.map(dict(zip(first.agent_code, first.org_code, strict=True)))
        return j.org_code.fillna(fill).map(top)

    out: dict[tuple[str, str], float] = {}
    prem["txn_date"] = pd.to_datetime(prem.txn_date)
    prem = prem.merge(prods, on="product_code")
    prem["unit"] = place(prem, "txn_date").values
    sign = prem.txn_type.map({"new": 1, "fy_renewal": 1, "free_look_cancel": -1, "surrender": -1,
                              "renewal": 0})
    prem["fyp"] = prem.amount_fen * sign
    for u, v in prem.groupby("unit").fyp.sum().items():
        out[(u, "fyp")] = v / 100
    main = prem[prem.is_main.astype(bool)]
    new = main[main.txn_type == "new"].groupby("unit").policy_no.nunique()
    canc = main[main.txn_type == "free_look_cancel"].groupby("unit").policy_no.nunique()
    for u, v in new.sub(canc, fill_value=0).items():
        out[(u, "cases")] = float(v)
    per_agent = prem.groupby(["unit", "agent_code"]).fyp.sum()
    for u, v in (per_agent > 0).groupby(level=0).sum().items():
        out[(u, "active")] = float(v)
    spells["hire_date"] = pd.to_datetime(spells.hire_date)
    spells["leave_date"] = pd.to_datetime(spells.leave_date)
    for metric, day in (("headcount_open", start - pd.Timedelta(days=1)), ("headcount_close", end)):
        sp = spells[(spells.hire_date <= day) & (spells.leave_date.isna() | (spells.leave_date > day))]
        sp = sp.assign(day=day)
        for u, v in place(sp, "day").value_counts().items():
            out[(u, metric)] = float(v)
    return out


def engine_core_report(ws: Workspace, period: str) -> dict[tuple[str, str], float]:
    res = compute(ws, KpiRequest(period=period, by="children", metrics=CORE))
    return {(r.org_code, r.metric): float(r.value or 0) for r in res.rows}


def stats(xs: list[float]) -> dict[str, float]:
    return {"min": round(min(xs), 3), "median": round(statistics.median(xs), 3),
            "max": round(max(xs), 3)}


def pandas_full(home: Path, period: str, repeat: int) -> None:
    """``--pandas-full``: the full monthly report (every unit at every level × segments none and
    rank_category × every metric) by the engine (``compute`` by="subtree", one call per
    segment) and by the vectorised pandas baseline ``bench/pandas_report.full_report`` (which
    reads the Parquet snapshot on every call), alternately, ``repeat`` runs each in this one
    run; every run starts from a fresh ``Workspace`` (new DuckDB connection). The last runs'
    outputs are compared exactly (``pandas_report.mismatches``)."""
    import pandas_report  # type: ignore[import-not-found]

    ws = Workspace.open(home)
    snapshot.refresh(ws)  # both sides read the same, fresh snapshot
    pandas_report.check_settings(ws)
    grace = ws.settings.kpi.persistency_grace_days
    eng_times: list[float] = []
    eng_seg: dict[str, list[float]] = {s: [] for s in pandas_report.SEGMENTS}
    pd_times: list[float] = []
    for _ in range(repeat):
        ws = Workspace.open(home)
        frames = []
        t0 = time.perf_counter()
        for seg in pandas_report.SEGMENTS:
            t = time.perf_counter()
            res = compute(ws, KpiRequest(period=period, by="subtree", segment=seg))
            eng_seg[seg].append(time.perf_counter() - t)
            frames.append(res)
        eng_times.append(time.perf_counter() - t0)
        t = time.perf_counter()
        by_pandas = pandas_report.full_report(ws.analytics_dir, period, grace_days=grace)
        pd_times.append(time.perf_counter() - t)
    import pandas as pd

    by_engine = pd.concat([r.frame() for r in frames], ignore_index=True)
    bad = pandas_report.mismatches(by_engine, by_pandas)
    ratio = statistics.median(pd_times) / statistics.median(eng_times)
    print(f"full monthly report ({len(by_pandas):,} rows, {period}): engine {stats(eng_times)} "
          f"(none {stats(eng_seg['none'])}, rank_category {stats(eng_seg['rank_category'])}), "
          f"pandas {stats(pd_times)}, pandas/engine {ratio:.2f}x; "
          f"{'same numbers' if bad.empty else f'{len(bad)} MISMATCHES'}")
    append_result({"bench": "kpi_pandas_full", "home": str(home), "period": period,
                   "runs": repeat, "rows": len(by_pandas), "engine": stats(eng_times),
                   "engine_none": stats(eng_seg["none"]),
                   "engine_rank_category": stats(eng_seg["rank_category"]),
                   "pandas": stats(pd_times), "pandas_over_engine": round(ratio, 2),
                   "mismatches": len(bad), "loadavg": _loadavg(),
                   "at": dt.datetime.now().isoformat()})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=3000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--home", type=Path, default=None, help="reuse/build the demo here")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--pandas-full", action="store_true",
                    help="only time the full monthly report: engine vs bench/pandas_report.py")
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
    from zhuizong.demo.params import last_closed_month

    ws.init()  # upgrade a reused workspace to the current schema
    end = params.end_date
    period = last_closed_month(end)  # the monthly report of the last closed month
    if args.pandas_full:
        pandas_full(home, period, args.repeat)
        return
    t = time.perf_counter()
    snapshot.rebuild(ws)
    rebuild_s = time.perf_counter() - t
    print(f"snapshot rebuild: {rebuild_s:.2f}s")
    cold, warm = [], []
    for _ in range(args.repeat):
        # cold: a fresh Workspace object (new DuckDB connection, Parquet read again)
        ws = Workspace.open(home)
        t = time.perf_counter()
        res = monthly_report(ws, period)
        cold.append(time.perf_counter() - t)
    n = len(res)
    for _ in range(args.repeat):
        t = time.perf_counter()
        res = monthly_report(ws, period)
        warm.append(time.perf_counter() - t)
    print(f"monthly report ({n:,} KPI rows, {period}): cold {stats(cold)}, warm {stats(warm)}")
    t = time.perf_counter()
    assert len(res.rows) == n
    rows_s = time.perf_counter() - t
    t = time.perf_counter()
    res.as_json()
    json_s = time.perf_counter() - t
    print(f"  then building its {n:,} KpiRow objects: {rows_s:.2f}s; as_json: {json_s:.2f}s")
    # the results store: the whole build, then reads of a dashboard's and the full report's rows
    from zhuizong.kpi import results

    t = time.perf_counter()
    built = results.build(ws, through=end, force=True)
    build_s = time.perf_counter() - t
    print(f"results store built: {built.periods} periods, {built.rows:,} rows in {build_s:.1f}s")
    mat: dict[str, dict[str, float]] = {}
    import pyarrow.parquet as _pq

    orgs = _pq.read_table(snapshot.tables(ws)["orgs"]).to_pandas()
    parents = sorted(set(orgs.parent_code.dropna()))
    for name, make in (
            ("dashboard_children", lambda i: KpiRequest(
                period=period, org=parents[(i * 7919) % len(parents)], by="children",
                metrics=("fyp", "fyp_plan_rate", "cases", "headcount_close", "active",
                         "activity_rate", "new_hires", "leavers"))),
            ("unit_card", lambda i: KpiRequest(period=period, org=parents[(i * 7919) % len(parents)],
                                               metrics=("fyp", "fyp_yoy", "fyp_mom", "cases"))),
            ("children_by_category", lambda i: KpiRequest(
                period=period, org=parents[(i * 7919) % len(parents)], by="children",
                segment="rank_category")),
            ("full_report", lambda i: KpiRequest(period=period, by="subtree",
                                                 segment="rank_category"))):
        reads = []
        before = results.STATS["store"]
        for i in range(max(args.repeat, 5)):
            t = time.perf_counter()
            results.get(ws, make(i))
            reads.append(time.perf_counter() - t)
        assert results.STATS["store"] - before == len(reads), name  # every read from the store
        mat[name] = stats(reads)
        print(f"store read ({name}): {stats(reads)}")
    warm_tree_s = build_s
    # the same core report in plain pandas, next to the engine
    pd_times, eng_times = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        by_pandas = pandas_core_report(ws, period)
        pd_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        by_engine = engine_core_report(ws, period)
        eng_times.append(time.perf_counter() - t)
    diff = {k: (v, by_engine.get(k, 0.0)) for k, v in by_pandas.items()
            if abs(v - by_engine.get(k, 0.0)) > 1e-6}
    diff.update({k: (by_pandas.get(k, 0.0), v) for k, v in by_engine.items()
                 if k not in by_pandas and v != 0})
    ratio = statistics.median(pd_times) / statistics.median(eng_times)
    print(f"core report by child unit: pandas {stats(pd_times)}, engine {stats(eng_times)}, "
          f"pandas/engine {ratio:.2f}x; {'same numbers' if not diff else f'DIFFERENT: {diff}'}")
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
    t = time.perf_counter()
    rebuilt = results.build(ws, through=end)
    store_refresh_s = time.perf_counter() - t
    print(f"results store after that import: {rebuilt.rows:,} rows in {store_refresh_s:.1f}s")
    append_result({"bench": "kpi", "agents": args.agents, "years": args.years,
                   "rebuild_s": round(rebuild_s, 3), "monthly_cold": stats(cold),
                   "monthly_warm": stats(warm), "monthly_rows_s": round(rows_s, 3),
                   "monthly_json_s": round(json_s, 3), "refresh_s": round(refresh_s, 3),
                   "store_read": mat, "store_build_s": round(warm_tree_s, 3),
                   "store_rows": built.rows, "store_refresh_s": round(store_refresh_s, 3),
                   "core_pandas": stats(pd_times),
                   "core_engine": stats(eng_times), "core_ratio": round(ratio, 2),
                   "core_same": not diff,
                   "kpi_rows": n, "machine": machine_info(), "loadavg": _loadavg(),
                   "at": dt.datetime.now().isoformat()})


def _loadavg() -> str | None:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return None


if __name__ == "__main__":
    main()
