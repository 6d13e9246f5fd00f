"""Web security mechanisms, black-box through the app: CSRF (token + same origin, login form
double-submit), login throttling (429), session cookie flags, password change, session lifecycle
and the audit log of logins, failed logins, denials and exports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web import agency
from tests.web.agency import BASE_URL, PASSWORD, login, login_form_token, web_for
from zhuizong.store.models import table
from zhuizong.web import security
from zhuizong.web.app import create_app
from zhuizong.workspace import Workspace


@dataclass
class World:
    ws: Workspace
    item: int  # a tracking item the supervisor ``s`` sees


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = agency.sqlite_copy(tmp_path_factory.mktemp("sec") / "ws", tmp_path_factory.mktemp("agency-template"))
    with agency.env(""):
        items = agency.items(home)
        ws = Workspace.open(home)
        yield World(ws, next(x["id"] for x in items if x["subject_code"] == "R1"))
        ws.engine.dispose()


def _client(ws: Workspace, base_url: str = BASE_URL) -> TestClient:
    return TestClient(create_app(ws), base_url=base_url)


def _audit(ws: Workspace, action: str, object_id: str | None = None) -> list[dict[str, Any]]:
    a = table("audit_log")
    q = select(a).where(a.c.action == action)
    if object_id is not None:
        q = q.where(a.c.object_id == object_id)
    with ws.engine.connect() as conn:
        return [dict(r) for r in conn.execute(q.order_by(a.c.id)).mappings()]


def _records(ws: Workspace, item: int) -> int:
    r = table("track_records")
    with ws.engine.connect() as conn:
        return len(conn.execute(select(r.c.id).where(r.c.item_id == item)).all())


# --- CSRF ------------------------------------------------------------------------------------


def test_cross_origin_post_is_refused_even_with_the_token(world: World) -> None:
    s = web_for(world.ws, "s")
    api = f"/api/v1/tracking/items/{world.item}/records"
    page = f"/tracking/{world.item}/record"
    body = {"method": "phone", "outcome": "contacted"}
    n = _records(world.ws, world.item)
    for headers in ({"Origin": "http://evil.example"},
                    {"Origin": "https://127.0.0.1.evil.example"},
                    {"Origin": "null"},
                    {"Referer": "http://evil.example/form.html"}):
        r = s.post(api, json=body, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert r.json()["detail"] == "cross-origin request refused (CSRF)"
        assert s.post(page, data=body, headers=headers).status_code == 403
    assert _records(world.ws, world.item) == n
    # same origin, named explicitly, is fine
    r = s.post(api, json=body, headers={"Origin": BASE_URL})
    assert r.status_code == 201
    r = s.post(page, data=body, headers={"Referer": f"{BASE_URL}/tracking/{world.item}"})
    assert r.status_code == 303
    assert _records(world.ws, world.item) == n + 2


def test_post_without_or_with_a_wrong_token_is_refused(world: World) -> None:
    s, q = web_for(world.ws, "s"), web_for(world.ws, "q")
    api = f"/api/v1/tracking/items/{world.item}/records"
    body = {"method": "phone", "outcome": "contacted"}
    n = _records(world.ws, world.item)
    assert s.client.post(api, json=body).status_code == 403  # no token at all
    assert s.post(api, json=body, headers={"X-CSRF-Token": ""}).status_code == 403
    assert s.post(api, json=body, headers={"X-CSRF-Token": q.csrf}).status_code == 403  # another session's
    # the page form: token as a form field works, a missing one does not
    page = f"/tracking/{world.item}/record"
    assert s.client.post(page, data=body, follow_redirects=False).status_code == 403
    assert s.client.post(page, data={**body, "csrf_token": "forged"}, follow_redirects=False).status_code == 403
    assert s.client.post(page, data={**body, "csrf_token": s.csrf}, follow_redirects=False).status_code == 303
    assert _records(world.ws, world.item) == n + 1
    # logout is a state change too
    assert s.client.post("/logout", headers={"Origin": "http://evil.example"}).status_code == 403
    assert s.get("/api/v1/me").status_code == 200


def test_login_form_needs_its_double_submit_token(world: World) -> None:
    c = _client(world.ws)
    form = {"username": "s", "password": PASSWORD}
    assert c.post("/login", data=form, follow_redirects=False).status_code == 403  # no token, no cookie
    token = login_form_token(c)
    assert c.post("/login", data={**form, "csrf_token": "forged"}, follow_redirects=False).status_code == 403
    # a token without its cookie (another browser's form) is refused
    other = _client(world.ws)
    assert other.post("/login", data={**form, "csrf_token": token}, follow_redirects=False).status_code == 403
    # a cross-origin login (login CSRF) is refused even with a valid pair
    r = c.post("/login", data={**form, "csrf_token": token}, headers={"Origin": "http://evil.example"},
               follow_redirects=False)
    assert r.status_code == 403
    r = c.post("/login", data={**form, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and security.COOKIE in r.cookies


# --- throttling ------------------------------------------------------------------------------


def test_sixth_wrong_password_in_a_row_gets_429(world: World) -> None:
    assert world.ws.settings.web.login_max_failures == 5
    c = _client(world.ws)
    for _ in range(5):
        assert login(c, "q", "wrong password").status_code == 401
    assert login(c, "q", "wrong password").status_code == 429
    r = login(c, "q", PASSWORD)  # the right password during the lock: still 429, no session
    assert r.status_code == 429 and security.COOKIE not in r.cookies
    assert _audit(world.ws, "login.throttled", "q")
    # another user is not affected
    assert login(_client(world.ws), "m", PASSWORD).status_code == 303


def test_a_success_resets_the_count(world: World) -> None:
    c = _client(world.ws)
    for _ in range(4):
        assert login(c, "exec", "wrong password").status_code == 401
    assert login(c, "exec", PASSWORD).status_code == 303
    for _ in range(5):
        assert login(c, "exec", "wrong password").status_code == 401
    assert login(c, "exec", "wrong password").status_code == 429


def test_unknown_users_are_throttled_alike(world: World) -> None:
    c = _client(world.ws)
    for _ in range(5):
        assert login(c, "nobody-here", "x").status_code == 401
    assert login(c, "nobody-here", "x").status_code == 429


# --- cookies, sessions, password -------------------------------------------------------------


def _set_cookie(response: Any, name: str) -> str:
    for value in response.headers.get_list("set-cookie"):
        if value.startswith(f"{name}="):
            return value
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def test_session_cookie_flags(world: World) -> None:
    r = login(_client(world.ws), "s")
    cookie = _set_cookie(r, security.COOKIE).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie and "path=/" in cookie
    login_cookie = _set_cookie(_client(world.ws).get("/login"), security.LOGIN_CSRF_COOKIE).lower()
    assert "httponly" in login_cookie and "samesite=strict" in login_cookie
    # plain HTTP on a non-local host (behind nothing): no Secure flag, which browsers would drop
    plain = login(_client(world.ws, "http://zhuizong.intranet"), "s")
    assert "secure" not in _set_cookie(plain, security.COOKIE).lower()


def test_security_headers(world: World) -> None:
    r = _client(world.ws).get("/login")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"


def test_logout_ends_the_session_on_the_server(world: World) -> None:
    s = web_for(world.ws, "s")
    token = s.client.cookies.get(security.COOKIE)
    assert s.post("/logout").status_code == 303
    replay = _client(world.ws)
    replay.cookies.set(security.COOKIE, token)
    assert replay.get("/api/v1/me").status_code == 401
    forged = _client(world.ws)
    forged.cookies.set(security.COOKIE, "not-a-session")
    assert forged.get("/api/v1/me").status_code == 401
    assert forged.get("/tracking", follow_redirects=False).status_code == 303


def test_deactivated_user_loses_the_session(world: World) -> None:
    from zhuizong.access.users import set_active
    from zhuizong.store.db import atomic

    r1 = web_for(world.ws, "r1")
    assert r1.get("/api/v1/me").status_code == 200
    with atomic(world.ws.engine) as conn:
        set_active(conn, "r1", False)
    try:
        assert r1.get("/api/v1/me").status_code == 401
        assert login(_client(world.ws), "r1").status_code == 401
    finally:
        with atomic(world.ws.engine) as conn:
            set_active(conn, "r1", True)


def test_password_change(world: World) -> None:
    a, b = web_for(world.ws, "nos"), web_for(world.ws, "nos")  # two browsers
    new = "a-brand-new-secret-7"
    r = a.post("/account/password", data={"old_password": "not it", "new_password": new})
    assert r.status_code == 400
    assert login(_client(world.ws), "nos", new).status_code == 401  # unchanged
    r = a.post("/account/password", data={"old_password": PASSWORD, "new_password": "short"})
    assert r.status_code == 400
    r = a.client.post("/account/password", data={"old_password": PASSWORD, "new_password": new},
                      follow_redirects=False)
    assert r.status_code == 403  # a state change: CSRF token needed
    r = a.post("/account/password", data={"old_password": PASSWORD, "new_password": new})
    assert r.status_code == 303
    assert a.get("/api/v1/me").status_code == 200  # this session stays
    assert b.get("/api/v1/me").status_code == 401  # the other one is logged out
    assert login(_client(world.ws), "nos", PASSWORD).status_code == 401
    assert login(_client(world.ws), "nos", new).status_code == 303
    assert _audit(world.ws, "user.password", "nos")


# --- audit -----------------------------------------------------------------------------------


def test_audit_log_of_logins_denials_and_exports(world: World) -> None:
    c = _client(world.ws)
    assert login(c, "admin", "wrong password").status_code == 401
    failed = _audit(world.ws, "login.failed", "admin")[-1]
    assert failed["actor"] == "admin"
    assert login(c, "admin").status_code == 303
    ok = _audit(world.ws, "login", "admin")[-1]
    assert ok["id"] > failed["id"] and json.loads(ok["detail"])["ip"]

    csrf = c.get("/api/v1/me").json()["csrf_token"]
    r = c.post(f"/api/v1/tracking/items/{world.item}/close", json={"reason": "x"},
               headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"})
    assert r.status_code == 403
    denied = _audit(world.ws, "web.denied")[-1]
    assert denied["actor"] == "admin"
    assert denied["object_id"] == f"POST /api/v1/tracking/items/{world.item}/close"
    r1 = web_for(world.ws, "r1")
    assert r1.get("/api/v1/tracking/items").status_code == 403  # role without the permission
    assert _audit(world.ws, "web.denied")[-1]["actor"] == "r1"

    r = c.get("/api/v1/kpi.csv", params={"period": "2026-04", "org": "B2"})
    assert r.status_code == 200
    export = _audit(world.ws, "export")[-1]
    assert export["actor"] == "admin" and json.loads(export["detail"])["org"] == "B2"
