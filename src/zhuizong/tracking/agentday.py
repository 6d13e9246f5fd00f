"""Agent-day signals of issue 15: own goals (定标), daily work plans (日工作计划), care (关怀).

:func:`agentday_signals` has the signature of a tracking signal provider (``(ws, date, base frame)
-> frame keyed by agent_code``); :mod:`zhuizong.tracking.signals` registers it. Everything is a
handful of grouped queries for the whole force, never a loop over agents:

* **goals**: the agent's own targets of the month (import kind ``agent_goals``) against the
  month-to-date actuals already in the base frame (FYP and cases from the KPI results, visits and
  interviews from the work logs), at the month's time progress;
* **plans**: the plan for day D is filed with the work log of D − 1 (``plan_calls``,
  ``plan_visits``, ``plan_interviews``); yesterday's plan (filed on D − 2) is compared with
  yesterday's log;
* **care**: days since the agent was last contacted (a tracking record on an item about them whose
  outcome is not "no answer"), counted from the later of the hire date and the first tracking run;
  the work anniversary (入司周年) and the return to the morning meeting after a long absence, each
  for ``CARE_WINDOW`` days so the 关怀 item stays up long enough to be worked.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import and_, func, select

from zhuizong.analytics.calendar import Basis
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

#: days a care occasion (anniversary, return) stays up
CARE_WINDOW = 3
#: goal metric → (column of the base frame with the month-to-date actual, Chinese name)
GOAL_ACTUALS = {"fyp": ("mtd_fyp", "FYP"), "cases": ("mtd_cases", "件数"),
                "visits": ("mtd_visits", "拜访"), "interviews": ("mtd_interviews", "面谈")}
#: the goals' names on English screens (the reasons' message_en)
GOAL_EN = {"fyp": "FYP", "cases": "cases", "visits": "visits", "interviews": "interviews"}
_ATTENDED = ("present", "late")

SIGNALS: dict[str, tuple[str, str]] = {
    "goal_fyp": ("本月个人 FYP 目标 (元; 无目标为空)", "own FYP goal of the month in 元 (empty without one)"),
    "goal_cases": ("本月个人件数目标", "own cases goal of the month"),
    "goal_visits": ("本月个人拜访目标", "own visits goal of the month"),
    "goal_interviews": ("本月个人面谈目标", "own interviews goal of the month"),
    "goal_attainment": ("个人目标最低达成率 (0–1, 各目标中最落后的一项)",
                        "lowest attainment of the own goals (0–1, the goal most behind)"),
    "goal_metric": ("最落后的个人目标 (中文名)", "the own goal most behind (Chinese name)"),
    "goal_metric_en": ("最落后的个人目标 (英文名)", "the own goal most behind (English name)"),
    "goal_behind_points": ("个人目标落后时间进度 (百分点)",
                           "(time progress − lowest own goal attainment) × 100, in points"),
    "plans_in_use": ("近 30 天是否有人填写日计划 (1/0)", "1 if anyone filed a daily plan in the last 30 days"),
    "plan_filed_today": ("今日计划是否已填 (昨日日志中的计划, 1/0)",
                         "1 if today's plan was filed (with yesterday's work log)"),
    "plan_yesterday": ("昨日计划量 (电话+拜访+面谈; 无计划为空)",
                       "yesterday's planned calls + visits + interviews (empty without a plan)"),
    "plan_yesterday_done": ("昨日计划完成量 (各项实际不超过计划)",
                            "yesterday's plan carried out (each actual capped at its plan)"),
    "plan_yesterday_rate": ("昨日计划完成率 (0–1)", "share of yesterday's plan carried out (0–1)"),
    "days_since_contact": ("距上次被追踪联系的天数 (自入司或启用追踪起算)",
                           "days since the agent was last contacted by tracking (from the hire "
                           "date or the first tracking run)"),
    "anniversary_years": (f"入司周年数 (周年日起 {CARE_WINDOW} 天内, 否则 0)",
                          f"work anniversary in years (within {CARE_WINDOW} days of the date, else 0)"),
    "return_after_days": (f"缺勤多少天后回到早会 (近 {CARE_WINDOW} 天内回归, 否则 0)",
                          f"days away before coming back to the morning meeting (back within the "
                          f"last {CARE_WINDOW} days, else 0)"),
}
COLUMNS = ["agent_code", *SIGNALS]


def _label(ws: Workspace, d: dt.date) -> str:
    cal = ws.settings.calendar
    y, m = Basis(cal.month_basis, cal.cutoff_day).month_of(d)
    return f"{y:04d}-{m:02d}"


def agentday_signals(ws: Workspace, d: dt.date, base: pd.DataFrame) -> pd.DataFrame:
    """One row per agent of ``base`` with the goal, plan and care signals."""
    codes = base["agent_code"].astype(object).to_numpy()
    out = pd.DataFrame({"agent_code": codes})
    idx = out.agent_code
    engine = ws.require_ready()
    g, wl, rec, it, tr = (table("agent_goals"), table("work_logs"), table("track_records"),
                          table("track_items"), table("track_runs"))
    at = table("attendance")
    with engine.connect() as conn:
        goals = pd.DataFrame(conn.execute(select(g.c.agent_code, g.c.metric, g.c.target).where(
            g.c.period == _label(ws, d))).all(), columns=["agent_code", "metric", "target"])
        plans = pd.DataFrame(conn.execute(select(
            wl.c.agent_code, wl.c.date, wl.c.calls, wl.c.visits, wl.c.interviews, wl.c.plan_calls,
            wl.c.plan_visits, wl.c.plan_interviews).where(
            wl.c.date >= d - dt.timedelta(days=2), wl.c.date < d)).all(),
            columns=["agent_code", "date", "calls", "visits", "interviews", "plan_calls",
                     "plan_visits", "plan_interviews"])
        in_use = conn.execute(select(wl.c.agent_code).where(
            wl.c.date >= d - dt.timedelta(days=30), wl.c.date < d,
            (wl.c.plan_calls.is_not(None)) | (wl.c.plan_visits.is_not(None))
            | (wl.c.plan_interviews.is_not(None))).limit(1)).first() is not None
        contact: dict[str, dt.date] = dict(conn.execute(
            select(it.c.subject_code, func.max(rec.c.on_date)).join(it, it.c.id == rec.c.item_id)
            .where(it.c.subject_type == "agent", rec.c.on_date <= d, rec.c.outcome != "no_answer")
            .group_by(it.c.subject_code)).all())
        first_run = conn.execute(select(func.min(tr.c.run_date))).scalar() or d
        a2 = at.alias("prev")
        window = (select(at.c.agent_code, func.min(at.c.date).label("first_day"))
                  .where(at.c.meeting == "morning", at.c.status.in_(_ATTENDED),
                         at.c.date > d - dt.timedelta(days=CARE_WINDOW), at.c.date <= d)
                  .group_by(at.c.agent_code).subquery("back"))
        prev = (select(func.max(a2.c.date)).where(and_(
            a2.c.agent_code == window.c.agent_code, a2.c.meeting == "morning",
            a2.c.status.in_(_ATTENDED), a2.c.date < window.c.first_day)).scalar_subquery())
        returns = pd.DataFrame(conn.execute(select(window.c.agent_code, window.c.first_day,
                                                   prev.label("prev_day"))).all(),
                               columns=["agent_code", "first_day", "prev_day"])

    # goals: each goal's attainment; the most-behind one counts
    for metric in GOAL_ACTUALS:
        out[f"goal_{metric}"] = np.nan
    out["goal_attainment"] = np.nan
    out["goal_metric"] = None
    out["goal_metric_en"] = None
    out["goal_behind_points"] = np.nan
    if not goals.empty:
        goals = goals[goals.metric.isin(list(GOAL_ACTUALS)) & (goals.target.astype(float) > 0)]
        wide = goals.assign(target=goals.target.astype(float)).pivot_table(
            index="agent_code", columns="metric", values="target", aggfunc="first")
        b = base.set_index("agent_code")
        att = pd.DataFrame(index=b.index)
        for metric, (col, _zh) in GOAL_ACTUALS.items():
            if metric in wide:
                t = b.index.map(wide[metric])
                out[f"goal_{metric}"] = idx.map(wide[metric]).to_numpy()
                att[metric] = np.where(pd.notna(t), b[col].astype(float) / pd.Series(t, index=b.index), np.nan)
        if not att.empty and len(att.columns):
            has = att.notna().any(axis=1)
            low = att[has].min(axis=1)
            which = att[has].idxmin(axis=1)
            out["goal_attainment"] = idx.map(low).to_numpy()
            out["goal_metric"] = idx.map(which.map(lambda m: GOAL_ACTUALS[m][1])).to_numpy()
            out["goal_metric_en"] = idx.map(which.map(GOAL_EN.get)).to_numpy()
            prog = b["time_progress"].astype(float)
            out["goal_behind_points"] = idx.map(((prog - low) * 100).round(4)).to_numpy()

    # plans: today's filed with yesterday's log; yesterday's plan (filed the day before) vs done
    kinds = ("calls", "visits", "interviews")
    out["plans_in_use"] = int(in_use)
    y1, y2 = d - dt.timedelta(days=1), d - dt.timedelta(days=2)
    p1 = plans[plans.date == y1].set_index("agent_code")
    p2 = plans[plans.date == y2].set_index("agent_code")
    filed = p1[[f"plan_{k}" for k in kinds]].notna().any(axis=1) if not p1.empty else pd.Series(dtype=bool)
    out["plan_filed_today"] = idx.isin(set(filed[filed].index)).astype(int).to_numpy()
    out["plan_yesterday"] = np.nan
    out["plan_yesterday_done"] = np.nan
    out["plan_yesterday_rate"] = np.nan
    if not p2.empty:
        planned = p2[[f"plan_{k}" for k in kinds]]
        planned = planned[planned.notna().any(axis=1)].astype(float)
        if not planned.empty:
            actual = p1.reindex(planned.index)[list(kinds)].astype(float).fillna(0.0)
            total = planned.fillna(0.0).sum(axis=1)
            done = sum(np.minimum(actual[k], planned[f"plan_{k}"].fillna(0.0)) for k in kinds)
            out["plan_yesterday"] = idx.map(total).to_numpy()
            out["plan_yesterday_done"] = idx.map(done).to_numpy()
            rate = (done / total.where(total > 0)).round(4)
            out["plan_yesterday_rate"] = idx.map(rate).to_numpy()

    # care: days since the last contact, anniversary, return after absence
    tenure = base["tenure_days"].astype(int).to_numpy()
    hire = np.array([d - dt.timedelta(days=int(t)) for t in tenure], dtype=object)
    since = []
    for code, h in zip(codes, hire, strict=True):
        start = max(h, first_run)
        last = contact.get(code)
        if last is not None and last > start:
            start = last
        since.append(max((d - start).days, 0))
    out["days_since_contact"] = since
    years = []
    for h in hire:
        n = 0
        for back in range(CARE_WINDOW):
            day = d - dt.timedelta(days=back)
            if (h.month, h.day) == (day.month, day.day) and day.year > h.year:
                n = day.year - h.year
                break
        years.append(n)
    out["anniversary_years"] = years
    out["return_after_days"] = 0
    if not returns.empty:
        r = returns.dropna(subset=["prev_day"])
        gap = pd.Series([(f - p).days for f, p in zip(r.first_day, r.prev_day, strict=True)],
                        index=r.agent_code, dtype="int64")
        out["return_after_days"] = idx.map(gap).fillna(0).astype(int).to_numpy()
    return out[COLUMNS]


__all__ = ["CARE_WINDOW", "COLUMNS", "GOAL_ACTUALS", "SIGNALS", "agentday_signals"]
