"""The analytic snapshot: Parquet files of the facts under ``<workspace>/analytics/``.

The schema is fixed by docs/kpi-engine.md ("Snapshot schema"). The snapshot is derived and
disposable: :func:`rebuild` writes it from scratch, :func:`refresh` brings it up to date
incrementally and is a no-op (one small query) when nothing changed.

Export: SQLAlchemy Core selects, streamed in chunks from the system of record (SQLite or
PostgreSQL) inside one read transaction (a consistent view: the batch ids and the rows agree),
turned column-wise into pyarrow tables (dates become ``int32`` day numbers, money stays integer
fen or exact decimals), written as zstd Parquet. Fact tables are partitioned by the natural month of
the row's day: ``<fact>/month=YYYYMM/part-0.parquet``.

Freshness is a version check: ``state.json`` records the database identity, the highest import
batch id exported (plus the recent ids that were missing then, in case a concurrent import commits
an older id later) and the months present per fact. ``refresh`` reads the import batches the
snapshot does not contain yet and re-exports

- all the small tables when a batch of ``org_units``/``ranks``/``products``/``agents``/
  ``agent_events``/``plans`` is new (``products`` also re-exports every premium month, because
  ``is_main``/``fyc``/``std`` are denormalised into the premiums);
- for ``premiums``/``attendance``/``work_logs`` the months in ``min_date..max_date`` of the new
  batches (which covers the new dates and the old dates of the rows a batch replaced); a month that
  became empty loses its partition.

Every file is written to a temporary name and renamed into place; ``state.json`` is written last,
so a killed refresh leaves the old state and the next refresh simply redoes the work. A different
database (URL or first import batch), a different format version, a missing file or an
unexplained change in the batch table triggers a rebuild.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine, Select, String, and_, func, or_, select, type_coerce
from sqlalchemy.sql import ColumnElement

from zhuizong.store.models import table
from zhuizong.workspace import Workspace

__all__ = ["OPEN_DAY", "SnapshotInfo", "rebuild", "refresh", "tables"]

#: day number of an open end (a spell still in force, the current placement)
OPEN_DAY = 10_000_000
#: bump when the files' layout or meaning changes: an older snapshot is then rebuilt
FORMAT_VERSION = 1
STATE_FILE = "state.json"
CHUNK_ROWS = 100_000
COMPRESSION = "zstd"
#: how far below the highest batch id we remember ids that were missing (uncommitted) at export
GAP_WINDOW = 1000

SMALL_TABLES = ("orgs", "org_ancestors", "ranks", "products", "spells", "placements", "plans")
FACTS = ("premiums", "attendance", "work_logs")
#: import kinds whose batches change the small tables
SMALL_KINDS = frozenset({"org_units", "ranks", "products", "agents", "agent_events", "plans"})
#: the date column of each fact table (its partition key)
FACT_DATE = {"premiums": "txn_date", "attendance": "date", "work_logs": "date"}

FYP_SIGN = {"new": 1, "fy_renewal": 1, "free_look_cancel": -1, "surrender": -1, "renewal": 0}
ATTENDED = ("present", "late")

DEC_RATE = pa.decimal128(9, 6)
DEC_FACTOR = pa.decimal128(9, 4)
DEC_FYC = pa.decimal128(24, 6)
DEC_STD = pa.decimal128(24, 4)
DEC_TARGET = pa.decimal128(20, 4)

SCHEMAS: dict[str, pa.Schema] = {
    "orgs": pa.schema([("org_code", pa.string()), ("org_name", pa.string()),
                       ("parent_code", pa.string()), ("level", pa.string()),
                       ("depth", pa.int32())]),
    "org_ancestors": pa.schema([("org_code", pa.string()), ("ancestor_code", pa.string()),
                                ("distance", pa.int32())]),
    "ranks": pa.schema([("rank_code", pa.string()), ("rank_name", pa.string()),
                        ("category", pa.string()), ("level", pa.int32())]),
    "products": pa.schema([("product_code", pa.string()), ("product_name", pa.string()),
                           ("is_main", pa.bool_()), ("pay_mode", pa.string()),
                           ("term_years", pa.int32()), ("fyc_rate", DEC_RATE),
                           ("std_factor", DEC_FACTOR)]),
    "spells": pa.schema([("agent_code", pa.string()), ("spell_no", pa.int32()),
                         ("hire_day", pa.int32()), ("leave_day", pa.int32())]),
    "placements": pa.schema([("agent_code", pa.string()), ("from_day", pa.int32()),
                             ("to_day", pa.int32()), ("org_code", pa.string()),
                             ("rank_code", pa.string()), ("category", pa.string()),
                             ("supervisor_code", pa.string())]),
    "plans": pa.schema([("org_code", pa.string()), ("period", pa.string()),
                        ("metric", pa.string()), ("target", DEC_TARGET)]),
    "premiums": pa.schema([("txn_id", pa.string()), ("policy_no", pa.string()),
                           ("agent_code", pa.string()), ("product_code", pa.string()),
                           ("txn_type", pa.string()), ("txn_day", pa.int32()),
                           ("issue_day", pa.int32()), ("amount_fen", pa.int64()),
                           ("fyc_fen", DEC_FYC), ("std_fen", DEC_STD), ("fyp_sign", pa.int8()),
                           ("is_main", pa.bool_()), ("pay_mode", pa.string()),
                           ("term_years", pa.int32()), ("policy_year", pa.int32())]),
    "attendance": pa.schema([("agent_code", pa.string()), ("day", pa.int32()),
                             ("meeting", pa.string()), ("status", pa.string()),
                             ("attended", pa.bool_())]),
    "work_logs": pa.schema([("agent_code", pa.string()), ("day", pa.int32()),
                            *((c, pa.int32()) for c in ("calls", "visits", "interviews",
                                                        "proposals", "closes", "referrals",
                                                        "recruit_talks"))]),
}

#: sort order of the rows inside each file (deterministic files, useful row-group statistics)
SORT_KEYS: dict[str, list[str]] = {
    "orgs": ["org_code"],
    "org_ancestors": ["org_code", "distance"],
    "ranks": ["rank_code"],
    "products": ["product_code"],
    "spells": ["agent_code", "spell_no"],
    "placements": ["agent_code", "from_day"],
    "plans": ["org_code", "period", "metric"],
    "premiums": ["txn_day", "txn_id"],
    "attendance": ["day", "agent_code", "meeting"],
    "work_logs": ["day", "agent_code"],
}

Progress = Callable[[str, int, int], None]


@dataclass
class SnapshotInfo:
    path: Path
    max_batch_id: int
    refreshed: bool
    #: what this call wrote: small table -> "all"; fact -> month keys rewritten or deleted
    exported: dict[str, list[int] | str] = field(default_factory=dict)
    seconds: float = 0.0


# --- public API -------------------------------------------------------------------------------


def refresh(ws: Workspace, progress: Progress | None = None) -> SnapshotInfo:
    """Bring the snapshot up to date with the database; a no-op when it already is."""
    return _run(ws, progress, force=False)


def rebuild(ws: Workspace, progress: Progress | None = None) -> SnapshotInfo:
    """Delete the snapshot and export everything."""
    return _run(ws, progress, force=True)


def tables(ws: Workspace, *, refresh_first: bool = True) -> dict[str, str]:
    """Table name -> Parquet path (facts: a ``<dir>/*/*.parquet`` glob), after :func:`refresh`.

    A fact without any partition yet has a glob that matches no file.
    """
    if refresh_first:
        refresh(ws)
    d = ws.analytics_dir
    out = {name: str(d / f"{name}.parquet") for name in SMALL_TABLES}
    out.update({name: str(d / name / "*" / "*.parquet") for name in FACTS})
    return out


# --- state ------------------------------------------------------------------------------------


@dataclass
class _DbVersion:
    identity: dict[str, Any]
    max_batch_id: int
    batch_count: int
    gaps: list[int]


def _read_state(d: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((d / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _db_version(conn: Connection, ws: Workspace) -> _DbVersion:
    b = table("import_batches")
    top = conn.execute(select(func.max(b.c.id), func.count(b.c.id))).one()
    max_id, count = int(top[0] or 0), int(top[1] or 0)
    first = conn.execute(
        select(b.c.id, b.c.started_at, b.c.file_sha256).order_by(b.c.id).limit(1)
    ).first()
    identity = {
        "database": ws.db_display,
        "first_batch": None if first is None else [
            int(first[0]), first[1].isoformat() if first[1] is not None else None, first[2]],
    }
    gaps: list[int] = []
    if max_id:
        low = max(1, max_id - GAP_WINDOW + 1)
        ids: list[int] = list(conn.execute(select(b.c.id).where(b.c.id >= low)).scalars())
        present = {int(i) for i in ids}
        gaps = [i for i in range(low, max_id + 1) if i not in present]
    return _DbVersion(identity, max_id, count, gaps)


# --- planning ---------------------------------------------------------------------------------


@dataclass
class _Plan:
    full: bool = False  # rebuild: delete everything first
    small: bool = False  # rewrite every small table
    fact_all: set[str] = field(default_factory=set)  # facts to export completely
    fact_months: dict[str, set[int]] = field(default_factory=dict)  # facts: months to redo

    @property
    def empty(self) -> bool:
        return not (self.full or self.small or self.fact_all
                    or any(self.fact_months.values()))


def _months_between(lo: dt.date, hi: dt.date) -> set[int]:
    out = set()
    y, m = lo.year, lo.month
    while (y, m) <= (hi.year, hi.month):
        out.add(y * 100 + m)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _files_present(d: Path) -> bool:
    return all((d / f"{name}.parquet").exists() for name in SMALL_TABLES)


def _plan(conn: Connection, state: dict[str, Any] | None, cur: _DbVersion, d: Path,
          force: bool) -> _Plan:
    full = _Plan(full=True, small=True, fact_all=set(FACTS))
    if (force or state is None or state.get("format") != FORMAT_VERSION
            or state.get("identity") != cur.identity or not _files_present(d)):
        return full
    done_max = int(state.get("max_batch_id", -1))
    done_count = int(state.get("batch_count", -1))
    done_gaps = [int(i) for i in state.get("gaps", [])]
    if cur.max_batch_id < done_max:
        return full  # batches disappeared: a restored or different database
    if cur.max_batch_id == done_max and cur.batch_count == done_count:
        return _Plan()
    b = table("import_batches")
    cond = b.c.id > done_max
    if done_gaps:
        cond = or_(cond, b.c.id.in_(done_gaps))
    batches: Select[str, dt.date | None, dt.date | None] = (
        select(b.c.kind, b.c.min_date, b.c.max_date).where(cond))
    new = conn.execute(batches).all()
    if done_count + len(new) != cur.batch_count:
        return full  # a change we cannot attribute to new batches
    plan = _Plan()
    for kind, lo, hi in new:
        if kind in SMALL_KINDS:
            plan.small = True
            if kind == "products":
                plan.fact_all.add("premiums")
        elif kind in FACTS:
            if lo is None or hi is None:
                plan.fact_all.add(kind)
            else:
                plan.fact_months.setdefault(kind, set()).update(_months_between(lo, hi))
    for fact in plan.fact_all:
        plan.fact_months.pop(fact, None)
    return plan


# --- running ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _lock(d: Path) -> Iterator[None]:
    """Serialise refreshes of one snapshot between processes (where ``fcntl`` exists)."""
    d.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(d / ".lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _reader(engine: Engine) -> Iterator[Connection]:
    """One read transaction: every query of an export sees the same database state."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _run(ws: Workspace, progress: Progress | None, *, force: bool) -> SnapshotInfo:
    t0 = time.perf_counter()
    engine = ws.require_ready()
    d = ws.analytics_dir
    report = progress or (lambda name, done, total: None)
    if not force and (state := _read_state(d)) is not None:
        # the common case, a snapshot already current, without the lock: every KPI read of the
        # web app's threads checks it (the state file is replaced atomically)
        with engine.connect() as conn:
            cur = _db_version(conn, ws)
            if _plan(conn, state, cur, d, False).empty:
                return SnapshotInfo(d, cur.max_batch_id, False, {}, time.perf_counter() - t0)
    with _lock(d), _reader(engine) as conn:
        state = _read_state(d)
        cur = _db_version(conn, ws)
        plan = _plan(conn, state, cur, d, force)
        if plan.empty:
            return SnapshotInfo(d, cur.max_batch_id, False, {}, time.perf_counter() - t0)
        if plan.full:
            _clear(d)
            state = None
        months: dict[str, list[int]] = {
            f: list((state or {}).get("months", {}).get(f, [])) for f in FACTS
        }
        exported: dict[str, list[int] | str] = {}
        products = _fetch_table(conn, "products")
        if plan.small:
            for name, tbl in _small_tables(conn, products):
                _write_parquet(_sorted(tbl, name), d / f"{name}.parquet")
                exported[name] = "all"
                report(name, 1, 1)
        for fact in FACTS:
            if fact in plan.fact_all:
                written, present = _export_fact(conn, d, fact, None, products, report)
                months[fact] = present
            elif plan.fact_months.get(fact):
                target = plan.fact_months[fact]
                written, present = _export_fact(conn, d, fact, target, products, report)
                months[fact] = sorted((set(months[fact]) - target) | set(present))
            else:
                continue
            exported[fact] = written
        new_state = {
            "format": FORMAT_VERSION,
            "identity": cur.identity,
            "max_batch_id": cur.max_batch_id,
            "batch_count": cur.batch_count,
            "gaps": cur.gaps,
            "months": months,
            "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        _write_bytes(json.dumps(new_state, indent=1).encode(), d / STATE_FILE)
    return SnapshotInfo(d, cur.max_batch_id, True, exported, time.perf_counter() - t0)


def _clear(d: Path) -> None:
    """Remove the snapshot's own files (state first, so a kill midway means "rebuild")."""
    (d / STATE_FILE).unlink(missing_ok=True)
    for name in SMALL_TABLES:
        (d / f"{name}.parquet").unlink(missing_ok=True)
    for fact in FACTS:
        shutil.rmtree(d / fact, ignore_errors=True)


# --- files ------------------------------------------------------------------------------------


def _tmp_name(path: Path) -> Path:
    return path.with_name(f"{path.name}.tmp{os.getpid()}")


def _write_parquet(tbl: pa.Table, path: Path) -> None:
    """Write ``tbl`` to ``path`` atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        pq.write_table(tbl, tmp, compression=COMPRESSION)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_bytes(data: bytes, path: Path) -> None:
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _partition_path(d: Path, fact: str, month: int) -> Path:
    return d / fact / f"month={month}" / "part-0.parquet"


def _delete_partition(d: Path, fact: str, month: int) -> None:
    path = _partition_path(d, fact, month)
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()


def _months_on_disk(d: Path, fact: str) -> set[int]:
    out = set()
    root = d / fact
    if root.is_dir():
        for p in root.iterdir():
            if p.is_dir() and p.name.startswith("month=") and p.name[6:].isdigit():
                out.add(int(p.name[6:]))
    return out


def _sorted(tbl: pa.Table, name: str) -> pa.Table:
    return tbl.sort_by([(k, "ascending") for k in SORT_KEYS[name]])


# --- reading the database ---------------------------------------------------------------------

# column kinds of a select: how the driver's values become an Arrow column
_ARROW_OF = {"str": pa.string(), "i8": pa.int8(), "i32": pa.int32(), "i64": pa.int64(),
             "bool": pa.bool_(), "rate": DEC_RATE, "factor": DEC_FACTOR, "target": DEC_TARGET}


def _select_col(col: ColumnElement[Any], kind: str, dialect: str) -> ColumnElement[Any]:
    if kind == "day" and dialect == "sqlite":
        # SQLite stores ISO text: take it as is and let Arrow parse it (no per-value Python)
        return type_coerce(col, String)
    return col


def _to_arrow(values: Sequence[Any], kind: str, dialect: str) -> pa.Array:
    if kind == "day":
        return _day_column(pa.array(values, pa.string() if dialect == "sqlite" else pa.date32()))
    if kind == "bool":  # SQLite's driver gives 0/1
        return pc.cast(pa.array(values), pa.bool_())
    return pa.array(values, _ARROW_OF[kind])


#: kinds whose driver values Arrow converts directly (no SQLAlchemy result processing needed)
_RAW_KINDS = frozenset({"str", "i8", "i32", "i64", "day"})


def _stream(conn: Connection, cols: list[tuple[str, ColumnElement[Any], str]],
            where: ColumnElement[bool] | None = None, from_: Any = None) -> Iterator[pa.Table]:
    """Stream a select of ``cols`` ((name, column, kind)) in chunks of Arrow tables."""
    dialect = conn.dialect.name
    stmt = select(*(_select_col(c, k, dialect).label(n) for n, c, k in cols))
    if from_ is not None:
        stmt = stmt.select_from(from_)
    if where is not None:
        stmt = stmt.where(where)
    if all(k in _RAW_KINDS for _, _, k in cols):
        # driver tuples -> one struct array (Arrow transposes in C++) -> typed columns
        day_type = pa.string() if dialect == "sqlite" else pa.date32()
        row_type = pa.struct([(n, day_type if k == "day" else _ARROW_OF[k]) for n, _, k in cols])
        for rows in _raw_chunks(conn, stmt):
            fields = pa.array(rows, type=row_type).flatten()
            yield pa.table({n: _day_column(a) if k == "day" else a
                            for (n, _, k), a in zip(cols, fields, strict=True)})
        return
    for rows in _sa_chunks(conn, stmt):
        columns = list(zip(*rows, strict=True))
        yield pa.table({n: _to_arrow(v, k, dialect)
                        for (n, _, k), v in zip(cols, columns, strict=True)})


def _day_column(arr: pa.Array) -> pa.Array:
    """ISO date text (SQLite) or date32 (PostgreSQL) -> int32 day numbers."""
    if not pa.types.is_date32(arr.type):
        arr = pc.cast(arr, pa.date32())
    return pc.cast(arr, pa.int32())


def _sa_chunks(conn: Connection, stmt: Any) -> Iterator[Sequence[Any]]:
    """Rows through SQLAlchemy's result processing (decimals and booleans on every driver)."""
    result = conn.execute(stmt, execution_options={"yield_per": CHUNK_ROWS})
    try:
        yield from result.partitions()
    finally:
        result.close()


def _raw_chunks(conn: Connection, stmt: Any) -> Iterator[Sequence[Any]]:
    """Plain driver tuples for the big fact selects: the same connection and transaction, but
    no per-row ``Row`` objects (a third of the export time). The only parameters are dates we
    generate, rendered as literals; PostgreSQL streams through a server-side cursor."""
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    dbapi = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        cur = dbapi.cursor(name="zz_snapshot")  # type: ignore[union-attr]
        cur.itersize = CHUNK_ROWS
    else:
        cur = dbapi.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql)
        while rows := cur.fetchmany(CHUNK_ROWS):
            yield rows
    finally:
        cur.close()


def _schema_of(cols: list[tuple[str, ColumnElement[Any], str]]) -> pa.Schema:
    return pa.schema([(n, pa.int32() if k == "day" else _ARROW_OF[k]) for n, _, k in cols])


def _fetch(conn: Connection, cols: list[tuple[str, ColumnElement[Any], str]],
           where: ColumnElement[bool] | None = None, from_: Any = None) -> pa.Table:
    parts = list(_stream(conn, cols, where, from_))
    if not parts:
        return _schema_of(cols).empty_table()
    return pa.concat_tables(parts)


def _open_end(arr: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    return pc.fill_null(arr, pa.scalar(OPEN_DAY, pa.int32()))


def _fetch_table(conn: Connection, name: str) -> pa.Table:
    """One small table in its snapshot schema (``org_ancestors`` excepted)."""
    if name == "orgs":
        t = table("org_units")
        raw = _fetch(conn, [("org_code", t.c.org_code, "str"), ("org_name", t.c.org_name, "str"),
                            ("parent_code", t.c.parent_code, "str"), ("level", t.c.level, "str")])
        depth, _ = _org_tree(raw)
        return raw.append_column("depth", pa.array(depth, pa.int32()))
    if name == "ranks":
        t = table("ranks")
        return _fetch(conn, [("rank_code", t.c.rank_code, "str"),
                             ("rank_name", t.c.rank_name, "str"),
                             ("category", t.c.category, "str"), ("level", t.c.level, "i32")])
    if name == "products":
        t = table("products")
        return _fetch(conn, [("product_code", t.c.product_code, "str"),
                             ("product_name", t.c.product_name, "str"),
                             ("is_main", t.c.is_main, "bool"), ("pay_mode", t.c.pay_mode, "str"),
                             ("term_years", t.c.term_years, "i32"),
                             ("fyc_rate", t.c.fyc_rate, "rate"),
                             ("std_factor", t.c.std_factor, "factor")])
    if name == "spells":
        t = table("employment_spells")
        raw = _fetch(conn, [("agent_code", t.c.agent_code, "str"),
                            ("spell_no", t.c.spell_no, "i32"),
                            ("hire_day", t.c.hire_date, "day"),
                            ("leave_day", t.c.leave_date, "day")])
        return raw.set_column(3, "leave_day", _open_end(raw["leave_day"]))
    if name == "placements":
        h, r = table("agent_history"), table("ranks")
        raw = _fetch(conn, [("agent_code", h.c.agent_code, "str"),
                            ("from_day", h.c.valid_from, "day"),
                            ("to_day", h.c.valid_to, "day"),
                            ("org_code", h.c.org_code, "str"),
                            ("rank_code", h.c.rank_code, "str"),
                            ("category", r.c.category, "str"),
                            ("supervisor_code", h.c.supervisor_code, "str")],
                     from_=h.outerjoin(r, h.c.rank_code == r.c.rank_code))
        return raw.set_column(2, "to_day", _open_end(raw["to_day"]))
    if name == "plans":
        t = table("plans")
        return _fetch(conn, [("org_code", t.c.org_code, "str"), ("period", t.c.period, "str"),
                             ("metric", t.c.metric, "str"), ("target", t.c.target, "target")])
    raise KeyError(name)


def _org_tree(orgs: pa.Table) -> tuple[list[int], list[tuple[str, str, int]]]:
    """Depth of each unit (root = 0) and (unit, ancestor, distance) incl. the unit itself."""
    codes = orgs["org_code"].to_pylist()
    parent = dict(zip(codes, orgs["parent_code"].to_pylist(), strict=True))
    depth: list[int] = []
    pairs: list[tuple[str, str, int]] = []
    for code in codes:
        chain, seen, p = [code], {code}, parent.get(code)
        while p is not None and p in parent and p not in seen:  # guard against cycles
            chain.append(p)
            seen.add(p)
            p = parent[p]
        depth.append(len(chain) - 1)
        pairs.extend((code, a, i) for i, a in enumerate(chain))
    return depth, pairs


def _small_tables(conn: Connection, products: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    for name in SMALL_TABLES:
        if name == "products":
            yield name, products
        elif name == "org_ancestors":
            orgs = table("org_units")
            raw = _fetch(conn, [("org_code", orgs.c.org_code, "str"),
                                ("parent_code", orgs.c.parent_code, "str")])
            _, pairs = _org_tree(raw)
            cols = list(zip(*pairs, strict=True)) if pairs else [(), (), ()]
            yield name, pa.table(
                [pa.array(cols[0], pa.string()), pa.array(cols[1], pa.string()),
                 pa.array(cols[2], pa.int32())], schema=SCHEMAS[name])
        else:
            yield name, _fetch_table(conn, name).cast(SCHEMAS[name])


# --- facts ------------------------------------------------------------------------------------


def _fact_columns(fact: str) -> list[tuple[str, ColumnElement[Any], str]]:
    t = table(fact)
    if fact == "premiums":
        return [("txn_id", t.c.txn_id, "str"), ("policy_no", t.c.policy_no, "str"),
                ("agent_code", t.c.agent_code, "str"), ("product_code", t.c.product_code, "str"),
                ("txn_type", t.c.txn_type, "str"), ("txn_day", t.c.txn_date, "day"),
                ("issue_day", t.c.issue_date, "day"), ("amount_fen", t.c.amount_fen, "i64"),
                ("fyc_given", t.c.fyc_fen, "i64"), ("policy_year", t.c.policy_year, "i32")]
    if fact == "attendance":
        return [("agent_code", t.c.agent_code, "str"), ("day", t.c.date, "day"),
                ("meeting", t.c.meeting, "str"), ("status", t.c.status, "str")]
    return [("agent_code", t.c.agent_code, "str"), ("day", t.c.date, "day"),
            *((c, t.c[c], "i32") for c in ("calls", "visits", "interviews", "proposals",
                                           "closes", "referrals", "recruit_talks"))]


def _finish_premiums(raw: pa.Table, products: pa.Table) -> pa.Table:
    """Add the product attributes, fyc/std in fen and the FYP sign (kpi-engine.md)."""
    idx = pc.index_in(raw["product_code"], value_set=products["product_code"])

    def prod(col: str) -> pa.Array:
        return pc.take(products[col], idx)

    rate = pc.fill_null(prod("fyc_rate"), pa.scalar(Decimal(0), DEC_RATE))
    factor = pc.fill_null(prod("std_factor"), pa.scalar(Decimal(1), DEC_FACTOR))
    amount = pc.cast(raw["amount_fen"], pa.decimal128(19, 0))
    given = pc.cast(pc.cast(raw["fyc_given"], pa.decimal128(19, 0)), DEC_FYC)
    fyc = pc.coalesce(given,
                      pc.cast(pc.multiply(amount, rate), DEC_FYC))
    std = pc.cast(pc.multiply(amount, factor), DEC_STD)
    types = pa.array(list(FYP_SIGN), pa.string())
    signs = pa.array(list(FYP_SIGN.values()), pa.int8())
    sign = pc.take(signs, pc.index_in(raw["txn_type"], value_set=types))
    cols = {
        "txn_id": raw["txn_id"], "policy_no": raw["policy_no"],
        "agent_code": raw["agent_code"], "product_code": raw["product_code"],
        "txn_type": raw["txn_type"], "txn_day": raw["txn_day"], "issue_day": raw["issue_day"],
        "amount_fen": raw["amount_fen"], "fyc_fen": fyc, "std_fen": std, "fyp_sign": sign,
        "is_main": prod("is_main"), "pay_mode": prod("pay_mode"),
        "term_years": prod("term_years"), "policy_year": raw["policy_year"],
    }
    return pa.table(cols, schema=SCHEMAS["premiums"])


def _finish(fact: str, raw: pa.Table, products: pa.Table) -> pa.Table:
    if fact == "premiums":
        return _finish_premiums(raw, products)
    if fact == "attendance":
        attended = pc.is_in(raw["status"], value_set=pa.array(ATTENDED, pa.string()))
        return raw.append_column("attended", attended).cast(SCHEMAS[fact])
    return raw.cast(SCHEMAS[fact])


def _month_keys(days: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Natural month ``yyyymm`` of each day number."""
    d = np.asarray(days.to_numpy(), dtype="int64").astype("datetime64[D]")
    m = d.astype("datetime64[M]").astype("int64")
    return (m // 12 + 1970) * 100 + m % 12 + 1


def _month_ranges(months: set[int]) -> list[tuple[dt.date, dt.date]]:
    """Contiguous runs of months as [first day, first day after) date ranges."""
    idx = sorted((m // 100) * 12 + m % 100 - 1 for m in months)
    runs: list[tuple[int, int]] = []
    for i in idx:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return [(dt.date(a // 12, a % 12 + 1, 1), dt.date((b + 1) // 12, (b + 1) % 12 + 1, 1))
            for a, b in runs]


def _export_fact(conn: Connection, d: Path, fact: str, months: set[int] | None,
                 products: pa.Table, report: Progress) -> tuple[list[int], list[int]]:
    """Re-export ``months`` of ``fact`` (None: all of it). Returns (months written or deleted,
    months that now have rows among those exported)."""
    date_col = table(fact).c[FACT_DATE[fact]]
    where = None
    if months is not None:
        where = or_(*(and_(date_col >= lo, date_col < hi) for lo, hi in _month_ranges(months)))
    day_col = "txn_day" if fact == "premiums" else "day"
    report(fact, 0, 0)
    buckets: dict[int, list[pa.Table]] = {}
    for chunk in _stream(conn, _fact_columns(fact), where):
        if chunk.num_rows == 0:
            continue
        keys = _month_keys(chunk[day_col])
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        chunk = chunk.take(pa.array(order))
        uniq, starts = np.unique(keys, return_index=True)
        bounds = [*starts.tolist(), len(keys)]
        for j, month in enumerate(uniq.tolist()):
            buckets.setdefault(month, []).append(
                chunk.slice(bounds[j], bounds[j + 1] - bounds[j]))
    present = sorted(buckets)
    todo = set(present) | (months if months is not None else _months_on_disk(d, fact))
    ordered = sorted(todo)
    for i, month in enumerate(ordered, 1):
        parts = buckets.pop(month, None)
        if parts:
            tbl = _finish(fact, pa.concat_tables(parts).combine_chunks(), products)
            _write_parquet(_sorted(tbl, fact), _partition_path(d, fact, month))
        else:
            _delete_partition(d, fact, month)
        report(fact, i, len(ordered))
    return ordered, present
