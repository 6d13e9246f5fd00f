"""Data of the web page agent profile: timeline, production by month, recent activity, tracking
items and basic-law results of one agent within the actor's scope (numbers as on the dashboard:
:mod:`zhuizong.services.dashboard`; activity: :mod:`zhuizong.services.activity`)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from zhuizong.access.actor import Actor
from zhuizong.basiclaw import service as bl_service
from zhuizong.errors import ZhuizongError
from zhuizong.services.activity import recent_activity
from zhuizong.services.dashboard import (
    TREND_MONTHS,
    _parallel,
    agents_production,
    data_through,
    month_label,
    month_period,
    shift_month,
)
from zhuizong.tracking.service import ListQuery, list_items, records_of
from zhuizong.workspace import Workspace


@dataclass
class Profile:
    detail: Any  # directory.AgentDetail
    activity: Any  # activity.Activity
    through: dt.date
    timeline: list[dict[str, Any]]
    months: list[str]
    production: dict[str, dict[str, Decimal | None]]  # month -> metric -> value
    items: list[dict[str, Any]]
    assessment: list[dict[str, Any]] | None  # None: the basic-law module is not available


def _timeline(detail: Any) -> list[dict[str, Any]]:
    """Spells (hire/leave) and rank, org unit and supervisor changes, oldest first."""
    ev: list[dict[str, Any]] = []
    for i, (hire, leave) in enumerate(detail.spells, start=1):
        ev.append({"date": hire, "kind": "hire", "spell": i})
        if leave:
            ev.append({"date": leave, "kind": "leave", "spell": i})
    prev = None
    for valid_from, _to, rank, org, sup in detail.history:
        if prev is None:
            ev.append({"date": valid_from, "kind": "start", "rank": rank, "org": org, "supervisor": sup})
        else:
            if rank != prev[2]:
                ev.append({"date": valid_from, "kind": "rank", "old": prev[2], "new": rank})
            if org != prev[3]:
                ev.append({"date": valid_from, "kind": "org", "old": prev[3], "new": org})
            if sup != prev[4]:
                ev.append({"date": valid_from, "kind": "supervisor", "old": prev[4], "new": sup})
        prev = (valid_from, _to, rank, org, sup)
    order = {"hire": 0, "start": 1, "rank": 2, "org": 3, "supervisor": 4, "leave": 5}
    ev.sort(key=lambda e: (e["date"], order[e["kind"]]))
    return ev


def _org_on(detail: Any, d: dt.date) -> str:
    for valid_from, valid_to, _rank, org, _sup in detail.history:
        if valid_from <= d and (valid_to is None or valid_to > d):
            return str(org)
    return str(detail.agent.org_code)


def agent_profile(ws: Workspace, actor: Actor, code: str, *, through: dt.date | None = None) -> Profile:
    """An agent's profile; NotFound when the agent is outside the actor's scope."""
    through = through or data_through(ws)
    act = recent_activity(ws, actor, code, on=through, days=31)  # scope check first
    detail = act.agent
    cur = month_label(ws, through)
    months = [shift_month(cur, -k) for k in range(TREND_MONTHS - 1, -1, -1)]
    first_hire = min((s[0] for s in detail.spells), default=detail.agent.hire_date)

    def month_values(m: str) -> dict[str, Decimal | None]:
        p, as_of = month_period(ws, m, through)
        if p.end < first_hire.replace(day=1) or p.start > through:
            return {"fyp": None, "cases": None}
        org = _org_on(detail, min(p.end, through))
        try:
            return agents_production(ws, org, {code}, m, as_of)[code]
        except ZhuizongError:
            return {"fyp": None, "cases": None}

    # the latest month first: when it was a read of the results store, so are
    # the others, read in this thread (threads only add CPU); when it had to be computed, the
    # other months are computed in a few threads (DuckDB runs outside the GIL)
    t0 = time.perf_counter()
    production = {months[-1]: month_values(months[-1])}
    rest = months[:-1]
    if time.perf_counter() - t0 > 0.1:
        production.update(_parallel(month_values, rest))
    else:
        production.update({m: month_values(m) for m in rest})
    production = {m: production[m] for m in months}
    items: list[dict[str, Any]] = []
    if actor.can("view_tracking"):
        items = list_items(ws, actor, ListQuery(subject=code, status="all", limit=50))
        items.sort(key=lambda x: (x["date"], x["id"]), reverse=True)
        recs = records_of(ws, actor, [x["id"] for x in items[:10]])
        for x in items[:10]:
            x["records"] = recs.get(x["id"], [])
    assessment: list[dict[str, Any]] | None = None
    try:  # the basic-law module's results per agent (a later issue), when it has them
        fn = getattr(bl_service, "agent_results", None)
        if fn is not None:
            assessment = list(fn(ws, actor, code))
    except Exception:  # never break a profile
        assessment = None
    return Profile(detail, act, through, _timeline(detail), months, production, items, assessment)


__all__ = ["Profile", "agent_profile"]
