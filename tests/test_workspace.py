from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from zhuizong.errors import WorkspaceError
from zhuizong.store import schema
from zhuizong.store.db import atomic
from zhuizong.workspace import Workspace


def test_init_creates_schema_and_is_idempotent(home: Path) -> None:
    ws = Workspace.open(home)
    with pytest.raises(WorkspaceError):
        ws.require_ready()
    assert ws.init() is True
    assert ws.init() is False
    assert schema.is_current(ws.engine)
    tables = set(inspect(ws.engine).get_table_names())
    assert {"agents", "premiums", "agent_history", "users", "import_batches"} <= tables


def test_atomic_rolls_back_and_nests(workspace: Workspace) -> None:
    eng = workspace.engine
    ins = text("INSERT INTO audit_log (at, actor, action) VALUES (CURRENT_TIMESTAMP, 't', :a)")
    with pytest.raises(RuntimeError), atomic(eng) as conn:
        conn.execute(ins, {"a": "x"})
        raise RuntimeError("boom")
    with atomic(eng) as conn:
        conn.execute(ins, {"a": "outer"})
        with pytest.raises(RuntimeError), atomic(conn):
            conn.execute(ins, {"a": "inner"})
            raise RuntimeError("inner boom")
    with eng.connect() as conn:
        actions = [r[0] for r in conn.execute(text("SELECT action FROM audit_log"))]
    assert actions == ["outer"]


def test_sqlite_pragmas(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "w")
    ws.init()
    with ws.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
