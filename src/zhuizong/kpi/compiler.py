"""Compile base measures (IR leaves) into grouped Ibis expressions over the analytic snapshot.

Every leaf becomes one number per (grain unit, segment). Attribution follows docs/kpi-engine.md:
facts are placed with a range join on the agent's dated placement (no ASOF joins), mapped to the
requested units through ``org_ancestors`` (so distinct counts are computed at every level from the
facts, never summed from children), and aggregated. Only portable Ibis operations are used
(joins, filters, window ``lag``, ``nunique``, ``ifelse``), so the same expressions can run on Spark.
"""

from __future__ import annotations

import datetime as dt
import glob
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from zhuizong.analytics import snapshot
from zhuizong.analytics.calendar import Period, day_num, from_day_num
from zhuizong.kpi import backends
from zhuizong.kpi.ir import (
    Active,
    Cohort,
    Leaf,
    Meetings,
    People,
    Plan,
    Production,
    ToolUse,
)
from zhuizong.settings import Settings
from zhuizong.workspace import Workspace

OPEN_DAY = 10_000_000
FEN = Decimal(100)
_D0 = Decimal(0)

#: empty-table schemas for fact tables that have no partition yet
_FACT_SCHEMAS: dict[str, pa.Schema] = {
    "premiums": pa.schema([
        ("txn_id", pa.string()), ("policy_no", pa.string()), ("agent_code", pa.string()),
        ("product_code", pa.string()), ("txn_type", pa.string()), ("txn_day", pa.int32()),
        ("issue_day", pa.int32()), ("amount_fen", pa.int64()), ("fyc_fen", pa.decimal128(24, 6)),
        ("std_fen", pa.decimal128(24, 4)), ("fyp_sign", pa.int8()), ("is_main", pa.bool_()),
        ("pay_mode", pa.string()), ("term_years", pa.int32()), ("policy_year", pa.int32()),
    ]),
    "attendance": pa.schema([
        ("agent_code", pa.string()), ("day", pa.int32()), ("meeting", pa.string()),
        ("status", pa.string()), ("attended", pa.bool_()),
    ]),
    "work_logs": pa.schema([("agent_code", pa.string()), ("day", pa.int32()),
                            *((c, pa.int32()) for c in ("calls", "visits", "interviews",
                                                        "proposals", "closes", "referrals",
                                                        "recruit_talks"))]),
}


def snap_frame(con: Any, table: ir.Table) -> pd.DataFrame:
    """A small snapshot table as a DataFrame, through Arrow: the same frame as ``con.execute``
    (decimals as Decimal, same dtypes) without Ibis' per-value decimal conversion."""
    return con.to_pyarrow(table).to_pandas()


@dataclass
class Snapshot:
    #: the engine the expressions run on (:mod:`zhuizong.kpi.backends`)
    backend: backends.Backend
    t: dict[str, ir.Table]
    orgs_df: pd.DataFrame
    anc_df: pd.DataFrame
    ranks_df: pd.DataFrame
    #: frames read on first use (``placements_df``, ``plans_df``): most requests need neither
    _lazy: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def open(cls, ws: Workspace, *, refresh_first: bool = True, engine: str = "duckdb",
             master: str | None = None) -> Snapshot:
        """Open the snapshot (refreshed first when the database changed, unless the caller
        just did: ``refresh_first=False``) on ``engine`` (:mod:`zhuizong.kpi.backends`)."""
        paths = snapshot.tables(ws, refresh_first=refresh_first)
        backend = backends.connect(engine, master)
        con = backend.con
        t: dict[str, ir.Table] = {}
        for name, path in paths.items():
            if any(ch in path for ch in "*?") and not glob.glob(path):
                t[name] = ibis.memtable(_FACT_SCHEMAS[name].empty_table())
            else:
                t[name] = backend.read_parquet(path, f"zz_{name}")
        orgs, anc, ranks = (snap_frame(con, t[n]) for n in ("orgs", "org_ancestors", "ranks"))
        return cls(backend, t, orgs, anc, ranks)

    @property
    def con(self) -> Any:
        """The engine's Ibis connection."""
        return self.backend.con

    def close(self) -> None:
        try:
            self.backend.close()
        except Exception:  # closing a connection that failed is not an error
            pass

    def _frame(self, name: str) -> pd.DataFrame:
        with self._lock:
            if name not in self._lazy:
                self._lazy[name] = snap_frame(self.con, self.t[name])
            return self._lazy[name]

    def cached(self, name: str, expr: ir.Table) -> ir.Table:
        """``expr`` computed once for this snapshot and kept by the engine
        (:meth:`zhuizong.kpi.backends.Backend.cache`; not ``Table.cache``, whose finaliser fails
        at exit with this DuckDB)."""
        key = ("cached", name)
        with self._lock:
            if key not in self._lazy:
                self._lazy[key] = self.backend.cache(f"zz_cached_{name}", expr)
            return self._lazy[key]

    @property
    def placements_df(self) -> pd.DataFrame:
        return self._frame("placements")

    @property
    def plans_df(self) -> pd.DataFrame:
        return self._frame("plans")

    def agent_org_at(self, day: dt.date, agents: Any = None) -> dict[str, str]:
        """Agent → org unit on ``day`` (agents not placed that day: their first unit); only for
        ``agents`` when given (a small unit's request need not map the whole company)."""
        p = self.placements_df
        if agents is not None and len(agents) * 4 < len(p):
            p = p[p.agent_code.isin(list(agents))]
        d = day_num(day)
        cur = p[(p.from_day <= d) & (p.to_day > d)]
        first = p.sort_values("from_day").drop_duplicates("agent_code")
        out = dict(zip(first.agent_code, first.org_code, strict=True))
        out.update(zip(cur.agent_code, cur.org_code, strict=True))
        return out


class SnapshotPool:
    """Open snapshots kept between the requests of a long-running process (the web app).

    Opening a snapshot (a DuckDB connection, the Parquet views, the org tables; later the
    placements kept as a temporary table) costs more than a small request's own queries. The
    pool keeps idle snapshots per workspace and **data version** (:func:`zhuizong.kpi.materialized
    .data_version`): a lease for another version closes the idle ones of the old version, so a
    snapshot never outlives the data it was opened on. Each snapshot is used by one thread at a
    time (a DuckDB connection is not shared between threads); at most ``keep`` idle snapshots are
    kept per workspace and ``keep_workspaces`` workspaces (least recently used first out)."""

    def __init__(self, keep: int = 4, keep_workspaces: int = 4) -> None:
        self.keep = keep
        self.keep_workspaces = keep_workspaces
        self._lock = threading.Lock()
        #: workspace key -> (data version, idle snapshots); insertion order = least recent first
        self._idle: dict[str, tuple[str, list[Snapshot]]] = {}
        self.opened = 0  # snapshots opened (tests, benchmarks)

    @staticmethod
    def _key(ws: Workspace) -> str:
        return str(ws.analytics_dir.resolve())

    @contextmanager
    def lease(self, ws: Workspace, version: str) -> Iterator[Snapshot]:
        """A snapshot of ``ws`` at ``version`` for the duration of the block (the caller has
        just refreshed the snapshot and read ``version``)."""
        key = self._key(ws)
        stale: list[Snapshot] = []
        snap: Snapshot | None = None
        with self._lock:
            entry = self._idle.pop(key, None)
            if entry is not None:
                if entry[0] == version:
                    if entry[1]:
                        snap = entry[1].pop()
                    self._idle[key] = entry  # most recently used last
                else:
                    stale = entry[1]
        for old in stale:
            old.close()
        if snap is None:
            snap = Snapshot.open(ws, refresh_first=False)
            with self._lock:
                self.opened += 1
        try:
            yield snap
        except BaseException:
            snap.close()  # a failed query may leave the connection in any state
            raise
        self._give_back(key, version, snap)

    def _give_back(self, key: str, version: str, snap: Snapshot) -> None:
        closing: list[Snapshot] = []
        with self._lock:
            entry = self._idle.get(key)
            if entry is None or entry[0] != version:
                if entry is not None:
                    closing.extend(entry[1])
                entry = (version, [])
            self._idle.pop(key, None)
            self._idle[key] = entry
            if len(entry[1]) < self.keep:
                entry[1].append(snap)
            else:
                closing.append(snap)
            while len(self._idle) > self.keep_workspaces:
                oldest = next(iter(self._idle))
                closing.extend(self._idle.pop(oldest)[1])
        for s in closing:
            s.close()

    def clear(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for _v, snaps in idle.values():
            for s in snaps:
                s.close()


#: the process's snapshot pool (used by :func:`zhuizong.kpi.materialized.get`)
POOL = SnapshotPool()


@dataclass(frozen=True)
class Grain:
    units: list[str]
    agent_of: str | None = None  # set: one row per agent within this unit's subtree


@dataclass
class Context:
    snap: Snapshot
    period: Period
    settings: Settings
    grain: Grain
    segment: str
    #: also the unsplit rows (segment ``all``) besides ``segment``'s, from the same queries: the
    #: split is aggregated first and the totals are added from it where that is exact (sums and
    #: counts), or counted separately where it is not (distinct policies)
    with_all: bool = False
    _cache: dict[Any, Any] = field(default_factory=dict)
    #: "collect" mode: when a list, :meth:`run` records each expression here and returns an empty
    #: frame of the expression's schema instead of executing it (see :func:`expressions`)
    collected: list[ir.Table] | None = None

    def run_arrow(self, expr: ir.Table) -> pa.Table:
        """Execute ``expr`` into an Arrow table (exact: decimals stay decimals, integer columns
        with nulls stay integers). In collect mode: record it, return an empty table."""
        if self.collected is not None:
            self.collected.append(expr)
            return expr.schema().to_pyarrow().empty_table()
        return self.snap.con.to_pyarrow(expr)

    def run(self, expr: ir.Table) -> pd.DataFrame:
        if self.collected is not None:
            self.collected.append(expr)
            return pd.DataFrame({name: pd.Series([], dtype=object) for name in expr.columns})
        # via Arrow: decimal columns become Python Decimals in C (pyarrow), exactly, instead of
        # Ibis' per-value pandas conversion, which dominated large by-agent requests
        tbl = self.snap.con.to_pyarrow(expr)
        return pd.DataFrame({name: (col.to_pylist() if pa.types.is_decimal(col.type)
                                    else col.to_pandas())
                             for name, col in zip(tbl.column_names, tbl.columns, strict=True)})


def is_nullable(leaf: Leaf) -> bool:
    """Leaves whose absence means "unknown" (null), not zero."""
    return isinstance(leaf, Plan)


# --- shared building blocks -------------------------------------------------------------------


def _placements(ctx: Context) -> ir.Table:
    """Placements with the earliest row extended backwards (days before the first hire)."""
    if "placements" not in ctx._cache:
        p = ctx.snap.t["placements"]
        first = p.group_by("agent_code").aggregate(first_from=p.from_day.min())
        p = p.join(first, "agent_code")
        p = p.mutate(from_day=ibis.ifelse(p.from_day == p.first_from, -OPEN_DAY, p.from_day))
        p = p.select(
            p_agent=p.agent_code, p_from=p.from_day, p_to=p.to_day, leaf=p.org_code,
            category=p.category, rank_code=p.rank_code,
        )
        if ctx.collected is None:
            # computed once per snapshot and kept by the backend (``Table.cache``, a temporary
            # table): nearly every query places its rows, and each would recompute it
            p = ctx.snap.cached("placements", p)
        ctx._cache["placements"] = p
    return ctx._cache["placements"]


def _place(ctx: Context, t: ir.Table, day: str) -> ir.Table:
    """Join each row of ``t`` (with ``agent_code``) to its placement on its column ``day``.

    ``t`` is first made a relation of its own (``view``): it may be the output of another join,
    and a join predicate may only reference the relations being joined.
    """
    t = t.view()
    p = _placements(ctx)
    placed = t.join(p, [t.agent_code == p.p_agent, p.p_from <= t[day], t[day] < p.p_to])
    if ctx.segment == "tenure":
        placed = _with_tenure(ctx, placed, day)
    return placed


def _segment_value(ctx: Context, t: ir.Table) -> ir.Value:
    if ctx.segment == "rank_category":
        return t.category
    if ctx.segment == "rank":
        return t.rank_code
    if ctx.segment == "tenure":
        return t.tenure
    return ibis.literal("all")


# --- tenure (docs/kpi-engine.md, "Tenure segment") ----------------------------------------------

#: tenure buckets: (label, first tenure month, first tenure month of the next bucket or None)
TENURE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("M0", 0, 1), ("M1-3", 1, 4), ("M4-6", 4, 7), ("M7-12", 7, 13), ("M13+", 13, None))
TENURE_SEGMENTS: tuple[str, ...] = tuple(b[0] for b in TENURE_BUCKETS)
#: the basis-month table of the tenure computation spans at least these years
_TENURE_YEARS = (1900, 2200)


def _month_table(ctx: Context) -> ir.Table:
    """Basis months as day ranges: ``m_idx`` (year × 12 + month − 1), ``m_start``, ``m_end``."""
    if "months" not in ctx._cache:
        basis = ctx.period.basis
        lo, hi = _TENURE_YEARS
        p = ctx.snap.placements_df
        if len(p):
            known = [int(v) for v in (p.from_day.min(), p.to_day[p.to_day < OPEN_DAY].max())
                     if v == v and abs(int(v)) < OPEN_DAY]
            years = [from_day_num(v).year for v in known]
            lo, hi = min([lo, *years]) - 1, max([hi, *years]) + 2
        rows = []
        for y in range(lo, hi + 1):
            for m in range(1, 13):
                s_, e_ = basis.month_bounds(y, m)
                rows.append((y * 12 + m - 1, day_num(s_), day_num(e_)))
        df = pd.DataFrame(rows, columns=["m_idx", "m_start", "m_end"]).astype("int64")
        ctx._cache["months"] = ibis.memtable(df)
    return ctx._cache["months"]


def _tenure_intervals(ctx: Context) -> ir.Table:
    """Per agent, the day ranges ``[t_from, t_to)`` of each tenure bucket (column ``tenure``).

    The current spell on day d is the latest spell hired on or before d (the first spell for days
    before every hire); the tenure month on d is the number of basis months from the spell's hire
    month to d's month. Built from ``spells`` and the month table with window ``lag``/``lead`` and
    equi/range joins only (portable).
    """
    if "tenure" in ctx._cache:
        return ctx._cache["tenure"]
    sp = ctx.snap.t["spells"]
    w = ibis.window(group_by=sp.agent_code, order_by=sp.hire_day)
    sp = sp.mutate(prev_hire=sp.hire_day.lag().over(w), next_hire=sp.hire_day.lead().over(w))
    sp = sp.select(
        s_agent=sp.agent_code, s_hire=sp.hire_day,
        s_from=ibis.ifelse(sp.prev_hire.isnull(), ibis.literal(-OPEN_DAY, type="int64"),
                           sp.hire_day.cast("int64")),
        s_to=sp.next_hire.cast("int64").fill_null(OPEN_DAY))
    cal = _month_table(ctx)
    h = sp.join(cal, [sp.s_hire >= cal.m_start, sp.s_hire <= cal.m_end])
    h = h.select(h.s_agent, h.s_from, h.s_to, h_idx=h.m_idx)
    bk = ibis.memtable(pd.DataFrame(
        [(label, lo, -1 if hi is None else hi) for label, lo, hi in TENURE_BUCKETS],
        columns=["tenure", "b_lo", "b_hi"]).astype({"b_lo": "int64", "b_hi": "int64"}))
    x = h.cross_join(bk)
    lo_m = cal.select(lo_idx=cal.m_idx, lo_start=cal.m_start)
    x = x.left_join(lo_m, x.h_idx + x.b_lo == lo_m.lo_idx)
    x = x.select(*(c for c in x.columns if c != "lo_idx"))
    hi_m = cal.select(hi_idx=cal.m_idx, hi_start=cal.m_start)
    x = x.left_join(hi_m, x.h_idx + x.b_hi == hi_m.hi_idx)
    t_from = ibis.ifelse(x.b_lo == 0, x.s_from,
                         ibis.greatest(x.s_from, x.lo_start.fill_null(OPEN_DAY)))
    t_to = ibis.ifelse(x.b_hi < 0, x.s_to, ibis.least(x.s_to, x.hi_start.fill_null(OPEN_DAY)))
    x = x.select(t_agent=x.s_agent, t_from=t_from, t_to=t_to, tenure=x.tenure)
    ctx._cache["tenure"] = x.filter(x.t_from < x.t_to)
    return ctx._cache["tenure"]


def _with_tenure(ctx: Context, t: ir.Table, day: str) -> ir.Table:
    """Add ``tenure`` (the bucket label on column ``day``) to rows with ``agent_code``."""
    t = t.view()
    tn = _tenure_intervals(ctx)
    j = t.join(tn, [t.agent_code == tn.t_agent, tn.t_from <= t[day], t[day] < tn.t_to])
    return j.select(*(c for c in j.columns if c not in ("t_agent", "t_from", "t_to")))


def _in_units(ctx: Context, anc: ir.Table) -> ir.Table:
    """``org_ancestors`` rows whose ancestor is a grain unit. A long unit list is joined as a small
    table rather than written into the expression as an IN (...) list: thousands of literals make
    Ibis/sqlglot compilation, not the query, the slow part."""
    units = ctx.grain.units
    if len(units) <= 64:
        return anc.filter(anc.ancestor_code.isin(units))
    key = ("units", tuple(units))
    if key not in ctx._cache:
        ctx._cache[key] = ibis.memtable(pd.DataFrame({"grain_unit": pd.Series(units, dtype="string")}))
    u = ctx._cache[key]
    return anc.join(u, anc.ancestor_code == u.grain_unit).drop("grain_unit")


def _to_units(ctx: Context, t: ir.Table) -> ir.Table:
    """Map placed rows (with ``leaf``) to grain units; adds ``unit`` and ``seg``."""
    anc = ctx.snap.t["org_ancestors"]
    if ctx.grain.agent_of is not None:
        sub = anc.filter(anc.ancestor_code == ctx.grain.agent_of)
        j = t.join(sub, t.leaf == sub.org_code)
        return j.mutate(unit=j.agent_code, seg=_segment_value(ctx, j))
    a = _in_units(ctx, anc)
    j = t.join(a, t.leaf == a.org_code)
    return j.mutate(unit=j.ancestor_code, seg=_segment_value(ctx, j))


def _collect(df: pd.DataFrame, col: str, scale: Decimal = Decimal(1)) -> dict[tuple[str, str], Decimal]:
    out: dict[tuple[str, str], Decimal] = {}
    for u, s, v in zip(df["unit"], df["seg"], df[col], strict=True):
        if v is None or (isinstance(v, float) and pd.isna(v)):
            continue
        out[(u, s)] = Decimal(str(v)) / scale if scale != 1 else Decimal(str(v))
    return out


def _decimals(col: pa.ChunkedArray | pa.Array, scale: Decimal = Decimal(1)) -> list[Decimal | None]:
    """The values of an Arrow column as ``_collect`` reads them — ``Decimal(str(v)) / scale``,
    None for a null (or NaN) — in the same decimal representation (an integer as ``5``, never
    ``5.0``: integer columns with nulls are not turned into floats)."""
    typ = col.type
    vals = col.to_pylist()
    if pa.types.is_decimal(typ):
        out: list[Decimal | None] = vals  # Decimal(str(d)) is d, exponent included
    elif pa.types.is_integer(typ):
        out = [None if v is None else Decimal(v) for v in vals]
    else:
        out = [None if v is None or (isinstance(v, float) and v != v) else Decimal(str(v))
               for v in vals]
    if scale != 1:
        out = [None if v is None else v / scale for v in out]
    return out


@dataclass
class Values:
    """One base measure by (unit, seg), column-wise: ``unit[i]``, ``seg[i]`` → ``values[i]``
    (Decimal; None = no value, as a key missing from the dict form). What the runners return
    instead of a dict per key: the engine aligns the columns with its output keys at once, and
    :meth:`to_dict` gives exactly the dict :func:`_collect` would
    (:func:`zhuizong.kpi.runners.evaluate_leaves`)."""

    unit: list[Any]
    seg: list[Any]
    values: list[Decimal | None]

    @classmethod
    def from_arrow(cls, tbl: pa.Table, col: str, scale: Decimal = Decimal(1)) -> Values:
        return cls(tbl.column("unit").to_pylist(), tbl.column("seg").to_pylist(),
                   _decimals(tbl.column(col), scale))

    @classmethod
    def from_dict(cls, d: dict[tuple[str, str], Any]) -> Values:
        return cls([k[0] for k in d], [k[1] for k in d], list(d.values()))

    def to_dict(self) -> dict[tuple[str, str], Decimal]:
        return {(u, s): v for u, s, v in zip(self.unit, self.seg, self.values, strict=True)
                if v is not None}


def _rollup(ctx: Context, placed: ir.Table, aggs: dict[str, ir.Scalar],
            keys: tuple[str, ...] = (), seg: str | None = None) -> ir.Table:
    """Additive aggregates (sums, counts) of placed rows by grain unit × segment (× ``keys``).

    Aggregated first by the placement's own unit (``leaf``) and segment, and only then mapped to
    the grain units through ``org_ancestors`` and summed again: exact for sums and counts (integer
    and decimal addition), and the fan-out to every ancestor multiplies a few thousand groups
    instead of every fact row. ``aggs`` are over ``placed``; the result has ``unit``, ``seg``,
    ``keys`` and one column per aggregate (``seg``: a column of ``placed`` holding the segment
    already). Not for distinct counts (see :func:`_distinct_rows`)."""
    by = {"leaf": placed.leaf,
          "seg": _segment_value(ctx, placed) if seg is None else placed[seg]}
    if ctx.grain.agent_of is not None:
        by["agent_code"] = placed.agent_code
    by.update({k: placed[k] for k in keys})
    pre = placed.group_by(**by).aggregate(**aggs)
    if ctx.with_all and ctx.segment != "none":
        # the totals from the split's partial sums (exact: integer and decimal addition)
        rest = [k for k in by if k != "seg"]
        tot = pre.group_by(rest).aggregate(**{a: pre[a].sum() for a in aggs})
        tot = tot.mutate(seg=ibis.literal("all"))
        pre = pre.select(*by, *aggs).union(tot.select(*by, *aggs))
    j = _fan_out(ctx, pre)
    return j.group_by(["unit", "seg", *keys]).aggregate(**{a: j[a].sum() for a in aggs})


def _fan_out(ctx: Context, t: ir.Table) -> ir.Table:
    """Rows with ``leaf`` (and ``agent_code`` for the agent grain) → one row per grain unit that
    contains the leaf, as column ``unit`` (the agent itself for the agent grain)."""
    anc = ctx.snap.t["org_ancestors"]
    if ctx.grain.agent_of is not None:
        sub = anc.filter(anc.ancestor_code == ctx.grain.agent_of)
        j = t.join(sub, t.leaf == sub.org_code)
        return j.mutate(unit=j.agent_code)
    a = _in_units(ctx, anc)
    j = t.join(a, t.leaf == a.org_code)
    return j.mutate(unit=j.ancestor_code)


def _values(ctx: Context, expr: ir.Table, cols: dict[Leaf, tuple[str, Decimal]]
            ) -> dict[Leaf, Values]:
    """Run ``expr`` (with ``unit``, ``seg``) once and read each leaf's column: leaf → (column,
    scale)."""
    tbl = ctx.run_arrow(expr)
    unit, seg = tbl.column("unit").to_pylist(), tbl.column("seg").to_pylist()
    return {leaf: Values(unit, seg, _decimals(tbl.column(c), scale))
            for leaf, (c, scale) in cols.items()}


_ONE = Decimal(1)


def _days(period: Period) -> tuple[int, int]:
    return day_num(period.start), day_num(period.end)


# --- production ---------------------------------------------------------------------------


def _attribution_day(ctx: Context, t: ir.Table) -> ir.Value:
    if ctx.settings.kpi.premium_basis == "issued":
        return ibis.ifelse((t.txn_type == "new") & t.issue_day.notnull(), t.issue_day, t.txn_day)
    return t.txn_day


def _offset_range(ctx: Context, offset: str | None) -> tuple[int, int]:
    p = ctx.period
    if offset is None:
        return _days(p)
    if offset == "previous":
        return _days(p.previous())
    if offset == "last_year":
        return _days(p.same_last_year())
    year = p.basis.month_of(p.end)[0]
    return day_num(p.basis.month_bounds(year, 1)[0]), day_num(p.end)


def _production_rows(ctx: Context, s: int, e: int) -> ir.Table:
    t = ctx.snap.t["premiums"]
    t = t.mutate(att_day=_attribution_day(ctx, t))
    t = t.filter((t.att_day >= s) & (t.att_day <= e))
    return _to_units(ctx, _place(ctx, t, "att_day"))


def _production_aggs(t: ir.Table) -> dict[str, ir.Scalar]:
    main = t.is_main.fill_null(False)
    return {
        "fyp": (t.amount_fen * t.fyp_sign.cast("int64")).sum(),
        "fyc": (t.fyc_fen * t.fyp_sign.cast("decimal(24,6)")).sum(),
        "std_premium": (t.std_fen * t.fyp_sign.cast("decimal(24,4)")).sum(),
        "new_cases": t.policy_no.nunique(where=(t.txn_type == "new") & main),
        "cancelled_cases": t.policy_no.nunique(where=(t.txn_type == "free_look_cancel") & main),
    }


def production(ctx: Context, leaves_: list[Production]) -> dict[Leaf, Values]:
    """Every production leaf from one scan of the premiums of all the ranges asked (the period,
    the previous one, a year earlier, the year to date): conditional sums per range, rolled up
    from the placements' own units; cases as distinct policies, deduplicated per unit first."""
    out: dict[Leaf, Values] = {}
    net = ctx.settings.kpi.cases == "net"
    ranges = {off: _offset_range(ctx, off) for off in dict.fromkeys(lf.offset for lf in leaves_)}
    t = ctx.snap.t["premiums"]
    t = t.mutate(att_day=_attribution_day(ctx, t))
    cond = None
    for s, e in dict.fromkeys(ranges.values()):
        c = (t.att_day >= s) & (t.att_day <= e)
        cond = c if cond is None else cond | c
    placed = _place(ctx, t.filter(cond), "att_day")
    sign = placed.fyp_sign
    amounts = {"fyp": lambda: placed.amount_fen * sign.cast("int64"),
               "fyc": lambda: placed.fyc_fen * sign.cast("decimal(24,6)"),
               "std_premium": lambda: placed.std_fen * sign.cast("decimal(24,4)")}
    aggs: dict[str, ir.Scalar] = {}
    cols: dict[Leaf, tuple[str, Decimal]] = {}
    for leaf in leaves_:
        if leaf.measure == "cases":
            continue
        s, e = ranges[leaf.offset]
        name = f"{leaf.measure}_{s}_{e}"
        if name not in aggs:
            aggs[name] = amounts[leaf.measure]().sum(
                where=(placed.att_day >= s) & (placed.att_day <= e))
        cols[leaf] = (name, FEN)
    if aggs:
        out.update(_values(ctx, _rollup(ctx, placed, aggs), cols))
    for off in dict.fromkeys(lf.offset for lf in leaves_ if lf.measure == "cases"):
        s, e = ranges[off]
        kinds = ["new", "free_look_cancel"] if net else ["new"]
        m = placed.filter((placed.att_day >= s) & (placed.att_day <= e)
                          & placed.is_main.fill_null(False) & placed.txn_type.isin(kinds))
        j = _fan_out(ctx, _distinct_rows(ctx, m, "policy_no", "txn_type"))
        agg = j.group_by(["unit", "seg"]).aggregate(
            new=j.policy_no.nunique(where=j.txn_type == "new"),
            cancelled=j.policy_no.nunique(where=j.txn_type == "free_look_cancel"))
        tbl = ctx.run_arrow(agg)
        n = tbl.column("new").to_pylist()
        if net:
            n = [a - b for a, b in zip(n, tbl.column("cancelled").to_pylist(), strict=True)]
        vals = Values(tbl.column("unit").to_pylist(), tbl.column("seg").to_pylist(),
                      [Decimal(v) for v in n])
        for leaf in leaves_:
            if leaf.measure == "cases" and leaf.offset == off:
                out[leaf] = vals
    return out


def _distinct_rows(ctx: Context, placed: ir.Table, *cols: str) -> ir.Table:
    """Distinct (leaf, seg[, agent_code], ``cols``) of placed rows: what a distinct count needs
    before the fan-out to the grain units (a unit counts each value once over its leaves)."""
    by = {"leaf": placed.leaf, "seg": _segment_value(ctx, placed)}
    if ctx.grain.agent_of is not None:
        by["agent_code"] = placed.agent_code
    by.update({c: placed[c] for c in cols})
    rows = placed.select(**by).distinct()
    if ctx.with_all and ctx.segment != "none":
        # a value counts once in the totals even when it falls in several segments of a unit
        tot = rows.mutate(seg=ibis.literal("all")).distinct()
        rows = rows.union(tot.select(*by))
    return rows


# --- active -------------------------------------------------------------------------------


def active(ctx: Context, leaves_: list[Active]) -> dict[Leaf, Values]:
    """Active agents per unit: each agent's production attributed to the unit's subtree (summed
    per agent and placement unit first, then rolled up), the rule applied per (unit, agent), and
    the agent's segment taken once per agent. One query: by unit × segment × category."""
    s, e = _days(ctx.period)
    t = ctx.snap.t["premiums"]
    t = t.mutate(att_day=_attribution_day(ctx, t))
    t = t.filter((t.att_day >= s) & (t.att_day <= e))
    placed = _place(ctx, t, "att_day")
    rule = ctx.settings.kpi.active_rule
    if rule == "cases_positive":
        main = placed.is_main.fill_null(False)
        m = placed.filter(main & placed.txn_type.isin(["new", "free_look_cancel"]))
        m = m.select(leaf=m.leaf, agent_code=m.agent_code, policy_no=m.policy_no,
                     txn_type=m.txn_type).distinct()
        m = _fan_out(ctx, m)
        per_agent = m.group_by(["unit", "agent_code"]).aggregate(
            n=m.policy_no.nunique(where=m.txn_type == "new")
            - m.policy_no.nunique(where=m.txn_type == "free_look_cancel"))
        act = per_agent.filter(per_agent.n >= 1)
    else:
        if rule == "fyp_positive":
            amount = placed.amount_fen * placed.fyp_sign.cast("int64")
        else:
            amount = placed.fyc_fen * placed.fyp_sign.cast("decimal(24,6)")
        pre = placed.group_by(["leaf", "agent_code"]).aggregate(v=amount.sum())
        pre = _fan_out(ctx, pre)
        per_agent = pre.group_by(["unit", "agent_code"]).aggregate(v=pre.v.sum())
        if rule == "fyp_positive":
            act = per_agent.filter(per_agent.v > 0)
        else:
            threshold = ctx.settings.kpi.active_threshold or Decimal(0)
            act = per_agent.filter(
                per_agent.v >= ibis.literal(threshold * FEN, type="decimal(38,6)"))
    # segment: the agent's placement on their last in-force day of the period
    agents = act.select(a_agent=act.agent_code).distinct()
    sp = ctx.snap.t["spells"]
    sp = sp.filter(sp.hire_day <= e)
    last = sp.group_by("agent_code").aggregate(
        last_day=ibis.least(ibis.literal(e), sp.leave_day - 1).max())
    # an agent not in force at all in the period (left before S, production arriving later) is
    # placed at E (docs/kpi-engine.md point 5), not on a last day before the period
    ag = agents.left_join(last, agents.a_agent == last.agent_code).select(
        agent_code=agents.a_agent,
        seg_day=ibis.ifelse(last.last_day.notnull() & (last.last_day >= s), last.last_day,
                            ibis.literal(e)))
    ag = _place(ctx, ag, "seg_day")
    ag = ag.select(s_agent=ag.agent_code, seg=_segment_value(ctx, ag), category=ag.category)
    j = act.join(ag, act.agent_code == ag.s_agent)
    tbl = ctx.run_arrow(j.group_by(["unit", "seg", "category"]).aggregate(
        n=j.agent_code.nunique()))
    df = pd.DataFrame({"unit": tbl.column("unit").to_pylist(), "seg": tbl.column("seg").to_pylist(),
                       "category": tbl.column("category").to_pylist(),
                       "n": tbl.column("n").to_pylist()})
    out: dict[Leaf, Values] = {}

    def vals(d: pd.DataFrame) -> Values:
        if ctx.with_all and ctx.segment != "none":
            # each agent sits in one segment of a unit: the totals are the segments' sum
            d = pd.concat([d, d.assign(seg="all")], ignore_index=True)
        d = d.groupby(["unit", "seg"], sort=False, dropna=False).n.sum()
        return Values([k[0] for k in d.index], [k[1] for k in d.index],
                      [Decimal(int(v)) for v in d.tolist()])

    for leaf in leaves_:
        if leaf.category is None:
            out[leaf] = vals(df)
        elif ctx.segment in ("none", "rank_category"):
            # active_<category> counts agents of that category; with a segment split they sit in
            # their own segment's row (the others are 0)
            seg = "all" if ctx.segment == "none" else leaf.category
            sub = df[df.category == leaf.category].assign(seg=seg)
            out[leaf] = vals(sub)
        else:
            out[leaf] = vals(df[df.category == leaf.category])
    return out


# --- people -------------------------------------------------------------------------------


def _headcounts(ctx: Context, days: list[int]) -> dict[int, dict[tuple[str, str], Decimal]]:
    """Agents in force at the end of each day in ``days``."""
    days = sorted(set(days))
    key = ("snap_days", tuple(days))
    if key not in ctx._cache:  # one table per day list: equal expressions stay equal
        ctx._cache[key] = ibis.memtable(pd.DataFrame({"snap_day": pd.Series(days, dtype="int32")}))
    dt_ = ctx._cache[key]
    sp = ctx.snap.t["spells"]
    j = sp.cross_join(dt_)
    j = j.filter((j.hire_day <= j.snap_day) & (j.snap_day < j.leave_day))
    placed = _place(ctx, j, "snap_day")
    tbl = ctx.run_arrow(_rollup(ctx, placed, {"n": placed.agent_code.count()}, ("snap_day",)))
    out: dict[int, dict[tuple[str, str], Decimal]] = {d: {} for d in days}
    for u, s, d, n in zip(*(tbl.column(c).to_pylist() for c in ("unit", "seg", "snap_day", "n")),
                          strict=True):
        out[int(d)][(u, s)] = Decimal(int(n))
    return out


def _add(a: dict[tuple[str, str], Decimal], b: dict[tuple[str, str], Decimal]) -> dict[tuple[str, str], Decimal]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, _D0) + v
    return out


def _scale(a: dict[tuple[str, str], Decimal], f: Decimal) -> dict[tuple[str, str], Decimal]:
    return {k: v * f for k, v in a.items()}


def _count(ctx: Context, placed: ir.Table) -> Values:
    """Rows of ``placed`` per grain unit × segment."""
    return Values.from_arrow(ctx.run_arrow(_rollup(ctx, placed, {"n": placed.agent_code.count()})), "n")


def people(ctx: Context, leaves_: list[People]) -> dict[Leaf, Any]:
    p = ctx.period
    s, e = _days(p)
    # a range shorter than a month (no whole basis month inside) is one piece with its own
    # endpoints, also across a month boundary (kpi-spec §2; docs/kpi-engine.md point 9)
    pieces = p.pieces()
    multi = len(pieces) > 1
    out: dict[Leaf, dict[tuple[str, str], Decimal] | Values] = {}
    snap_needed = {"headcount_open", "headcount_close", "headcount_avg", "sum_monthly_open",
                   "sum_monthly_avg"}
    if any(leaf.measure in snap_needed for leaf in leaves_):
        days = [s - 1, e] + [d for pc in pieces for d in (day_num(pc.start) - 1, day_num(pc.end))]
        hc = _headcounts(ctx, days)
        opening, closing = hc[s - 1], hc[e]
        half = Decimal("0.5")
        piece_avgs = [_scale(_add(hc[day_num(pc.start) - 1], hc[day_num(pc.end)]), half) for pc in pieces]
        sum_avgs: dict[tuple[str, str], Decimal] = {}
        for a in piece_avgs:
            sum_avgs = _add(sum_avgs, a)
        sum_opens: dict[tuple[str, str], Decimal] = {}
        for pc in pieces:
            sum_opens = _add(sum_opens, hc[day_num(pc.start) - 1])
        endpoints = _scale(_add(opening, closing), half)
        if multi and ctx.settings.kpi.average_headcount == "mean_of_months":
            n_pieces = Decimal(len(pieces))
            avg = {k: v / n_pieces for k, v in sum_avgs.items()}
        else:
            avg = endpoints
        table = {
            "headcount_open": opening,
            "headcount_close": closing,
            "headcount_avg": avg,
            "sum_monthly_open": sum_opens if multi else opening,
            "sum_monthly_avg": sum_avgs if multi else opening,
        }
        for leaf in leaves_:
            if leaf.measure in table:
                out[leaf] = table[leaf.measure]
    sp = ctx.snap.t["spells"]
    for leaf in leaves_:
        if leaf.measure == "new_hires":
            h = sp.filter((sp.hire_day >= s) & (sp.hire_day <= e))
            out[leaf] = _count(ctx, _place(ctx, h, "hire_day"))
        elif leaf.measure == "leavers":
            lv = sp.filter((sp.leave_day >= s) & (sp.leave_day <= e))
            lv = lv.mutate(last_day=ibis.greatest(lv.hire_day, lv.leave_day - 1))
            out[leaf] = _count(ctx, _place(ctx, lv, "last_day"))
        elif leaf.measure == "conversions":
            pl = ctx.snap.t["placements"]
            w = ibis.window(group_by=pl.agent_code, order_by=pl.from_day)
            pl = pl.mutate(prev_category=pl.category.lag().over(w))
            c = pl.filter((pl.prev_category == "probationary")
                          & pl.category.isin(["formal", "director"])
                          & (pl.from_day >= s) & (pl.from_day <= e))
            c = c.select(agent_code=c.agent_code, leaf=c.org_code, category=c.category,
                         rank_code=c.rank_code, conv_day=c.from_day)
            if ctx.segment == "tenure":
                c = _with_tenure(ctx, c, "conv_day")
            out[leaf] = _count(ctx, c)
    return out


# --- cohorts ------------------------------------------------------------------------------


def cohorts(ctx: Context, leaves_: list[Cohort]) -> dict[Leaf, Values]:
    p = ctx.period
    basis = p.basis
    out: dict[Leaf, Values] = {}
    sp = ctx.snap.t["spells"]
    for t in sorted({leaf.months for leaf in leaves_}):
        rows = []
        for y, m in p.report_months():
            idx = y * 12 + m - 1 - t
            cy, cm = idx // 12, idx % 12 + 1
            cs, ce = basis.month_bounds(cy, cm)
            eval_day = min(basis.month_bounds(y, m)[1], p.end)
            rows.append((day_num(cs), day_num(ce), day_num(eval_day)))
        key = ("cohort_ranges", tuple(rows))
        if key not in ctx._cache:
            ctx._cache[key] = ibis.memtable(
                pd.DataFrame(rows, columns=["c_start", "c_end", "eval_day"]).astype("int32"))
        ranges = ctx._cache[key]
        j = sp.join(ranges, [sp.hire_day >= ranges.c_start, sp.hire_day <= ranges.c_end])
        placed = _place(ctx, j, "hire_day")
        retained = placed.leave_day > placed.eval_day
        # category at the evaluation day, for conversion
        pl = _placements(ctx)
        q = placed.select(leaf=placed.leaf, c_seg=_segment_value(ctx, placed),
                          agent_code=placed.agent_code, eval_day=placed.eval_day,
                          retained=retained).view()
        q2 = q.join(pl, [q.agent_code == pl.p_agent, pl.p_from <= q.eval_day, q.eval_day < pl.p_to])
        q2 = q2.select(leaf=q2.leaf, c_seg=q2.c_seg, agent_code=q2.agent_code,
                       retained=q2.retained, category=q2.category)
        agg = _rollup(ctx, q2, {
            "size": q2.agent_code.count(),
            "retained": q2.retained.cast("int64").sum(),
            "converted": (q2.retained & q2.category.isin(["formal", "director"])).cast("int64").sum(),
        }, seg="c_seg")
        mine = [leaf for leaf in leaves_ if leaf.months == t]
        out.update(_values(ctx, agg, {leaf: (leaf.kind, _ONE) for leaf in mine}))
    return out


# --- tools --------------------------------------------------------------------------------


def _in_force_rows(ctx: Context, t: ir.Table, day: ir.Value) -> ir.Table:
    sp = ctx.snap.t["spells"]
    sp = sp.select(s_agent=sp.agent_code, s_hire=sp.hire_day, s_leave=sp.leave_day)
    return t.join(sp, [t.agent_code == sp.s_agent, sp.s_hire <= day, day < sp.s_leave])


def meetings(ctx: Context, leaves_: list[Meetings]) -> dict[Leaf, Values]:
    s, e = _days(ctx.period)
    a = ctx.snap.t["attendance"]
    a = a.filter((a.day >= s) & (a.day <= e))
    a = _in_force_rows(ctx, a, a.day)
    placed = _place(ctx, a, "day")
    agg = _rollup(ctx, placed, {"attended": placed.attended.cast("int64").sum(),
                                "scheduled": placed.agent_code.count()})
    return _values(ctx, agg, {leaf: (leaf.kind, _ONE) for leaf in leaves_})


def tool_use(ctx: Context, leaves_: list[ToolUse]) -> dict[Leaf, Values]:
    s, e = _days(ctx.period)
    a = ctx.snap.t["attendance"]
    a = a.filter((a.day >= s) & (a.day <= e) & (a.meeting == "morning"))
    placed = _place(ctx, a, "day")
    # working days of each unit: distinct per placement unit first, then per grain unit
    wd = placed.select(leaf=placed.leaf, agent_code=placed.agent_code, w_day=placed.day)
    if ctx.grain.agent_of is None:
        wd = wd.drop("agent_code")
    wd = _fan_out(ctx, wd.distinct())
    workdays = wd.select(w_unit=wd.unit, w_day=wd.w_day).distinct()
    days = workdays.select(d=workdays.w_day).distinct()
    sp = ctx.snap.t["spells"]
    j = sp.cross_join(days)
    j = j.filter((j.hire_day <= j.d) & (j.d < j.leave_day))
    inforce = _place(ctx, j, "d")
    wl = ctx.snap.t["work_logs"]
    wl = wl.filter((wl.day >= s) & (wl.day <= e))  # the days asked are in the period
    wl = wl.select(l_agent="agent_code", l_day="day").distinct()
    k = inforce.left_join(wl, [inforce.agent_code == wl.l_agent, inforce.d == wl.l_day])
    per_day = _rollup(ctx, k, {"in_force": k.agent_code.count(),
                               "filled": k.l_agent.notnull().cast("int64").sum()}, ("d",))
    per_day = per_day.join(workdays, [per_day.unit == workdays.w_unit,
                                      per_day.d == workdays.w_day])
    agg = per_day.group_by(["unit", "seg"]).aggregate(in_force=per_day.in_force.sum(),
                                                      filled=per_day.filled.sum())
    return _values(ctx, agg, {leaf: (leaf.kind, _ONE) for leaf in leaves_})


# --- plans --------------------------------------------------------------------------------


def _plan_value(plans: dict[tuple[str, str, str], Decimal], children: dict[str, list[str]],
                unit: str, label: str, month_labels: list[str], metric: str) -> Decimal | None:
    exact = plans.get((unit, label, metric))
    if exact is not None:
        return exact
    if len(month_labels) > 1 or (month_labels and month_labels[0] != label):
        vals = [plans.get((unit, m, metric)) for m in month_labels]
        known = [v for v in vals if v is not None]
        if vals and len(known) == len(vals):
            return sum(known, _D0)
    kids = children.get(unit, [])
    if kids:
        vals = [_plan_value(plans, children, k, label, month_labels, metric) for k in kids]
        known = [v for v in vals if v is not None]
        if len(known) == len(vals):
            return sum(known, _D0)
    return None


def plans(ctx: Context, leaves_: list[Plan]) -> dict[Leaf, dict[tuple[str, str], Decimal | None]]:
    df = ctx.snap.plans_df
    table = {(o, p, m): Decimal(str(v)) for o, p, m, v in zip(df.org_code, df.period, df.metric, df.target, strict=True)}
    orgs = ctx.snap.orgs_df
    children: dict[str, list[str]] = {}
    for c, par in zip(orgs.org_code, orgs.parent_code, strict=True):
        if par is not None and par == par:
            children.setdefault(par, []).append(c)
    per = ctx.period.uncut()
    out: dict[Leaf, dict[tuple[str, str], Decimal | None]] = {}
    for leaf in leaves_:
        if leaf.year:
            year = per.basis.month_of(ctx.period.end)[0]
            label, months = f"{year:04d}", [f"{year:04d}-{m:02d}" for m in range(1, 13)]
        elif per.kind == "range":
            # a range made of whole basis months sums its months' plans (kpi-spec "Plans");
            # any other range (partial months, or cut at an as-of date) has no plan
            whole = per.as_of is None and per.is_whole_months
            label = per.label
            months = [f"{y:04d}-{m:02d}" for y, m in per.months()] if whole else []
        else:
            label, months = per.label, [f"{y:04d}-{m:02d}" for y, m in per.months()]
        vals: dict[tuple[str, str], Decimal | None] = {}
        if (ctx.segment == "none" or ctx.with_all) and ctx.grain.agent_of is None:
            for u in ctx.grain.units:
                vals[(u, "all")] = _plan_value(table, children, u, label, months, leaf.metric)
        out[leaf] = vals
    return out


# The dispatch of leaves to these runners (and to persistency's, which builds on this module's
# helpers) is zhuizong.kpi.runners.

__all__ = ["TENURE_SEGMENTS", "Context", "Grain", "Snapshot", "Values", "from_day_num",
           "is_nullable"]
