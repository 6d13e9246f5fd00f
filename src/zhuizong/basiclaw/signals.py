"""Tracking signals from the basic law: who is short of conversion, promotion or maintenance.

``basic_law_signals(ws, d, base)`` evaluates the workspace's basic law for the windows current
on ``d`` (the run period is the basis month containing ``d``, as of ``d``: quarter rules use the
quarter to date, rolling rules the N months ending this month) — in bulk, without storing
anything — and returns one row per agent of ``base`` (the tracking engine's agent frame) with the
columns of :data:`SIGNALS`. Agents without a rule of that kind get NaN (a rule's condition on
them is then false). Without a rule file every column is NaN.

Register it as a provider (``PROVIDERS.append(("basic_law", "agent", basic_law_signals))``) to
make the names usable in tracking rules.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd

from zhuizong.basiclaw import engine, income
from zhuizong.basiclaw.config import BasicLaw
from zhuizong.basiclaw.service import load_law, previous_results, rules_path
from zhuizong.workspace import Workspace

#: name → (zh, en)
SIGNALS: dict[str, tuple[str, str]] = {
    "conversion_gap_fyc": ("转正尚差 FYC (元; 已达成为 0)",
                           "FYC still missing for conversion, in 元 (0 when met)"),
    "conversion_gap_count": ("转正未达成条件数", "conversion criteria not met yet"),
    "conversion_days_left": ("转正考核窗口剩余天数", "days left in the conversion window"),
    "conversion_projected": ("按当前进度能否转正 (1/0)",
                             "1 if the conversion rule is met at the current pace"),
    "promotion_gap_count": ("晋升尚缺条件数 (k/n 规则按还需满足的项数)",
                            "promotion criteria still needed (k of n: how many more)"),
    "promotion_gap_fyc": ("晋升尚差 FYC (元)", "FYC still missing for promotion, in 元"),
    "maintenance_gap_count": ("维持尚缺条件数", "maintenance criteria still needed"),
    "maintenance_days_left": ("维持考核窗口剩余天数", "days left in the maintenance window"),
    "demotion_risk": ("降级/解约风险 (1/0): 按当前进度维持或转正不达标, 且失败阶梯下一步为降级或解约",
                      "1 if maintenance/conversion fails at the current pace and the failure "
                      "ladder's next step is demotion or contract end"),
    "assessment_at_risk": ("考核有风险 (1/0): 按当前进度维持或转正不达标",
                           "1 if maintenance or conversion fails at the current pace"),
    # the benefit side (issue 17; docs/basic-law.md "Benefits")
    "base_pay_projected": ("按当前进度本月底薪 (元)", "this month's base pay at the current pace, 元"),
    "base_pay_at_risk": ("本月底薪有风险 (1/0): 按当前进度达不到最低档 (或出勤率不达标)",
                         "1 if at the current pace this month's base pay is 0 (below the lowest "
                         "tier, or attendance below the bar)"),
    "base_pay_gap_fyc": ("再做多少 FYC 可达底薪上一档 (元)",
                         "FYC still needed for the next base-pay tier, in 元"),
    "allowance_at_stake": ("未按期转正将失去的新人津贴 (元; 本月达成时以后各月合计)",
                           "new-agent allowance lost if the conversion is missed, in 元 (the "
                           "months still to be paid if it is reached this month)"),
    "next_rank_gain": ("晋升后每月多 (元): 下一职级与当前职级按同样业绩的月利益差",
                       "monthly benefits at the next rank minus at the current rank on the same "
                       "production, in 元"),
    "promotion_gain": ("晋升在望者的晋升后每月多 (元): 晋升按当前进度达标或只差一项",
                       "the gain of the next rank for agents within reach of promotion (on pace, "
                       "or one criterion short), in 元"),
    "quasi_director": ("准主任 (1/0): 正式业务人员按当前进度达成晋升主任的大部分条件 (至多差一项)",
                       "1 for a formal agent meeting all but at most one criterion of a promotion "
                       "to a director rank at the current pace"),
}


def _needed(row_criteria: list[dict], required: int) -> int:
    mand = sum(1 for c in row_criteria if c["mandatory"] and not c["met"])
    opt_met = sum(1 for c in row_criteria if not c["mandatory"] and c["met"])
    n_mand = sum(1 for c in row_criteria if c["mandatory"])
    return mand + max(required - n_mand - opt_met, 0)


def _fyc_gap(row_criteria: list[dict]) -> float:
    gaps = [c["gap"] for c in row_criteria if c["metric"] == "fyc" and c["scope"] == "personal"]
    return float(gaps[0]) if gaps and gaps[0] is not None else np.nan


def basic_law_signals(ws: Workspace, d: dt.date, base: pd.DataFrame) -> pd.DataFrame:
    """Signals of :data:`SIGNALS` keyed by ``agent_code`` for the agents of ``base``."""
    out = pd.DataFrame({"agent_code": base.agent_code.values if "agent_code" in base else []})
    for name in SIGNALS:
        out[name] = np.nan
    if out.empty or not rules_path(ws).exists():
        return out
    law = load_law(ws)
    y, m = engine.basis(ws).month_of(d)
    label = f"{y:04d}-{m:02d}"
    with ws.engine.connect() as conn:
        prev = previous_results(conn, law, engine.basis(ws).month_bounds(y, m)[0])
    r = engine.evaluate(ws, law, label, d, previous=prev)
    _benefit_signals(ws, law, label, d, r, out)
    if r.empty:
        return out
    r = r[r.outcome != "not_eligible"].copy()
    r["criteria"] = [json.loads(c) for c in r.criteria]
    r["needed"] = [_needed(c, k) for c, k in zip(r.criteria, r.required_count, strict=True)]
    r["fyc_gap"] = [_fyc_gap(c) for c in r.criteria]
    r["days_left"] = [(e - d).days if e >= d else 0 for e in r.window_end]
    law_rules = law.rules
    r["next_step"] = [
        (law_rules[n].on_fail[min(s, len(law_rules[n].on_fail) - 1)]
         if law_rules[n].on_fail else "") for n, s in zip(r.rule, r.fail_streak, strict=True)]
    conv = r[r.kind == "convert"].drop_duplicates("agent_code").set_index("agent_code")
    prom = r[r.kind == "promote"].sort_values("needed").drop_duplicates("agent_code").set_index(
        "agent_code")
    main = r[r.kind == "maintain"].sort_values("needed", ascending=False).drop_duplicates(
        "agent_code").set_index("agent_code")
    risky = r[r.kind.isin(["convert", "maintain"]) & ~r.projected_passed]
    codes = out.agent_code
    out["conversion_gap_fyc"] = codes.map(conv.fyc_gap)
    out["conversion_gap_count"] = codes.map(conv.needed)
    out["conversion_days_left"] = codes.map(conv.days_left)
    out["conversion_projected"] = codes.map(conv.projected_passed.astype(int))
    out["promotion_gap_count"] = codes.map(prom.needed)
    out["promotion_gap_fyc"] = codes.map(prom.fyc_gap)
    out["maintenance_gap_count"] = codes.map(main.needed)
    out["maintenance_days_left"] = codes.map(main.days_left)
    in_rules = set(r[r.kind.isin(["convert", "maintain"])].agent_code)
    at_risk = set(risky.agent_code)
    severe = set(risky[risky.next_step.isin(["demote", "contract_end"])].agent_code)
    out["assessment_at_risk"] = [
        (1 if c in at_risk else 0) if c in in_rules else np.nan for c in codes]
    out["demotion_risk"] = [(1 if c in severe else 0) if c in in_rules else np.nan for c in codes]
    return out


def _projected_needed(row_criteria: list[dict], required: int) -> int:
    mand = sum(1 for c in row_criteria if c["mandatory"] and not c["projected_met"]
               and c.get("assessed", True))
    opt_met = sum(1 for c in row_criteria if not c["mandatory"] and c["projected_met"])
    n_mand = sum(1 for c in row_criteria if c["mandatory"] and c.get("assessed", True))
    return mand + max(required - n_mand - opt_met, 0)


def _benefit_signals(ws: Workspace, law: BasicLaw, label: str, d: dt.date, r: pd.DataFrame,
                     out: pd.DataFrame) -> None:
    """The benefit columns of :data:`SIGNALS` (in place)."""
    codes = out.agent_code
    # 准主任 and promotions within reach: from the rule results (tenure aside)
    if not r.empty:
        prom = r[r.kind == "promote"].copy()
        prom["pneeded"] = [_projected_needed(json.loads(c), k)
                           for c, k in zip(prom.criteria, prom.required_count, strict=True)]
        prom["to_director"] = [law.ranks[t].category == "director" if (t := law.target(n))
                               else False for n in prom.rule]
        formal = {c for c, rk in law.ranks.items() if rk.category == "formal"}
        qd = prom[prom.to_director & prom.rank_code.isin(formal)]
        best = qd.groupby("agent_code").pneeded.min()
        out["quasi_director"] = codes.map((best <= 1).astype(int))
        near = set(prom[(prom.outcome != "not_eligible") & (prom.pneeded <= 1)].agent_code)
    else:
        near = set()
    if not law.benefits:
        return
    items = income.evaluate_income(ws, law, label, d)
    gain = income.rank_gain(ws, law, label, d, current=items).set_index("agent_code").gain
    out["next_rank_gain"] = codes.map(gain.map(float))
    out["promotion_gain"] = [float(gain[c]) if c in near and c in gain.index else np.nan
                             for c in codes]
    base = items[items.kind == "base_pay"]
    if not base.empty:
        amount = base.groupby("agent_code").amount.sum().map(float)
        out["base_pay_projected"] = codes.map(amount)
        out["base_pay_at_risk"] = codes.map((amount <= 0).astype(int))
        gap = base.dropna(subset=["next_gap"]).groupby("agent_code").next_gap.min().map(float)
        out["base_pay_gap_fyc"] = codes.map(gap)
    stake = _allowance_at_stake(law, items)
    out["allowance_at_stake"] = codes.map(stake)


def _allowance_at_stake(law: BasicLaw, items: pd.DataFrame) -> pd.Series:
    """Per agent not yet at the rank a new-agent allowance needs, before its deadline: the
    allowance of the months after this one (what reaching it this month would still pay)."""
    out: dict[str, float] = {}
    for name, b in law.benefits.items():
        if b.kind != "new_agent_allowance" or b.reach_rank is None:
            continue
        rows = items[(items.item == name) & (items.amount_to_date == 0)]
        for a, wm, note in zip(rows.agent_code, rows.basis, rows.note_en, strict=True):
            if "paid from the month after reaching" not in note:
                continue  # reached already, or past the deadline
            if b.reach_by_month is not None and int(wm) > b.reach_by_month:
                continue
            out[a] = out.get(a, 0.0) + float(sum(
                t.amount * (min(t.to_month, b.last_month) - max(t.from_month, int(wm) + 1) + 1)
                for t in b.schedule if t.to_month > int(wm)))
    return pd.Series(out, dtype=float)


__all__ = ["SIGNALS", "basic_law_signals"]
