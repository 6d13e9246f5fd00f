"""Alembic environment: runs on the connection handed over by :func:`zhuizong.store.schema.upgrade`."""

from __future__ import annotations

from alembic import context

from zhuizong.store.db import make_engine
from zhuizong.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic` CLI use, e.g. to autogenerate a new revision
        engine = make_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///dev.db")
        with engine.connect() as conn:
            _run(conn)
        return
    _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():  # pragma: no cover
    raise SystemExit("offline migrations are not supported; run `zhuizong init`")
run_migrations_online()
