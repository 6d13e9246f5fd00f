"""Staged, set-based upsert of validated columns into a kind's table.

1. The typed columns go into a temporary staging table with the target's column types (SQLite:
   ``executemany`` in chunks sized to the parameter limit; PostgreSQL: ``COPY … FROM STDIN`` of a
   CSV written by pyarrow).
2. One query counts, against the staging table, the rows that are new, that differ from the stored
   row (``IS DISTINCT FROM`` on any non-key column given in the file) and that are unchanged.
3. One ``INSERT … SELECT … ON CONFLICT (key) DO UPDATE SET … WHERE <some column differs>`` writes
   the new and changed rows; unchanged rows are not rewritten (their ``batch_id`` stays).

Columns absent from the file are left as they are on update (and NULL on insert).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeEngine

from zhuizong.importing.kinds import ImportKind
from zhuizong.store.models import table as db_table

SQLITE_MAX_VARIABLES = 32766
PG_COPY_ROWS = 100_000

Progress = Callable[[int, int], None]


@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    #: min/max of the kind's date column over the stored rows this batch changed (their old
    #: dates), so the batch's date range also covers where those rows used to be
    old_min: dt.date | None = None
    old_max: dt.date | None = None


#: the staging column of a streamed import that holds each row's user row number
ROW_COLUMN = "zz_row"


def staging_table(kind: ImportKind, cols: list[str], *, row_numbers: bool = False) -> Table:
    """The staging table of ``kind``: the target's column types; with ``row_numbers`` (a
    streamed file, staged before its errors are all known) also the row number, and types wide
    enough for a refused value (a too-long code, an int over 32 bits), so staging never fails
    where validation already reported the row."""
    target = db_table(kind.table)
    md = MetaData()
    extra = [Column(ROW_COLUMN, BigInteger)] if row_numbers else []
    return Table(
        f"zz_stage_{kind.table}",
        md,
        *[Column(c, _wide(target.c[c].type) if row_numbers else target.c[c].type) for c in cols],
        *extra,
        prefixes=["TEMPORARY"],
    )


def _wide(typ: TypeEngine[Any]) -> TypeEngine[Any]:
    if isinstance(typ, String):
        return String()
    if isinstance(typ, Integer):
        return BigInteger()
    if isinstance(typ, Numeric):
        return Numeric()
    return typ


def _sqlite_values(arr: pa.Array) -> list[object]:
    if pa.types.is_date(arr.type) or pa.types.is_timestamp(arr.type):
        arr = pc.cast(pc.cast(arr, pa.date32()), pa.string())
    return arr.to_pylist()


def _load_sqlite(conn: Connection, stage: Table, data: dict[str, pa.Array], n: int,
                 progress: Progress | None, extra: dict[str, object] | None = None) -> None:
    """executemany in chunks; ``extra`` adds constant columns (e.g. the batch id)."""
    cols = list(data)
    consts = list((extra or {}).items())
    names = [*cols, *(k for k, _ in consts)]
    sql = (f'INSERT INTO "{stage.name}" ({", ".join(chr(34) + c + chr(34) for c in names)}) '
           f"VALUES ({', '.join('?' for _ in cols)}{''.join(', ?' for _ in consts)})")
    chunk = max(1, SQLITE_MAX_VARIABLES // max(1, len(names)))
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            lists = [_sqlite_values(data[c].slice(start, stop - start)) for c in cols]
            lists += [[v] * (stop - start) for _, v in consts]
            cur.executemany(sql, zip(*lists, strict=True))
            if progress:
                progress(stop, n)
    finally:
        cur.close()


def _load_postgresql(conn: Connection, stage: Table, data: dict[str, pa.Array], n: int,
                     progress: Progress | None) -> None:
    cols = list(data)
    tbl = pa.table({c: data[c] for c in cols})
    collist = ", ".join(f'"{c}"' for c in cols)
    copy_sql = f'COPY "{stage.name}" ({collist}) FROM STDIN (FORMAT csv)'
    dbapi = conn.connection.driver_connection  # psycopg.Connection
    opts = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    with dbapi.cursor() as cur:  # type: ignore[union-attr]
        for start in range(0, n, PG_COPY_ROWS):
            part = tbl.slice(start, PG_COPY_ROWS)
            buf = io.BytesIO()
            pacsv.write_csv(part, buf, write_options=opts)
            with cur.copy(copy_sql) as cp:
                cp.write(buf.getbuffer())
            if progress:
                progress(min(n, start + PG_COPY_ROWS), n)


def _sorted_by(data: dict[str, pa.Array], keys: list[str]) -> dict[str, pa.Array]:
    tbl = pa.table(data)
    order = pc.sort_indices(tbl, sort_keys=[(k, "ascending") for k in keys])
    return {name: col.combine_chunks() for name, col in zip(tbl.column_names, tbl.take(order).columns, strict=True)}


def _insert(conn: Connection):  # type: ignore[no-untyped-def]
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def upsert(conn: Connection, kind: ImportKind, data: dict[str, pa.Array], batch_id: int | None,
           progress: Progress | None = None) -> Counts:
    """Stage ``data`` (database column -> typed values) and upsert it into ``kind.table``."""
    target = db_table(kind.table)
    n = len(next(iter(data.values()))) if data else 0
    keys = [kind.column(k).target for k in kind.key]
    if conn.dialect.name == "sqlite":
        # a larger page cache speeds up the index updates of big files
        conn.exec_driver_sql("PRAGMA main.cache_size=-524288")
        conn.exec_driver_sql("PRAGMA temp.cache_size=-131072")
        if n and conn.execute(select(literal(1)).select_from(target).limit(1)).first() is None:
            # Initial load into an empty table: every row is new (keys are unique within the
            # file, checked by validation), so write straight into the table, no staging, in
            # key order so the primary-key B-tree only ever appends.
            _load_sqlite(conn, target, _sorted_by(data, keys), n, progress,
                         extra={"batch_id": batch_id})
            return Counts(inserted=n)
    stage = create_stage(conn, kind, list(data))
    if n:
        load_stage(conn, stage, data, progress)
    elif progress:
        progress(0, 0)
    return merge_stage(conn, kind, stage, list(data), batch_id)


def create_stage(conn: Connection, kind: ImportKind, cols: list[str], *,
                 row_numbers: bool = False) -> Table:
    """A new, empty staging table of ``kind`` with the columns ``cols`` (and the row number
    column :data:`ROW_COLUMN`): temporary, so it never outlives the session, and no constraint,
    so every row of the file fits (validation decides what is refused)."""
    stage = staging_table(kind, cols, row_numbers=row_numbers)
    schema = 'temp.' if conn.dialect.name == "sqlite" else ""
    conn.exec_driver_sql(f'DROP TABLE IF EXISTS {schema}"{stage.name}"')
    stage.create(conn)
    return stage


def load_stage(conn: Connection, stage: Table, data: dict[str, pa.Array],
               progress: Progress | None = None) -> None:
    """Append typed columns to ``stage`` (SQLite: ``executemany`` sized to the parameter limit;
    PostgreSQL: ``COPY``)."""
    n = len(next(iter(data.values()))) if data else 0
    if not n:
        return
    if conn.dialect.name == "postgresql":
        _load_postgresql(conn, stage, data, n, progress)
    else:
        _load_sqlite(conn, stage, data, n, progress)


def stage_duplicates(conn: Connection, kind: ImportKind,
                     stage: Table) -> list[tuple[int, tuple[object, ...], int]]:
    """(row, key values, first row with that key) of every staged row whose key (all parts
    given) an earlier row of the file already has: the duplicate-key check of a streamed file,
    in SQL over the staging table (one grouped scan) rather than in memory."""
    keys = [stage.c[kind.column(k).target] for k in kind.key]
    row = stage.c[ROW_COLUMN]
    groups = (
        select(*keys, func.min(row).label("first"))
        .where(and_(*(k.is_not(None) for k in keys)))
        .group_by(*keys)
        .having(func.count() > 1)
        .subquery()
    )
    on = and_(*(k == groups.c[k.name] for k in keys))
    q = (select(row, *keys, groups.c.first).join_from(stage, groups, on)
         .where(row != groups.c.first).order_by(row))
    return [(int(r[0]), tuple(r[1:-1]), int(r[-1])) for r in conn.execute(q)]


def merge_stage(conn: Connection, kind: ImportKind, stage: Table, cols: list[str],
                batch_id: int | None, row_slices: list[tuple[int, int]] | None = None) -> Counts:
    """Count and upsert the staged rows into ``kind.table`` (set-based), then drop the stage.

    ``row_slices`` (first, last row number) writes a streamed stage one slice per statement:
    PostgreSQL queues a foreign-key check per inserted row until its statement ends (in server
    memory), so tens of millions of rows in one statement would hold tens of millions of queued
    checks."""
    target = db_table(kind.table)
    keys = [kind.column(k).target for k in kind.key]
    nonkeys = [c for c in cols if c not in keys]
    # --- counts, set-based against the staging table --------------------------------------
    join_on = and_(*(stage.c[k] == target.c[k] for k in keys))
    exists = target.c[keys[0]].is_not(None)
    differs = or_(*(target.c[c].is_distinct_from(stage.c[c]) for c in nonkeys)) if nonkeys else false()
    cells = [
        func.count(),
        func.coalesce(func.sum(case((exists, 0), else_=1)), 0),
        func.coalesce(func.sum(case((and_(exists, differs), 1), else_=0)), 0),
    ]
    date_col = kind.column(kind.date_column).target if kind.date_column else None
    if date_col is not None:
        old = case((and_(exists, differs), target.c[date_col]), else_=None)
        cells += [func.min(old, type_=Date), func.max(old, type_=Date)]
    row = conn.execute(select(*cells).select_from(stage.outerjoin(target, join_on))).one()
    total, inserted, updated = row[0], row[1], row[2]
    counts = Counts(int(inserted), int(updated), int(total) - int(inserted) - int(updated))
    if date_col is not None:
        counts.old_min, counts.old_max = row[3], row[4]

    # --- the upsert -----------------------------------------------------------------------
    if counts.inserted or counts.updated:
        ins = _insert(conn)(target)
        for where in _slices(stage, row_slices):
            src = select(*(stage.c[c] for c in cols), literal(batch_id, Integer)).where(where).order_by(*(stage.c[k] for k in keys))
            stmt = ins.from_select([*cols, "batch_id"], src)
            if nonkeys:
                stmt = stmt.on_conflict_do_update(
                    index_elements=keys,
                    set_={**{c: stmt.excluded[c] for c in nonkeys}, "batch_id": stmt.excluded.batch_id},
                    where=or_(*(target.c[c].is_distinct_from(stmt.excluded[c]) for c in nonkeys)),
                )
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=keys)
            conn.execute(stmt)
    stage.drop(conn)
    return counts


def _slices(stage: Table, row_slices: list[tuple[int, int]] | None) -> list[Any]:
    if not row_slices:
        return [true()]
    row = stage.c[ROW_COLUMN]
    return [and_(row >= lo, row <= hi) for lo, hi in row_slices]
