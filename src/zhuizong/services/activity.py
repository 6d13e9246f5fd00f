"""An agent's recent activity for profiles and tracking pages: attendance, work logs, production.

Scoped by the one scope function (an agent outside the actor's scope is "not found"). Production
figures come from the KPI engine (by agent, within the agent's org unit) so they match reports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from zhuizong.access.actor import Actor
from zhuizong.kpi import results
from zhuizong.kpi.engine import KpiRequest
from zhuizong.services.dashboard import data_through, month_label, month_period
from zhuizong.services.directory import AgentDetail, get_agent
from zhuizong.store.models import table
from zhuizong.workspace import Workspace


@dataclass
class Activity:
    agent: AgentDetail
    attendance: list[dict[str, Any]] = field(default_factory=list)
    work_logs: list[dict[str, Any]] = field(default_factory=list)
    production: dict[str, float | None] = field(default_factory=dict)  # metric -> month-to-date
    premiums: list[dict[str, Any]] = field(default_factory=list)


def recent_activity(ws: Workspace, actor: Actor, agent_code: str, on: dt.date | None = None,
                    days: int = 14) -> Activity:
    on = on or dt.date.today()
    since = on - dt.timedelta(days=days - 1)
    engine = ws.require_ready()
    at, wl, pr = table("attendance"), table("work_logs"), table("premiums")
    with engine.connect() as conn:
        detail = get_agent(conn, actor, agent_code)  # raises NotFound outside the scope
        att = [dict(r._mapping) for r in conn.execute(
            select(at.c.date, at.c.meeting, at.c.status)
            .where(at.c.agent_code == agent_code, at.c.date >= since, at.c.date <= on)
            .order_by(at.c.date.desc(), at.c.meeting))]
        logs = [dict(r._mapping) for r in conn.execute(
            select(wl.c.date, wl.c.calls, wl.c.visits, wl.c.interviews, wl.c.proposals, wl.c.closes,
                   wl.c.referrals, wl.c.recruit_talks, wl.c.note)
            .where(wl.c.agent_code == agent_code, wl.c.date >= since, wl.c.date <= on)
            .order_by(wl.c.date.desc()))]
        prem = [dict(r._mapping) for r in conn.execute(
            select(pr.c.txn_id, pr.c.policy_no, pr.c.product_code, pr.c.txn_date, pr.c.txn_type,
                   pr.c.amount_fen)
            .where(pr.c.agent_code == agent_code, pr.c.txn_date >= on.replace(day=1), pr.c.txn_date <= on)
            .order_by(pr.c.txn_date.desc()))]
    production: dict[str, float | None] = {}
    try:
        # from the results store (the same rows as compute): the month's per-agent rows

        # month to date on the KPI calendar, through the data's last day when that is earlier
        # in the same month (as the dashboard: the premium feed ends yesterday) — the request
        # the profile and the store's per-agent rows use
        label = month_label(ws, on)
        kpi_day = min(on, data_through(ws))
        if month_label(ws, kpi_day) != label:
            kpi_day = on
        p, as_of = month_period(ws, label, kpi_day)
        res = results.agent_rows(ws, KpiRequest(period=p.uncut().label,
                                                org=detail.agent.org_code, by="agent",
                                                metrics=("fyp", "fyc", "cases"),
                                                as_of=as_of), {agent_code})
        for r in res.rows:
            production[r.metric] = None if r.value is None else float(r.value)
    except Exception:  # a profile still shows without the analytic snapshot
        production = {}
    for txn in prem:
        txn["amount"] = txn.pop("amount_fen") / 100
    return Activity(detail, att, logs, production, prem)
