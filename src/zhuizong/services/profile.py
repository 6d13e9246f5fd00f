"""Data of the web page agent profile: timeline, production by month, recent activity, tracking
items and basic-law results of one agent within the actor's scope (numbers as on the dashboard:
:mod:`zhuizong.services.dashboard`; activity: :mod:`zhuizong.services.activity`)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from zhuizong.access.actor import SYSTEM, Actor
from zhuizong.basiclaw import service as bl_service
from zhuizong.basiclaw.income_service import agent_benefits
from zhuizong.campaigns import service as campaigns_service
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
from zhuizong.store.models import Base
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


@dataclass
class MyHome:
    """The agent's own home (我的): month to date against their own goals, their standing in
    running campaigns, their basic-law gap and their recent work logs."""

    agent_code: str
    name: str
    through: dt.date
    month: str
    production: dict[str, Any]  # fyp, fyc, cases month to date (the profile's numbers)
    goals: dict[str, Decimal]  # metric -> own goal of the month (empty: no goals imported)
    campaigns: list[dict[str, Any]]  # running campaigns: name, position, tier, next tier, gap
    basic_law: list[dict[str, Any]]  # latest assessed period: outcome and gap texts
    work_logs: list[dict[str, Any]]
    #: the gain of the next rank this month (benefit rules): next_rank, next_rank_name, gain (元)
    rank_gain: dict[str, Any] | None = None


def _goals(ws: Workspace, code: str, month: str) -> dict[str, Decimal]:
    goals = Base.metadata.tables.get("agent_goals")  # the goals import (定标), when installed
    if goals is None:
        return {}
    with ws.require_ready().connect() as conn:
        rows = conn.execute(select(goals.c.metric, goals.c.target)
                            .where(goals.c.agent_code == code, goals.c.period == month))
        return {str(m): Decimal(str(v)) for m, v in rows}


def _campaign_standing(ws: Workspace, actor: Actor, code: str, on: dt.date) -> list[dict[str, Any]]:
    if not actor.can("view_campaigns"):
        return []
    out: list[dict[str, Any]] = []
    for c in campaigns_service.list_campaigns(ws, actor, on=on):
        if c["phase"] != "running":
            continue
        try:
            rows = campaigns_service.standings(ws, actor, c["id"], as_of=on).rows
        except ZhuizongError:
            continue
        mine = rows[rows.agent_code == code]
        r = mine.iloc[0].to_dict() if len(mine) else {}
        out.append({"id": c["id"], "name": c["name"], "measure_zh": c["measure_zh"],
                    "measure": c["measure"], "days_left": c["days_left"],
                    "position": r.get("position"), "value": r.get("value"), "tier": r.get("tier"),
                    "next_tier": r.get("next_tier"), "gap": r.get("gap")})
    return out


def _own(actor: Actor, code: str) -> Actor | None:
    """Who reads an agent's own basic-law standing for 我的: the actor when they may view
    assessments, the system for the agent themself (their own row only: agents do not get the
    basic-law pages, docs/basic-law.md), else nobody."""
    if actor.can("view_assessment"):
        return actor
    return SYSTEM if actor.agent_code is not None and actor.agent_code == code else None


def _basic_law_gap(ws: Workspace, actor: Actor, code: str) -> list[dict[str, Any]]:
    reader = _own(actor, code)
    if reader is None:
        return []
    periods = bl_service.assessed_periods(ws, reader)
    if not periods:
        return []
    return bl_service.list_results(ws, reader, bl_service.ListQuery(period=periods[0], agent=code))


def _rank_gain(ws: Workspace, actor: Actor, code: str, on: dt.date) -> dict[str, Any] | None:
    """The agent's benefits this month (``benefits``: items at the current pace) and 晋升后每月多
    X 元 (``next_rank``, ``next_rank_name``, ``gain``; None at the top of the ladder); None
    without benefit rules or without the right to see them."""
    reader = _own(actor, code)
    if reader is None:
        return None
    b = agent_benefits(ws, reader, code, on)
    if b is None:
        return None
    name = None
    if b["next_rank"] is not None:
        ranks = Base.metadata.tables["ranks"]
        with ws.require_ready().connect() as conn:
            name = conn.execute(select(ranks.c.rank_name)
                                .where(ranks.c.rank_code == b["next_rank"])).scalar_one_or_none()
    return {**b, "next_rank_name": name or b["next_rank"]}


def my_rank_gain(ws: Workspace, actor: Actor, *, through: dt.date | None = None
                 ) -> dict[str, Any] | None:
    """The user's own 晋升后每月多 X 元 (:func:`my_home`'s ``rank_gain``) alone: the page loads
    it after the rest, as it evaluates the benefit rules at two ranks (seconds, not a stored
    result)."""
    if not actor.agent_code:
        return None
    return _rank_gain(ws, actor, actor.agent_code, through or data_through(ws))


def my_home(ws: Workspace, actor: Actor, *, through: dt.date | None = None,
            with_gain: bool = True) -> MyHome:
    """The home of an agent user (their own agent code); NotFound without one. ``with_gain``:
    also the gain of the next rank (else None: :func:`my_rank_gain` gives it apart)."""
    if not actor.agent_code:
        raise ZhuizongError("该用户没有关联工号", "this user is not linked to an agent code")
    through = through or data_through(ws)
    act = recent_activity(ws, actor, actor.agent_code, on=through, days=7)
    month = month_label(ws, through)
    return MyHome(actor.agent_code, act.agent.agent.agent_name, through, month, act.production,
                  _goals(ws, actor.agent_code, month),
                  _campaign_standing(ws, actor, actor.agent_code, through),
                  _basic_law_gap(ws, actor, actor.agent_code),
                  sorted(act.work_logs, key=lambda w: w["date"], reverse=True),
                  _rank_gain(ws, actor, actor.agent_code, through) if with_gain else None)


__all__ = ["MyHome", "Profile", "agent_profile", "my_home", "my_rank_gain"]
