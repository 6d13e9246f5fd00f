"""Hostile input on the web side (issue 19): request bodies capped before parsing on every route,
signed in or not, with a declared ``Content-Length`` and chunked without one; out-of-scope objects
answering exactly like missing ones; malformed requests answered with a clean page or JSON error
(never a 500 or FastAPI's raw JSON on a page); the admin settings form on a full disk.

The body-cap tests drive the ASGI app directly: the test client buffers bodies, so only a
``receive`` of our own can count how much of a 600 MB body the app pulled before answering."""

from __future__ import annotations

import asyncio
import re
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



# --- malformed requests: a clean page or JSON error, never a 500 ------------------------------

_BIG = "9" * 23  # beyond a 64-bit id

#: (user, method, url, form or None, status, "page" | "json")
MALFORMED = [
    ("s", "GET", "/tracking/abc", None, 404, "page"),
    ("s", "GET", f"/tracking/{_BIG}", None, 404, "page"),
    ("s", "GET", "/tracking/-1", None, 404, "page"),
    ("s", "POST", f"/tracking/{_BIG}/record", {"finding": "x"}, 404, "page"),
    ("s", "POST", "/tracking/raises/abc/answer", {"item_id": "1", "note": "x"}, 404, "page"),
    ("s", "POST", f"/tracking/raises/{_BIG}/answer", {"item_id": "1", "note": "x"}, 404, "page"),
    ("s", "POST", "/tracking/raises/1/answer", {"item_id": _BIG, "note": "x"}, 404, "page"),  # no raise 1
    ("s", "POST", "/tracking/raises/1/answer", {"item_id": "abc", "note": "x"}, 400, "page"),
    ("s", "POST", "/tracking/1/close", {}, 400, "page"),  # the required reason is missing
    ("exec", "GET", "/dashboard/trends", None, 400, "page"),  # org and period missing
    ("exec", "GET", "/dashboard?period=0000", None, 400, "page"),
    ("exec", "GET", "/report/download?period=2026-05&format=docx", None, 400, "page"),
    ("exec", "GET", "/nope", None, 404, "page"),
    ("exec", "GET", "/report.docx", None, 404, "page"),
    ("exec", "GET", "/static/nope.js", None, 404, "page"),
    ("s", "GET", f"/api/v1/tracking/items/{_BIG}", None, 404, "json"),
    ("s", "GET", "/api/v1/tracking/items/abc", None, 422, "json"),
    ("exec", "GET", "/api/v1/nope", None, 404, "json"),
    ("exec", "GET", "/api/v1/kpi.docx?period=2026-05", None, 404, "json"),
    ("exec", "GET", "/api/v1/kpi?period=0000", None, 400, "json"),
    ("exec", "GET", "/api/v1/kpi", None, 422, "json"),
    ("exec", "GET", "/api/v1/kpi?period=2026-05&by=nonsense", None, 400, "json"),
]


@pytest.mark.parametrize("user, method, url, form, status, kind", MALFORMED,
                         ids=[f"{m} {u}" for _w, m, u, *_ in MALFORMED])
def test_malformed_request_gets_a_clean_answer(world: World, user: str, method: str, url: str,
                                               form: dict[str, str] | None, status: int, kind: str) -> None:
    web = world.webs[user]
    r = web.get(url) if method == "GET" else web.post(url, data=form or {})
    assert r.status_code == status, (r.status_code, r.text[:300])
    if kind == "json":
        body = r.json()
        assert body["detail"] and body["detail_zh"], body
    else:
        assert r.headers["content-type"].startswith("text/html"), r.headers
        assert "<html" in r.text and '"detail"' not in r.text and "Traceback" not in r.text
        main = re.sub(r"<[^>]+>", " ", r.text.split("<main", 1)[-1])
        assert re.search(r"[\u4e00-\u9fff]", main), "the zh page says why in Chinese"


def test_malformed_page_request_in_english(world: World) -> None:
    from tests.web.agency import web_for

    web = web_for(world.ws, "s")
    try:
        web.get("/lang/en")
        r = web.post("/tracking/1/close", data={})
        assert r.status_code == 400 and "invalid request: reason" in r.text
        assert "请求参数有误" not in r.text  # one language per screen
    finally:
        web.client.close()


def _xlsx(sheet_xml: bytes | None = None) -> bytes:
    import io
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["agent_code", "date", "meeting", "status"])
    ws.append(["R1", "2026-05-06", "早会", "present"])
    buf = io.BytesIO()
    wb.save(buf)
    if sheet_xml is None:
        return buf.getvalue()
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, sheet_xml if info.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


def _zip(files: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def _broken(case: str) -> bytes:
    if case == "random_bytes":
        return bytes(range(256)) * 40
    if case == "empty":
        return b""
    if case == "csv_named_xlsx":
        return "agent_code,date,meeting,status\nR1,2026-05-06,早会,present\n".encode()
    if case == "zip_without_workbook":
        return _zip({"hello.txt": b"hi"})
    if case == "truncated":
        good = _xlsx()
        return good[: len(good) // 2]
    if case == "malformed_sheet_xml":
        return _xlsx(b'<?xml version="1.0"?><worksheet><sheetData><row r="1"><c r="A1" t="inlineStr">'
                     b"<is><t>agent_code</t></is></c></row><row")
    if case == "sheet_xml_with_doctype":  # entity expansion (billion laughs) must not be attempted
        return _xlsx(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
                     b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><worksheet><sheetData>'
                     b'<row r="1"><c r="A1" t="inlineStr"><is><t>&b;</t></is></c></row></sheetData></worksheet>')
    raise AssertionError(case)


BROKEN_XLSX = ["random_bytes", "empty", "csv_named_xlsx", "zip_without_workbook", "truncated",
               "malformed_sheet_xml", "sheet_xml_with_doctype"]


@pytest.mark.parametrize("case", BROKEN_XLSX)
def test_broken_xlsx_upload_gets_a_clean_page(world: World, case: str) -> None:
    admin = world.webs["admin"]
    before = _count(world.ws, "import_batches")
    data = _broken(case)
    r = admin.post("/imports/upload", data={"kind": "attendance"},
                   files={"file": ("考勤.xlsx", data,
                                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert "<html" in r.text and "Traceback" not in r.text
    assert 'id="confirm-form"' not in r.text  # nothing to confirm
    main = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text.split("<main", 1)[-1]))
    assert re.search(r"[\u4e00-\u9fff]", main)
    assert _count(world.ws, "import_batches") == before


# --- settings from the admin page --------------------------------------------------------------


def test_admin_setting_on_a_full_disk_is_a_clean_page(world: World) -> None:
    admin = world.webs["admin"]
    toml = world.ws.home / "zhuizong.toml"
    before = toml.read_text(encoding="utf-8")
    tmp = world.ws.home / "zhuizong.toml.tmp"
    tmp.symlink_to("/dev/full")  # writes fail with ENOSPC, as on a full disk
    try:
        r = admin.post("/admin/settings", data={"key": "kpi.cases", "value": "gross"})
    finally:
        tmp.unlink()
    assert r.status_code == 507, (r.status_code, r.text[:300])
    assert "磁盘已满" in r.text and str(toml) in r.text and "Traceback" not in r.text
    assert toml.read_text(encoding="utf-8") == before
    assert world.ws.settings.kpi.cases == "net"


@pytest.mark.parametrize("key, value", [("tracking.rules_file", "/etc/passwd"),
                                        ("tracking.rules_file", "../../outside.toml"),
                                        ("web.session_hours", "0"), ("kpi.active_rule", "anyone"),
                                        ("database.url", "garbage://x"), ("no.such", "1")])
def test_admin_setting_wrong_value_is_refused(world: World, key: str, value: str) -> None:
    toml = world.ws.home / "zhuizong.toml"
    before = toml.read_text(encoding="utf-8")
    r = world.webs["admin"].post("/admin/settings", data={"key": key, "value": value})
    assert r.status_code == 400 and 'id="form-error"' in r.text, (r.status_code, r.text[:300])
    assert toml.read_text(encoding="utf-8") == before


# --- out of scope answers exactly like missing ------------------------------------------------

MISSING = {"agent": "NOPE404", "item": "987654", "org": "NOPE404"}

#: (url with {id}, kind of id): every API and page route that takes an id in its path or query
SCOPED_ROUTES = [
    ("/agents/{id}", "agent"),
    ("/api/v1/agents/{id}", "agent"),
    ("/api/v1/agents/{id}/activity", "agent"),
    ("/tracking/{id}", "item"),
    ("/api/v1/tracking/items/{id}", "item"),
    ("/dashboard?org={id}", "org"),
    ("/dashboard?org={id}&period=2026-05", "org"),
    ("/dashboard?org={id}&period=2019-01", "org"),  # a period without data
    ("/dashboard/care?org={id}", "org"),
    ("/dashboard/trends?org={id}&period=2026-05", "org"),
    ("/report?org={id}&period=2026-05", "org"),
    ("/report?org={id}&period=2019-01", "org"),
    ("/report/download?org={id}&period=2026-05", "org"),
    ("/report/download?org={id}&period=2026-05&format=pdf", "org"),
    ("/agents?org={id}", "org"),
    ("/basic-law?org={id}", "org"),
    ("/basic-law/download?org={id}", "org"),
    ("/api/v1/kpi?org={id}&period=2026-05", "org"),
    ("/api/v1/kpi?org={id}&period=2026-05&by=children", "org"),
    ("/api/v1/kpi.csv?org={id}&period=2026-05", "org"),
    ("/api/v1/kpi.xlsx?org={id}&period=2026-05", "org"),
    ("/api/v1/basic-law/results?org={id}", "org"),
]
#: who asks, and what they may not see: (id, its name) per kind
HIDDEN = {
    "exec": {"agent": ("X", "外分主管"), "org": ("B2", "二分公司"), "item": ("X", "外分主管")},
    "s": {"agent": ("Q", "同级主管"), "org": ("G2", "二组"), "item": ("Q", "同级主管")},
}


def _text(r: Any) -> str:
    if r.headers.get("content-type", "").startswith("application/json"):
        return r.text
    body = r.text.split("<main", 1)[-1].split("</main>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()


@pytest.mark.parametrize("user", sorted(HIDDEN))
@pytest.mark.parametrize("url, kind", SCOPED_ROUTES, ids=[u for u, _k in SCOPED_ROUTES])
def test_out_of_scope_answers_like_missing(world: World, user: str, url: str, kind: str) -> None:
    code, name = HIDDEN[user][kind]
    ident = code
    if kind == "item":
        ident = str(next(x["id"] for x in world.items
                         if x["subject_type"] == "agent" and x["subject_code"] == code))
    web = world.webs[user]
    hidden, missing = web.get(url.format(id=ident)), web.get(url.format(id=MISSING[kind]))
    assert hidden.status_code == missing.status_code, (hidden.status_code, missing.status_code,
                                                        _text(hidden)[:200], _text(missing)[:200])
    assert hidden.status_code != 200 or kind == "org", hidden.status_code
    assert name not in hidden.text, f"the hidden {kind}'s name {name} shows"
    a, b = _text(hidden).replace(ident, "{id}"), _text(missing).replace(MISSING[kind], "{id}")
    assert a == b, (a[:300], b[:300])


def test_kpi_without_org_names_no_root_outside_the_scope(world: World,
                                                          tmp_path_factory: pytest.TempPathFactory) -> None:
    """A second root (HQ2) the users do not see: /api/v1/kpi without org names neither root to a
    user with a reporting line only, and only their own units to a user with two tops."""
    from tests.kpi_cli.builders import cli_ok
    from zhuizong.access import users
    from zhuizong.store.db import atomic

    home = agency.sqlite_copy(tmp_path_factory.mktemp("roots") / "ws",
                              tmp_path_factory.mktemp("agency-template2"))
    csv = home.parent / "orgs.csv"
    csv.write_text("org_code,org_name,parent_code,level\nHQ2,第二总公司,,branch\nB9,九分公司,HQ2,branch\n",
                   encoding="utf-8")
    with agency.env(""):
        cli_ok("--home", str(home), "import", "org_units", str(csv))
        ws = Workspace.open(home)
        with atomic(ws.engine) as conn:  # exec also sees B9 (under the other root): two tops
            users.grant_scope(conn, "exec", "org_subtree", org_code="B9")
        webs = {u: web_for(ws, u) for u in ("s", "nos", "exec", "r1")}
        try:
            for u in ("s", "nos", "r1"):
                r = webs[u].get("/api/v1/kpi?period=2026-05")
                assert r.status_code in (400, 404), (u, r.status_code, r.text[:200])
                assert r.json()["detail"] and r.json()["detail_zh"]
                for root in ("HQ2", "HQ", "第二总公司", "总公司"):
                    assert root not in r.text, (u, root, r.text)
            r = webs["exec"].get("/api/v1/kpi?period=2026-05")
            assert r.status_code == 400, r.text
            assert "B1" in r.text and "B9" in r.text and "HQ" not in r.text, r.text
        finally:
            for w in webs.values():
                w.client.close()
            ws.engine.dispose()


# --- a database that cannot take the write ----------------------------------------------------


@pytest.mark.parametrize("message, status, words", [
    ("database or disk is full", 507, ("磁盘已满", "the disk is full")),
    ("attempt to write a readonly database", 503, ("数据库只读", "the database is read-only")),
])
def test_full_or_read_only_database_is_a_clean_answer(world: World, message: str, status: int,
                                                      words: tuple[str, str]) -> None:
    """A tracking record written on a full disk or a read-only database: the page and the API
    say so (not a bare 500), and nothing is stored."""
    import sqlite3

    from sqlalchemy import Engine, event

    def refuse(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            raise sqlite3.OperationalError(message)

    item = next(x["id"] for x in world.items if x["subject_code"] == "R1")
    s = world.webs["s"]
    before = _count(world.ws, "track_records")
    event.listen(Engine, "before_cursor_execute", refuse)
    try:
        page = s.post(f"/tracking/{item}/record",
                      data={"method": "phone", "outcome": "contacted", "finding": "满盘"})
        api = s.post(f"/api/v1/tracking/items/{item}/records",
                     json={"method": "phone", "outcome": "contacted", "finding": "满盘"})
    finally:
        event.remove(Engine, "before_cursor_execute", refuse)
    assert page.status_code == status, (page.status_code, page.text[:300])
    assert words[0] in page.text and "<html" in page.text and "Traceback" not in page.text
    assert api.status_code == status and api.json()["detail"].startswith(words[1]), api.text
    assert words[0] in api.json()["detail_zh"]
    assert _count(world.ws, "track_records") == before
