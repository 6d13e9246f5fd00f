"""Imports page: streamed, size-limited upload → dry-run report → confirm; zip-bomb guard; error
report download; admin only."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import login_with_csrf, small_demo
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TOKEN = re.compile(r'name="token" value="([^"]+)"')


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    yield from small_demo(tmp_path_factory, "imports")


def login(ws: Workspace, username: str) -> tuple[TestClient, str]:
    return login_with_csrf(ws, username)


@pytest.fixture(scope="module")
def admin(ws: Workspace) -> tuple[TestClient, str]:
    return login(ws, "admin")


def rows(ws: Workspace, name: str, **where: Any) -> list[dict[str, Any]]:
    t = table(name)
    q = select(t)
    for k, v in where.items():
        q = q.where(t.c[k] == v)
    with ws.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def some_agents(ws: Workspace, n: int) -> list[str]:
    a = table("agents")
    with ws.engine.connect() as conn:
        return list(conn.execute(select(a.c.agent_code).where(a.c.leave_date.is_(None))
                                 .order_by(a.c.agent_code).limit(n)).scalars())


def upload(c: TestClient, token: str, kind: str, name: str, data: bytes, *,
           header: bool = True) -> Any:
    """Post like the page does: htmx sends the CSRF token as a header (the field is there too)."""
    headers = {"X-CSRF-Token": token, "HX-Request": "true"} if header else {}
    return c.post("/imports/upload", data={"kind": kind, "csrf_token": token},
                  files={"file": (name, data, "text/csv")}, headers=headers)


def set_setting(c: TestClient, token: str, key: str, value: str) -> None:
    r = c.post("/admin/settings", data={"csrf_token": token, "key": key, "value": value},
               follow_redirects=False)
    assert r.status_code == 303, r.text


def test_non_admin_gets_403(ws: Workspace) -> None:
    for user in ("agent", "supervisor"):
        c, token = login(ws, user)
        assert c.get("/imports").status_code == 403
        r = upload(c, token, "attendance", "a.csv", b"agent_code,date,meeting,status\n")
        assert r.status_code == 403
        assert c.post("/imports/confirm", data={"csrf_token": token, "token": "x" * 32}).status_code == 403
    assert not (ws.home / "uploads").exists() or not any((ws.home / "uploads").iterdir())


def test_bad_csv_shows_row_errors_and_commits_nothing(ws: Workspace,
                                                      admin: tuple[TestClient, str]) -> None:
    c, token = admin
    good, = some_agents(ws, 1)
    body = ("工号,日期,会议,状态\n"
            f"{good},2026-05-20,早会,出席\n"
            "NOBODY,2026-05-20,早会,出席\n"
            f"{good},2026-13-01,morning,present\n"
            f"{good},2026-05-21,morning,sleeping\n").encode()
    before = len(rows(ws, "import_batches"))
    r = upload(c, token, "attendance", "bad.csv", body)
    assert r.status_code == 400
    assert 'data-status="rejected"' in r.text and 'id="row-errors"' in r.text
    assert "NOBODY" in r.text and "2026-13-01" in r.text and "sleeping" in r.text
    assert 'id="confirm-form"' not in r.text
    assert len(rows(ws, "import_batches")) == before
    # the error report downloads as xlsx, for the uploader only
    link = re.search(r'href="(/imports/errors/[^"]+\.xlsx)"', r.text)
    assert link
    x = c.get(link.group(1))
    assert x.status_code == 200 and x.content[:2] == b"PK"
    assert len(zipfile.ZipFile(io.BytesIO(x.content)).namelist()) > 3
    other, _ = login(ws, "admin")  # same role, another session: still the same user → allowed
    assert other.get(link.group(1)).status_code == 200
    assert c.get("/imports/errors/../../zhuizong.toml").status_code == 404
    assert c.get("/imports/errors/" + "A" * 32 + ".xlsx").status_code == 404


def test_good_csv_dry_run_then_confirm(ws: Workspace, admin: tuple[TestClient, str]) -> None:
    c, token = admin
    codes = some_agents(ws, 3)
    day = dt.date(2026, 5, 18)
    body = "agent_code,date,meeting,status\n" + "".join(
        f"{code},{day},evening,{s}\n" for code, s in zip(codes, ["present", "late", "absent"], strict=True))
    before = rows(ws, "attendance", date=day, meeting="evening")
    r = upload(c, token, "attendance", "evening.csv", body.encode())
    assert r.status_code == 200, r.text
    assert 'id="dry-run-ok"' in r.text and 'id="confirm-form"' in r.text
    assert rows(ws, "attendance", date=day, meeting="evening") == before  # dry run wrote nothing
    staged = _TOKEN.search(r.text)
    assert staged
    # the token belongs to the uploader: another admin user cannot confirm it
    c2, t2 = _second_admin(ws, c, token)
    assert c2.post("/imports/confirm", data={"csrf_token": t2, "token": staged.group(1)}).status_code == 404
    assert c.post("/imports/confirm", data={"csrf_token": token, "token": "../../etc"}).status_code == 404

    r = c.post("/imports/confirm", data={"csrf_token": token, "token": staged.group(1)})
    assert r.status_code == 200 and 'data-status="committed"' in r.text
    got = {(x["agent_code"], x["status"]) for x in rows(ws, "attendance", date=day, meeting="evening")}
    assert got == set(zip(codes, ["present", "late", "absent"], strict=True))
    batch = rows(ws, "import_batches", file_name="evening.csv")
    assert len(batch) == 1 and batch[0]["actor"] == "admin"
    assert f'data-batch="{batch[0]["id"]:d}"' in c.get("/imports").text
    assert not (ws.home / "uploads" / staged.group(1)).exists()  # cleaned after confirm
    # confirming twice: the token is gone
    assert c.post("/imports/confirm", data={"csrf_token": token, "token": staged.group(1)}).status_code == 404
    # the no-JavaScript path (token as a form field, parsed by the CSRF check) works too
    r = upload(c, token, "attendance", "evening2.csv", body.encode() + b"\n", header=False)
    assert r.status_code == 200 and 'id="confirm-form"' in r.text


def _second_admin(ws: Workspace, c: TestClient, token: str) -> tuple[TestClient, str]:
    r = c.post("/admin/users", data={"csrf_token": token, "username": "admin2", "display_name": "二号管理员",
                                     "password": "another-secret-1", "roles": ["admin"]},
               follow_redirects=False)
    assert r.status_code in (303, 400)
    from zhuizong.web.app import create_app

    c2 = TestClient(create_app(ws), base_url="https://127.0.0.1")
    t = _CSRF.search(c2.get("/login").text)
    assert t
    c2.post("/login", data={"username": "admin2", "password": "another-secret-1", "next": "/",
                            "csrf_token": t.group(1)})
    m = _CSRF.search(c2.get("/account").text)
    assert m
    return c2, m.group(1)


def test_oversized_upload_gets_413(ws: Workspace, admin: tuple[TestClient, str]) -> None:
    c, token = admin
    set_setting(c, token, "import.max_file_mb", "1")
    try:
        big = b"agent_code,date,meeting,status\n" + b"X" * (1024 * 1024 + 10)
        r = upload(c, token, "attendance", "big.csv", big)
        assert r.status_code == 413
        # streamed without a Content-Length (chunked): refused while streaming
        boundary = "zzboundary"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nattendance\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
                "Content-Type: text/csv\r\n\r\n").encode()

        def chunks() -> Iterator[bytes]:
            yield head
            for _ in range(40):
                yield b"Y" * (64 * 1024)
            yield f"\r\n--{boundary}--\r\n".encode()

        r = c.post("/imports/upload", content=chunks(),
                   headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                            "X-CSRF-Token": token})
        assert r.status_code == 413
        uploads = ws.home / "uploads"
        assert not uploads.exists() or not [p for p in uploads.rglob("big.csv")]
    finally:
        set_setting(c, token, "import.max_file_mb", "200")


def test_upload_stops_reading_at_the_limit(ws: Workspace, admin: tuple[TestClient, str]) -> None:
    """Driven through ASGI directly (the test client buffers bodies): the app must stop pulling
    the body once the file passes the limit, long before the client has sent it all."""
    import asyncio

    from zhuizong.web.app import create_app

    c, token = admin
    set_setting(c, token, "import.max_file_mb", "1")
    try:
        boundary = "zzb"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nattendance\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
                "\r\n").encode()
        total = 200  # 200 x 64 KiB = 12.5 MiB offered
        sent = {"n": 0}
        out: dict[str, Any] = {}

        async def receive() -> dict[str, Any]:
            sent["n"] += 1
            if sent["n"] == 1:
                return {"type": "http.request", "body": head, "more_body": True}
            return {"type": "http.request", "body": b"Z" * 65536, "more_body": sent["n"] < total}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                out["status"] = message["status"]

        cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "https", "path": "/imports/upload", "raw_path": b"/imports/upload",
                 "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
                 "server": ("127.0.0.1", 443),
                 "headers": [(b"host", b"127.0.0.1"), (b"cookie", cookie.encode()),
                             (b"x-csrf-token", token.encode()),
                             (b"content-type", f"multipart/form-data; boundary={boundary}".encode())]}
        asyncio.run(create_app(ws)(scope, receive, send))
        assert out["status"] == 413
        assert sent["n"] < 20, f"read {sent['n']} of {total} chunks"
    finally:
        set_setting(c, token, "import.max_file_mb", "200")


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (3 * 1024 * 1024))
    return buf.getvalue()


def test_xlsx_zip_bomb_is_refused(ws: Workspace, admin: tuple[TestClient, str]) -> None:
    c, token = admin
    bomb = _zip_bomb()
    assert len(bomb) < 50_000
    set_setting(c, token, "import.max_xlsx_uncompressed_mb", "1")
    try:
        before = len(rows(ws, "import_batches"))
        r = c.post("/imports/upload", data={"kind": "attendance", "csrf_token": token},
                   files={"file": ("bomb.xlsx", bomb,
                                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
                   headers={"X-CSRF-Token": token})
        assert r.status_code == 400
        assert "zip" in r.text and "import.max_xlsx_uncompressed_mb" in r.text
        assert 'id="confirm-form"' not in r.text
        assert len(rows(ws, "import_batches")) == before
    finally:
        set_setting(c, token, "import.max_xlsx_uncompressed_mb", "1000")
    audit = rows(ws, "audit_log", action="setting.set", object_id="import.max_xlsx_uncompressed_mb")
    assert len(audit) == 2 and all(a["actor"] == "admin" for a in audit)


def test_unknown_kind_and_missing_file(ws: Workspace, admin: tuple[TestClient, str]) -> None:
    c, token = admin
    r = upload(c, token, "salaries", "x.csv", b"a,b\n1,2\n")
    assert r.status_code == 400 and 'id="upload-error"' in r.text
    r = c.post("/imports/upload", data={"kind": "attendance", "csrf_token": token},
               files={"other": ("x.csv", b"a", "text/csv")}, headers={"X-CSRF-Token": token})
    assert r.status_code == 400
    uploads = ws.home / "uploads"
    assert not uploads.exists() or not [p for p in uploads.iterdir() if not (p / "meta.json").exists()]


def test_dry_run_shows_how_the_file_was_read_and_a_preview_of_names(
        ws: Workspace, admin: tuple[TestClient, str]) -> None:
    """Issue 19, item 2: the web dry run shows the names as they would be stored (a GB18030 file
    decoded to 张伟, not mojibake) and how the file was read; nothing is stored before confirming."""
    c, token = admin
    o = table("org_units")
    with ws.engine.connect() as conn:
        parent = conn.execute(select(o.c.org_code).where(o.c.parent_code.is_(None))).scalar_one()
    body = ("org_code,org_name,parent_code,level\n"
            f"ZZP1,张伟营业部,{parent},group\nZZP2,李娜营业部,{parent},group\n")
    r = upload(c, token, "org_units", "units.csv", body.encode("gb18030"))
    assert r.status_code == 200, r.text
    assert 'id="dry-run-ok"' in r.text
    assert "读取方式: CSV gb18030" in r.text
    table_html = r.text[r.text.index('id="preview"'):]
    table_html = table_html[:table_html.index("</table>")]
    assert "张伟营业部" in table_html and "李娜营业部" in table_html and "ZZP1" in table_html
    assert "机构名称" in table_html or "名称" in table_html  # the Chinese column header
    assert rows(ws, "org_units", org_code="ZZP1") == []  # a dry run stores nothing
