"""Tests of the report exports (monthly KPI report, cohort tables); shared helpers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from zhuizong.demo.params import DemoParams
from zhuizong.demo.service import build_demo
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

PERIOD = "2026-05"
PARAMS = DemoParams(agents=150, years=2, end_date=dt.date(2026, 5, 31))


def build_small_demo(ws: Workspace) -> None:
    build_demo(ws, PARAMS, users=False)


def org_with_children(ws: Workspace) -> tuple[str, list[str]]:
    """The org unit with the most child units (ties: lowest code), and its children, sorted."""
    o = table("org_units")
    with ws.engine.connect() as conn:
        counts = conn.execute(
            select(o.c.parent_code, func.count()).where(o.c.parent_code.is_not(None))
            .group_by(o.c.parent_code)).all()
        best = sorted(counts, key=lambda r: (-r[1], r[0]))[0][0]
        kids = sorted(conn.execute(select(o.c.org_code).where(o.c.parent_code == best)).scalars())
    return best, kids
