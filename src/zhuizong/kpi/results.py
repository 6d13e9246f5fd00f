"""The results store: one versioned table of KPI results, built once per version and read by
every page, report, rule and API call (architecture.md §4; docs/results-store.md).

Rows ``(version, period, org unit [, agent], segment, metric) → value, numerator, denominator``
live in the system of record (tables ``kpi_result_versions``, ``kpi_result_slices`` and
``kpi_results``, SQLite or PostgreSQL). The **version** is one
key over everything that changes a number (:func:`version_key`):

- the data version: the hash of the analytic snapshot's state after bringing it up to date with
  the system of record (any import changes it);
- the settings that change numbers (``calendar.*``, ``kpi.*``);
- a fingerprint of the metric registry (codes, units, IR definitions);
- the package version and this module's :data:`FORMAT`.

``zhuizong analytics build`` (:func:`build`) computes the stored periods (:func:`stored_periods`:
the running month to date and its comparison periods, the last 13 closed months, the running and
last four quarters, the running and last year) for every org unit at every level, and the per-agent
numbers of the running and closed months, with the one engine (:func:`zhuizong.kpi.engine.compute`),
and writes them under a ``building`` version; it publishes the version (status ``complete``) in
one transaction at the end, and only then removes older versions. A build killed midway leaves its
rows unpublished (the next build removes them); readers never see them.

Readers (:func:`get`, :func:`agent_rows`) use the store only when the current key has a complete
version that holds the requested period and segment; otherwise the request is computed live by
the engine and not kept. A registry change, an upgrade or a settings change thus never serves an
old number: its key differs, so the old version is not read. Nothing here is a file: no pickle,
no cache of derived results besides this table.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import fcntl
import hashlib
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sqlalchemy import Connection, and_, delete, func, insert, select, update
from sqlalchemy.sql import ColumnElement

import zhuizong
from zhuizong.analytics import snapshot
from zhuizong.analytics.calendar import Basis, Period, day_num, parse_period
from zhuizong.errors import ZhuizongError
from zhuizong.kpi import compiler
from zhuizong.kpi.engine import (
    COLUMNS,
    COMBINED,
    SEGMENTS,
    KpiRequest,
    KpiResult,
    compute,
    resolve_units,
    segment_values,
    split_segment,
)
from zhuizong.kpi.ir import Active, Meetings, People, Production, ToolUse, leaves
from zhuizong.kpi.registry import METRICS
from zhuizong.store.db import atomic
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

__all__ = ["AGENT_METRICS", "BuildInfo", "FORMAT", "StoredPeriod", "agent_rows", "build",
           "clear", "current_version", "data_version", "get", "holds", "one_version",
           "registry_fingerprint", "settings_hash", "stored_periods", "version_key"]

#: bump when the rows' layout or meaning changes: every older version is then unused
FORMAT = 1
#: the per-agent metrics stored for the running and closed months: what profiles, team boards,
#: agent lists and tracking signals read. Each reads only facts of its own period
#: (:func:`_within_period`), so an agent's row holds for any unit the agent stayed inside.
AGENT_METRICS: tuple[str, ...] = ("fyp", "fyc", "cases", "active", "new_hires", "leavers",
                                  "headcount_open", "headcount_close")
#: closed months kept in the store (the dashboard's 12-month trend and the month before it)
CLOSED_MONTHS = 13
#: rows written per statement and per transaction while building
CHUNK = 20_000

#: counters for tests and benchmarks: reads answered by the store / computed live
STATS: dict[str, int] = {"store": 0, "live": 0}


# --- the version key ----------------------------------------------------------------------------


def _sha(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def settings_hash(settings_used: dict[str, Any]) -> str:
    """Hash of the settings that change KPI numbers (``Settings.kpi_settings_used()``)."""
    return _sha(settings_used)[:16]


def registry_fingerprint() -> str:
    """A hash of every metric's code, unit and definition (its IR node, printed): adding,
    removing or redefining a metric changes it."""
    return _sha([(m.code, m.unit, repr(m.node)) for m in METRICS.values()])[:16]


@lru_cache(maxsize=1)
def package_version() -> str:
    """The installed zhuizong version (an upgrade restarts the process that reads it)."""
    try:
        return metadata.version("zhuizong")
    except metadata.PackageNotFoundError:
        return zhuizong.__version__


#: data versions read in the current unit of work (:func:`one_version`), per snapshot folder
_PINNED: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "zhuizong_kpi_versions", default=None)


@contextlib.contextmanager
def one_version() -> Iterator[None]:
    """Within the block (one web request), every read uses the data version read first: one
    snapshot check per page instead of one per read, and a page shows one consistent version."""
    token = _PINNED.set({})
    try:
        yield
    finally:
        _PINNED.reset(token)


def data_version(ws: Workspace) -> str:
    """The analytic snapshot's version, after bringing it up to date with the system of record
    (once per :func:`one_version` block)."""
    pins = _PINNED.get()
    key = str(ws.analytics_dir)
    if pins is not None and key in pins:
        return pins[key]
    snapshot.refresh(ws)
    state = (ws.analytics_dir / snapshot.STATE_FILE).read_bytes()
    version = hashlib.sha256(state).hexdigest()[:16]
    if pins is not None:
        pins[key] = version
    return version


def version_key(ws: Workspace, data: str | None = None) -> str:
    """The one key of the results a workspace would compute now (see the module docstring)."""
    return _sha({
        "format": FORMAT,
        "data": data if data is not None else data_version(ws),
        "settings": settings_hash(ws.settings.kpi_settings_used()),
        "registry": registry_fingerprint(),
        "package": package_version(),
    })[:32]


# --- which periods are stored -------------------------------------------------------------------


@dataclass(frozen=True)
class StoredPeriod:
    """A period the store holds: the request text and as-of day that give it, the segmentations
    stored for every unit, and whether per-agent rows are stored."""

    text: str
    as_of: dt.date | None
    segments: tuple[str, ...]
    agents: bool = False


def _basis(ws: Workspace) -> Basis:
    cal = ws.settings.calendar
    return Basis(cal.month_basis, cal.cutoff_day)


def _args(p: Period) -> tuple[str, dt.date | None]:
    """(period text, as-of day) that ``parse_period`` turns back into ``p``."""
    if p.kind == "range":
        return p.label, None
    return p.uncut().label, (p.end if p.as_of is not None else None)


def _running(kind: str, through: dt.date, basis: Basis) -> Period:
    y, m = basis.month_of(through)
    text = {"month": f"{y:04d}-{m:02d}", "quarter": f"{y:04d}Q{(m - 1) // 3 + 1}",
            "year": f"{y:04d}"}[kind]
    p = parse_period(text, basis)
    return p.cut(through) if p.start <= through < p.end else p


def stored_periods(ws: Workspace, through: dt.date) -> list[StoredPeriod]:
    """The periods a build stores when the data runs through ``through`` (docs/results-store.md):

    - the running month to date (every segmentation, per-agent rows) and the same days of the
      previous month and of last year (the dashboard's comparisons);
    - the last :data:`CLOSED_MONTHS` closed months (none and rank category; per-agent rows; the
      last one also by rank and tenure);
    - the running quarter and year to date and the last four closed quarters and the last closed
      year (none and rank category)."""
    basis = _basis(ws)
    out: list[StoredPeriod] = []
    seen: set[str] = set()

    def add(p: Period, segments: tuple[str, ...], agents: bool = False) -> None:
        if p.label in seen:
            return
        seen.add(p.label)
        text, as_of = _args(p)
        out.append(StoredPeriod(text, as_of, segments, agents))

    every = tuple(SEGMENTS)
    month = _running("month", through, basis)
    add(month, every, agents=True)
    if month.as_of is not None:
        add(month.previous(), ("none",))
        add(month.same_last_year(), ("none",))
    closed = month.uncut() if month.as_of is None else month.uncut().previous()
    for k in range(CLOSED_MONTHS):
        add(closed, every if k == 0 else ("none", "rank_category"), agents=True)
        closed = closed.previous()
    for kind, n_closed in (("quarter", 4), ("year", 1)):
        p = _running(kind, through, basis)
        add(p, ("none", "rank_category"))
        q = p.uncut().previous() if p.as_of is not None else p.previous()
        if p.as_of is None:
            q = p.previous()
        for _ in range(n_closed):
            add(q, ("none", "rank_category"))
            q = q.previous()
    return out


def data_through(ws: Workspace, today: dt.date | None = None) -> dt.date:
    """The last day with data: the latest premium date, at most yesterday (else yesterday)."""
    yesterday = (today or dt.date.today()) - dt.timedelta(days=1)
    p = table("premiums")
    with ws.require_ready().connect() as conn:
        last = conn.execute(select(func.max(p.c.txn_date))).scalar()
    if isinstance(last, str):  # SQLite without type affinity in an aggregate
        last = dt.date.fromisoformat(last[:10])
    return min(last, yesterday) if last else yesterday


# --- building -----------------------------------------------------------------------------------


@dataclass
class BuildInfo:
    version: str
    built: bool  # False: the current version was complete already
    periods: int = 0
    rows: int = 0
    seconds: float = 0.0


@contextlib.contextmanager
def _build_lock(ws: Workspace) -> Iterator[None]:
    """One build at a time per workspace (an OS file lock: released when the process dies)."""
    ws.analytics_dir.mkdir(parents=True, exist_ok=True)
    with open(ws.analytics_dir / ".build.lock", "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def current_version(conn: Connection, key: str) -> dict[str, Any] | None:
    """The complete version ``key`` (its stored periods), or None."""
    v = table("kpi_result_versions")
    row = conn.execute(select(v.c.periods, v.c.through_day, v.c.row_count)
                       .where(v.c.version == key, v.c.status == "complete")).first()
    if row is None:
        return None
    periods = json.loads(row.periods)
    return {"periods": {p["period"]: p for p in periods}, "through": row.through_day,
            "rows": row.row_count}


def _roots(snap: compiler.Snapshot) -> list[str]:
    orgs = snap.orgs_df
    return sorted(orgs.loc[orgs.parent_code.isna(), "org_code"].tolist())


def _text(v: Any) -> str | None:
    return None if v is None else str(v)


_ROW_COLUMNS = ("slice_id", "org_code", "agent_code", "segment", "metric", "value", "numerator",
                "denominator", "present")


def _rows_of(result: KpiResult, slice_id: int) -> Iterator[tuple[Any, ...]]:
    """The result's rows as tuples of :data:`_ROW_COLUMNS` (numbers as exact decimal text)."""
    c = result.columns()
    present = result.agent_present
    flags = [None] * len(c["metric"]) if present is None else [bool(x) for x in present]
    return zip([slice_id] * len(c["metric"]), c["org_code"], c["agent_code"], c["segment"],
               c["metric"], map(_text, c["value"]), map(_text, c["numerator"]),
               map(_text, c["denominator"]), flags, strict=True)


def _insert_rows(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Bulk insert through the driver: PostgreSQL ``COPY``, SQLite ``executemany`` of tuples
    (a build writes millions of rows; the ORM's per-row dictionaries cost more than the
    computation of small units)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    cols = ", ".join(_ROW_COLUMNS)
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY kpi_results ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" * len(_ROW_COLUMNS))
        cur = raw.cursor()
        try:
            cur.executemany(f"INSERT INTO kpi_results ({cols}) VALUES ({marks})", rows)
        finally:
            cur.close()


def _write(ws: Workspace, key: str, period: str, grain: str, segment_by: str,
           result: KpiResult) -> int:
    """A new slice of version ``key`` and its rows (each chunk its own transaction)."""
    sl = table("kpi_result_slices")
    with atomic(ws.engine) as conn:
        pk = conn.execute(insert(sl).values(
            version=key, period=period, grain=grain, segment_by=segment_by)).inserted_primary_key
        assert pk is not None
        slice_id = int(pk[0])
    n = 0
    rows = _rows_of(result, slice_id)
    while True:
        batch = list(itertools.islice(rows, CHUNK))
        if not batch:
            return n
        with atomic(ws.engine) as conn:
            _insert_rows(conn, batch)
        n += len(batch)


def _drop(conn: Connection, keep: str | None, only: str | None = None) -> None:
    """Remove versions (their slices and rows): every version but ``keep``, or just ``only``."""
    v, sl, r = (table(n) for n in ("kpi_result_versions", "kpi_result_slices", "kpi_results"))
    if only is not None:
        gone = select(sl.c.slice_id).where(sl.c.version == only)
        conn.execute(delete(r).where(r.c.slice_id.in_(gone)))
        conn.execute(delete(sl).where(sl.c.version == only))
        conn.execute(delete(v).where(v.c.version == only))
        return
    kept = select(sl.c.slice_id).where(sl.c.version == keep)
    conn.execute(delete(r).where(r.c.slice_id.not_in(kept)))
    conn.execute(delete(sl).where(sl.c.version != keep) if keep is not None else delete(sl))
    conn.execute(delete(v).where(v.c.version != keep) if keep is not None else delete(v))


def build(ws: Workspace, *, through: dt.date | None = None,
          progress: Callable[[int, int, str], None] | None = None,
          force: bool = False, periods: list[StoredPeriod] | None = None,
          engine: str = "duckdb", master: str | None = None) -> BuildInfo:
    """Build (or find current) the version of the store for the workspace's data, settings,
    registry and package. ``through``: the data's last day (default: the latest premium, at most
    yesterday). ``force``: rebuild even when the version is complete. ``periods``: store these
    instead of :func:`stored_periods` (tests, a partial build). ``progress(done, total, label)``
    after each computed piece. ``engine``/``master``: where the expressions run
    (:mod:`zhuizong.kpi.backends`: DuckDB in the process, or Spark at ``master``); the numbers,
    hence the version, do not depend on it."""
    db = ws.require_ready()
    t0 = time.perf_counter()
    with _build_lock(ws):
        data = data_version(ws)
        key = version_key(ws, data)
        v = table("kpi_result_versions")
        with db.connect() as conn:
            done = current_version(conn, key)
        if done is not None and not force:
            return BuildInfo(key, False, len(done["periods"]), done["rows"],
                             time.perf_counter() - t0)
        through = through or data_through(ws)
        periods = periods if periods is not None else stored_periods(ws, through)
        with atomic(db) as conn:  # a killed build of this key left rows: start again
            _drop(conn, None, only=key)
            conn.execute(insert(v).values(
                version=key, status="building", data_version=data, through_day=through,
                periods="[]",
                row_count=0, started_at=dt.datetime.now(dt.UTC).replace(tzinfo=None)))
        snap = compiler.Snapshot.open(ws, refresh_first=False, engine=engine, master=master)
        stored: list[dict[str, Any]] = []
        total = sum(len(sp.segments) + int(sp.agents) for sp in periods)
        n_rows = 0
        step = 0
        try:
            roots = _roots(snap)
            for sp in periods:
                label = parse_period(sp.text, _basis(ws), sp.as_of).label
                for seg in _computations(sp.segments):
                    for root in roots:
                        res = compute(ws, KpiRequest(period=sp.text, org=root, by="subtree",
                                                     segment=seg, as_of=sp.as_of), snap)
                        if seg in COMBINED:  # the totals and the split from one computation
                            totals, split = res.split_totals()
                            n_rows += _write(ws, key, label, "org", "none", totals)
                            n_rows += _write(ws, key, label, "org", split_segment(seg)[0], split)
                        else:
                            n_rows += _write(ws, key, label, "org", seg, res)
                    step += 1 + int(seg in COMBINED)
                    if progress is not None:
                        progress(step, total, f"{label} {seg}")
                if sp.agents:
                    for root in roots:
                        res = compute(ws, KpiRequest(period=sp.text, org=root, by="agent",
                                                     metrics=AGENT_METRICS, as_of=sp.as_of), snap)
                        n_rows += _write(ws, key, label, "agent", "none", res)
                    step += 1
                    if progress is not None:
                        progress(step, total, f"{label} agents")
                stored.append({"period": label, "text": sp.text,
                               "as_of": sp.as_of.isoformat() if sp.as_of else None,
                               "segments": list(sp.segments), "agents": sp.agents})
        finally:
            snap.close()
        with atomic(db) as conn:  # publish, then drop every other version
            conn.execute(update(v).where(v.c.version == key).values(
                status="complete", periods=json.dumps(stored), row_count=n_rows,
                completed_at=dt.datetime.now(dt.UTC).replace(tzinfo=None)))
        with atomic(db) as conn:
            _drop(conn, key)
    return BuildInfo(key, True, len(periods), n_rows, time.perf_counter() - t0)


def _computations(segments: tuple[str, ...]) -> list[str]:
    """The engine calls that give ``segments``: the totals (``none``) come with the rank
    categories from one computation (``all+rank_category``; docs/results-store.md)."""
    if "none" in segments and "rank_category" in segments:
        rest = [s for s in segments if s not in ("none", "rank_category")]
        return ["all+rank_category", *rest]
    return list(segments)


def clear(ws: Workspace) -> None:
    """Remove every version (reads are then computed live until the next build)."""
    with atomic(ws.require_ready()) as conn:
        _drop(conn, None)


# --- reading ------------------------------------------------------------------------------------


def _org_tables(ws: Workspace) -> tuple[pd.DataFrame, pd.DataFrame]:
    paths = snapshot.tables(ws, refresh_first=False)
    orgs = pq.read_table(paths["orgs"]).to_pandas()
    anc = pq.read_table(paths["org_ancestors"], columns=["org_code", "ancestor_code"]).to_pandas()
    return orgs, anc


def _rank_codes(ws: Workspace) -> list[str]:
    """The ranks' codes from the snapshot file (a store read opens no engine)."""
    paths = snapshot.tables(ws, refresh_first=False)
    return pq.read_table(paths["ranks"], columns=["rank_code"]).column("rank_code").to_pylist()


def _stored(ws: Workspace, req: KpiRequest, conn: Connection
            ) -> tuple[str, Period, dict[str, Any]] | None:
    """(version, period, stored period entry) when the store answers ``req``, else None."""
    if req.segment not in SEGMENTS:
        return None
    codes = list(req.metrics) if req.metrics else list(METRICS)
    if any(c not in METRICS for c in codes) or len(set(codes)) != len(codes):
        return None  # the engine raises the user's error
    try:
        period = parse_period(req.period, _basis(ws), req.as_of)
    except ZhuizongError:
        return None
    key = version_key(ws)
    cur = current_version(conn, key)
    if cur is None:
        return None
    entry = cur["periods"].get(period.label)
    if entry is None:
        return None
    if req.by == "agent":
        if not entry.get("agents") or req.segment != "none" or not req.metrics:
            return None
        if not set(codes) <= set(AGENT_METRICS) or not all(_within_period(c) for c in codes):
            return None
    elif req.segment not in entry["segments"]:
        return None
    return key, period, entry


def holds(ws: Workspace, req: KpiRequest) -> bool:
    """Whether the store's current version holds ``req``'s period and segment (a by-agent
    request may still be computed live when an agent crossed the unit's border)."""
    with ws.require_ready().connect() as conn:
        return _stored(ws, req, conn) is not None


def get(ws: Workspace, req: KpiRequest, *,
        org_filter: Callable[[Any], ColumnElement[bool]] | None = None,
        engine: str = "duckdb", master: str | None = None) -> KpiResult:
    """The same result as ``engine.compute(ws, req)``: read from the store when its current
    version holds the request's period and segment, else computed live (not kept).
    ``org_filter``: a scope's filter on an org-code column, applied in SQL to the rows read from
    the store (the caller filters a live result itself). ``engine`` other than DuckDB: computed
    live on that engine (at ``master``), the store not read: the same numbers, from elsewhere."""
    if engine != "duckdb":
        STATS["live"] += 1
        snap = compiler.Snapshot.open(ws, engine=engine, master=master)
        try:
            return compute(ws, req, snap)
        finally:
            snap.close()
    if req.segment in COMBINED:
        return _get_combined(ws, req, org_filter)
    with ws.require_ready().connect() as conn:
        found = _stored(ws, req, conn)
        result = None
        if found is not None:
            key, period, _entry = found
            if req.by == "agent":
                result = _read_agents(ws, conn, key, period, req, None, org_filter)
            else:
                result = _read_units(ws, conn, key, period, req, org_filter)
    if result is not None:
        STATS["store"] += 1
        return result
    STATS["live"] += 1
    version = data_version(ws)
    with compiler.POOL.lease(ws, version) as snap:
        return compute(ws, req, snap)


def _get_combined(ws: Workspace, req: KpiRequest,
                  org_filter: Callable[[Any], ColumnElement[bool]] | None) -> KpiResult:
    """A combined segment (``all+rank_category``): the rows of ``none`` and then of the split,
    each read from the store when it holds them, else both from one live computation."""
    parts = [dataclasses.replace(req, segment=s) for s in ("none", split_segment(req.segment)[0])]
    engine = ws.require_ready()
    with engine.connect() as conn:
        stored = all(_stored(ws, p, conn) is not None for p in parts)
    if stored:
        pieces = [get(ws, p, org_filter=org_filter) for p in parts]
    else:
        STATS["live"] += 1
        with compiler.POOL.lease(ws, data_version(ws)) as snap:
            pieces = list(compute(ws, req, snap).split_totals())
    return KpiResult.concat(pieces)


def agent_rows(ws: Workspace, req: KpiRequest, agents: set[str]) -> KpiResult:
    """The rows of ``agents`` of the by-agent request ``req`` (the rows :func:`get` gives for
    them): from the store when none of *these* agents crossed the unit's border in the period,
    whoever else did; else from the unit's live result."""
    assert req.by == "agent"
    engine = ws.require_ready()
    with engine.connect() as conn:
        found = _stored(ws, req, conn)
        if found is not None:
            key, period, _entry = found
            result = _read_agents(ws, conn, key, period, req, set(agents), None)
            if result is not None:
                STATS["store"] += 1
                return result
    result = get(ws, req)
    result.keep("agent_code", agents)
    return result


def _metric_order(codes: list[str]) -> dict[str, int]:
    return {c: i for i, c in enumerate(codes)}


def _dec(v: str | None) -> Decimal | None:
    return None if v is None else Decimal(v)


def _assemble(period: Period, settings: dict[str, Any], org: str, keys: list[str],
              segs: list[str], codes: list[str], frame: pd.DataFrame, key_col: str,
              org_names: dict[str, str], org_of: dict[str, str] | None) -> KpiResult | None:
    """Rows read from the store as the engine orders them: key (unit or agent) × segment ×
    metric as asked. None when the rows are not exactly one per (key, segment, metric)."""
    n_k, n_s, n_c = len(keys), len(segs), len(codes)
    expected = n_k * n_s * n_c
    if len(frame) != expected:
        return None
    if expected == 0:
        return KpiResult(period=period, settings=settings, org_code=org,
                         table={c: [] for c in COLUMNS})
    kpos = frame[key_col].map({k: i for i, k in enumerate(keys)})
    spos = frame["segment"].map({s: i for i, s in enumerate(segs)})
    mpos = frame["metric"].map(_metric_order(codes))
    if kpos.isna().any() or spos.isna().any() or mpos.isna().any():
        return None
    pos = (kpos.to_numpy(np.int64) * n_s + spos.to_numpy(np.int64)) * n_c + mpos.to_numpy(np.int64)
    if len(np.unique(pos)) != expected:
        return None
    order = np.argsort(pos, kind="stable")
    f = frame.iloc[order]
    if org_of is None:
        orgs = f["org_code"].to_numpy(dtype=object)
    else:
        orgs = np.array([org_of.get(a, o) for a, o in zip(f["agent_code"], f["org_code"],
                                                            strict=True)], dtype=object)
    table_ = {
        "org_code": orgs,
        "org_name": np.array([org_names.get(o, "") for o in orgs], dtype=object),
        "agent_code": f["agent_code"].to_numpy(dtype=object) if key_col == "agent_code"
        else np.full(expected, None, dtype=object),
        "segment": f["segment"].to_numpy(dtype=object),
        "metric": f["metric"].to_numpy(dtype=object),
        "value": np.array([_dec(v) for v in f["value"]], dtype=object),
        "numerator": np.array([_dec(v) for v in f["numerator"]], dtype=object),
        "denominator": np.array([_dec(v) for v in f["denominator"]], dtype=object),
    }
    return KpiResult(period=period, settings=settings, org_code=org, table=table_)


def _slice(conn: Connection, key: str, period: str, grain: str, segment_by: str) -> int:
    """The slice id of a stored piece (-1: none, which reads no row)."""
    sl = table("kpi_result_slices")
    sid = conn.execute(select(sl.c.slice_id).where(
        sl.c.version == key, sl.c.period == period, sl.c.grain == grain,
        sl.c.segment_by == segment_by)).scalar()
    return -1 if sid is None else int(sid)


def _frame(conn: Connection, stmt: Any) -> pd.DataFrame:
    res = conn.execute(stmt)
    return pd.DataFrame(res.fetchall(), columns=list(res.keys()))


def _read_units(ws: Workspace, conn: Connection, key: str, period: Period, req: KpiRequest,
                org_filter: Callable[[Any], ColumnElement[bool]] | None) -> KpiResult | None:
    orgs, anc = _org_tables(ws)
    org, units = resolve_units(orgs, anc, req.org, req.by)  # unknown unit: the user's error
    codes = list(req.metrics) if req.metrics else list(METRICS)
    segs = segment_values(req.segment, lambda: _rank_codes(ws))
    r = table("kpi_results")
    cond = [r.c.slice_id == _slice(conn, key, period.label, "org", req.segment)]
    if len(units) <= 2000:
        cond.append(r.c.org_code.in_(units))
    if req.metrics:
        cond.append(r.c.metric.in_(codes))
    if org_filter is not None:
        cond.append(org_filter(r.c.org_code))
    frame = _frame(conn, select(r.c.org_code, r.c.segment, r.c.metric, r.c.value, r.c.numerator,
                                r.c.denominator).where(and_(*cond)))
    if len(units) > 2000:
        frame = frame[frame.org_code.isin(set(units))]
    if org_filter is not None:  # the scope's units among the request's
        units = [u for u in units if u in set(frame.org_code)]
    names = dict(zip(orgs.org_code, orgs.org_name, strict=True))
    return _assemble(period, ws.settings.kpi_settings_used(), org, units, segs, codes, frame,
                     "org_code", names, None)


def _within_period(code: str) -> bool:
    """Whether every base measure of metric ``code`` reads only facts of days from the day
    before the period to its end: production and activity of the period (no offset), people
    flows and snapshots, meetings, tool use (not cohorts, persistency, plans, offsets)."""
    for leaf in leaves(METRICS[code].node):
        if isinstance(leaf, Production):
            if leaf.offset is not None:
                return False
        elif not isinstance(leaf, Active | People | Meetings | ToolUse):
            return False
    return True


def _pure_agents(ws: Workspace, subtree: list[str], lo: int, hi: int,
                 only: set[str] | None) -> list[str] | None:
    """The agents (sorted; of ``only`` when given) with a placement overlapping days
    ``lo``..``hi`` in ``subtree``, or None when one of them also has such a placement outside it
    (a unit's request then computes that agent's numbers from the facts inside only)."""
    paths = snapshot.tables(ws, refresh_first=False)
    p = pq.read_table(paths["placements"],
                      columns=["agent_code", "from_day", "to_day", "org_code"]).to_pandas()
    if only is not None:
        p = p[p.agent_code.isin(only)]
    # an agent's earliest placement reaches back without limit (as the engine places facts)
    from_day = p.from_day.astype("int64").to_numpy().copy()
    first = p.groupby("agent_code").from_day.transform("min").astype("int64").to_numpy()
    from_day[from_day == first] = -compiler.OPEN_DAY
    p = p[(from_day <= hi) & (p.to_day.astype("int64").to_numpy() > lo)]
    inside = p.org_code.isin(set(subtree))
    a_in = set(p.agent_code[inside])
    if a_in & set(p.agent_code[~inside]):
        return None
    return sorted(a_in)


def _read_agents(ws: Workspace, conn: Connection, key: str, period: Period, req: KpiRequest,
                 only: set[str] | None,
                 org_filter: Callable[[Any], ColumnElement[bool]] | None) -> KpiResult | None:
    orgs, anc = _org_tables(ws)
    org, subtree = resolve_units(orgs, anc, req.org, "subtree")
    agents = _pure_agents(ws, subtree, day_num(period.start) - 1, day_num(period.end), only)
    if agents is None:
        return None  # someone crossed the unit's border in the period: computed live
    codes = list(req.metrics or ())
    r = table("kpi_results")
    cond = [r.c.slice_id == _slice(conn, key, period.label, "agent", "none"),
            r.c.metric.in_(codes)]
    if len(agents) <= 2000:
        cond.append(r.c.agent_code.in_(agents))
    if org_filter is not None:
        cond.append(org_filter(r.c.org_code))
    frame = _frame(conn, select(r.c.org_code, r.c.agent_code, r.c.segment, r.c.metric, r.c.value,
                                r.c.numerator, r.c.denominator, r.c.present).where(and_(*cond)))
    if len(agents) > 2000:
        frame = frame[frame.agent_code.isin(set(agents))]
    # the agents a request for these metrics lists: those with a value of one of them
    listed = sorted(set(frame.agent_code[frame.present.astype(bool)]))
    frame = frame[frame.agent_code.isin(set(listed))]
    names = dict(zip(orgs.org_code, orgs.org_name, strict=True))
    return _assemble(period, ws.settings.kpi_settings_used(), org, listed, ["all"], codes,
                     frame, "agent_code", names, None)
