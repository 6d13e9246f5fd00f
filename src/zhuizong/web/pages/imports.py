"""Imports (数据导入): upload → dry-run report → confirm; error report download; batch history.

The upload body is parsed *as it arrives* (python-multipart's streaming parser) and the file part
is written to the workspace in chunks by :class:`zhuizong.services.uploads.Staged`, which stops at
``import.max_file_mb`` with HTTP 413; a ``Content-Length`` over the limit is refused before a byte
is read. The page's form posts through htmx, which sends the CSRF token as the ``X-CSRF-Token``
header, so the CSRF check does not need to parse the body first. (A browser without JavaScript
posts the token as a form field: the CSRF check then parses the form itself — Starlette spools
files above 1 MB to disk, never to memory — and the limit is applied when copying it here.)
"""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect

from zhuizong.errors import ZhuizongError
from zhuizong.importing.kinds import KINDS
from zhuizong.importing.service import ImportCancelled
from zhuizong.services import uploads
from zhuizong.web.deps import Ctx, page_ctx

router = APIRouter(include_in_schema=False)

CHUNK = 256 * 1024
MAX_FIELD_BYTES = 4096
MAX_PARTS = 16


class _BadUpload(ZhuizongError):
    pass


class _StreamingForm:
    """Callbacks for python-multipart: small text fields kept, the one file part streamed."""

    def __init__(self, staged: uploads.Staged) -> None:
        self.staged = staged
        self.fields: dict[str, str] = {}
        self.has_file = False
        self._parts = 0
        self._headers: dict[bytes, bytes] = {}
        self._hname = b""
        self._hvalue = b""
        self._name = ""
        self._is_file = False
        self._buf = bytearray()

    def callbacks(self) -> dict[str, object]:
        return {"on_part_begin": self.on_part_begin, "on_header_field": self.on_header_field,
                "on_header_value": self.on_header_value, "on_header_end": self.on_header_end,
                "on_headers_finished": self.on_headers_finished, "on_part_data": self.on_part_data,
                "on_part_end": self.on_part_end}

    def on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise _BadUpload("表单字段过多", "too many form fields")
        self._headers, self._buf, self._is_file, self._name = {}, bytearray(), False, ""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._hvalue += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._hname.strip().lower()] = self._hvalue.strip()
        self._hname, self._hvalue = b"", b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        if filename is not None:
            if self._name != "file" or self.has_file:
                raise _BadUpload("一次只能上传一个文件", "upload one file at a time")
            self._is_file = self.has_file = True
            self.staged.open(filename.decode("utf-8", "replace"))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.staged.write(data[start:end])  # raises TooLarge past the limit
            return
        self._buf += data[start:end]
        if len(self._buf) > MAX_FIELD_BYTES:
            raise _BadUpload("表单字段过长", "a form field is too long")

    def on_part_end(self) -> None:
        if not self._is_file and self._name:
            self.fields[self._name] = self._buf.decode("utf-8", "replace")


async def _receive(request: Request, staged: uploads.Staged) -> dict[str, str]:
    """Fill ``staged`` from the request body; returns the text fields."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise _BadUpload("请以 multipart/form-data 上传文件", "upload the file as multipart/form-data")
    collector = _StreamingForm(staged)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    received = 0
    try:
        async for chunk in request.stream():
            if chunk:
                received += len(chunk)
                parser.write(chunk)
        parser.finalize()
    except RuntimeError:
        if received:
            raise
        # the CSRF check already parsed the form (token sent as a field, not a header)
        return await _from_parsed_form(request, staged)
    except ValueError as exc:  # python-multipart's parse errors
        raise _BadUpload(f"上传内容格式有误 ({exc})", f"malformed upload ({exc})") from None
    if not collector.has_file:
        raise _BadUpload("没有收到文件", "no file was uploaded")
    staged.close()
    return collector.fields


async def _from_parsed_form(request: Request, staged: uploads.Staged) -> dict[str, str]:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise _BadUpload("没有收到文件", "no file was uploaded")
    staged.open(upload.filename)
    while chunk := await upload.read(CHUNK):
        staged.write(chunk)
    staged.close()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _msg(ctx: Ctx, e: ZhuizongError) -> str:
    return e.en if ctx.lang == "en" else e.zh


def _labels(ctx: Ctx) -> dict[str, Any]:
    """How the dry run's preview is worded: column headers (the kind's Chinese header, or the
    English code in words) and how the file was read."""
    en = ctx.lang == "en"

    def col_label(kind: str, code: str) -> str:
        spec = KINDS.get(kind)
        zh = next((c.zh for c in spec.columns if c.code == code), code) if spec else code
        return code.replace("_", " ") if en else zh

    def source_label(source: str) -> str:
        return source if en else source.replace("XLSX sheet", "XLSX 工作表")

    return {"col_label": col_label, "source_label": source_label}


def _index(ctx: Ctx, *, error: str | None = None, meta: uploads.Meta | None = None,
           done: uploads.Meta | None = None, kind: str | None = None, status_code: int = 200) -> Response:
    uploads.cleanup(ctx.ws)
    return ctx.render("imports/index.html", **_labels(ctx), kinds=uploads.kinds(),
                      history=uploads.batch_history(ctx.ws, ctx.actor),
                      max_mb=ctx.ws.settings.import_.max_file_mb, error=error, meta=meta, done=done,
                      kind=kind or (meta.kind if meta else None),
                      errors=uploads.row_errors(meta) if meta else [],
                      done_errors=uploads.row_errors(done) if done else [], status_code=status_code)


async def _index_async(ctx: Ctx, **kw: Any) -> Response:
    return await run_in_threadpool(lambda: _index(ctx, **kw))


@router.get("/imports", response_class=HTMLResponse)
def index(ctx: Annotated[Ctx, Depends(page_ctx)]) -> Response:
    ctx.actor.require("import")
    return _index(ctx)


@router.post("/imports/upload")
async def upload(request: Request, ctx: Annotated[Ctx, Depends(page_ctx)]) -> Response:
    ctx.actor.require("import")  # 403 before a byte of the body is read
    limit = uploads.max_bytes(ctx.ws)
    too_large = uploads.TooLarge(limit // uploads.MB)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + uploads.OVERHEAD_BYTES:
        return await _index_async(ctx, error=_msg(ctx, too_large), status_code=413)
    staged = uploads.Staged(ctx.ws, ctx.actor)
    try:
        fields = await _receive(request, staged)
    except uploads.TooLarge as e:
        staged.discard()
        return await _index_async(ctx, error=_msg(ctx, e), status_code=413)
    except ClientDisconnect:
        staged.discard()
        raise
    except ZhuizongError as e:
        staged.discard()
        return await _index_async(ctx, error=_msg(ctx, e), status_code=400)
    except BaseException:
        staged.discard()
        raise
    kind = fields.get("kind", "")
    left = threading.Event()  # the client went away: the dry run stops at its next checkpoint
    watcher = asyncio.create_task(_watch_disconnect(request, left))
    try:
        meta = await run_in_threadpool(uploads.dry_run, ctx.ws, ctx.actor, staged, kind,
                                       left.is_set)
    except ImportCancelled:
        staged.discard()
        return Response(status_code=499)  # nobody is listening; nothing was stored
    except ZhuizongError as e:
        staged.discard()
        return await _index_async(ctx, error=_msg(ctx, e), kind=kind, status_code=400)
    finally:
        watcher.cancel()
    status = 400 if meta.status == "rejected" else 200
    return await _index_async(ctx, meta=meta, status_code=status)


async def _watch_disconnect(request: Request, left: threading.Event,
                            every_s: float = 0.25) -> None:
    """Set ``left`` as soon as the client disconnects (checked every ``every_s`` seconds)."""
    while not left.is_set():
        if await request.is_disconnected():
            left.set()
            return
        await asyncio.sleep(every_s)


@router.post("/imports/confirm")
def confirm(ctx: Annotated[Ctx, Depends(page_ctx)], token: Annotated[str, Form()]) -> Response:
    try:
        meta = uploads.confirm(ctx.ws, ctx.actor, token)
    except ZhuizongError as e:
        if type(e).__name__ in ("NotFound", "PermissionDenied"):
            raise
        return _index(ctx, error=_msg(ctx, e), status_code=400)
    return _index(ctx, done=meta, status_code=200 if meta.status != "rejected" else 400)


@router.post("/imports/cancel")
def cancel(ctx: Annotated[Ctx, Depends(page_ctx)], token: Annotated[str, Form()]) -> Response:
    uploads.cancel(ctx.ws, ctx.actor, token)
    return RedirectResponse("/imports", status_code=303)


@router.get("/imports/errors/{token}.xlsx")
def error_report(ctx: Annotated[Ctx, Depends(page_ctx)], token: str) -> Response:
    path = uploads.error_report(ctx.ws, ctx.actor, token)
    return FileResponse(path, filename=f"import-errors-{token[:8]}.xlsx",
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
