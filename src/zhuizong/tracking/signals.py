"""Signals: the facts tracking rules test, computed in bulk for the whole force on one date.

Two frames per run date ``D`` (facts dated on or before ``D``):

* **agent signals**, one row per agent in force on ``D`` (spell open, placement known);
* **org signals**, one row per org unit.

Production signals come from the KPI engine (:func:`zhuizong.kpi.engine.compute`, by agent or by
subtree, month-to-date as of ``D``), so a rule and a report can never disagree about an agent's
FYP. Tool signals (attendance, work logs) and spell cumulatives are grouped Ibis expressions over
the same analytic snapshot. Nothing here loops over agents.

Every signal is declared in :data:`AGENT_SIGNALS` / :data:`ORG_SIGNALS` with its meaning; rule
files may use exactly these names (the rule loader checks), and ``docs/tracking.md`` lists them.
Later capabilities (basic law, campaigns) add signals by registering a provider in
:data:`PROVIDERS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from zhuizong.analytics.calendar import Basis, day_num
from zhuizong.basiclaw.service import rules_path
from zhuizong.basiclaw.signals import SIGNALS as LAW_SIGNALS
from zhuizong.basiclaw.signals import basic_law_signals
from zhuizong.campaigns.signals import SIGNALS as CAMPAIGN_SIGNALS
from zhuizong.campaigns.signals import campaign_signals
from zhuizong.kpi import compiler, results
from zhuizong.kpi.engine import KpiRequest, compute
from zhuizong.tracking.agentday import SIGNALS as AGENTDAY_SIGNALS
from zhuizong.tracking.agentday import agentday_signals
from zhuizong.training.signals import SIGNALS as TRAINING_SIGNALS
from zhuizong.training.signals import training_signals
from zhuizong.workspace import Workspace


@dataclass(frozen=True)
class Signal:
    name: str
    zh: str
    en: str


def _decl(*items: tuple[str, str, str]) -> dict[str, Signal]:
    return {n: Signal(n, zh, en) for n, zh, en in items}


_CALENDAR = (
    ("day_of_month", "本月第几天 (按月份口径)", "day number within the (basis) month"),
    ("days_in_month", "本月天数", "days in the (basis) month"),
    ("days_left", "本月剩余天数 (不含当天)", "days left in the month after the run date"),
    ("time_progress", "时间进度 (0–1)", "time progress of the month, day_of_month / days_in_month"),
)

AGENT_SIGNALS: dict[str, Signal] = _decl(
    *_CALENDAR,
    ("category", "职级类别 (probationary/formal/director)", "rank category"),
    ("rank_code", "职级代码", "rank code"),
    ("tenure_days", "本次入司以来天数", "days since the hire date of the current spell"),
    ("mtd_fyp", "本月至今 FYP (元)", "month-to-date FYP in 元 (KPI engine)"),
    ("mtd_fyc", "本月至今 FYC (元)", "month-to-date FYC in 元 (KPI engine)"),
    ("mtd_cases", "本月至今新契约件数", "month-to-date new cases (KPI engine, kpi.cases setting)"),
    ("prev_fyp", "上月 FYP (元)", "previous month's FYP in 元"),
    ("prev_fyp_pct", "上月 FYP 百分位 (0–1, 1 = 最高)",
     "percentile of last month's FYP among agents who produced (1 = top; 0 = no production)"),
    ("prev3_fyp", "前三个月 FYP 合计 (元)", "FYP of the three months before this one, in 元"),
    ("prev3_fyp_pct", "前三个月 FYP 百分位 (0–1, 1 = 最高)",
     "percentile of the three previous months' FYP among agents who produced (1 = top)"),
    ("spell_fyc", "本次入司以来累计 FYC (元)", "FYC since the current spell's hire date, in 元"),
    ("spell_cases", "本次入司以来累计净件数", "net main-policy cases since the hire date"),
    ("absent_streak", "连续缺席早会次数", "morning meetings missed in a row, up to the run date "
     "(leave neither counts nor breaks; last 14 days)"),
    ("meetings_mtd", "本月早会应到场次", "morning meetings on record this month"),
    ("attendance_rate_mtd", "本月早会出勤率 (0–1)", "share of this month's morning meetings "
     "attended (present or late)"),
    ("worklog_yesterday", "昨日是否填写工作日志 (1/0)", "1 if a work log exists for the day before"),
    ("yesterday_is_workday", "昨日是否工作日 (周一至周六, 1/0)", "1 if the day before was Mon–Sat"),
    ("basic_law_configured", "是否已配置基本法 (1/0)", "1 when the workspace has a basic-law rule file"),
    ("worklog_days_mtd", "本月填写日志天数", "days with a work log this month"),
    ("mtd_visits", "本月拜访量", "visits logged this month"),
    ("mtd_interviews", "本月面谈量", "interviews logged this month"),
    ("mtd_closes", "本月日志成交量", "closes logged this month"),
)

ORG_SIGNALS: dict[str, Signal] = _decl(
    *_CALENDAR,
    ("depth", "机构层级深度 (根 = 0)", "depth of the org unit in the tree (root = 0)"),
    ("mtd_fyp", "本月至今 FYP (元)", "month-to-date FYP in 元"),
    ("fyp_plan", "本月 FYP 计划 (元; 无计划为空)", "the month's FYP plan in 元 (empty without a plan)"),
    ("plan_attainment", "FYP 计划达成率 (0–1)", "month-to-date FYP / month plan"),
    ("plan_behind_points", "达成率落后时间进度 (百分点)",
     "(time progress − plan attainment) × 100, in points"),
    ("headcount", "在职人力", "agents in force on the run date"),
    ("activity_rate_mtd", "本月至今活动率 (0–1)", "month-to-date activity rate"),
    ("activity_rate_prev", "上月同期活动率 (0–1)", "activity rate of the same days last month"),
    ("activity_change_points", "活动率环比变化 (百分点)",
     "(month-to-date − same days last month) activity rate × 100, in points"),
    ("attendance_rate_mtd", "本月至今早会出勤率 (0–1, KPI 出勤率)",
     "month-to-date morning-meeting attendance rate (KPI attendance_rate)"),
    ("tool_usage_rate_mtd", "本月至今工具使用率 (0–1, KPI 工具使用率)",
     "month-to-date tool usage rate (KPI tool_usage_rate)"),
    ("active_mtd", "本月至今实动人力", "active headcount month to date (KPI active)"),
    ("active_plan", "本月实动人力计划 (无计划为空)", "the month's active-headcount plan (empty without one)"),
    ("active_plan_attainment", "实动人力计划达成率 (0–1)", "active headcount month to date / plan"),
    ("active_behind_points", "实动人力达成率落后时间进度 (百分点)",
     "(time progress − active-headcount plan attainment) × 100, in points"),
)

#: extra providers (name, subject, function(ws, date, base frame) -> frame keyed like the base)
PROVIDERS: list[tuple[str, str, Callable[[Workspace, dt.date, pd.DataFrame], pd.DataFrame]]] = []


def register(name: str, subject: str, fn: Callable[[Workspace, dt.date, pd.DataFrame], pd.DataFrame],
             signals: dict[str, tuple[str, str]]) -> None:
    """Add a signal provider (basic law, campaigns …): its columns become rule-usable names."""
    target = AGENT_SIGNALS if subject == "agent" else ORG_SIGNALS
    for n, (zh, en) in signals.items():
        target[n] = Signal(n, zh, en)
    if all(p[0] != name for p in PROVIDERS):
        PROVIDERS.append((name, subject, fn))


def _register_builtin_providers() -> None:
    register("basic_law", "agent", basic_law_signals, LAW_SIGNALS)
    register("campaigns", "agent", campaign_signals, CAMPAIGN_SIGNALS)
    register("training", "agent", training_signals, TRAINING_SIGNALS)
    register("agentday", "agent", agentday_signals, AGENTDAY_SIGNALS)


def _basis(ws: Workspace) -> Basis:
    cal = ws.settings.calendar
    return Basis(cal.month_basis, cal.cutoff_day)


def _month(ws: Workspace, d: dt.date) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    """(start, end) of the basis month containing ``d`` and of the month before."""
    b = _basis(ws)
    y, m = b.month_of(d)
    s, e = b.month_bounds(y, m)
    py, pm = (y, m - 1) if m > 1 else (y - 1, 12)
    ps, pe = b.month_bounds(py, pm)
    return s, e, ps, pe


def _month_start_back(ws: Workspace, start: dt.date, months: int) -> dt.date:
    """The first day of the basis month ``months`` before the one starting on ``start``."""
    b = _basis(ws)
    y, m = b.month_of(start)
    for _ in range(months):
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return b.month_bounds(y, m)[0]


def _calendar(ws: Workspace, d: dt.date) -> dict[str, float]:
    s, e, _ps, _pe = _month(ws, d)
    day = (d - s).days + 1
    days = (e - s).days + 1
    return {"day_of_month": day, "days_in_month": days, "days_left": (e - d).days,
            "time_progress": day / days}


def _values(ws: Workspace, req: KpiRequest, key: str, snap: compiler.Snapshot | None = None) -> pd.DataFrame:
    """Per-agent or per-unit values of ``req``: from the results store when it holds the
    period, else computed on ``snap`` (one snapshot for the whole run)."""
    res = results.get(ws, req) if results.holds(ws, req) else compute(ws, req, snap)
    rows = [(r.agent_code if key == "agent" else r.org_code, r.metric,
             None if r.value is None else float(r.value)) for r in res.rows]
    df = pd.DataFrame(rows, columns=["code", "metric", "value"])
    if df.empty:
        return pd.DataFrame(columns=["code"])
    return df.pivot_table(index="code", columns="metric", values="value", aggfunc="first",
                          dropna=False).reset_index()


def agent_signals(ws: Workspace, d: dt.date, snap: compiler.Snapshot | None = None) -> pd.DataFrame:
    """One row per agent in force on ``d`` with every agent signal (see :data:`AGENT_SIGNALS`)."""
    snap = snap or compiler.Snapshot.open(ws)
    t = snap.t
    dn = day_num(d)
    s, e, ps, pe = _month(ws, d)
    sn = day_num(s)
    sp = t["spells"]
    live = sp.filter((sp.hire_day <= dn) & (sp.leave_day > dn))
    pl = snap.placements_df
    placed = pl[(pl.from_day <= dn) & (pl.to_day > dn)][
        ["agent_code", "org_code", "rank_code", "category", "supervisor_code"]]
    spells = snap.con.execute(live.select("agent_code", "hire_day"))
    base = placed.merge(spells, on="agent_code", how="inner")
    if base.empty:
        return pd.DataFrame(columns=["agent_code", "org_code", "supervisor_code",
                                     *AGENT_SIGNALS])
    base["tenure_days"] = dn - base.hire_day
    for k, v in _calendar(ws, d).items():
        base[k] = v

    # production, month to date and last month, from the KPI engine (governed definitions)
    roots = snap.orgs_df.loc[snap.orgs_df.parent_code.isna(), "org_code"].tolist()
    mtd = pd.concat([_values(ws, KpiRequest(period=_label(ws, d), org=r, by="agent",
                                            metrics=("fyp", "fyc", "cases"), as_of=d), "agent", snap)
                     for r in roots], ignore_index=True)
    mtd = mtd.rename(columns={"code": "agent_code", "fyp": "mtd_fyp", "fyc": "mtd_fyc",
                              "cases": "mtd_cases"})
    prev = pd.concat([_values(ws, KpiRequest(period=_label(ws, ps), org=r, by="agent",
                                             metrics=("fyp",)), "agent", snap) for r in roots],
                     ignore_index=True)
    prev = prev.rename(columns={"code": "agent_code", "fyp": "prev_fyp"})
    p3s = _month_start_back(ws, ps, 2)
    prev3 = pd.concat([_values(ws, KpiRequest(period=f"{p3s.isoformat()}..{pe.isoformat()}", org=r,
                                              by="agent", metrics=("fyp",)), "agent", snap) for r in roots],
                      ignore_index=True)
    prev3 = prev3.rename(columns={"code": "agent_code", "fyp": "prev3_fyp"})
    base = base.merge(mtd, on="agent_code", how="left").merge(prev, on="agent_code", how="left")
    base = base.merge(prev3, on="agent_code", how="left")
    for c in ("mtd_fyp", "mtd_fyc", "mtd_cases", "prev_fyp", "prev3_fyp"):
        if c not in base:
            base[c] = 0.0
        base[c] = base[c].fillna(0.0).round(2)
    producing = base.prev_fyp > 0
    base["prev_fyp_pct"] = 0.0
    if producing.any():
        base.loc[producing, "prev_fyp_pct"] = base.loc[producing, "prev_fyp"].rank(pct=True,
                                                                                   method="max")
    producing3 = base.prev3_fyp > 0
    base["prev3_fyp_pct"] = 0.0
    if producing3.any():
        base.loc[producing3, "prev3_fyp_pct"] = base.loc[producing3, "prev3_fyp"].rank(pct=True,
                                                                                       method="max")

    # cumulatives over the current spell
    pr = t["premiums"]
    j = pr.join(live, pr.agent_code == live.agent_code).filter(
        lambda x: (x.txn_day >= x.hire_day) & (x.txn_day <= dn))
    main = j.is_main
    cum = snap.con.execute(j.group_by(j.agent_code).aggregate(
        spell_fyc=(j.fyc_fen.cast("decimal(38, 4)") * j.fyp_sign).sum(),
        spell_cases=(main & (j.txn_type == "new")).cast("int64").sum()
        - (main & (j.txn_type == "free_look_cancel")).cast("int64").sum(),
    ))
    base = base.merge(cum, on="agent_code", how="left")
    base["spell_fyc"] = (base.spell_fyc.astype(float) / 100).fillna(0.0).round(2)
    base["spell_cases"] = base.spell_cases.fillna(0).astype(int)

    # morning meetings: streak of absences (leave is neutral) and this month's rate
    at = t["attendance"]
    win = at.filter((at.meeting == "morning") & (at.day <= dn) & (at.day > dn - 14))
    last_ok = win.filter(win.status.isin(["present", "late"])).group_by("agent_code").aggregate(
        last_ok=lambda x: x.day.max())
    ab = win.filter(win.status == "absent")
    ab = ab.left_join(last_ok, ab.agent_code == last_ok.agent_code)
    streak = ab.filter(ab.last_ok.isnull() | (ab.day > ab.last_ok)).group_by(
        ab.agent_code).aggregate(absent_streak=lambda x: x.count())
    month_at = at.filter((at.meeting == "morning") & (at.day >= sn) & (at.day <= dn))
    rate = month_at.group_by("agent_code").aggregate(
        meetings_mtd=lambda x: x.count(),
        attended_mtd=lambda x: x.attended.cast("int64").sum())
    base = base.merge(snap.con.execute(streak), on="agent_code", how="left")
    base = base.merge(snap.con.execute(rate), on="agent_code", how="left")
    base["absent_streak"] = base.absent_streak.fillna(0).astype(int)
    base["meetings_mtd"] = base.meetings_mtd.fillna(0).astype(int)
    base["attendance_rate_mtd"] = np.where(base.meetings_mtd > 0,
                                           base.attended_mtd.fillna(0) / base.meetings_mtd.clip(lower=1),
                                           np.nan)
    base = base.drop(columns=["attended_mtd"])

    # work logs
    wl = t["work_logs"]
    mwl = wl.filter((wl.day >= sn) & (wl.day <= dn))
    logs = snap.con.execute(mwl.group_by("agent_code").aggregate(
        worklog_days_mtd=lambda x: x.day.nunique(),
        mtd_visits=lambda x: x.visits.sum(),
        mtd_interviews=lambda x: x.interviews.sum(),
        mtd_closes=lambda x: x.closes.sum()))
    yest = snap.con.execute(wl.filter(wl.day == dn - 1).select("agent_code").distinct())
    base = base.merge(logs, on="agent_code", how="left")
    for c in ("worklog_days_mtd", "mtd_visits", "mtd_interviews", "mtd_closes"):
        base[c] = base[c].fillna(0).astype(int)
    base["worklog_yesterday"] = base.agent_code.isin(set(yest.agent_code)).astype(int)
    base["yesterday_is_workday"] = int((d - dt.timedelta(days=1)).weekday() < 6)
    base = base.drop(columns=["hire_day"])
    base["basic_law_configured"] = int(rules_path(ws).exists())
    for _name, subject, fn in PROVIDERS:
        if subject == "agent":
            base = base.merge(fn(ws, d, base), on="agent_code", how="left")
    return base.sort_values("agent_code").reset_index(drop=True)


def org_signals(ws: Workspace, d: dt.date, snap: compiler.Snapshot | None = None) -> pd.DataFrame:
    """One row per org unit with every org signal (see :data:`ORG_SIGNALS`)."""
    snap = snap or compiler.Snapshot.open(ws)
    orgs = snap.orgs_df
    if orgs.empty:
        return pd.DataFrame(columns=["org_code", *ORG_SIGNALS])
    roots = orgs.loc[orgs.parent_code.isna(), "org_code"].tolist()
    s, e, ps, pe = _month(ws, d)
    day = (d - s).days
    prev_end = min(ps + dt.timedelta(days=day), pe)
    frames = []
    for root in roots:
        cur = _values(ws, KpiRequest(period=_label(ws, d), org=root, by="subtree",
                                     metrics=("fyp", "activity_rate", "headcount_close", "active",
                                              "attendance_rate", "tool_usage_rate"), as_of=d),
                      "org", snap)
        before = _values(ws, KpiRequest(period=f"{ps.isoformat()}..{prev_end.isoformat()}",
                                        org=root, by="subtree", metrics=("activity_rate",)), "org", snap)
        before = before.rename(columns={"activity_rate": "activity_rate_prev"})
        frames.append(cur.merge(before, on="code", how="left"))
    df = pd.concat(frames, ignore_index=True).rename(columns={
        "code": "org_code", "fyp": "mtd_fyp", "activity_rate": "activity_rate_mtd",
        "headcount_close": "headcount", "active": "active_mtd", "attendance_rate": "attendance_rate_mtd",
        "tool_usage_rate": "tool_usage_rate_mtd"})
    for c in ("active_mtd", "attendance_rate_mtd", "tool_usage_rate_mtd"):
        if c not in df:
            df[c] = np.nan
    df = orgs[["org_code", "depth"]].merge(df, on="org_code", how="left")
    for k, v in _calendar(ws, d).items():
        df[k] = v
    plans = snap.plans_df
    label = _label(ws, d)
    mp = plans[(plans.period == label) & (plans.metric == "fyp")][["org_code", "target"]]
    mp = mp.assign(fyp_plan=mp.target.astype(float)).drop(columns=["target"])
    df = df.merge(mp, on="org_code", how="left")
    df["mtd_fyp"] = df.mtd_fyp.fillna(0.0).round(2)
    df["headcount"] = df.headcount.fillna(0).astype(int)
    df["plan_attainment"] = np.where(df.fyp_plan > 0, df.mtd_fyp / df.fyp_plan, np.nan)
    df["plan_behind_points"] = ((df.time_progress - df.plan_attainment) * 100).round(4)
    df["activity_change_points"] = ((df.activity_rate_mtd - df.activity_rate_prev) * 100).round(4)
    ap = plans[(plans.period == label) & (plans.metric == "active")][["org_code", "target"]]
    ap = ap.assign(active_plan=ap.target.astype(float)).drop(columns=["target"])
    df = df.merge(ap, on="org_code", how="left")
    df["active_plan_attainment"] = np.where(df.active_plan > 0, df.active_mtd / df.active_plan, np.nan)
    df["active_behind_points"] = ((df.time_progress - df.active_plan_attainment) * 100).round(4)
    for _name, subject, fn in PROVIDERS:
        if subject == "org":
            df = df.merge(fn(ws, d, df), on="org_code", how="left")
    return df.sort_values("org_code").reset_index(drop=True)


_register_builtin_providers()


def _label(ws: Workspace, d: dt.date) -> str:
    y, m = _basis(ws).month_of(d)
    return f"{y:04d}-{m:02d}"


__all__ = ["AGENT_SIGNALS", "ORG_SIGNALS", "PROVIDERS", "Signal", "agent_signals", "ibis",
           "org_signals"]
