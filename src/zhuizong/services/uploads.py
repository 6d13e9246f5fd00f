"""Uploaded import files waiting for confirmation (web imports: upload → dry run → confirm).

An upload is streamed into ``<workspace>/uploads/<token>/`` in chunks and refused as soon as it
passes ``import.max_file_mb`` (:class:`TooLarge`; the partial file is deleted), so a large body is
never held in memory nor kept on disk. The dry run is the importer's own (:func:`import_file` with
``dry_run=True``: the same checks as the CLI, including the XLSX zip-bomb guard
``import.max_xlsx_uncompressed_mb``); its outcome is stored next to the file as ``meta.json``, the
error report as ``errors.xlsx``.

The browser only ever holds the random *token*; the server maps it to its folder (a token is 32
URL-safe characters, checked before it touches a path), and only the user who uploaded a file
may see its report or confirm it — anyone else gets NotFound. Folders are removed after a confirm
or a cancel, and by :func:`cleanup` once older than :data:`TTL`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import shutil
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select

from zhuizong.access.actor import Actor
from zhuizong.errors import NotFound, ZhuizongError
from zhuizong.importing.kinds import IMPORT_ORDER, KINDS
from zhuizong.importing.normalize import RowError
from zhuizong.importing.report import write_error_report
from zhuizong.importing.service import ImportCancelled, ImportResult, get_kind, import_file
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

MB = 1024 * 1024
#: an upload not confirmed within this time is deleted
TTL = dt.timedelta(hours=2)
#: multipart framing and the small form fields allowed on top of the file itself
OVERHEAD_BYTES = 64 * 1024
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
_UNSAFE_NAME = re.compile(r"[^\w.\- ()\u3000-\u9fff\uff00-\uffef]+")


class TooLarge(ZhuizongError):
    """The upload passed ``import.max_file_mb`` (HTTP 413)."""

    def __init__(self, limit_mb: int) -> None:
        super().__init__(
            f"文件过大: 上限 {limit_mb} MB (设置 import.max_file_mb)",
            f"file too large: the limit is {limit_mb} MB (setting import.max_file_mb)")


def kinds() -> list[tuple[str, str]]:
    """(code, Chinese label) of every import kind, in the order references need them."""
    order = [k for k in IMPORT_ORDER if k in KINDS] + [k for k in KINDS if k not in IMPORT_ORDER]
    return [(k, KINDS[k].zh) for k in order]


def max_bytes(ws: Workspace) -> int:
    return int(ws.settings.import_.max_file_mb) * MB


def _root(ws: Workspace) -> Path:
    return ws.home / "uploads"


def safe_name(name: str | None) -> str:
    """A file name for the stored copy (and the batch history): the last path part, no control
    or shell characters, at most 120 characters, keeping the suffix."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").split("/")[-1]).strip()
    base = _UNSAFE_NAME.sub("_", base).strip(". ") or "upload"
    if len(base) > 120:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[: 110] + dot + suffix[:9]) if dot else base[:120]
    return base


@dataclass
class Meta:
    token: str
    username: str
    kind: str
    file_name: str
    created: float
    status: str = "uploaded"  # uploaded | dry_run | rejected | already_imported
    rows_total: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    batch_id: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    n_errors: int = 0
    #: the dry run's preview of names as they would be stored and how the file was read
    #: (``ImportResult.preview`` / ``.source``): garbled text is seen before confirming
    preview: list[dict[str, str]] = field(default_factory=list)
    source: str = ""

    @property
    def expires(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.created) + TTL


class Staged:
    """A file being received: write chunks; passing the limit raises TooLarge and deletes it."""

    def __init__(self, ws: Workspace, actor: Actor) -> None:
        actor.require("import")
        self.ws = ws
        self.limit = max_bytes(ws)
        self.token = secrets.token_urlsafe(24)  # 32 characters
        self.dir = _root(ws) / self.token
        self.dir.mkdir(parents=True, exist_ok=False)
        self.username = actor.username
        self.size = 0
        self.file_name: str | None = None
        self._fh: IO[bytes] | None = None

    def open(self, file_name: str | None) -> None:
        if self._fh is not None:
            raise ZhuizongError("一次只能上传一个文件", "upload one file at a time")
        self.file_name = safe_name(file_name)
        (self.dir / "data").mkdir(exist_ok=True)
        self._fh = open(self.dir / "data" / self.file_name, "wb")  # closed by close()/discard()

    def write(self, chunk: bytes) -> None:
        if self._fh is None:
            raise ZhuizongError("上传内容有误", "malformed upload")
        self.size += len(chunk)
        if self.size > self.limit:
            self.discard()
            raise TooLarge(self.limit // MB)
        self._fh.write(chunk)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()

    def discard(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def path(self) -> Path:
        if self.file_name is None:
            raise ZhuizongError("没有收到文件", "no file was uploaded")
        return self.dir / "data" / self.file_name


def _dir(ws: Workspace, token: str) -> Path:
    if not _TOKEN.match(token or ""):
        raise NotFound("找不到该上传", "upload not found")
    return _root(ws) / token


def _write_meta(d: Path, meta: Meta) -> None:
    tmp = d / "meta.json.tmp"
    tmp.write_text(json.dumps(asdict(meta), ensure_ascii=False), encoding="utf-8")
    tmp.replace(d / "meta.json")


def load(ws: Workspace, actor: Actor, token: str) -> Meta:
    """The upload ``token`` of ``actor`` (anyone else's, expired or unknown: NotFound)."""
    actor.require("import")
    d = _dir(ws, token)
    try:
        meta = Meta(**json.loads((d / "meta.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        raise NotFound("找不到该上传 (可能已过期)", "upload not found (it may have expired)") from None
    if meta.username != actor.username or meta.token != token:
        raise NotFound("找不到该上传", "upload not found")
    if dt.datetime.now() > meta.expires:
        shutil.rmtree(d, ignore_errors=True)
        raise NotFound("该上传已过期, 请重新上传", "the upload has expired; upload it again")
    return meta


def _record(meta: Meta, result: ImportResult) -> None:
    meta.status = result.status
    meta.rows_total, meta.inserted = result.rows_total, result.inserted
    meta.updated, meta.unchanged, meta.batch_id = result.updated, result.unchanged, result.batch_id
    meta.n_errors = len(result.errors)
    meta.errors = [asdict(e) for e in result.errors[:500]]
    meta.preview, meta.source = list(result.preview), result.source


def dry_run(ws: Workspace, actor: Actor, staged: Staged, kind: str,
            cancelled: Callable[[], bool] | None = None) -> Meta:
    """Check the received file with the importer's dry run; keep the outcome with the file.
    ``cancelled`` (the client left) stops it: :class:`ImportCancelled`, the file is deleted."""
    actor.require("import")
    try:
        k = get_kind(kind)
    except ZhuizongError:
        staged.discard()
        raise
    staged.close()
    meta = Meta(staged.token, actor.username, k.name, staged.path.name, time.time())
    try:
        result = import_file(ws, k.name, staged.path, dry_run=True, actor=actor.username,
                             max_bytes=max_bytes(ws), cancelled=cancelled)
    except ImportCancelled:
        staged.discard()
        raise
    _record(meta, result)
    if result.errors:
        write_error_report(result, staged.dir / "errors.xlsx")
    if result.status != "dry_run":  # nothing to confirm: keep only the report
        shutil.rmtree(staged.dir / "data", ignore_errors=True)
    _write_meta(staged.dir, meta)
    return meta


def confirm(ws: Workspace, actor: Actor, token: str) -> Meta:
    """Import the checked file for real (all or nothing). The folder is removed afterwards,
    unless the import is now rejected (data changed since the dry run): its report stays."""
    meta = load(ws, actor, token)
    d = _dir(ws, token)
    path = d / "data" / meta.file_name
    if meta.status != "dry_run" or not path.is_file():
        raise ZhuizongError("该文件没有通过检查, 不能导入", "this file did not pass the check; it cannot be imported")
    result = import_file(ws, meta.kind, path, actor=actor.username, max_bytes=max_bytes(ws))
    _record(meta, result)
    if result.ok:
        shutil.rmtree(d, ignore_errors=True)
    else:
        write_error_report(result, d / "errors.xlsx")
        shutil.rmtree(d / "data", ignore_errors=True)
        _write_meta(d, meta)
    return meta


def cancel(ws: Workspace, actor: Actor, token: str) -> None:
    load(ws, actor, token)
    shutil.rmtree(_dir(ws, token), ignore_errors=True)


def error_report(ws: Workspace, actor: Actor, token: str) -> Path:
    load(ws, actor, token)
    path = _dir(ws, token) / "errors.xlsx"
    if not path.is_file():
        raise NotFound("没有错误报告", "there is no error report")
    return path


def row_errors(meta: Meta) -> list[RowError]:
    return [RowError(**e) for e in meta.errors]


def cleanup(ws: Workspace, now: float | None = None) -> int:
    """Delete upload folders older than :data:`TTL`. Returns how many were removed."""
    root = _root(ws)
    if not root.is_dir():
        return 0
    limit = (now or time.time()) - TTL.total_seconds()
    removed = 0
    for d in root.iterdir():
        try:
            if d.is_dir() and _TOKEN.match(d.name) and d.stat().st_mtime < limit:
                shutil.rmtree(d, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


def batch_history(ws: Workspace, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """The latest import batches (CLI, web forms and uploads), newest first."""
    actor.require("import")
    b = table("import_batches")
    with ws.require_ready().connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(b.c.id, b.c.kind, b.c.file_name, b.c.rows_total, b.c.rows_inserted,
                   b.c.rows_updated, b.c.rows_unchanged, b.c.min_date, b.c.max_date, b.c.actor,
                   b.c.finished_at).order_by(b.c.id.desc()).limit(limit))]
