"""Import a file (or a DataFrame) of one kind: all or nothing, idempotent, with a full error list.

Pipeline: file check -> sha256 (the latest import of this kind was this very file? stop) -> read (reader) -> map headers
(normalize) -> validate column-wise (validate) -> in ONE transaction: check references against
the database, record the batch, staged upsert (upsert), rebuild derived history for agents /
agent_events, audit log -> commit (or roll back for a dry run or on any error).

Validation problems never raise: they come back as a ``rejected`` :class:`ImportResult` whose
``errors`` list every problem (row 0 = the file as a whole).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from zhuizong.errors import ZhuizongError
from zhuizong.importing import reader
from zhuizong.importing.kinds import KINDS, ImportKind
from zhuizong.importing.normalize import RowError, fold, map_headers
from zhuizong.importing.upsert import (
    ROW_COLUMN,
    Counts,
    create_stage,
    load_stage,
    merge_stage,
    stage_duplicates,
    upsert,
)
from zhuizong.importing.validate import (
    Validated,
    check_references,
    duplicate_error,
    validate_columns,
)
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.history import rebuild_history
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

__all__ = ["ImportCancelled", "ImportInterrupted", "ImportResult", "RowError", "get_kind", "import_file", "import_frame"]

Status = Literal["committed", "dry_run", "rejected", "already_imported"]
Progress = Callable[[int, int], None]


@dataclass
class ImportResult:
    kind: str
    file_name: str
    sha256: str
    status: Status
    rows_total: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    batch_id: int | None = None
    duration_s: float = 0.0
    #: a dry run's preview of names: the first rows' key and name columns as they would be
    #: stored, so garbled text (mojibake) is seen before anything is committed (:func:`preview`)
    preview: list[dict[str, str]] = field(default_factory=list)
    #: how a dry run read the file: ``CSV utf-8``, ``CSV gb18030``, ``XLSX sheet 'premiums'``
    source: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "rejected"


#: rows in a dry run's preview of names
PREVIEW_ROWS = 5


def preview(v: Validated, limit: int = PREVIEW_ROWS) -> list[dict[str, str]]:
    """The first ``limit`` rows of ``v``: row number, key columns and the name columns (``*_name``,
    ``title``; else every free-text column) as they would be stored. ``[]`` for a kind without
    free text (premiums …: codes, dates and amounts are checked, not guessed)."""
    k = v.kind
    free = [c for c in k.columns if c.type == "text" and (c.db_column or c.code) in v.columns]
    names = [c for c in free if c.code.endswith("_name") or c.code == "title"] or free
    if not names:
        return []
    cols = [c for c in k.columns if c.key and (c.db_column or c.code) in v.columns] + names
    out: list[dict[str, str]] = []
    for i in range(min(limit, len(v))):
        d = {"row": str(int(v.rows[i]))}
        for c in cols:
            val = v.columns[c.db_column or c.code][i].as_py()
            d[c.code] = "" if val is None else str(val)
        out.append(d)
    return out


def _source(raw: reader.RawTable) -> str:
    return f"XLSX sheet {raw.sheet!r}" if raw.sheet else f"CSV {raw.encoding or ''}".strip()


class ImportCancelled(ZhuizongError):
    """The import was stopped before it committed (the web client left); nothing was stored."""

    def __init__(self) -> None:
        super().__init__("导入已取消, 未导入任何行", "the import was cancelled; nothing was imported")


Cancelled = Callable[[], bool]


def _checkpoint(cancelled: Cancelled | None) -> None:
    if cancelled is not None and cancelled():
        raise ImportCancelled()


class _Abort(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


class _DryRun(Exception):
    def __init__(self, counts: Counts) -> None:
        super().__init__("dry run")
        self.counts = counts


def get_kind(kind: str) -> ImportKind:
    """The import kind named ``kind`` (code or Chinese label)."""
    k = KINDS.get(kind) or KINDS.get(kind.strip().lower())
    if k is None:
        k = next((x for x in KINDS.values() if x.zh == fold(kind)), None)
    if k is None:
        known = ", ".join(f"{x.name} ({x.zh})" for x in KINDS.values())
        raise ZhuizongError(f"未知的导入类型 {kind!r}; 可用: {known}",
                            f"unknown import kind {kind!r}; known: {known}")
    return k


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def frame_sha256(frame: pd.DataFrame) -> str:
    """A content hash of a frame: its column names and every value (row order matters)."""
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, frame.columns)).encode())
    if len(frame):
        h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _find_batch(conn: Connection, kind: str, sha: str) -> tuple[int, int] | None:
    """The batch of this very file when it is a no-op to import it again: the same content was
    the *latest* import of its kind. An older file is applied again by rows (docs/import-guide.md,
    "Importing a file again"): re-importing A after a correction B restores A's values."""
    b = table("import_batches")
    row = conn.execute(
        select(b.c.id, b.c.rows_total, b.c.file_sha256).where(b.c.kind == kind)
        .order_by(b.c.id.desc()).limit(1)
    ).first()
    return (int(row[0]), int(row[1])) if row and row[2] == sha else None


def last_batch_id(ws: Workspace) -> int:
    """The id of the latest import batch of any kind (0 when none): taken before an import, it
    tells afterwards whether an interrupted import had committed (:class:`ImportInterrupted`)."""
    b = table("import_batches")
    with ws.engine.connect() as conn:
        return int(conn.execute(select(func.max(b.c.id))).scalar_one() or 0)


class ImportInterrupted(ZhuizongError):
    """The command line's import was interrupted (Ctrl-C, SIGINT). The transaction is rolled back
    as the interruption unwinds it, so nothing is stored — unless it came after the commit, which
    the batches recorded since ``before`` tell."""

    exit_code = 130

    def __init__(self, ws: Workspace, kind: str, before: int) -> None:
        b = table("import_batches")
        with ws.engine.connect() as conn:
            done: int | None = conn.execute(select(func.max(b.c.id)).where(
                b.c.id > before, b.c.kind == kind)).scalar_one()
        if done is None:
            super().__init__("导入已中断 (Ctrl-C), 未导入任何行",
                             "the import was interrupted (Ctrl-C); nothing was imported")
        else:
            super().__init__(f"导入在提交之后才被中断 (Ctrl-C): 文件已导入 (批次 {done})",
                             f"the import was interrupted (Ctrl-C) after it committed: the file "
                             f"was imported (batch {done})")
        self.batch_id = done


def superseded_sha(sha: str, batch_id: int) -> str:
    """What an earlier batch of a file applied again keeps as its hash (the key ``(kind,
    file_sha256)`` is unique; the latest application holds the file's own hash)."""
    return hashlib.sha256(f"{sha}:superseded-by-reimport:{batch_id}".encode()).hexdigest()


def _release_sha(conn: Connection, kind: str, sha: str) -> None:
    b = table("import_batches")
    old = conn.execute(select(b.c.id).where(b.c.kind == kind, b.c.file_sha256 == sha)).first()
    if old is not None:
        conn.execute(update(b).where(b.c.id == old[0])
                     .values(file_sha256=superseded_sha(sha, int(old[0]))))


def _rejected(kind: ImportKind, name: str, sha: str, errors: list[RowError], t0: float,
              rows_total: int = 0) -> ImportResult:
    return ImportResult(kind.name, name, sha, "rejected", rows_total, 0, 0, 0, errors, None,
                        time.perf_counter() - t0)


# --- public API -------------------------------------------------------------------------------


def import_file(ws: Workspace, kind: str, path: Path, *, dry_run: bool = False,
                actor: str = "system", progress: Progress | None = None,
                encoding: str | None = None, max_bytes: int | None = None,
                cancelled: Cancelled | None = None,
                chunk_chars: int = reader.CHUNK_CHARS) -> ImportResult:
    """Import one CSV/XLSX file of ``kind`` into the workspace's database (all or nothing).

    A CSV file larger than ``chunk_chars`` of a kind not in :data:`WHOLE_FILE_KINDS` (premiums,
    activity, plans …) is streamed: read, validated and staged chunk by chunk in one transaction
    (:func:`_import_chunks`), so any size imports in bounded memory with the same errors.

    ``encoding`` forces the CSV encoding (else it is detected with evidence); ``max_bytes`` is the
    size limit of web uploads (the command line has none); ``cancelled`` is asked between steps
    and every few thousand rows: when it answers True the import stops (:class:`ImportCancelled`)
    and nothing is stored."""
    t0 = time.perf_counter()
    k = get_kind(kind)
    path = Path(path)
    name = path.name
    settings = ws.settings.import_
    try:
        reader.check_file(path, max_bytes)
        sha = _file_sha256(path)
    except reader.ReadRejected as exc:
        return _rejected(k, name, "", exc.errors, t0)
    except OSError as exc:
        return _rejected(k, name, "", [RowError(0, "", "", f"无法读取文件: {exc.strerror}",
                                                f"cannot read the file: {exc.strerror}")], t0)
    done = _already(ws, k, name, sha, t0)
    if done is not None:
        return done
    try:
        streamed = streams(k, path, chunk_chars)
    except reader.ReadRejected as exc:
        return _rejected(k, name, sha, exc.errors, t0)
    if streamed:
        return _import_chunks(ws, k, path, name, sha, chunk_chars=chunk_chars, encoding=encoding,
                              dry_run=dry_run, actor=actor, progress=progress,
                              cancelled=cancelled, t0=t0)
    try:
        raw = reader.read_file(path, k, settings, encoding=encoding, max_bytes=max_bytes,
                               cancelled=cancelled)
    except reader.ReadRejected as exc:
        return _rejected(k, name, sha, exc.errors, t0)
    except reader.Stop:
        raise ImportCancelled() from None
    _checkpoint(cancelled)
    columns, errors = _map_raw(k, raw)
    if errors:
        return _rejected(k, name, sha, errors, t0, len(raw))
    if len(raw) == 0:
        return _rejected(k, name, sha, [RowError(0, "", "", "文件没有数据行",
                                                 "the file has no data rows")], t0)
    v = validate_columns(k, columns, raw.rows)
    _checkpoint(cancelled)
    if cancelled is not None:
        outer = progress

        def progress(done: int, total: int) -> None:
            _checkpoint(cancelled)
            if outer is not None:
                outer(done, total)
    result = _apply(ws, k, v, name, sha, dry_run=dry_run, actor=actor, progress=progress, t0=t0)
    if result.status == "dry_run":
        result.preview, result.source = preview(v), _source(raw)
    return result


def import_frame(ws: Workspace, kind: str, frame: pd.DataFrame, *, source_name: str,
                 sha256: str | None = None, dry_run: bool = False, actor: str = "system",
                 progress: Progress | None = None) -> ImportResult:
    """Import a DataFrame whose columns are column codes (or headers); values may be strings
    or already typed (dates, ints, floats/Decimal for money, bools). Row numbers in errors are
    as if the frame were a file: first row = 2."""
    t0 = time.perf_counter()
    k = get_kind(kind)
    sha = sha256 or frame_sha256(frame)
    done = _already(ws, k, source_name, sha, t0)
    if done is not None:
        return done
    codes, errors = map_headers(k, [str(c) for c in frame.columns])
    if errors:
        return _rejected(k, source_name, sha, errors, t0, len(frame))
    if len(frame) == 0:
        return _rejected(k, source_name, sha, [RowError(0, "", "", "没有数据行",
                                                        "there are no data rows")], t0)
    columns: dict[str, pa.Array] = {}
    for pos, code in enumerate(codes):
        if code is not None:
            columns[code] = _to_arrow(frame.iloc[:, pos])
    rows = np.arange(2, len(frame) + 2, dtype=np.int64)
    v = validate_columns(k, columns, rows)
    return _apply(ws, k, v, source_name, sha, dry_run=dry_run, actor=actor, progress=progress,
                  t0=t0)


# --- steps ------------------------------------------------------------------------------------


def _to_arrow(s: pd.Series) -> pa.Array:
    try:
        arr = pa.Array.from_pandas(s)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        # mixed Python objects: fall back to their text
        arr = pa.Array.from_pandas(s.astype(object).where(s.notna(), None).astype(str)
                                   .where(s.notna(), None))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def _already(ws: Workspace, k: ImportKind, name: str, sha: str, t0: float) -> ImportResult | None:
    with ws.engine.connect() as conn:
        found = _find_batch(conn, k.name, sha)
    if found is None:
        return None
    return ImportResult(k.name, name, sha, "already_imported", found[1], 0, 0, 0, [], found[0],
                        time.perf_counter() - t0)


def _map_raw(k: ImportKind, raw: reader.RawTable) -> tuple[dict[str, pa.Array], list[RowError]]:
    codes, errors = map_headers(k, raw.headers)
    if raw.sheet and errors:
        hint_zh, hint_en = f" (工作表 {raw.sheet!r})", f" (sheet {raw.sheet!r})"
        for e in errors:
            e.reason_zh += hint_zh
            e.reason_en += hint_en
    columns: dict[str, pa.Array] = {}
    for code, header, col in zip(codes, raw.headers, raw.columns, strict=True):
        if code is not None:
            columns[code] = col
        elif not (header or "").strip():
            trimmed = pc.utf8_trim_whitespace(col)
            has = pc.fill_null(pc.not_equal(trimmed, ""), False)
            idx = np.flatnonzero(np.asarray(has.to_numpy(zero_copy_only=False), dtype=bool))
            vals = pc.take(col, pa.array(idx)).to_pylist() if len(idx) else []
            for i, val in zip(idx.tolist(), vals, strict=True):
                errors.append(RowError(int(raw.rows[i]), "", val, "此列没有表头",
                                       "value in a column without header"))
    return columns, errors


def _apply(ws: Workspace, k: ImportKind, v: Validated, name: str, sha: str, *, dry_run: bool,
           actor: str, progress: Progress | None, t0: float) -> ImportResult:
    n = len(v)
    if v.errors:
        # Report unknown references too, so one round of corrections fixes the whole file.
        with ws.engine.connect() as conn:
            ref_errors = check_references(conn, v)
        errors = sorted([*v.errors, *ref_errors], key=lambda e: (e.row, e.column))
        return _rejected(k, name, sha, errors, t0, n)

    def body(conn: Connection) -> tuple[int, Counts]:
        ref_errors = check_references(conn, v)
        if ref_errors:
            raise _Abort(ref_errors)

        def write(batch_id: int) -> Counts:
            counts = upsert(conn, k, v.columns, batch_id, progress)
            if k.name in ("agents", "agent_events"):
                problems = _rebuild_history(conn, v)
                if problems:
                    raise _Abort(problems)
            return counts

        return _write_batch(conn, k, name, sha, n, v.min_date, v.max_date, actor, write)

    return _transaction(ws, k, name, sha, lambda: n, body, dry_run=dry_run, t0=t0)


#: kinds whose structure check (:mod:`zhuizong.importing.structure`) reads what the others write
STRUCTURE_KINDS = ("org_units", "agents", "agent_events")
#: pg_advisory_xact_lock key taken by their imports
_STRUCTURE_LOCK = 7_140_531_219


def _lock_structure(conn: Connection, k: ImportKind) -> None:
    """Imports of the org tree and the reporting lines run one at a time. On PostgreSQL (read
    committed) two of them could each pass the check against the tree as it was before both and
    together commit a cycle (``X1`` under ``X2`` in one file, ``X2`` under ``X1`` in another:
    write skew, no row conflict); a transaction-scoped advisory lock, taken before anything is
    read, serialises them. SQLite's ``BEGIN IMMEDIATE`` already excludes every other writer."""
    if conn.dialect.name == "postgresql" and k.name in STRUCTURE_KINDS:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _STRUCTURE_LOCK})


def _transaction(ws: Workspace, k: ImportKind, name: str, sha: str, rows: Callable[[], int],
                 body: Callable[[Connection], tuple[int, Counts]], *, dry_run: bool,
                 t0: float) -> ImportResult:
    """Run ``body`` (it writes one batch and answers its id and counts) in ONE transaction:
    committed, or rolled back for a dry run, a refusal (:class:`_Abort`, a database error) or
    anything else. ``rows()`` is the number of rows read so far (a streamed file counts as it
    goes)."""
    try:
        with atomic(ws.engine) as conn:
            _lock_structure(conn, k)
            found = _find_batch(conn, k.name, sha)
            if found is not None:
                return ImportResult(k.name, name, sha, "already_imported", found[1], 0, 0, 0, [],
                                    found[0], time.perf_counter() - t0)
            batch_id, counts = body(conn)
            if dry_run:
                raise _DryRun(counts)
    except _Abort as exc:
        return _rejected(k, name, sha, exc.errors, t0, rows())
    except _DryRun as d:
        c = d.counts
        return ImportResult(k.name, name, sha, "dry_run", rows(), c.inserted, c.updated,
                            c.unchanged, [], None, time.perf_counter() - t0)
    except IntegrityError as exc:
        return _rejected(k, name, sha, [_db_error(exc)], t0, rows())
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise
        return _rejected(k, name, sha, [_db_error(exc)], t0, rows())
    return ImportResult(k.name, name, sha, "committed", rows(), counts.inserted, counts.updated,
                        counts.unchanged, [], int(batch_id), time.perf_counter() - t0)


def _write_batch(conn: Connection, k: ImportKind, name: str, sha: str, n: int,
                 min_date: dt.date | None, max_date: dt.date | None, actor: str,
                 write: Callable[[int], Counts]) -> tuple[int, Counts]:
    """Record the batch, ``write(batch_id)`` its rows, complete the batch and audit it."""
    b = table("import_batches")
    _release_sha(conn, k.name, sha)
    started = _now()
    pk = conn.execute(
        insert(b).values(
            kind=k.name, file_name=name[:500], file_sha256=sha, rows_total=n,
            rows_inserted=0, rows_updated=0, rows_unchanged=0,
            min_date=min_date, max_date=max_date, actor=actor,
            started_at=started, finished_at=started,
        )
    ).inserted_primary_key
    assert pk is not None  # typed optional; a single-row INSERT without RETURNING has it
    batch_id = int(pk[0])
    counts = write(batch_id)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")
    # the batch's date range covers the new dates and the old dates of replaced rows
    # (the analytic snapshot re-exports exactly these months)
    lo = min((d for d in (min_date, counts.old_min) if d is not None), default=None)
    hi = max((d for d in (max_date, counts.old_max) if d is not None), default=None)
    conn.execute(
        update(b).where(b.c.id == batch_id).values(
            rows_inserted=counts.inserted, rows_updated=counts.updated,
            rows_unchanged=counts.unchanged, min_date=lo, max_date=hi,
            finished_at=_now(),
        )
    )
    audit.record(
        conn, actor=actor, action="import", object_type=k.name, object_id=name[:200],
        detail={"file_name": name, "sha256": sha, "batch_id": batch_id, "rows_total": n,
                "inserted": counts.inserted, "updated": counts.updated,
                "unchanged": counts.unchanged},
    )
    return batch_id, counts


# --- streamed files ---------------------------------------------------------------------------

#: kinds always imported whole: their checks need every row at once (references to their own
#: table, the org tree and reporting lines of :mod:`zhuizong.importing.structure`, the rebuilt
#: agent history). They are agency-sized (at most a few million rows), not premium-sized.
WHOLE_FILE_KINDS = frozenset(
    {"org_units", "agents", "agent_events"}
    | {x.name for x in KINDS.values() if any(c.ref and c.ref[0] == x.table for c in x.columns)}
)


def streams(k: ImportKind, path: Path, chunk_chars: int) -> bool:
    """Whether ``path`` is imported chunk by chunk: a CSV file of a kind not in
    :data:`WHOLE_FILE_KINDS`, larger than one chunk."""
    return (k.name not in WHOLE_FILE_KINDS and path.stat().st_size > chunk_chars
            and reader.file_format(path) == "csv")


#: rows per merge statement of a streamed file on PostgreSQL (see merge_stage)
MERGE_ROWS = 1_000_000


class _Stream:
    """What a streamed import gathers chunk by chunk: rows, errors, the date range."""

    def __init__(self) -> None:
        self.rows = 0
        self.last_row = 0
        self.map_errors: list[RowError] = []
        self.row_errors: list[RowError] = []
        self.ref_errors: list[RowError] = []
        self.min_date: dt.date | None = None
        self.max_date: dt.date | None = None
        self.preview: list[dict[str, str]] = []
        self.source = ""

    def dates(self, v: Validated) -> None:
        if v.min_date is not None:
            self.min_date = v.min_date if self.min_date is None else min(self.min_date, v.min_date)
        if v.max_date is not None:
            self.max_date = v.max_date if self.max_date is None else max(self.max_date, v.max_date)


def _import_chunks(ws: Workspace, k: ImportKind, path: Path, name: str, sha: str, *,
                   chunk_chars: int, encoding: str | None, dry_run: bool, actor: str,
                   progress: Progress | None, cancelled: Cancelled | None,
                   t0: float) -> ImportResult:
    """Import a CSV file chunk by chunk in bounded memory, still all or nothing.

    In ONE transaction: each chunk is read, mapped, validated and reference-checked by the same
    functions as a whole file, and appended with its row numbers to a temporary staging table
    (SQLite ``executemany``, PostgreSQL ``COPY``); the keys repeated anywhere in the file are then
    found in SQL over the stage (:func:`stage_duplicates`); with no error at all, the stage is
    merged into the table set-based (:func:`merge_stage`) and the batch recorded. Any error
    rolls everything back; the errors are those the whole file would get, in the same order."""
    try:
        chunks = reader.iter_csv(path, encoding, chunk_chars=chunk_chars, cancelled=cancelled)
    except reader.ReadRejected as exc:
        return _rejected(k, name, sha, exc.errors, t0)
    size = path.stat().st_size
    st = _Stream()

    def body(conn: Connection) -> tuple[int, Counts]:
        if conn.dialect.name == "sqlite":
            # page caches sized for a bounded footprint (the stage spills to a temporary file;
            # SQLite's sorter, for the duplicate check and the merge's key order, takes up to
            # the main cache's size again): 10 M rows peaked at 916 MB with 256 + 64 MB
            conn.exec_driver_sql("PRAGMA main.cache_size=-131072")
            conn.exec_driver_sql("PRAGMA temp.cache_size=-32768")
        known: dict[tuple[str, str], pa.Array] = {}
        stage = None
        cols: list[str] = []
        for i, raw in enumerate(chunks):
            _checkpoint(cancelled)
            columns, errors = _map_raw(k, raw)
            if i:
                errors = [e for e in errors if e.row]  # the header's own problems: once
            st.rows += len(raw)
            if errors or st.map_errors:
                st.map_errors += errors
                continue
            v = validate_columns(k, columns, raw.rows, duplicates=False)
            if not st.preview:
                st.preview, st.source = preview(v), _source(raw)
            st.row_errors += v.errors
            st.ref_errors += check_references(conn, v, known)
            st.dates(v)
            if stage is None:
                cols = list(v.columns)
                stage = create_stage(conn, k, cols, row_numbers=True)
            load_stage(conn, stage, {**v.columns, ROW_COLUMN: pa.array(raw.rows)})
            if len(raw):
                st.last_row = int(raw.rows[-1])
            if progress is not None:
                progress(st.rows, max(st.rows, round(st.rows * size / max(raw.offset, 1))))
        if st.map_errors:
            raise _Abort(st.map_errors)
        if not st.rows or stage is None:
            raise _Abort([RowError(0, "", "", "文件没有数据行", "the file has no data rows")])
        dups = [duplicate_error(k, row, "/".join(map(str, key)), first)
                for row, key, first in stage_duplicates(conn, k, stage)]
        if st.row_errors or dups:
            raise _Abort(sorted([*st.row_errors, *dups, *st.ref_errors],
                                key=lambda e: (e.row, e.column)))
        if st.ref_errors:
            raise _Abort(st.ref_errors)
        _checkpoint(cancelled)
        slices = None
        if conn.dialect.name == "postgresql":
            # checked per statement, slice by slice (see merge_stage)
            conn.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")
            slices = [(lo, lo + MERGE_ROWS - 1) for lo in range(2, st.last_row + 1, MERGE_ROWS)]
        return _write_batch(conn, k, name, sha, st.rows, st.min_date, st.max_date, actor,
                            lambda batch_id: merge_stage(conn, k, stage, cols, batch_id, slices))

    try:
        result = _transaction(ws, k, name, sha, lambda: st.rows, body, dry_run=dry_run, t0=t0)
        if result.status == "dry_run":
            result.preview, result.source = st.preview, st.source
        return result
    except reader.ReadRejected as exc:  # a malformed row in a later chunk: as for a whole file
        return _rejected(k, name, sha, exc.errors, t0)
    except reader.Stop:
        raise ImportCancelled() from None


def _db_error(exc: DBAPIError) -> RowError:
    msg = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    low = msg.lower()
    if "no space left on device" in low or "could not extend file" in low or "disk is full" in low:
        return RowError(0, "", "", f"数据库磁盘已满, 未导入任何行: {msg}",
                        f"the database's disk is full, nothing was imported: {msg}")
    return RowError(0, "", "", f"数据库拒绝了导入: {msg}", f"the database refused the import: {msg}")


def _rebuild_history(conn: Connection, v: Validated) -> list[RowError]:
    codes = pc.unique(v.columns["agent_code"]).drop_null().to_pylist()
    problems = rebuild_history(conn, codes)
    if not problems:
        return []
    # locate each problem in the file: the matching event row, else the agent's first row
    agent_codes = v.columns["agent_code"].to_pylist()
    dates = v.columns["event_date"].to_pylist() if "event_date" in v.columns else None
    by_agent: dict[str, int] = {}
    by_event: dict[tuple[str, dt.date], int] = {}
    for i, code in enumerate(agent_codes):
        by_agent.setdefault(code, int(v.rows[i]))
        if dates is not None:
            by_event.setdefault((code, dates[i]), int(v.rows[i]))
    out: list[RowError] = []
    for p in problems:
        row = by_event.get((p.agent_code, p.event_date)) if p.event_date else None
        column = "event_date" if row is not None else "agent_code"
        if row is None:
            row = by_agent.get(p.agent_code, 0)
        value = p.agent_code if p.event_date is None else f"{p.agent_code} {p.event_date}"
        out.append(RowError(row, column, value, p.reason_zh, p.reason_en))
    out.sort(key=lambda e: e.row)
    return out
