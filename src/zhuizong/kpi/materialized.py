"""Materialised KPI results: computed rows stored for fast reads, never stale (architecture.md §4).

A KPI request (period, org unit, grain, segment, metrics, as-of) under the workspace's KPI
settings is computed once by :func:`zhuizong.kpi.engine.compute` and its rows — period label ×
org unit (× agent) × segment × metric with value, numerator and denominator, and the settings hash
and data version they were computed under — are written as one Parquet file:

    <workspace>/analytics/kpi_results/<request key>.parquet

The request key is a hash of the request *and* of the KPI settings (``calendar.*``, ``kpi.*``), so
``zhuizong config set kpi.cases gross`` reads a different file. Every read first checks the data
version: :func:`zhuizong.analytics.snapshot.refresh` compares the snapshot with the system of
record (one small query; it exports what changed), and the version is the hash of the snapshot's
``state.json`` (format, database identity, highest import batch id and batch count, months per
fact, time written) — any import or rebuild changes it. A stored file whose version differs is
recomputed and replaced: a version check, not a timer. Results are derived data like the snapshot
(not in the system of record); deleting the folder (:func:`clear`) only costs recomputation.

Files are written to a temporary name and renamed into place, so concurrent readers see either the
old or the new file. Values are stored as decimal strings: a read returns exactly what ``compute``
returned.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import shutil
import threading
from dataclasses import dataclass
from decimal import Decimal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from zhuizong.analytics import snapshot
from zhuizong.analytics.calendar import Basis, parse_period
from zhuizong.kpi import compiler
from zhuizong.kpi.engine import COLUMNS, KpiRequest, KpiResult, compute
from zhuizong.workspace import Workspace

__all__ = ["one_version", "AGENTS", "AGENT_TREE_METRICS", "RESULTS_DIR", "STATS", "agent_rows", "agent_tree_request", "clear", "data_version", "get", "path_for", "request_key",
           "settings_hash", "tree_request", "warm"]

RESULTS_DIR = "kpi_results"
#: bump when the file layout or the engine's semantics change: older files are then recomputed
FORMAT_VERSION = 2
_META_KEY = b"zhuizong.kpi"

#: counters for tests and benchmarks: reads served from a stored file / computed and stored
STATS: dict[str, int] = {"hits": 0, "tree_hits": 0, "computed": 0}
#: rows per Parquet row group of a whole-tree result (sorted by org unit): a read for a few units
#: decodes only the row groups that hold them
TREE_ROW_GROUP = 16_384
#: the same for a whole-company by-agent result (sorted by agent): a unit's agents are spread
#: over the codes, so smaller groups are decoded for them
AGENT_ROW_GROUP = 2_048

SCHEMA = pa.schema([
    ("period_label", pa.string()), ("org_code", pa.string()), ("org_name", pa.string()),
    ("agent_code", pa.string()), ("segment", pa.string()), ("metric", pa.string()),
    ("value", pa.string()), ("numerator", pa.string()), ("denominator", pa.string()),
    ("settings_hash", pa.string()), ("data_version", pa.string()),
    # by-agent results: whether the agent has a value of one of the metric's base measures
    # (``KpiResult.agent_present``); null for other results
    ("present", pa.bool_()),
])


def _sha(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def settings_hash(settings_used: dict[str, Any]) -> str:
    """Hash of the settings that change KPI numbers (``Settings.kpi_settings_used()``)."""
    return _sha(settings_used)[:16]


def request_key(req: KpiRequest, settings_used: dict[str, Any]) -> str:
    """The file key of ``req`` under these settings (metrics in the order asked: rows follow it)."""
    return _sha({
        "format": FORMAT_VERSION, "period": req.period, "org": req.org, "by": req.by,
        "segment": req.segment, "metrics": list(req.metrics) if req.metrics else None,
        "as_of": req.as_of.isoformat() if req.as_of else None,
        "settings": settings_hash(settings_used),
    })[:32]


def path_for(ws: Workspace, req: KpiRequest) -> Path:
    return ws.analytics_dir / RESULTS_DIR / f"{request_key(req, ws.settings.kpi_settings_used())}.parquet"


#: data versions read in the current unit of work (:func:`one_version`), per snapshot folder
_PINNED: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "zhuizong_kpi_versions", default=None)


@contextlib.contextmanager
def one_version() -> Iterator[None]:
    """Within the block (one web request), every read of a workspace's KPI results uses the data
    version read first: one check per page instead of one per result (an agent profile reads
    thirteen), and a page shows one consistent version. Threads started with a copy of the
    context (``contextvars.copy_context``) share it."""
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


def get(ws: Workspace, req: KpiRequest) -> KpiResult:
    """The same result as ``engine.compute(ws, req)``: read from the store when it holds this
    request under the current settings and data version, else computed and stored."""
    version = data_version(ws)  # read before computing: a concurrent import only causes a recompute
    used = ws.settings.kpi_settings_used()
    path = ws.analytics_dir / RESULTS_DIR / f"{request_key(req, used)}.parquet"
    cached = _read(path, ws, req, version, used)
    if cached is not None:
        STATS["hits"] += 1
        return cached
    derived = _from_tree(ws, req, version, used)
    if derived is None:
        derived = _from_agent_tree(ws, req, version, used)
    if derived is not None:
        STATS["tree_hits"] += 1
        return derived
    with compiler.POOL.lease(ws, version) as snap:
        result = compute(ws, req, snap)
    _write(path, req, result, version, settings_hash(used))
    STATS["computed"] += 1
    return result


def clear(ws: Workspace) -> None:
    """Delete every stored result (they are recomputed on the next read)."""
    shutil.rmtree(ws.analytics_dir / RESULTS_DIR, ignore_errors=True)


# --- files ------------------------------------------------------------------------------------


def _dec(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


def _undec(v: str | None) -> Decimal | None:
    return None if v is None else Decimal(v)


def tree_request(req: KpiRequest) -> KpiRequest | None:
    """The whole-tree request that holds the answer to ``req``: same period, as-of day and
    segment, every metric, every unit below the root (``by="subtree"``). None for per-agent
    requests (a tree result has no agent rows)."""
    if req.by == "agent":
        return None
    return KpiRequest(period=req.period, org=None, by="subtree", segment=req.segment,
                      metrics=None, as_of=req.as_of)


def _units(ws: Workspace, org: str | None, by: str | None,
           version: str | None = None) -> tuple[str, list[str]]:
    """(org unit, output units) of a request exactly as the engine resolves them, from the
    snapshot's small org tables (no DuckDB connection; kept per data version when given)."""
    from zhuizong.kpi.engine import _resolve_units

    if version is not None:
        key = (str(ws.analytics_dir), version, org, by)
        with _SMALL_LOCK:
            hit = _UNITS.get(key)
        if hit is not None:
            return hit[0], list(hit[1])
        orgs, anc = _small(ws, version, "orgs"), _small(ws, version, "org_ancestors")
        unit, units = _resolve_units(orgs, anc, org, by)  # an unknown unit raises (not kept)
        with _SMALL_LOCK:
            if len(_UNITS) > 4096 or any(k[1] != version for k in list(_UNITS)[:1]):
                _UNITS.clear()
            _UNITS[key] = (unit, tuple(units))
        return unit, list(units)
    else:
        paths = snapshot.tables(ws, refresh_first=False)
        orgs = pq.read_table(paths["orgs"]).to_pandas()
        anc = pq.read_table(paths["org_ancestors"],
                            columns=["org_code", "ancestor_code"]).to_pandas()
    return _resolve_units(orgs, anc, org, by)


@dataclass(frozen=True)
class _Placements:
    """The snapshot's placements as arrays (agent and org unit as integer ids)."""

    from_day: Any
    to_day: Any
    agent_id: Any
    org_id: Any
    agent_codes: Any  # id -> code
    agent_index: dict[str, int]
    org_index: dict[str, int]
    #: row numbers ordered by agent id, and where each agent's rows start in that order
    by_agent: Any = None
    agent_start: Any = None

    def rows_of(self, ids: Any) -> Any:
        """Row numbers of the placements of the agents ``ids`` (integer ids)."""
        import numpy as np

        parts = [self.by_agent[self.agent_start[i]:self.agent_start[i + 1]] for i in ids]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


_SMALL: dict[tuple[str, str, str], Any] = {}
#: (analytics dir, data version, org, by) -> (unit, output units): :func:`_units`
_UNITS: dict[tuple[Any, ...], tuple[str, tuple[str, ...]]] = {}
_SMALL_LOCK = threading.Lock()


def _small(ws: Workspace, version: str, name: str) -> Any:
    """A small snapshot table as a DataFrame, kept per workspace and data version (the newest
    version of each workspace only): ``orgs``, ``org_ancestors`` or ``placements`` (with each
    agent's earliest placement reaching back without limit, as the engine places facts)."""
    key = (str(ws.analytics_dir), version, name)
    with _SMALL_LOCK:
        if key in _SMALL:
            return _SMALL[key]
    paths = snapshot.tables(ws, refresh_first=False)
    if name == "placements":
        import pandas as pd

        p = pq.read_table(paths["placements"],
                          columns=["agent_code", "from_day", "to_day", "org_code"]).to_pandas()
        p["from_day"] = p.from_day.astype("int64")
        p["to_day"] = p.to_day.astype("int64")
        first = p.groupby("agent_code").from_day.transform("min")
        p.loc[p.from_day == first, "from_day"] = -compiler.OPEN_DAY
        # as integer ids for vectorised membership tests (:func:`_pure_agents`)
        agent_id, agent_codes = pd.factorize(p.agent_code)
        org_id, org_codes = pd.factorize(p.org_code)
        import numpy as np

        by_agent = np.argsort(agent_id, kind="stable")
        agent_start = np.searchsorted(agent_id[by_agent], np.arange(len(agent_codes) + 1))
        frame = _Placements(
            from_day=p.from_day.to_numpy(), to_day=p.to_day.to_numpy(), agent_id=agent_id,
            org_id=org_id, agent_codes=agent_codes.to_numpy(dtype=object),
            agent_index={c: i for i, c in enumerate(agent_codes)},
            org_index={c: i for i, c in enumerate(org_codes)},
            by_agent=by_agent, agent_start=agent_start)
    elif name == "org_ancestors":
        frame = pq.read_table(paths[name], columns=["org_code", "ancestor_code"]).to_pandas()
    else:
        frame = pq.read_table(paths[name]).to_pandas()
    with _SMALL_LOCK:
        for k in [k for k in _SMALL if k[0] == key[0] and k[1] != version]:
            del _SMALL[k]  # an older version of this workspace
        _SMALL[key] = frame
    return frame


def _current_index(ws: Workspace, stored: KpiRequest, version: str, used: dict[str, Any],
                   column: str) -> tuple[Path, _KeyIndex] | None:
    """The file of the stored result ``stored`` and its key index, when the file is current
    (this format, data version and settings)."""
    path = ws.analytics_dir / RESULTS_DIR / f"{request_key(stored, used)}.parquet"
    if not path.exists():
        return None
    index = _key_index(path, column)
    if index is None:
        return None
    meta = index.meta
    if (meta.get("format") != FORMAT_VERSION or meta.get("data_version") != version
            or meta.get("settings_hash") != settings_hash(used)):
        return None
    return path, index


def _table_columns(table: pa.Table) -> dict[str, list[Any]]:
    """A stored table's :data:`COLUMNS` as lists, numbers back to ``Decimal``."""
    cols: dict[str, list[Any]] = {
        k: table.column(k).to_pylist()
        for k in ("org_code", "org_name", "agent_code", "segment", "metric")}
    for k in ("value", "numerator", "denominator"):
        cols[k] = [None if v is None else Decimal(v) for v in table.column(k).to_pylist()]
    return cols


def _in_request_order(table: pa.Table, codes: list[str], period: Any, meta: dict[str, Any],
                      org: str) -> KpiResult | None:
    """Rows read from a stored whole result as the request's result: blocks of (unit or agent,
    segment) keep the stored order; inside a block the metrics follow the request's order. None
    when the rows are not one per key and metric (not a file to trust)."""
    import numpy as np
    import pyarrow.compute as pc

    n = table.num_rows
    if n % len(codes):
        return None
    pos = pc.index_in(table.column("metric"), value_set=pa.array(codes, type=pa.string()))
    if pos.null_count:
        return None
    # sort key: block (row // metrics), then the metric's place in the request
    key = np.arange(n, dtype=np.int64) // len(codes) * len(codes) + pos.to_numpy()
    if n > 1 and not bool(np.all(key[1:] > key[:-1])):
        table = table.take(pa.array(np.argsort(key, kind="stable"), type=pa.int64()))
    return KpiResult(period=period, settings=meta["settings"], org_code=org,
                     table=_table_columns(table))


def _from_tree(ws: Workspace, req: KpiRequest, version: str,
               used: dict[str, Any]) -> KpiResult | None:
    """``req`` answered from its stored whole-tree result (:func:`tree_request`), when that is
    current: the rows of the request's units, in the engine's order (unit, segment, metric as
    asked). A tree computes every unit from the facts, so its rows for a unit are the rows a
    request for that unit computes (tests/kpi_cli/test_materialized.py checks it). None when
    there is no current tree result or the request is not one it can answer."""
    from zhuizong.kpi.engine import SEGMENTS
    from zhuizong.kpi.registry import METRICS

    treq = tree_request(req)
    if treq is None or treq == req or req.segment not in SEGMENTS:
        return None
    codes = list(req.metrics) if req.metrics else list(METRICS)
    if any(c not in METRICS for c in codes) or len(set(codes)) != len(codes):
        return None
    found = _current_index(ws, treq, version, used, "org_code")
    if found is None:
        return None
    path, index = found
    meta = index.meta
    org, units = _units(ws, req.org, req.by, version)
    cal = ws.settings.calendar
    period = parse_period(req.period, Basis(cal.month_basis, cal.cutoff_day), req.as_of)
    if not units:  # e.g. the children of a unit without any: no rows, as computed
        return KpiResult(period=period, settings=meta["settings"], org_code=org,
                         table={c: [] for c in COLUMNS})
    import pyarrow.compute as pc

    columns = ["org_code", "org_name", "agent_code", "segment", "metric", "value", "numerator",
               "denominator"]
    try:
        if len(units) <= 200:  # a few units: only the row groups that may hold them
            table = pq.ParquetFile(path, metadata=index.metadata).read_row_groups(
                index.groups_of(sorted(units)), columns=columns)
        else:
            table = pq.read_table(path, columns=columns, filters=[("org_code", "in", units)])
    except (OSError, pa.ArrowException):
        return None
    keep = pc.is_in(table.column("org_code"), value_set=pa.array(units, type=pa.string()))
    if req.metrics:
        keep = pc.and_(keep, pc.is_in(table.column("metric"),
                                      value_set=pa.array(codes, type=pa.string())))
    return _in_request_order(table.filter(keep), codes, period, meta, org)


# --- per-agent rows from one whole-company by-agent result ----------------------------------

#: the metrics of the whole-company by-agent result (:func:`agent_tree_request`): the per-agent
#: numbers the pages show (profile, team board, agent list, tracking item). Each is computed from
#: facts dated inside its period only (see :func:`_within_period`).
AGENT_TREE_METRICS: tuple[str, ...] = ("fyp", "fyc", "cases", "active", "new_hires", "leavers",
                                       "headcount_open", "headcount_close")
#: warm spec segment that stands for the whole-company by-agent result (:func:`warm`)
AGENTS = "agents"


def _within_period(code: str) -> bool:
    """Whether every base measure of metric ``code`` reads only facts of days from the day
    before the period to its end, placed on such days: production and activity of the period
    (no offset), people flows and snapshots, meetings, tool use. Not: cohorts, persistency
    (earlier months), plans, offsets (other periods)."""
    from zhuizong.kpi.ir import Active, Meetings, People, Production, ToolUse, leaves
    from zhuizong.kpi.registry import METRICS

    for leaf in leaves(METRICS[code].node):
        if isinstance(leaf, Production):
            if leaf.offset is not None:
                return False
        elif not isinstance(leaf, Active | People | Meetings | ToolUse):
            return False
    return True


def agent_tree_request(req: KpiRequest) -> KpiRequest | None:
    """The whole-company by-agent request that can answer the by-agent request ``req`` (same
    period, as-of day and segment, :data:`AGENT_TREE_METRICS`), or None when ``req`` asks for
    another metric or is not by agent."""
    if req.by != "agent" or not req.metrics or not set(req.metrics) <= set(AGENT_TREE_METRICS):
        return None
    return KpiRequest(period=req.period, org=None, by="agent", segment=req.segment,
                      metrics=AGENT_TREE_METRICS, as_of=req.as_of)


def _from_agent_tree(ws: Workspace, req: KpiRequest, version: str, used: dict[str, Any],
                     only: set[str] | None = None) -> KpiResult | None:
    """A by-agent request for one org unit answered from the current whole-company by-agent
    result (:func:`agent_tree_request`), when that is exact; with ``only``, just the rows of
    those agents (:func:`agent_rows`).

    The unit's request computes each agent's numbers from the facts placed in the unit's subtree;
    the whole-company result from all of the agent's facts. They are the same for an agent whose
    every placement overlapping the days the metrics read (the day before the period to its end)
    lies in the subtree. So: the agents with such a placement in the subtree (and in ``only``) are
    the candidates; when every one of them has none outside, the answer is their rows of the
    whole-company result (those with a value of one of the metrics' base measures, as the
    request lists them); when one was also placed outside (moved across the unit's border during
    the period), None (computed)."""
    from zhuizong.analytics.calendar import day_num
    from zhuizong.kpi.engine import SEGMENTS

    treq = agent_tree_request(req)
    if treq is None or treq == req or req.segment not in SEGMENTS:
        return None
    codes = list(req.metrics or ())
    if len(set(codes)) != len(codes) or not all(_within_period(c) for c in codes):
        return None
    found = _current_index(ws, treq, version, used, "agent_code")
    if found is None:
        return None
    path, index = found
    meta = index.meta
    try:
        org, subtree = _units(ws, req.org, "subtree", version)
    except Exception:  # noqa: BLE001 - an unknown unit: the engine raises the user's error
        return None
    cal = ws.settings.calendar
    period = parse_period(req.period, Basis(cal.month_basis, cal.cutoff_day), req.as_of)
    agents = _pure_agents(ws, version, subtree, day_num(period.start) - 1, day_num(period.end),
                          only)
    if agents is None:
        return None  # someone crossed the unit's border in the period: compute
    import pyarrow.compute as pc

    columns = ["org_code", "org_name", "agent_code", "segment", "metric", "value", "numerator",
               "denominator", "present"]
    try:
        # a team, one agent: only the row groups that may hold them (a branch: the whole file)
        groups = index.groups_of(agents) if len(agents) <= 5000 else None
        if groups is not None and len(groups) < 0.8 * len(index.lo):
            table = (pq.ParquetFile(path, metadata=index.metadata)
                     .read_row_groups(groups, columns=columns) if groups
                     else index.empty(columns))
        else:
            table = pq.read_table(path, filters=[("metric", "in", codes)], columns=columns)
    except (OSError, pa.ArrowException):
        return None
    table = table.filter(pc.and_(
        pc.is_in(table.column("metric"), value_set=pa.array(codes, type=pa.string())),
        pc.is_in(table.column("agent_code"), value_set=pa.array(agents, type=pa.string()))))
    if table.column("present").null_count:
        return None  # not a by-agent result
    # the agents a request for these metrics lists: those with a value of one of them
    listed = pc.unique(table.filter(table.column("present")).column("agent_code"))
    keep = pc.is_in(table.column("agent_code"), value_set=listed)
    if not pc.all(keep).as_py():
        table = table.filter(keep)
    return _in_request_order(table, codes, period, meta, org)


@dataclass(frozen=True)
class _KeyIndex:
    """A stored whole-tree or whole-company result's metadata and, per row group, its first and
    last key (org code, agent code: the rows are sorted by it): which groups to read for a few
    keys."""

    meta: dict[str, Any]
    lo: list[str]
    hi: list[str]
    schema: Any
    metadata: Any  # the file's Parquet metadata: opening it again need not parse the footer

    def groups_of(self, agents: list[str]) -> list[int]:
        import bisect

        out: set[int] = set()
        for a in agents:
            i = bisect.bisect_left(self.hi, a)  # the first group whose last code is ≥ a
            while i < len(self.lo) and self.lo[i] <= a:
                out.add(i)
                i += 1
        return sorted(out)

    def empty(self, columns: list[str]) -> pa.Table:
        return self.schema.empty_table().select(columns)


_INDEXES: dict[tuple[str, int, int, str], _KeyIndex] = {}
_INDEXES_LOCK = threading.Lock()


def _key_index(path: Path, column: str) -> _KeyIndex | None:
    """:class:`_KeyIndex` of the file at ``path`` sorted by ``column`` (kept while the file is
    unchanged)."""
    try:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size, column)
        with _INDEXES_LOCK:
            if key in _INDEXES:
                return _INDEXES[key]
        md = pq.ParquetFile(path).metadata
        meta = json.loads(md.schema.to_arrow_schema().metadata[_META_KEY])
        col = md.schema.to_arrow_schema().get_field_index(column)
        lo, hi = [], []
        for g in range(md.num_row_groups):
            stats = md.row_group(g).column(col).statistics
            if stats is None or not stats.has_min_max:
                return None
            lo.append(stats.min)
            hi.append(stats.max)
        if any(lo[i] < hi[i - 1] for i in range(1, len(lo))):
            return None  # not sorted by the key
        index = _KeyIndex(meta, lo, hi, md.schema.to_arrow_schema(), md)
    except (OSError, KeyError, TypeError, ValueError, pa.ArrowException):
        return None
    with _INDEXES_LOCK:
        for k in [k for k in _INDEXES if k[0] == key[0] and k[3] == column]:
            del _INDEXES[k]
        if len(_INDEXES) > 256:
            _INDEXES.clear()
        _INDEXES[key] = index
    return index


def _pure_agents(ws: Workspace, version: str, subtree: list[str], lo: int, hi: int,
                 only: set[str] | None) -> list[str] | None:
    """The agents (sorted; of ``only`` when given) with a placement overlapping days ``lo``..``hi``
    in ``subtree``, or None when one of them also has such a placement outside it."""
    import numpy as np

    p: _Placements = _small(ws, version, "placements")
    agent_id, org_id = p.agent_id, p.org_id
    if only is not None and len(only) <= 1000:  # a few agents: only their own placements
        rows = p.rows_of(sorted(p.agent_index[a] for a in only if a in p.agent_index))
        agent_id, org_id = agent_id[rows], org_id[rows]
        mask = (p.from_day[rows] <= hi) & (p.to_day[rows] > lo)
    else:
        mask = (p.from_day <= hi) & (p.to_day > lo)
        if only is not None:
            wanted = [p.agent_index[a] for a in only if a in p.agent_index]
            mask &= np.isin(agent_id, np.array(wanted, dtype=agent_id.dtype))
    org_index = p.org_index
    sub = np.array([org_index[c] for c in subtree if c in org_index], dtype=org_id.dtype)
    inside = np.isin(org_id[mask], sub)
    ids = agent_id[mask]
    a_in = np.unique(ids[inside])
    if np.intersect1d(a_in, np.unique(ids[~inside]), assume_unique=True).size:
        return None
    return sorted(p.agent_codes[a_in].tolist())


def agent_rows(ws: Workspace, req: KpiRequest, agents: set[str]) -> KpiResult:
    """The rows of ``agents`` of the by-agent request ``req`` (the rows :func:`get` gives for
    them). Read from the whole-company by-agent result when exact for *these* agents — none of
    them crossed the unit's border in the period, whoever else did — else from the unit's own
    (stored or computed) result."""
    assert req.by == "agent"
    version = data_version(ws)
    used = ws.settings.kpi_settings_used()
    path = ws.analytics_dir / RESULTS_DIR / f"{request_key(req, used)}.parquet"
    result = _read(path, ws, req, version, used)
    if result is None:
        result = _from_agent_tree(ws, req, version, used, only=set(agents))
        if result is not None:
            STATS["tree_hits"] += 1
            return result
        result = get(ws, req)
    else:
        STATS["hits"] += 1
    result.rows = [r for r in result.rows if r.agent_code in agents]
    return result


def warm(ws: Workspace, requests: list[tuple[str, Any, tuple[str, ...]]],
         progress: Any = None) -> int:
    """Compute and store the whole-tree results of ``requests`` ((period text, as-of day or None,
    segments) triples), so that any unit's request for them is a read (:func:`_from_tree`); the
    segment :data:`AGENTS` stands for the whole-company by-agent result (:func:`_from_agent_tree`).
    Current ones are skipped. Returns how many were computed; ``progress(done, total, label)``
    is called after each."""
    todo = [(text, as_of, seg) for text, as_of, segs in requests for seg in segs]
    computed = 0
    for done, (text, as_of, seg) in enumerate(todo, 1):
        before = STATS["computed"]
        if seg == AGENTS:
            get(ws, KpiRequest(period=text, org=None, by="agent", metrics=AGENT_TREE_METRICS,
                               as_of=as_of))
        else:
            get(ws, KpiRequest(period=text, org=None, by="subtree", segment=seg, as_of=as_of))
        computed += STATS["computed"] - before
        if progress is not None:
            progress(done, len(todo), f"{text}{' ≤ ' + str(as_of) if as_of else ''} {seg}")
    return computed


def _write(path: Path, req: KpiRequest, result: KpiResult, version: str, shash: str) -> None:
    c = result.columns()  # the result's table: no row objects are built
    n = len(c["metric"])
    label = result.period.label
    cols = {
        "period_label": [label] * n,
        **{k: c[k] for k in ("org_code", "org_name", "agent_code", "segment", "metric")},
        **{k: [None if v is None else str(v) for v in c[k]]
           for k in ("value", "numerator", "denominator")},
        "settings_hash": [shash] * n,
        "data_version": [version] * n,
        "present": ([None] * n if result.agent_present is None
                    else result.agent_present.tolist()),
    }
    meta = {
        "format": FORMAT_VERSION, "data_version": version, "settings_hash": shash,
        "settings": result.settings, "org_code": result.org_code,
        "request": {"period": req.period, "org": req.org, "by": req.by, "segment": req.segment,
                    "metrics": list(req.metrics) if req.metrics else None,
                    "as_of": req.as_of.isoformat() if req.as_of else None},
        "period": {"label": label, "start": result.period.start.isoformat(),
                   "end": result.period.end.isoformat()},
    }
    schema = SCHEMA.with_metadata({_META_KEY: json.dumps(meta, default=str).encode()})
    table = pa.table(cols, schema=schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}.{threading.get_ident()}")
    try:
        pq.write_table(table, tmp, compression="zstd",
                       row_group_size=(TREE_ROW_GROUP if req.by == "subtree" else AGENT_ROW_GROUP)
                       if req.org is None else None)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: Path, ws: Workspace, req: KpiRequest, version: str,
          used: dict[str, Any]) -> KpiResult | None:
    try:
        table = pq.read_table(path)
        meta = json.loads(table.schema.metadata[_META_KEY])
    except (OSError, KeyError, TypeError, ValueError, pa.ArrowException):
        return None  # missing or unreadable: recompute
    if (meta.get("format") != FORMAT_VERSION or meta.get("data_version") != version
            or meta.get("settings_hash") != settings_hash(used)):
        return None
    cal = ws.settings.calendar
    period = parse_period(req.period, Basis(cal.month_basis, cal.cutoff_day), req.as_of)
    return KpiResult(period=period, settings=meta["settings"], org_code=meta["org_code"],
                     table=_table_columns(table))
