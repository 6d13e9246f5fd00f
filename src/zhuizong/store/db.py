"""Engines and the one transaction helper.

SQLite is tuned for safety first: WAL journal, ``synchronous=FULL`` (a commit survives a power
cut), foreign keys enforced, a busy timeout so concurrent writers wait instead of failing, and
``BEGIN IMMEDIATE`` for write transactions so two writers never deadlock on a lock upgrade.
A killed process leaves at most an uncommitted WAL tail, which SQLite discards on next open.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the project's connection settings."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        _tune_sqlite(engine)
        return engine
    if sa_url.get_backend_name() == "postgresql" and "options" not in sa_url.query:
        # no JIT compilation: the app's queries are short lookups whose cost estimates (scope
        # filters over a province's tracking items) pass jit_above_cost, and compiling took
        # 0.2 s of a 0.25 s query; analytics run in DuckDB, not here. A URL's own
        # ``?options=...`` is left as it is.
        kwargs.setdefault("connect_args", {"options": "-c jit=off"})
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, emit BEGIN (see the "begin" hook below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("zz_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


@contextmanager
def atomic(target: Engine | Connection, *, write: bool = True) -> Iterator[Connection]:
    """Run a block in one transaction: commit on success, roll back on any exception.

    Given an engine, opens a connection and a transaction (``BEGIN IMMEDIATE`` on SQLite when
    ``write``). Given a connection already in a transaction, nests with a SAVEPOINT, so helpers
    can be composed without knowing whether their caller already opened a transaction.
    """
    if isinstance(target, Connection):
        if target.in_transaction():
            with target.begin_nested():
                yield target
        else:
            with target.begin():
                yield target
        return
    with target.connect() as conn:
        if write:
            conn.execution_options(zz_begin="IMMEDIATE")
        with conn.begin():
            yield conn
