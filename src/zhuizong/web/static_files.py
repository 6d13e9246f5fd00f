"""Static files of the web pages, light on a phone: gzip-compressed once in memory, cached by the
browser for a year under hashed URLs, and ``/favicon.ico``.

Templates link a file with ``static_url('app.css')`` = ``/static/app.css?h=<content hash>``; a
request with the current hash is answered with ``Cache-Control: public, max-age=31536000,
immutable`` (a new package version changes the hash, so no stale file is ever used), one
without it with a short revalidation (``no-cache`` + ETag). The files are read once per process
(they are part of the package, a few of them) and kept with their gzip form; a client that
sends ``Accept-Encoding: gzip`` gets the compressed bytes (the 1 MB chart library becomes about
a third of it). Only files under ``static/`` are served — names are looked up in the table built
at start, never joined to a path from the request.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATIC = Path(__file__).with_name("static")
PREFIX = "/static/"
FAVICON = "/favicon.ico"
LONG = "public, max-age=31536000, immutable"
SHORT = "public, no-cache"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".txt": "text/plain; charset=utf-8", ".md": "text/plain; charset=utf-8",
          ".ico": "image/x-icon", ".svg": "image/svg+xml", ".woff2": "font/woff2"}
#: smaller files are not worth compressing
_MIN_GZIP = 512


@dataclass(frozen=True)
class Asset:
    body: bytes
    gz: bytes | None
    digest: str  # first 12 hex digits of the content's SHA-256
    ctype: str


def _load() -> dict[str, Asset]:
    out: dict[str, Asset] = {}
    for f in sorted(STATIC.rglob("*")):
        if not f.is_file():
            continue
        name = f.relative_to(STATIC).as_posix()
        body = f.read_bytes()
        ctype = _TYPES.get(f.suffix) or mimetypes.guess_type(f.name)[0] or "application/octet-stream"
        compressible = ctype.startswith(("text/", "image/svg")) and len(body) >= _MIN_GZIP
        gz = gzip.compress(body, compresslevel=9, mtime=0) if compressible else None
        out[name] = Asset(body, gz, hashlib.sha256(body).hexdigest()[:12], ctype)
    return out


ASSETS: dict[str, Asset] = _load()


def static_url(name: str) -> str:
    """The URL of ``static/<name>`` with its content hash (templates: ``static_url('app.css')``)."""
    return f"{PREFIX}{name}?h={ASSETS[name].digest}"


def _response(asset: Asset, *, immutable: bool, headers: dict[bytes, bytes], head: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    etag = f'"{asset.digest}"'.encode()
    out = [(b"content-type", asset.ctype.encode()), (b"etag", etag),
           (b"cache-control", (LONG if immutable else SHORT).encode()),
           (b"x-content-type-options", b"nosniff")]
    if asset.gz is not None:
        out.append((b"vary", b"Accept-Encoding"))
    if headers.get(b"if-none-match") == etag:
        return 304, out, b""
    body = asset.body
    if asset.gz is not None and b"gzip" in headers.get(b"accept-encoding", b""):
        body = asset.gz
        out.append((b"content-encoding", b"gzip"))
    out.append((b"content-length", str(len(body)).encode()))
    return 200, out, b"" if head else body


class StaticAssets:
    """Pure ASGI middleware: answers ``/static/...`` and ``/favicon.ico`` itself, passes the rest on."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path.startswith(PREFIX) or path == FAVICON) or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        name = "favicon.ico" if path == FAVICON else path[len(PREFIX):]
        asset = ASSETS.get(name)
        if asset is None:
            await self.app(scope, receive, send)  # the app's 404
            return
        query = scope.get("query_string", b"").decode("latin-1")
        immutable = f"h={asset.digest}" in query.split("&")
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        status, out, body = _response(asset, immutable=immutable, headers=headers,
                                      head=scope.get("method") == "HEAD")
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})


__all__ = ["ASSETS", "StaticAssets", "static_url"]
