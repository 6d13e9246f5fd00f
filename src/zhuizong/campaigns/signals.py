"""Campaign signals for the tracking engine (方案追踪) and the demo's campaigns.

:func:`campaign_signals` has the signature of a tracking signal provider
(``zhuizong.tracking.signals.PROVIDERS``: ``(ws, date, base frame) -> frame keyed by agent_code``).
For every campaign *running* on ``d`` (start ≤ d ≤ end, not closed) it computes the standings as
of ``d`` for the whole force in bulk, and keeps, per agent, the campaign in which the agent is
relatively closest to their next tier (smallest gap / next threshold). Agents in no running
campaign, or above the top tier of every one, get empty values.

Signals (columns):

| name | meaning |
|---|---|
| ``campaign_id`` | the running campaign with the agent's smallest relative gap |
| ``campaign_value`` | the agent's result in it so far (元, cases, persons … — the measure's unit) |
| ``campaign_next_tier`` | the name of the next tier |
| ``campaign_gap_to_tier`` | what is still missing to the next tier (measure's unit; 元 for money) |
| ``campaign_gap_share`` | gap / next tier's threshold (0–1) |
| ``campaign_days_left`` | days of the campaign left after ``d`` |
| ``campaign_rank`` | the agent's position in that campaign |
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import select

from zhuizong.access.actor import SYSTEM
from zhuizong.campaigns import engine, service
from zhuizong.campaigns.config import parse_campaign
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

SIGNALS: dict[str, tuple[str, str]] = {
    "campaign_id": ("相对差距最小的进行中方案", "running campaign with the smallest relative gap"),
    "campaign_value": ("方案业绩 (该方案指标单位)", "result so far, in the campaign's measure unit"),
    "campaign_next_tier": ("下一档名称", "name of the next tier"),
    "campaign_gap_to_tier": ("距下一档差额 (元/件/人)", "gap to the next tier (元 for money measures)"),
    "campaign_gap_share": ("差额占下一档门槛比例 (0–1)", "gap / next tier threshold (0–1)"),
    "campaign_days_left": ("方案剩余天数 (不含当天)", "days of the campaign left after the run date"),
    "campaign_rank": ("方案内名次", "position in that campaign"),
}
COLUMNS = ["agent_code", *SIGNALS]


def _running(ws: Workspace, d: dt.date) -> list[service.CampaignRow]:
    t = table("campaigns")
    with ws.require_ready().connect() as conn:
        ids: list[str] = list(conn.execute(select(t.c.campaign_id).where(
            t.c.status == "open", t.c.start_date <= d, t.c.end_date >= d)).scalars())
        rows = [service._load(conn, i) for i in ids]
    return [r for r in rows if r is not None]


def campaign_signals(ws: Workspace, d: dt.date, base: pd.DataFrame) -> pd.DataFrame:
    """One row per agent of ``base`` (column ``agent_code``) with the campaign signals."""
    out = pd.DataFrame({"agent_code": base["agent_code"].astype(object).to_numpy()})
    running = _running(ws, d)
    frames = []
    if running:
        facts = engine.Facts.open(ws)
        with ws.engine.connect() as conn:
            for r in running:  # campaigns, not agents: a handful
                st = service.compute_live(ws, r.campaign, d, conn, facts)
                df = st.rows
                df = df[df.next_tier.notna()]
                frames.append(pd.DataFrame({
                    "agent_code": df.agent_code.to_numpy(),
                    "campaign_id": r.campaign.id,
                    "campaign_value": df.value.to_numpy(),
                    "campaign_next_tier": df.next_tier.to_numpy(),
                    "campaign_gap_to_tier": df.gap.to_numpy(),
                    "campaign_gap_share": df.gap_share.to_numpy(),
                    "campaign_days_left": st.window.days_left,
                    "campaign_rank": df.position.to_numpy(),
                }))
    if frames:
        allc = pd.concat(frames, ignore_index=True)
        allc = allc.sort_values(["agent_code", "campaign_gap_share", "campaign_days_left", "campaign_id"],
                                kind="mergesort").drop_duplicates("agent_code")
        out = out.merge(allc, on="agent_code", how="left")
    for col in SIGNALS:
        if col not in out:
            out[col] = np.nan if col not in ("campaign_id", "campaign_next_tier") else None
    return out[COLUMNS]


# --- the demo's campaigns ----------------------------------------------------------------------


def _month_bounds(y: int, m: int) -> tuple[dt.date, dt.date]:
    import calendar

    return dt.date(y, m, 1), dt.date(y, m, calendar.monthrange(y, m)[1])


def demo_campaign_definitions(end_date: dt.date) -> list[dict[str, object]]:
    """Three campaigns around the demo's last day ``end_date``: last month's FYP campaign (closed
    when its grace period is over, so the honor roll is final), this month's FYP sprint and this
    quarter's recruiting campaign (both running)."""
    y, m = end_date.year, end_date.month
    ps, pe = _month_bounds(*((y, m - 1) if m > 1 else (y - 1, 12)))
    s, e = _month_bounds(y, m)
    q = (m - 1) // 3
    qs, qe = dt.date(y, 3 * q + 1, 1), _month_bounds(y, 3 * q + 3)[1]
    fyp_tiers = [
        {"name": "铜奖", "threshold": 10000, "reward": "价值 500 元礼品", "honor": "月度铜牌"},
        {"name": "银奖", "threshold": 30000, "reward": "价值 1,500 元礼品", "honor": "月度银牌"},
        {"name": "金奖", "threshold": 60000, "reward": "价值 3,000 元旅游券", "honor": "月度金牌"},
    ]
    return [
        {"id": f"demo-fyp-{ps:%Y-%m}", "name": f"{ps.month}月 FYP 冲刺方案", "start": ps, "end": pe,
         "measure": "fyp", "grace_days": 10, "tiers": fyp_tiers,
         "description": "月度首年保费冲刺: 扣除犹豫期撤单 (结束后 10 天内的撤单也扣除)",
         "eligibility": {"categories": ["probationary", "formal", "director"]}},
        {"id": f"demo-fyp-{s:%Y-%m}", "name": f"{s.month}月 FYP 冲刺方案", "start": s, "end": e,
         "measure": "fyp", "grace_days": 10, "tiers": fyp_tiers,
         "description": "月度首年保费冲刺: 扣除犹豫期撤单 (结束后 10 天内的撤单也扣除)"},
        {"id": f"demo-recruit-{y}Q{q + 1}", "name": f"{y}年第{q + 1}季度 增员方案", "start": qs, "end": qe,
         "measure": "new_recruits",
         "tiers": [{"name": "增员之星", "threshold": 1, "honor": "增员之星"},
                   {"name": "增员标兵", "threshold": 2, "reward": "价值 1,000 元礼品", "honor": "增员标兵"},
                   {"name": "增员王", "threshold": 3, "reward": "价值 2,000 元旅游券", "honor": "增员王"}],
         "eligibility": {"categories": ["formal", "director"], "min_tenure_months": 3},
         "description": "本人推荐、本季度入司的新人数", "visibility": "campaign"},
    ]


def install_demo_campaigns(ws: Workspace, end_date: dt.date) -> list[str]:
    """Define the demo's campaigns (idempotent) and close last month's when its grace period is
    over on ``end_date``; returns the campaign ids."""
    camps = [parse_campaign(raw, "demo") for raw in demo_campaign_definitions(end_date)]
    service.define(ws, SYSTEM, camps, "demo")
    for c in camps:
        if c.close_from <= end_date:
            service.close(ws, SYSTEM, c.id, end_date)
    return [c.id for c in camps]


__all__ = ["COLUMNS", "SIGNALS", "campaign_signals", "demo_campaign_definitions",
           "install_demo_campaigns"]
