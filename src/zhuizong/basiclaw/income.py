"""The benefit side of the basic law (利益): each agent's benefit items for a period.

For a run period P and an as-of date D, every benefit of the rule file (``[benefits.*]``,
``docs/basic-law.md`` "Benefits") is evaluated over its own window (the same windows as the rank
rules: the basis month, quarter or rolling months ending with the month containing P's end) for
the agents in force on the evaluation day ``e = min(D, window end)`` whose rank earns it:

* **新人津贴** ``new_agent_allowance``: the amount of the agent's work month (1 = the hire month)
  from ``schedule``; with ``reach_rank`` it is paid only from the month *after* the agent reached
  that rank (or a higher one), and only if they reached it by work month ``reach_by_month``;
  months before are never back-paid; none after the last month of the schedule;
* **底薪** ``base_pay``: the highest tier whose ``min_fyc`` the window's FYC reaches (and whose
  attendance bar the attendance rate reaches);
* **管理津贴** ``management_allowance``: ``rates[rank]`` × the FYC of the director's direct group
  (the director and the reporting-line members below them not under another director);
* **育成奖** ``breeding_bonus``: for each director bred in the agent's recruiting tree, the rate of
  its generation (1 + the directors between them) and year (since its promotion to director) ×
  the bred director's direct-group FYC; one item per bred group.

Every FYC and attendance number is the basic-law engine's (:func:`engine.environment`: the KPI
engine's base measures combined by :mod:`zhuizong.kpi.evaluate`), exact ``Decimal``. For an open
window the item's ``basis`` and ``amount`` are the **projection** at the current pace (flows ×
window days / elapsed days, rates as they are) and ``basis_to_date``/``amount_to_date`` the
values so far; amounts are rounded to the fen (0.01 元, half up).

:func:`evaluate_income` takes ``rank_of`` (agent → rank) to evaluate the same production at
another rank: :func:`rank_gain` compares each agent's monthly benefits at the current and the next
rank ("晋升后每月多 X 元").
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from zhuizong.analytics.calendar import day_num, parse_period
from zhuizong.basiclaw import engine
from zhuizong.basiclaw.config import BENEFIT_KINDS, BasicLaw, Benefit
from zhuizong.kpi import compiler
from zhuizong.kpi.evaluate import ZERO, as_decimal
from zhuizong.workspace import Workspace

ITEM_COLUMNS = ["agent_code", "item", "kind", "source", "rank_code", "org_code", "window_start",
                "window_end", "as_of", "status", "basis", "basis_to_date", "rate", "amount",
                "amount_to_date", "next_amount", "next_gap", "note_zh", "note_en"]
FEN = Decimal("0.01")


def money(v: Decimal) -> Decimal:
    """An amount in 元 rounded to the fen (half up)."""
    return v.quantize(FEN, rounding=ROUND_HALF_UP)


def yuan(v: Decimal | float) -> str:
    """3,600 / 3,600.50 (元 text)."""
    d = Decimal(str(v)) if not isinstance(v, Decimal) else v
    return f"{d:,.0f}" if d == d.to_integral_value() else f"{d:,.2f}"


def _pct(v: Decimal | float) -> str:
    return f"{float(v) * 100:.1f}%"


def _month_index(b: Any, day: dt.date) -> int:
    y, m = b.month_of(day)
    return int(y) * 12 + int(m)


def _first_day_at(snap: compiler.Snapshot, pop: pd.DataFrame, day: dt.date,
                  ok: Any) -> dict[str, dt.date]:
    """Per agent of ``pop``, the first day of the current spell on which their placement
    satisfied ``ok(rank_code, category)`` (up to ``day``)."""
    pl = snap.placements_df
    hire = dict(zip(pop.agent_code, pop.hire_day, strict=True))
    p = pl[pl.agent_code.isin(hire) & (pl.from_day <= day_num(day))]
    p = p.assign(hire_day=p.agent_code.map(hire))
    p = p[p.to_day > p.hire_day]
    p = p[[bool(ok(r, c)) for r, c in zip(p.rank_code, p.category, strict=True)]]
    if p.empty:
        return {}
    start = np.maximum(p.from_day.astype("int64"), p.hire_day.astype("int64"))
    first = pd.Series(start.to_numpy(), index=p.agent_code.values).groupby(level=0).min()
    days = engine._dates(first)
    return dict(zip(first.index, days, strict=True))


class _Ctx:
    """One benefit's window: the environment, the (possibly overridden) ranks, FYC values."""

    def __init__(self, snap: compiler.Snapshot, law: BasicLaw, w: engine.Window,
                 env: Any, period: Any, as_of: dt.date, rank_of: dict[str, str] | None,
                 only: set[str] | None) -> None:
        self.w, self.only = w, only
        self.law, self.snap, self.basis = law, snap, period.basis
        self.open = as_of < self.w.end
        self.env = env
        pop = self.env.pop.copy()
        if rank_of:
            pop["rank_code"] = [rank_of.get(a, r) for a, r in zip(pop.agent_code, pop.rank_code,
                                                                   strict=True)]
        pop["category"] = [law.ranks[r].category if r in law.ranks else c
                           for r, c in zip(pop.rank_code, pop.category, strict=True)]
        self.pop = pop
        self.day = self.env.day
        fyc = engine._metric(self.env, "fyc")
        self.fyc = engine._lookup(pop.agent_code, fyc, ZERO)
        self.fyc.index = pop.agent_code.values
        self.is_dir = pd.Series((pop.category == "director").to_numpy(), index=pop.agent_code.values)

    def eligible(self, b: Benefit) -> pd.DataFrame:
        """The agents who may earn ``b`` (its ranks; only those asked for, when asked)."""
        pop = self.pop[self.pop.rank_code.isin(b.ranks)] if b.ranks else self.pop
        return pop[pop.agent_code.isin(self.only)] if self.only is not None else pop

    def proj(self, v: Decimal) -> Decimal:
        return v * self.env.factor

    def direct_groups(self, heads: list[str], include_self: bool) -> dict[str, Decimal]:
        """FYC of each head's direct group: the head (``include_self``) and the reporting-line
        members below them who are not directors and have no director between them and the
        head."""
        out = {h: (self.fyc.get(h, ZERO) if include_self else ZERO) for h in heads}
        cl = self.env.closure("line")
        cl = cl[cl.ancestor.isin(set(heads))]
        if cl.empty:
            return out
        blocked = _between_directors(self.env.closure("line"), cl, self.is_dir)
        cl = cl[(blocked == 0) & ~cl.member.map(self.is_dir).fillna(False).astype(bool)]
        for a, m in zip(cl.ancestor, cl.member, strict=True):
            out[a] += self.fyc.get(m, ZERO)
        return out


def _between_directors(full: pd.DataFrame, pairs: pd.DataFrame, is_dir: pd.Series) -> np.ndarray:
    """For each (member, ancestor, distance) of ``pairs``: the number of directors strictly
    between member and ancestor on the tree ``full`` (the ancestors of the member closer than
    the ancestor)."""
    if pairs.empty:
        return np.zeros(0, dtype=int)
    dirs = full[full.ancestor.map(is_dir).fillna(False).astype(bool)][["member", "ancestor",
                                                                        "distance"]]
    key = pairs.reset_index(drop=True).assign(_i=lambda f: np.arange(len(f)))
    m = key.merge(dirs.rename(columns={"ancestor": "x", "distance": "dx"}), on="member")
    m = m[m.dx < m.distance]
    counts = m.groupby("_i").size()
    return counts.reindex(np.arange(len(key)), fill_value=0).to_numpy()


def _row(ctx: _Ctx, name: str, b: Benefit, agent: str, rank: str, org: str, *, basis: Decimal,
         basis_now: Decimal, rate: Decimal | None, amount: Decimal, amount_now: Decimal,
         zh: str, en: str, source: str = "", next_amount: Decimal | None = None,
         next_gap: Decimal | None = None) -> dict[str, Any]:
    return {"agent_code": agent, "item": name, "kind": b.kind, "source": source,
            "rank_code": rank, "org_code": org, "window_start": ctx.w.start,
            "window_end": ctx.w.end, "as_of": ctx.day,
            "status": "provisional" if ctx.open else "final", "basis": basis,
            "basis_to_date": basis_now, "rate": rate, "amount": money(amount),
            "amount_to_date": money(amount_now), "next_amount": next_amount, "next_gap": next_gap,
            "note_zh": zh, "note_en": en}


def _title(b: Benefit) -> tuple[str, str]:
    zh, en = BENEFIT_KINDS[b.kind]
    return b.title or zh, b.title_en or en


# --- the four kinds ---------------------------------------------------------------------------


def _new_agent(ctx: _Ctx, name: str, b: Benefit) -> list[dict[str, Any]]:
    pop = ctx.eligible(b)
    if pop.empty:
        return []
    tz, te = _title(b)
    now = _month_index(ctx.basis, ctx.w.end)
    reached: dict[str, dt.date] = {}
    if b.reach_rank is not None:
        lvl = ctx.law.ranks[b.reach_rank].level
        reached = _first_day_at(ctx.snap, pop, ctx.day, lambda r, _c: r in ctx.law.ranks and
                                ctx.law.ranks[r].level >= lvl)
    rows = []
    for a in pop.itertuples(index=False):
        wm = now - _month_index(ctx.basis, a.hire_date) + 1
        tier = next((t for t in b.schedule if t.from_month <= wm <= t.to_month), None)
        if tier is None:
            continue  # outside the schedule (none after its last month)
        amt = as_decimal(tier.amount)
        fyc = ctx.fyc.get(a.agent_code, ZERO)
        zh, en = f"第 {wm} 个工作月 {tz} {yuan(amt)} 元", f"work month {wm}: {te} {yuan(amt)} yuan"
        due = True
        if b.reach_rank is not None:
            rn = ctx.law.ranks[b.reach_rank].name
            day = reached.get(a.agent_code)
            rwm = None if day is None else _month_index(ctx.basis, day) - _month_index(
                ctx.basis, a.hire_date) + 1
            if rwm is None:
                due = False
                # the deadline month itself is lost only once it is over
                if b.reach_by_month is not None and (
                        wm > b.reach_by_month or (wm == b.reach_by_month and not ctx.open)):
                    zh, en = (f"未在第 {b.reach_by_month} 个工作月内达到{rn}, 不再发放",
                              f"{b.reach_rank} not reached by work month {b.reach_by_month}: "
                              "no longer paid")
                else:
                    zh, en = (f"达到{rn}后次月起发放 (第 {wm} 个工作月, 不补发)",
                              f"paid from the month after reaching {b.reach_rank} (work month "
                              f"{wm}; months before are not back-paid)")
            elif b.reach_by_month is not None and rwm > b.reach_by_month:
                due = False
                zh, en = (f"第 {rwm} 个工作月才达到{rn} (须在第 {b.reach_by_month} 个月内), 不发放",
                          f"{b.reach_rank} reached in work month {rwm}, after month "
                          f"{b.reach_by_month}: not paid")
            elif wm <= rwm:
                due = False
                zh, en = (f"第 {rwm} 个工作月达到{rn}, 次月起发放, 当月及之前不补发",
                          f"{b.reach_rank} reached in work month {rwm}: paid from the next "
                          "month, earlier months are not back-paid")
        min_fyc = as_decimal(tier.min_fyc)
        now_ok = due and fyc >= min_fyc
        proj_ok = due and ctx.proj(fyc) >= min_fyc
        gap = None
        if due and not now_ok:
            gap = min_fyc - fyc
            zh += f"; FYC 差 {yuan(gap)} 元达 {yuan(min_fyc)} 元"
            en += f"; {yuan(gap)} yuan FYC short of {yuan(min_fyc)} yuan"
        rows.append(_row(ctx, name, b, a.agent_code, a.rank_code, a.org_code,
                         basis=Decimal(wm), basis_now=Decimal(wm), rate=None,
                         amount=amt if proj_ok else ZERO, amount_now=amt if now_ok else ZERO,
                         zh=zh, en=en, next_amount=amt if due and not proj_ok else None,
                         next_gap=gap))
    return rows


def _base_pay(ctx: _Ctx, name: str, b: Benefit) -> list[dict[str, Any]]:
    pop = ctx.eligible(b)
    if pop.empty:
        return []
    tz, te = _title(b)
    att = engine._lookup(pop.agent_code, engine._metric(ctx.env, "attendance_rate"), None)
    rows = []
    for a, att_v in zip(pop.itertuples(index=False), att, strict=True):
        fyc = ctx.fyc.get(a.agent_code, ZERO)
        pfyc = ctx.proj(fyc)

        def tier_of(v: Decimal, att_v: Decimal | None = att_v) -> int:
            best = -1
            for i, t in enumerate(b.tiers):
                bar = t.min_attendance if t.min_attendance is not None else b.min_attendance
                if bar is not None and (att_v is None or att_v < as_decimal(bar)):
                    continue
                if v >= as_decimal(t.min_fyc):
                    best = i
            return best

        i_now, i_proj = tier_of(fyc), tier_of(pfyc)
        amt_now = as_decimal(b.tiers[i_now].amount) if i_now >= 0 else ZERO
        amt = as_decimal(b.tiers[i_proj].amount) if i_proj >= 0 else ZERO
        lead_zh = "按当前进度本月" if ctx.open else ""
        lead_en = "at the current pace, " if ctx.open else ""
        zh = f"{lead_zh}{tz} {yuan(amt)} 元"
        en = f"{lead_en}{te} {yuan(amt)} yuan"
        nxt = next((t for t in b.tiers[i_proj + 1:]), None)
        next_amount = next_gap = None
        if nxt is not None:
            bar = nxt.min_attendance if nxt.min_attendance is not None else b.min_attendance
            if bar is not None and (att_v is None or att_v < as_decimal(bar)):
                zh += f"; 出勤率 {_pct(att_v) if att_v is not None else '无记录'} 未达 {_pct(bar)}"
                en += (f"; attendance {_pct(att_v) if att_v is not None else 'not recorded'} "
                       f"below {_pct(bar)}")
            else:
                next_gap = max(as_decimal(nxt.min_fyc) - fyc, ZERO)
                next_amount = as_decimal(nxt.amount)
                zh += f"; 再做 {yuan(next_gap)} 元 FYC 可达 {yuan(next_amount)} 元档"
                en += f"; {yuan(next_gap)} yuan more FYC reaches the {yuan(next_amount)} yuan tier"
        rows.append(_row(ctx, name, b, a.agent_code, a.rank_code, a.org_code, basis=pfyc,
                         basis_now=fyc, rate=None, amount=amt, amount_now=amt_now, zh=zh, en=en,
                         next_amount=next_amount, next_gap=next_gap))
    return rows


def _management(ctx: _Ctx, name: str, b: Benefit) -> list[dict[str, Any]]:
    pop = ctx.eligible(b)
    pop = pop[pop.rank_code.isin(b.rates)]
    if pop.empty:
        return []
    tz, te = _title(b)
    groups = ctx.direct_groups(list(pop.agent_code), b.include_self)
    bar = as_decimal(b.min_group_fyc)
    rows = []
    for a in pop.itertuples(index=False):
        rate = as_decimal(b.rates[a.rank_code])
        g = groups[a.agent_code]
        pg = ctx.proj(g)
        zh = f"直辖组 FYC {yuan(money(pg))} 元 × {_pct(rate)}"
        en = f"direct group FYC {yuan(money(pg))} yuan × {_pct(rate)}"
        gap = None
        if pg < bar:
            gap = bar - g
            zh += f"; 直辖组 FYC 未达 {yuan(bar)} 元, 不发放{tz}"
            en += f"; below the {yuan(bar)} yuan group FYC bar: no {te}"
        rows.append(_row(ctx, name, b, a.agent_code, a.rank_code, a.org_code, basis=pg,
                         basis_now=g, rate=rate, amount=pg * rate if pg >= bar else ZERO,
                         amount_now=g * rate if g >= bar else ZERO, zh=zh, en=en,
                         next_gap=gap))
    return rows


def _breeding(ctx: _Ctx, name: str, b: Benefit) -> list[dict[str, Any]]:
    pop = ctx.eligible(b)
    pop = pop[pop.category == "director"]
    if pop.empty:
        return []
    tz, te = _title(b)
    full = ctx.env.closure("recruits")
    cl = full[full.ancestor.isin(set(pop.agent_code))
              & full.member.map(ctx.is_dir).fillna(False).astype(bool)].reset_index(drop=True)
    if cl.empty:
        return []
    gen = _between_directors(full, cl, ctx.is_dir) + 1
    since = _first_day_at(ctx.snap, ctx.pop[ctx.pop.agent_code.isin(set(cl.member))], ctx.day,
                          lambda _r, c: c == "director")
    groups = ctx.direct_groups(sorted(set(cl.member)), b.include_self)
    bar = as_decimal(b.min_group_fyc)
    info = pop.set_index("agent_code")
    rows = []
    months = engine.months_completed(pd.Series([since.get(m, ctx.day) for m in cl.member]),
                                     ctx.day).to_numpy()
    for m, anc, g, mo in zip(cl.member, cl.ancestor, gen, months, strict=True):
        year = int(mo) // 12 + 1
        r = next((x for x in b.generations if x.generation == int(g) and x.from_year <= year
                  and (x.to_year is None or year <= x.to_year)), None)
        if r is None:
            continue
        rate = as_decimal(r.rate)
        grp = groups[m]
        pg = ctx.proj(grp)
        zh = f"第 {int(g)} 代育成组 {m} 第 {year} 年: 组 FYC {yuan(money(pg))} 元 × {_pct(rate)}"
        en = (f"generation {int(g)} group {m}, year {year}: group FYC {yuan(money(pg))} yuan × "
              f"{_pct(rate)}")
        if pg < bar:
            zh += f"; 组 FYC 未达 {yuan(bar)} 元, 不发放{tz}"
            en += f"; below the {yuan(bar)} yuan group FYC bar: no {te}"
        rows.append(_row(ctx, name, b, anc, str(info.rank_code[anc]), str(info.org_code[anc]),
                         basis=pg, basis_now=grp, rate=rate,
                         amount=pg * rate if pg >= bar else ZERO,
                         amount_now=grp * rate if grp >= bar else ZERO, zh=zh, en=en, source=m))
    return rows


_KINDS = {"new_agent_allowance": _new_agent, "base_pay": _base_pay,
          "management_allowance": _management, "breeding_bonus": _breeding}


#: one call's environments by window (start, end): the force and its KPI values do not depend on
#: the rank an agent is evaluated at, so :func:`rank_gain` computes each window once for both ranks
Envs = dict[tuple[dt.date, dt.date], Any]


def evaluate_income(ws: Workspace, law: BasicLaw, period: str, as_of: dt.date, *,
                    snap: compiler.Snapshot | None = None,
                    rank_of: dict[str, str] | None = None,
                    envs: Envs | None = None,
                    agents: set[str] | None = None) -> pd.DataFrame:
    """Every agent's benefit items for ``period`` as of ``as_of`` (:data:`ITEM_COLUMNS`).
    ``rank_of``: evaluate these agents at another rank (same production). ``envs``: windows
    already computed for the same period and day (filled as a side effect). ``agents``: the
    items of these agents only (their groups are still summed over the whole force)."""
    per = parse_period(period, engine.basis(ws))
    snap = snap or compiler.Snapshot.open(ws)
    envs = {} if envs is None else envs
    # every benefit of a window reads FYC; base pay also attendance: one computation per window
    kpis = (("attendance_rate", "fyc") if any(b.kind == "base_pay" for b in law.benefits.values())
            else ("fyc",))
    recruiter: pd.DataFrame | None = None
    rows: list[dict[str, Any]] = []
    for name, b in law.benefits.items():
        w = engine.window_for(b, per)
        if as_of < w.start:
            continue
        if (w.start, w.end) not in envs:
            if recruiter is None:
                recruiter = engine._recruiters(ws)
            envs[(w.start, w.end)] = engine.environment(ws, snap, w, as_of, kpis, recruiter)
        ctx = _Ctx(snap, law, w, envs[(w.start, w.end)], per, as_of, rank_of, agents)
        rows += _KINDS[b.kind](ctx, name, b)
    if not rows:
        return pd.DataFrame(columns=ITEM_COLUMNS)
    return pd.DataFrame(rows)[ITEM_COLUMNS]


def rank_gain(ws: Workspace, law: BasicLaw, period: str, as_of: dt.date, *,
              snap: compiler.Snapshot | None = None,
              current: pd.DataFrame | None = None,
              agents: set[str] | None = None, envs: Envs | None = None) -> pd.DataFrame:
    """Per agent in force: the monthly benefits (projected ``amount``) at the current rank and at
    the next rank of the ladder on the same production, and the gain (agent_code, rank_code,
    next_rank, current, at_next, gain). Agents at the top of the ladder have no row.
    ``agents``: these agents only (one agent's home asks for its own row). ``envs``: windows
    already computed with ``current`` (see :func:`evaluate_income`)."""
    snap = snap or compiler.Snapshot.open(ws)
    per = parse_period(period, engine.basis(ws))
    day = min(as_of, per.end)
    pop = engine.population(snap, day)
    ranks = {a: r for a, r in zip(pop.agent_code, pop.rank_code, strict=True) if r in law.ranks}
    up = {a: n for a, r in ranks.items()
          if (n := law.next_up(r)) is not None and (agents is None or a in agents)}
    cols = ["agent_code", "rank_code", "next_rank", "current", "at_next", "gain"]
    if not up or not law.benefits:
        return pd.DataFrame(columns=cols)
    envs = {} if envs is None else envs
    now = (current if current is not None
           else evaluate_income(ws, law, period, as_of, snap=snap, envs=envs, agents=agents))
    nxt = evaluate_income(ws, law, period, as_of, snap=snap, rank_of=up, envs=envs,
                          agents=agents)

    def total(items: pd.DataFrame) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for a, v in zip(items.agent_code, items.amount, strict=True):
            out[a] = out.get(a, ZERO) + v
        return out

    t_now, t_next = total(now), total(nxt)
    rows = [{"agent_code": a, "rank_code": ranks[a], "next_rank": n,
             "current": t_now.get(a, ZERO), "at_next": t_next.get(a, ZERO),
             "gain": t_next.get(a, ZERO) - t_now.get(a, ZERO)} for a, n in sorted(up.items())]
    return pd.DataFrame(rows, columns=cols)


__all__ = ["ITEM_COLUMNS", "evaluate_income", "money", "rank_gain", "yuan"]
