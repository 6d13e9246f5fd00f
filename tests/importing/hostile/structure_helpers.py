"""Helpers of the structure tests: the stored org tree."""

from __future__ import annotations

from sqlalchemy import select

from zhuizong.store.models import table
from zhuizong.workspace import Workspace


def parents(ws: Workspace) -> dict[str, str | None]:
    t = table("org_units")
    with ws.engine.connect() as conn:
        return {str(c): (None if p is None else str(p))
                for c, p in conn.execute(select(t.c.org_code, t.c.parent_code)).all()}
