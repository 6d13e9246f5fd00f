"""Connection settings of the engines (store.db.make_engine)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from zhuizong.workspace import Workspace


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_connections_do_not_jit(workspace: Workspace) -> None:
    """The web app's short queries must not pay PostgreSQL's JIT compilation (0.2 s each on
    a province's tracking items): every connection of the engine has jit off."""
    with workspace.engine.connect() as conn:
        assert conn.execute(text("show jit")).scalar() == "off"


def test_an_explicit_options_parameter_is_kept() -> None:
    from zhuizong.store.db import make_engine

    e = make_engine("postgresql+psycopg://u@127.0.0.1:1/db?options=-c%20jit%3Don")
    assert e.dialect.create_connect_args(e.url)[1]["options"] == "-c jit=on"
    e.dispose()
