"""Administration pages: admin only; users, roles, scopes (audited), org tree, settings, plans,
tracking rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.web.conftest import login_with_csrf, small_demo
from zhuizong.demo.service import DEMO_PASSWORD
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

ADMIN_PAGES = ("/admin", "/admin/users", "/admin/users/agent", "/admin/orgs", "/admin/settings",
               "/admin/plans", "/admin/rules")


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    yield from small_demo(tmp_path_factory, "admin")


def login(ws: Workspace, username: str, password: str = DEMO_PASSWORD) -> tuple[TestClient, str]:
    return login_with_csrf(ws, username, password)


@pytest.fixture(scope="module")
def admin(ws: Workspace) -> tuple[TestClient, str]:
    return login(ws, "admin")


def audit(ws: Workspace, action: str, object_id: str) -> list[dict[str, Any]]:
    t = table("audit_log")
    with ws.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(t).where(t.c.action == action, t.c.object_id == object_id))]


def test_non_admin_gets_403(ws: Workspace) -> None:
    for user in ("agent", "supervisor", "trainer", "executive"):
        c, token = login(ws, user)
        for path in ADMIN_PAGES:
            assert c.get(path, follow_redirects=False).status_code == 403, (user, path)
        r = c.post("/admin/users", data={"csrf_token": token, "username": "mallory",
                                         "password": "password-123", "roles": ["admin"]})
        assert r.status_code == 403
        r = c.post("/admin/settings", data={"csrf_token": token, "key": "web.session_hours", "value": "1"})
        assert r.status_code == 403
    u = table("users")
    with ws.engine.connect() as conn:
        assert conn.execute(select(u.c.username).where(u.c.username == "mallory")).first() is None


def test_admin_pages_render(admin: tuple[TestClient, str]) -> None:
    c, _ = admin
    for path in ADMIN_PAGES:
        r = c.get(path)
        assert r.status_code == 200, (path, r.text[:500])
    assert 'data-user="agent"' in c.get("/admin/users").text
    orgs = c.get("/admin/orgs").text
    assert orgs.count("data-org=") > 3
    rules = c.get("/admin/rules").text
    assert 'id="rules-file"' in rules and "tracking_rules.toml" in rules and rules.count("data-rule=") >= 3
    plans = c.get("/admin/plans").text
    assert 'href="/imports"' in plans
    assert c.get("/admin/users/nobody").status_code == 404
    en = c.get("/lang/en?back=/admin/settings", follow_redirects=True)
    assert "Settings" in en.text and "largest import file a web upload accepts" in en.text
    c.get("/lang/zh", follow_redirects=False)


def test_admin_creates_user_and_grants_scope_audited(ws: Workspace, admin: tuple[TestClient, str]) -> None:
    c, token = admin
    o = table("org_units")
    with ws.engine.connect() as conn:
        org = conn.execute(select(o.c.org_code).where(o.c.level == "group").order_by(o.c.org_code)).scalars().first()
    r = c.post("/admin/users", data={"csrf_token": token, "username": "zhang.trainer",
                                     "display_name": "张组训", "password": "initial-pass-1",
                                     "roles": ["trainer"]}, follow_redirects=False)
    assert r.status_code == 303, r.text
    r = c.post("/admin/users/zhang.trainer/grant", data={"csrf_token": token, "scope_type": "org_subtree",
                                                         "code": org}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = c.get("/admin/users/zhang.trainer").text
    assert org in page and "trainer" in page
    created = audit(ws, "user.create", "zhang.trainer")
    granted = audit(ws, "scope.grant", "zhang.trainer")
    assert len(created) == 1 and created[0]["actor"] == "admin"
    assert len(granted) == 1 and granted[0]["actor"] == "admin"
    assert json.loads(granted[0]["detail"])["scope"] == f"org_subtree:{org}"
    # the new user logs in with the initial password and sees the attendance sheet of that group
    nc, _ = login(ws, "zhang.trainer", "initial-pass-1")
    sheet = nc.get("/tools/attendance")
    assert sheet.status_code == 200 and f'data-group="{org}"' in sheet.text

    # roles, revoke, deactivate: audited; a bad scope code is a clear error
    r = c.post("/admin/users/zhang.trainer/grant", data={"csrf_token": token, "scope_type": "org_subtree",
                                                         "code": "NO-SUCH-ORG"})
    assert r.status_code == 400 and 'id="form-error"' in r.text
    c.post("/admin/users/zhang.trainer/roles", data={"csrf_token": token, "roles": ["trainer", "training"]})
    assert audit(ws, "user.roles", "zhang.trainer")
    c.post("/admin/users/zhang.trainer/revoke", data={"csrf_token": token, "scope_type": "org_subtree",
                                                      "code": org})
    assert audit(ws, "scope.revoke", "zhang.trainer")
    c.post("/admin/users/zhang.trainer/active", data={"csrf_token": token, "active": "0"})
    assert audit(ws, "user.deactivate", "zhang.trainer")
    assert nc.get("/tools", follow_redirects=False).status_code in (303, 401)  # logged out


def test_create_user_errors_and_self_lockout(ws: Workspace, admin: tuple[TestClient, str]) -> None:
    c, token = admin
    r = c.post("/admin/users", data={"csrf_token": token, "username": "short", "password": "123",
                                     "roles": ["agent"]})
    assert r.status_code == 400 and 'id="form-error"' in r.text
    r = c.post("/admin/users", data={"csrf_token": token, "username": "agent", "password": "long-enough-1",
                                     "roles": ["agent"]})
    assert r.status_code == 400  # exists
    r = c.post("/admin/users", data={"csrf_token": token, "username": "x", "password": "long-enough-1",
                                     "roles": ["wizard"]})
    assert r.status_code == 400
    assert c.post("/admin/users/admin/active", data={"csrf_token": token, "active": "0"}).status_code == 400
    assert c.post("/admin/users/admin/roles", data={"csrf_token": token, "roles": ["agent"]}).status_code == 400
    assert c.get("/admin/users").status_code == 200  # still an admin


def test_settings_change_validated_and_audited(ws: Workspace, admin: tuple[TestClient, str]) -> None:
    c, token = admin
    r = c.post("/admin/settings", data={"csrf_token": token, "key": "web.session_hours", "value": "abc"})
    assert r.status_code == 400 and 'id="form-error"' in r.text
    r = c.post("/admin/settings", data={"csrf_token": token, "key": "calendar.month_basis", "value": "lunar"})
    assert r.status_code == 400
    r = c.post("/admin/settings", data={"csrf_token": token, "key": "database.url", "value": "sqlite://"})
    assert r.status_code == 400
    r = c.post("/admin/settings", data={"csrf_token": token, "key": "web.session_hours", "value": "8"},
               follow_redirects=False)
    assert r.status_code == 303
    assert ws.settings.web.session_hours == 8
    assert "session_hours = 8" in (ws.home / "zhuizong.toml").read_text(encoding="utf-8")
    a = audit(ws, "setting.set", "web.session_hours")
    assert len(a) == 1 and a[0]["actor"] == "admin" and json.loads(a[0]["detail"]) == {"old": 12, "new": 8}
    c.post("/admin/settings", data={"csrf_token": token, "key": "web.session_hours", "value": "12"})
