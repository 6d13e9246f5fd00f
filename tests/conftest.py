"""Shared fixtures: a real workspace on SQLite *and* on PostgreSQL for every database test.

``workspace`` is parametrised over both databases. Without a PostgreSQL server the PostgreSQL
half is skipped, unless ``ZHUIZONG_REQUIRE_PG=1`` (set by ``.ci/run``), in which case it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests import pgserver
from zhuizong.workspace import Workspace

REQUIRE_PG = os.environ.get("ZHUIZONG_REQUIRE_PG") == "1"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PgServer | None]:
    try:
        server = pgserver.start()
    except RuntimeError as exc:
        if REQUIRE_PG:
            raise
        print(f"PostgreSQL unavailable: {exc}")
        server = None
    yield server
    if server is not None:
        server.stop()


def _pg_database(server: pgserver.PgServer | None) -> Iterator[str]:
    if server is None:
        if REQUIRE_PG:
            pytest.fail("ZHUIZONG_REQUIRE_PG=1 but no PostgreSQL server could be started")
        pytest.skip("no PostgreSQL server (set ZHUIZONG_REQUIRE_PG=1 to make this fail)")
    name = f"zz_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.url_for(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield ""
    else:
        server = request.getfixturevalue("pg_server")
        yield from _pg_database(server)


@pytest.fixture
def home(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace folder (not yet initialised) whose database is ``db_url``."""
    h = tmp_path / "ws"
    h.mkdir()
    for var in list(os.environ):
        if var.startswith("ZHUIZONG_") and var not in ("ZHUIZONG_REQUIRE_PG", "ZHUIZONG_TEST_PG_URL",
                                                       "ZHUIZONG_REQUIRE_BROWSER"):
            monkeypatch.delenv(var)
    if db_url:
        monkeypatch.setenv("ZHUIZONG_DATABASE_URL", db_url)
    monkeypatch.setenv("ZHUIZONG_HOME", str(h))
    return h


@pytest.fixture
def workspace(home: Path) -> Iterator[Workspace]:
    """An initialised workspace on SQLite or PostgreSQL."""
    ws = Workspace.open(home)
    ws.init()
    yield ws
    ws.engine.dispose()
