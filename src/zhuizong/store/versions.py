"""Versions of the stored data, read on every request: the data part of a kept view's key
(:class:`zhuizong.common.cache.SharedViews`), so a kept value is never stale."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from zhuizong.store.models import table


def imports_version(conn: Connection) -> tuple[Any, ...]:
    """Changes with every committed import (agents, org units, facts: the system of record's
    people and structure change only through imports)."""
    b = table("import_batches")
    max_id, count = conn.execute(select(func.max(b.c.id), func.count())).one()
    # and when the latest batch finished: two databases with as many batches differ
    last = conn.execute(select(b.c.finished_at, b.c.file_sha256).where(b.c.id == max_id)).first()
    return (str(conn.engine.url), max_id, count, *(tuple(last) if last else ()))
