"""Shared fixtures of the web page tests: one small demo agency (150 agents, one year to
2026-05-31, SQLite) built once per test session, and logged-in TestClients per demo user."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from zhuizong.workspace import Workspace

DEMO_END = dt.date(2026, 5, 31)
DEMO_PERIOD = "2026-05"
BASE_URL = "https://127.0.0.1"  # https: the Secure session cookie is sent back


def login(app, username: str, password: str) -> TestClient:  # type: ignore[no-untyped-def]
    """A TestClient logged in as ``username`` (GET /login for the csrf token, then POST)."""
    client = TestClient(app, base_url=BASE_URL)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no csrf_token on the login page"
    r = client.post("/login", data={"username": username, "password": password,
                                    "csrf_token": token.group(1)}, follow_redirects=False)
    assert r.status_code == 303, f"login as {username} failed: {r.status_code}"
    return client


def login_with_csrf(ws: Workspace, username: str, password: str | None = None) -> tuple[TestClient, str]:
    """:func:`login` on a fresh app over ``ws``, plus the session's CSRF token (from /account)."""
    from zhuizong.demo.service import DEMO_PASSWORD
    from zhuizong.web.app import create_app

    client = login(create_app(ws), username, DEMO_PASSWORD if password is None else password)
    m = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/account").text)
    assert m, "no csrf_token on /account"
    return client, m.group(1)


def small_demo(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Workspace]:
    """A 60-agent demo workspace of its own (for module fixtures of tests that write data)."""
    from zhuizong.demo.params import DemoParams
    from zhuizong.demo.service import build_demo

    with pytest.MonkeyPatch.context() as mp:
        for var in [v for v in os.environ if v.startswith("ZHUIZONG_")]:
            mp.delenv(var)
        w = Workspace.open(tmp_path_factory.mktemp(name) / "ws")
        w.init()
        build_demo(w, DemoParams(agents=60, years=1, end_date=DEMO_END))
        yield w


@dataclass
class DemoWeb:
    ws: Workspace
    app: object
    users: dict[str, dict[str, object]]
    _clients: dict[str, TestClient] = field(default_factory=dict)

    def client(self, username: str) -> TestClient:
        from zhuizong.demo.service import DEMO_PASSWORD

        if username not in self._clients:
            self._clients[username] = login(self.app, username, DEMO_PASSWORD)
        return self._clients[username]

    def actor(self, username: str):  # type: ignore[no-untyped-def]
        from zhuizong.access.users import load_actor

        with self.ws.engine.connect() as conn:
            return load_actor(conn, username)


@pytest.fixture(scope="session")
def demo_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoWeb]:
    """The demo agency (built once), with today's tracking items, and the web app over it."""
    from zhuizong.demo.params import DemoParams
    from zhuizong.demo.service import build_demo
    from zhuizong.tracking.generate import run as track_run
    from zhuizong.web.app import create_app

    saved = {k: os.environ.pop(k) for k in [v for v in os.environ if v.startswith("ZHUIZONG_")
                                            and v not in ("ZHUIZONG_REQUIRE_PG", "ZHUIZONG_REQUIRE_BROWSER",
                                                          "ZHUIZONG_CHROMIUM", "ZHUIZONG_TEST_PG_URL")]}
    home = tmp_path_factory.mktemp("demo_web") / "ws"
    ws = Workspace.open(home)
    ws.init()
    summary = build_demo(ws, DemoParams(agents=150, years=1, end_date=DEMO_END))
    track_run(ws, DEMO_END + dt.timedelta(days=1))
    users = {u["username"]: u for u in summary.users}
    yield DemoWeb(ws, create_app(ws), users)
    os.environ.update(saved)


@pytest.fixture(scope="session")
def web_client(demo_web: DemoWeb) -> Callable[[str], TestClient]:
    return demo_web.client
