"""Hostile input on the web side (issue 19): request bodies capped before parsing on every route,
signed in or not, with a declared ``Content-Length`` and chunked without one; out-of-scope objects
answering exactly like missing ones; malformed requests answered with a clean page or JSON error
(never a 500 or FastAPI's raw JSON on a page); the admin settings form on a full disk.

The body-cap tests drive the ASGI app directly: the test client buffers bodies, so only a
``receive`` of our own can count how much of a 600 MB body the app pulled before answering."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.web import agency
from tests.web.agency import Web, web_for
from zhuizong.store.models import table
from zhuizong.web.app import ANONYMOUS_BODY_BYTES, SIGNED_IN_BODY_BYTES, create_app
from zhuizong.workspace import Workspace

MB = 1024 * 1024
CHUNK = 64 * 1024
HUGE = 600 * MB  # offered, never generated: the app must stop long before


@dataclass
class World:
    ws: Workspace
    webs: dict[str, Web]
    items: list[dict[str, Any]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = agency.sqlite_copy(tmp_path_factory.mktemp("hostile") / "ws",
                              tmp_path_factory.mktemp("agency-template"))
    with agency.env(""):
        items = agency.items(home)
        ws = Workspace.open(home)
        webs = {u: web_for(ws, u) for u in ("admin", "exec", "s", "r1")}
        webs["anon"] = web_for(ws, None)
        yield World(ws, webs, items)
        for w in webs.values():
            w.client.close()
        ws.engine.dispose()


# --- request bodies: capped before parsing ---------------------------------------------------


@dataclass
class Sent:
    status: int = 0
    pulled: int = 0  # body bytes the app took from the client
    body: bytes = b""
    ctype: str = ""


def drive(ws: Workspace, method: str, path: str, headers: dict[str, str], *, declared: bool,
          total: int = HUGE, head: bytes = b"") -> Sent:
    """``method path`` with a ``total``-byte body (``head``, then zero bytes), offered 64 KiB at a
    time, with ``Content-Length: total`` (``declared``) or chunked without one."""
    out = Sent()
    offered = 0

    async def receive() -> dict[str, Any]:
        nonlocal offered
        if offered >= total:
            return {"type": "http.disconnect"}
        piece = head if offered == 0 and head else b"\0" * min(CHUNK, total - offered)
        offered += len(piece)
        out.pulled = offered
        return {"type": "http.request", "body": piece, "more_body": offered < total}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert not out.status, "two responses to one request"
            out.status = message["status"]
            out.ctype = dict(message["headers"]).get(b"content-type", b"").decode()
        elif message["type"] == "http.response.body":
            out.body += message.get("body", b"")

    hs = {"host": "127.0.0.1", **headers}  # no Origin header: allowed (a non-browser client)
    if declared:
        hs["content-length"] = str(total)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "https", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 443),
             "headers": [(k.lower().encode(), v.encode()) for k, v in hs.items()]}
    asyncio.run(create_app(ws)(scope, receive, send))
    return out


def _cookie(web: Web) -> str:
    return "; ".join(f"{k}={v}" for k, v in web.client.cookies.items())


BOUNDARY = "zzb"
MULTIPART_HEAD = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nattendance\r\n"
                  f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
                  "\r\n").encode()

#: (method, path, content type, first bytes of the body): every kind of body the app parses
BODY_ROUTES = [
    ("POST", "/api/v1/tracking/items/1/records", "application/json", b'{"method": "phone", "finding": "'),
    ("POST", "/api/v1/tracking/items/1/close", "application/json", b'{"reason": "'),
    ("POST", "/login", "application/x-www-form-urlencoded", b"username=admin&password="),
    ("POST", "/admin/settings", "application/x-www-form-urlencoded", b"key=kpi.cases&value="),
    ("POST", "/account/password", "application/x-www-form-urlencoded", b"old_password="),
    ("POST", "/tracking/1/record", "application/x-www-form-urlencoded", b"finding="),
    ("POST", "/tools/worklog", "application/x-www-form-urlencoded", b"note="),
    ("POST", "/imports/upload", f"multipart/form-data; boundary={BOUNDARY}", MULTIPART_HEAD),
]
WHO = ["anonymous", "forged_cookie", "signed_in"]


def _headers(world: World, who: str, ctype: str) -> dict[str, str]:
    h = {"content-type": ctype}
    if who == "forged_cookie":  # the cookie's name without a session: no bigger allowance
        h["cookie"] = "zz_session=forged-" + "x" * 40
    elif who == "signed_in":
        h["cookie"] = _cookie(world.webs["admin"])
        h["x-csrf-token"] = world.webs["admin"].csrf
    return h


def _limit(world: World, who: str, path: str) -> int:
    if who != "signed_in":
        return ANONYMOUS_BODY_BYTES
    if path == "/imports/upload":
        return int(world.ws.settings.import_.max_file_mb) * MB + 64 * 1024
    return SIGNED_IN_BODY_BYTES


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_declared_600_mb_body_is_refused_unread(world: World, route: tuple[str, str, str, bytes],
                                                who: str) -> None:
    method, path, ctype, head = route
    out = drive(world.ws, method, path, _headers(world, who, ctype), declared=True, head=head)
    assert out.status == 413, (out.status, out.body[:200])
    assert out.pulled == 0, f"{out.pulled} bytes read before the refusal"
    assert b"MB" in out.body  # says the limit
    if path.startswith("/api/"):
        assert out.ctype == "application/json"
        assert b"detail_zh" in out.body


@pytest.mark.parametrize("route, who", [
    (r, w) for r in BODY_ROUTES for w in WHO
    if not (r[1] == "/imports/upload" and w == "signed_in")],  # import.max_file_mb: below
    ids=lambda x: f"{x[0]} {x[1]}" if isinstance(x, tuple) else x)
def test_chunked_600_mb_body_is_cut_at_the_limit(world: World, route: tuple[str, str, str, bytes],
                                                 who: str) -> None:
    """No Content-Length: where caps usually leak. The app stops pulling at the limit and answers
    413 (not FastAPI's "400 error parsing the body", not a 401 after reading it all)."""
    method, path, ctype, head = route
    out = drive(world.ws, method, path, _headers(world, who, ctype), declared=False, head=head)
    limit = _limit(world, who, path)
    if who != "signed_in" and out.status == 401:
        # refused on the missing session before a byte was read (no form to parse)
        assert out.pulled == 0, f"{out.pulled} bytes read before the 401"
        return
    assert out.status == 413, (out.status, out.body[:200])
    assert out.pulled <= limit + CHUNK, f"{out.pulled} bytes read, the limit is {limit}"


def test_chunked_upload_signed_in_stops_at_import_max_file_mb(world: World) -> None:
    admin = world.webs["admin"]
    r = admin.post("/admin/settings", data={"key": "import.max_file_mb", "value": "1"})
    assert r.status_code == 303, r.text[:300]
    try:
        out = drive(world.ws, "POST", "/imports/upload",
                    _headers(world, "signed_in", f"multipart/form-data; boundary={BOUNDARY}"),
                    declared=False, head=MULTIPART_HEAD)
        assert out.status == 413, (out.status, out.body[:300])
        assert out.pulled <= MB + 2 * CHUNK + len(MULTIPART_HEAD), out.pulled
    finally:
        admin.post("/admin/settings", data={"key": "import.max_file_mb", "value": "200"})


def test_forged_cookie_gets_no_upload_parsed(world: World) -> None:
    """A cookie named like the session's is not a session: a 5 MB multipart body (under the upload
    limit) with a forged cookie and no token header is not read at all."""
    out = drive(world.ws, "POST", "/imports/upload",
                {"content-type": f"multipart/form-data; boundary={BOUNDARY}",
                 "cookie": "zz_session=forged"}, declared=True, total=5 * MB, head=MULTIPART_HEAD)
    assert out.status == 413 and out.pulled == 0, (out.status, out.pulled)
    out = drive(world.ws, "POST", "/imports/upload",
                {"content-type": f"multipart/form-data; boundary={BOUNDARY}",
                 "cookie": "zz_session=forged"}, declared=False, total=5 * MB, head=MULTIPART_HEAD)
    assert out.status == 401 and out.pulled == 0, (out.status, out.pulled)


def test_page_413_speaks_one_language(world: World) -> None:
    for lang, want, other in (("en", b"request body too large", "请求".encode()),
                              ("zh", "请求内容过大".encode(), b"too large")):
        out = drive(world.ws, "POST", "/login",
                    {"content-type": "application/x-www-form-urlencoded", "cookie": f"zz_lang={lang}"},
                    declared=True)
        assert out.status == 413 and want in out.body and other not in out.body, out.body


def test_small_bodies_still_work(world: World) -> None:
    """The cap is not a wall: a signed-in form and a JSON record of normal size go through."""
    item = next(x["id"] for x in world.items if x["subject_code"] == "R1")
    s = world.webs["s"]
    before = _count(world.ws, "track_records")
    r = s.post(f"/api/v1/tracking/items/{item}/records",
               json={"method": "phone", "outcome": "contacted", "finding": "正常大小" * 100})
    assert r.status_code == 201, r.text[:300]
    assert _count(world.ws, "track_records") == before + 1
    r = s.post(f"/api/v1/tracking/items/{item}/records",
               json={"method": "phone", "outcome": "contacted", "finding": "x" * (SIGNED_IN_BODY_BYTES + 10)})
    assert r.status_code == 413
    assert _count(world.ws, "track_records") == before + 1


def _count(ws: Workspace, name: str) -> int:
    with ws.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())

