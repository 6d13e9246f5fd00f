"""Evaluate a basic law for the whole force: every agent × the rules of their rank, in bulk.

For a run period P and an as-of date D (``docs/basic-law.md``, "Windows"):

* each rule's **window** ends with the basis month containing P's end: ``month`` = that month,
  ``quarter`` = the quarter containing it, ``rolling`` N = the N months ending with it;
* the **evaluation day** is ``e = min(D, window end)``; the window is *open* while D < its end, and
  its results are then provisional, with a projection to the end of the window;
* the **population** of a rule = agents in force on ``e`` whose rank on ``e`` is the rule's rank;
* **personal metrics** come from the KPI engine (``compute(ws, KpiRequest(window, by="agent",
  as_of=e))``'s base measures, combined by the one evaluator :mod:`zhuizong.kpi.evaluate`), so an
  assessment and a report can never disagree about an agent's FYC;
* **exact decisions**: every actual, projection and threshold is a ``Decimal`` (a threshold as
  written in the rule file, ``Decimal("0.3")``, times the Q value as written) and a criterion is
  met when ``actual ≥ threshold`` exactly — the number the KPI report shows decides, with no float
  rounding or tolerance; the criteria JSON shows the numbers rounded to 4 decimals;
* **team metrics** sum those same per-agent numbers over a tree as of ``e``: the reporting line
  (``supervisor_code`` on ``e`` from the dated history) or the recruiting tree (``recruiter_code``),
  counting members in force on ``e``;
* **projection** (open windows): flows (FYC, FYP, standard premium, cases, recruits, team sums)
  at the current pace, ``actual / elapsed days × window days``; states and rates (headcounts,
  groups bred, attendance rate) as they are; effective headcount counts members whose projected
  FYC reaches the bar;
* **failure ladder**: a failed convert/maintain rule takes step ``on_fail[min(n, len − 1)]``, where
  n = the agent's consecutive failed final results of the same rule in earlier windows since they
  took their current rank (the caller passes the stored results: ``previous``).

Nothing loops over agents in Python except to build the JSON of each result.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from zhuizong.analytics.calendar import Basis, Period, day_num, parse_period
from zhuizong.basiclaw.config import METRICS, PERSISTENCY, BasicLaw, Benefit, Criterion, Rule
from zhuizong.errors import ConfigError, ZhuizongError
from zhuizong.kpi import compiler, runners
from zhuizong.kpi import engine as kpi_engine
from zhuizong.kpi import evaluate as kpi_eval
from zhuizong.kpi.engine import KpiRequest
from zhuizong.kpi.evaluate import ZERO, as_decimal
from zhuizong.kpi.registry import METRICS as METRIC_NODES
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

FAIL_STEPS = ("extra_period", "demote", "contract_end")
#: outcome that an agent's rank changes with, and the agent_events type it is applied as
ACTIONS = {"convert": "convert", "promote": "promote", "demote": "demote", "contract_end": "leave"}
#: one action per agent and period: the strongest wins
ACTION_PRECEDENCE = ("contract_end", "demote", "promote", "convert")

RESULT_COLUMNS = ["agent_code", "rule", "kind", "rank_code", "org_code", "window_start",
                  "window_end", "as_of", "status", "outcome", "target_rank", "fail_streak",
                  "met_count", "required_count", "passed", "projected_passed", "gap_zh", "gap_en",
                  "criteria"]


@dataclass(frozen=True)
class Window:
    kind: str
    label: str  # a KPI period label: 2026-06, 2026Q2 or 2026-04-01..2026-06-30
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def basis(ws: Workspace) -> Basis:
    cal = ws.settings.calendar
    return Basis(cal.month_basis, cal.cutoff_day)


def _shift(y: int, m: int, delta: int) -> tuple[int, int]:
    i = y * 12 + m - 1 + delta
    return i // 12, i % 12 + 1


def window_for(rule: Rule | Benefit, period: Period) -> Window:
    """The window of ``rule`` in run period ``period`` (see the module docstring)."""
    b = period.basis
    y, m = b.month_of(period.full_end)
    if rule.window == "month":
        s, e = b.month_bounds(y, m)
        return Window("month", f"{y:04d}-{m:02d}", s, e)
    if rule.window == "quarter":
        q = (m - 1) // 3 + 1
        p = parse_period(f"{y:04d}Q{q}", b)
        return Window("quarter", p.label, p.start, p.end)
    n = rule.months or 1
    sy, sm = _shift(y, m, -(n - 1))
    s, _ = b.month_bounds(sy, sm)
    _, e = b.month_bounds(y, m)
    return Window(f"rolling{n}", f"{s.isoformat()}..{e.isoformat()}", s, e)


def months_completed(start: pd.Series, day: dt.date) -> pd.Series:
    """Whole months from ``start`` (dates) to the end of ``day``: ``start`` 2026-01-01 and day
    2026-06-30 → 6 ("in rank ≥ 6 months" holds on the last day of the sixth month)."""
    e1 = day + dt.timedelta(days=1)
    s = pd.to_datetime(start)
    n = (e1.year - s.dt.year) * 12 + (e1.month - s.dt.month) - (s.dt.day > e1.day).astype(int)
    return n.clip(lower=0)


# --- the force on a day ----------------------------------------------------------------------


def _dates(days: pd.Series) -> list[dt.date]:
    return list((pd.Timestamp("1970-01-01") + pd.to_timedelta(days.astype("int64"), unit="D")).dt.date)


def _spells(snap: compiler.Snapshot) -> pd.DataFrame:
    if not hasattr(snap, "_bl_spells"):
        snap._bl_spells = snap.con.execute(snap.t["spells"])  # type: ignore[attr-defined]
    return snap._bl_spells  # type: ignore[attr-defined,no-any-return]


def population(snap: compiler.Snapshot, day: dt.date) -> pd.DataFrame:
    """Agents in force on ``day``: agent_code, org_code, rank_code, category, supervisor_code,
    hire_date (current spell), rank_since (first day of the current run of the same rank, not
    before the current spell's hire)."""
    dn = day_num(day)
    sp = _spells(snap)
    live = sp[(sp.hire_day <= dn) & (sp.leave_day > dn)][["agent_code", "hire_day"]]
    live = live.sort_values("hire_day").drop_duplicates("agent_code", keep="last")
    pl = snap.placements_df.sort_values(["agent_code", "from_day"]).reset_index(drop=True)
    change = (pl.agent_code != pl.agent_code.shift()) | (pl.rank_code != pl.rank_code.shift())
    pl["run_start"] = pl.from_day.where(change).ffill()
    cur = pl[(pl.from_day <= dn) & (pl.to_day > dn)]
    base = cur.merge(live, on="agent_code", how="inner")
    base["rank_since_day"] = np.maximum(base.run_start.astype("int64"), base.hire_day.astype("int64"))
    base["hire_date"] = _dates(base.hire_day)
    base["rank_since"] = _dates(base.rank_since_day)
    return base[["agent_code", "org_code", "rank_code", "category", "supervisor_code",
                 "hire_day", "hire_date", "rank_since"]].reset_index(drop=True)


def _closure(parent: pd.DataFrame, members: set[str], max_depth: int = 50) -> pd.DataFrame:
    """(member, ancestor, distance ≥ 1) for the tree given by ``parent`` (child → parent), over
    the members only (both ends in force): walks every member up one level at a time (numpy).
    Cycles stop at ``max_depth``."""
    codes = np.array(sorted(members), dtype=object)
    pos = {c: i for i, c in enumerate(codes)}
    p = parent[parent.child.isin(members) & parent.parent.isin(members)
               & (parent.child != parent.parent)].drop_duplicates("child")
    up = np.full(len(codes), -1, dtype=np.int64)
    up[p.child.map(pos).to_numpy(dtype=np.int64)] = p.parent.map(pos).to_numpy(dtype=np.int64)
    member = np.arange(len(codes))
    cur = up.copy()
    parts_m, parts_a, parts_d = [], [], []
    for dist in range(1, max_depth + 1):
        ok = cur >= 0
        if not ok.any():
            break
        member, cur = member[ok], cur[ok]
        keep = member != cur
        parts_m.append(member[keep])
        parts_a.append(cur[keep])
        parts_d.append(np.full(int(keep.sum()), dist))
        cur = up[cur]
    if not parts_m:
        return pd.DataFrame({"member": [], "ancestor": [], "distance": []})
    out = pd.DataFrame({"member": codes[np.concatenate(parts_m)],
                        "ancestor": codes[np.concatenate(parts_a)],
                        "distance": np.concatenate(parts_d)})
    return out.drop_duplicates(["member", "ancestor"])


def _branch(snap: compiler.Snapshot, orgs: pd.Series, level: str | None) -> pd.Series:
    """The branch org of each org code: the ancestor at ``level``, else the root."""
    anc = snap.anc_df.merge(snap.orgs_df[["org_code", "level", "depth"]].rename(
        columns={"org_code": "ancestor_code", "level": "a_level", "depth": "a_depth"}),
        on="ancestor_code")
    anc = anc[anc.a_level == level] if level else anc[anc.a_depth == 0]
    m = dict(zip(anc.org_code, anc.ancestor_code, strict=False))
    return orgs.map(m)


# --- metric values -----------------------------------------------------------------------------


def _kpi(ws: Workspace, snap: compiler.Snapshot, window: Window, day: dt.date,
         metrics: tuple[str, ...]) -> pd.DataFrame:
    """Per agent, the KPI engine's values of ``metrics`` for the window up to ``day`` (object
    columns: ``Decimal``, None where the metric has no value, e.g. a rate without a denominator).

    The KPI engine's own request preparation and compiled base measures
    (``kpi.engine._prepare`` + ``runners.evaluate_leaves``, exactly what ``compute`` runs),
    combined by the one evaluator (:func:`zhuizong.kpi.evaluate.metric_columns`, what ``compute``
    calls): ``compute`` would also build one row object per agent × metric, which costs more than
    the query at 50,000 agents. ``tests/basiclaw`` checks the values equal ``compute``'s."""
    if not metrics:
        return pd.DataFrame(columns=["agent_code"])
    roots = snap.orgs_df.loc[snap.orgs_df.parent_code.isna(), "org_code"].tolist()
    as_of = day if day < window.end else None
    frames = []
    for r in roots:
        req = KpiRequest(period=window.label, org=r, by="agent", metrics=metrics, as_of=as_of)
        ctx, _org, _units, codes, needed = kpi_engine._prepare(ws, req, snap)
        base = runners.evaluate_leaves(ctx, needed)
        agents = sorted({k[0] for vals in base.values() for k in vals})
        cols = kpi_eval.align(base, [(a, "all") for a in agents])
        out: dict[str, Any] = {"agent_code": agents}
        for c in codes:
            value, num, den = kpi_eval.metric_columns(METRIC_NODES[c].node, cols, len(agents))
            out[c] = pd.Series(value, dtype=object)
            if c in PERSISTENCY:  # team persistency pools the members' numerators/denominators
                out[f"{c}#num"] = pd.Series(num, dtype=object)
                out[f"{c}#den"] = pd.Series(den, dtype=object)
        frames.append(pd.DataFrame(out))
    return pd.concat(frames, ignore_index=True)


def _lookup(agents: pd.Series, values: pd.Series, default: Decimal | None) -> pd.Series:
    """``values`` (by agent code; ``Decimal`` or None) for ``agents``: an agent without a value
    gets ``default``. An object Series aligned with ``agents``."""
    out = np.empty(len(agents), dtype=object)
    pos = agents.map(pd.Series(np.arange(len(values)), index=values.index)).to_numpy()
    vals = values.to_numpy(dtype=object)
    for i, p in enumerate(pos):
        v = None if p != p else vals[int(p)]
        out[i] = default if v is None else v
    return pd.Series(out, index=agents.index, dtype=object)


def _count(agents: pd.Series, counts: pd.Series) -> pd.Series:
    """Integer counts by agent code as ``Decimal`` (0 where none), aligned with ``agents``."""
    n = agents.map(counts).fillna(0).astype("int64").to_numpy()
    return pd.Series([Decimal(int(x)) for x in n], index=agents.index, dtype=object)


def _times(values: pd.Series, factor: Decimal) -> pd.Series:
    """``values × factor`` exactly (None stays None)."""
    return values.map(lambda v: None if v is None else v * factor).astype(object)


def _decimal_sum(frame: pd.DataFrame, by: str, col: str) -> pd.Series:
    """Σ ``col`` (Decimals) by ``by``, exactly."""
    if frame.empty:
        return pd.Series(dtype=object)
    return frame.groupby(by)[col].sum()  # object column: Decimal addition


@dataclass
class _Env:
    """Everything the criteria of one window need, computed once."""

    window: Window
    day: dt.date
    factor: Decimal  # projection factor: window days / elapsed days (1 when closed)
    pop: pd.DataFrame  # the force on `day`
    personal: pd.DataFrame  # agent_code + KPI metrics (Decimal; None = no value)
    recruiter: pd.DataFrame  # child, parent
    hires: pd.DataFrame  # agent_code, hire_day (spells hired in the window up to day)
    q: pd.Series  # agent_code → Q value in 元 as written (Decimal; None where no Q)
    _closures: dict[str, pd.DataFrame]

    def closure(self, tree: str) -> pd.DataFrame:
        if tree not in self._closures:
            members = set(self.pop.agent_code)
            if tree == "line":
                par = self.pop[["agent_code", "supervisor_code"]].dropna().rename(
                    columns={"agent_code": "child", "supervisor_code": "parent"})
            else:
                par = self.recruiter
            self._closures[tree] = _closure(par, members)
        return self._closures[tree]


def _metric(env: _Env, metric: str) -> pd.Series:
    """The KPI values of ``metric`` by agent code (empty when no agent has one)."""
    if metric in env.personal:
        return env.personal.set_index("agent_code")[metric]
    return pd.Series(dtype=object)


def _personal_value(env: _Env, agents: pd.Series, metric: str) -> pd.Series:
    # a rate without a value (no meetings on record) stays None: not met; a sum without a row is 0
    return _lookup(agents, _metric(env, metric), None if METRICS[metric].unit == "rate" else ZERO)


def _evaluate_criterion(env: _Env, agents: pd.Series, c: Criterion
                        ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(actual, projected, threshold in base units) for ``agents`` (index aligned; object
    Series of ``Decimal``, None = no value)."""
    md = METRICS[c.metric]
    q = _lookup(agents, env.q, None)
    threshold = pd.Series(as_decimal(c.min), index=agents.index, dtype=object)
    if c.unit == "Q":
        threshold = pd.Series([t * x if x is not None else None
                               for t, x in zip(threshold, q, strict=True)],
                              index=agents.index, dtype=object)
    if c.metric in PERSISTENCY and c.scope != "personal":
        team = _team_persistency(env, agents, c)
        return team, team, threshold  # a rate: projected as it is
    if not md.team and c.metric != "direct_recruits":
        actual = _personal_value(env, agents, c.metric)
        projected = _times(actual, env.factor) if md.flow else actual
        return actual, projected, threshold
    if c.metric == "direct_recruits":
        h = env.hires.merge(env.recruiter, left_on="agent_code", right_on="child")
        actual = _count(agents, h.groupby("parent").size())
        return actual, _times(actual, env.factor), threshold
    cl = _tree(env, agents, c.scope, c.depth, c.include_self and c.metric != "groups_bred")
    if c.metric in ("team_fyc", "team_fyp"):
        vals = _metric(env, "fyc" if c.metric == "team_fyc" else "fyp")
        m = cl.assign(v=_lookup(cl.member, vals, ZERO).to_numpy())
        actual = _lookup(agents, _decimal_sum(m, "ancestor", "v"), ZERO)
        return actual, _times(actual, env.factor), threshold
    if c.metric == "team_headcount":
        actual = _count(agents, cl.groupby("ancestor").size())
        return actual, actual, threshold
    if c.metric == "effective_headcount":
        bar = as_decimal(c.member_min_fyc)
        bars = pd.Series([bar * x if c.member_unit == "Q" and x is not None else bar
                          for x in q], index=agents.values, dtype=object)
        bars = bars[~bars.index.duplicated()]
        fyc = _lookup(cl.member, _metric(env, "fyc"), ZERO).to_numpy()
        mbar = _lookup(cl.ancestor, bars, None).to_numpy()
        eff = cl[kpi_eval.at_least(fyc, mbar)].groupby("ancestor").size()
        proj = cl[kpi_eval.at_least([v * env.factor for v in fyc], mbar)].groupby(
            "ancestor").size()
        return _count(agents, eff), _count(agents, proj), threshold
    if c.metric == "groups_bred":
        cat = env.pop.set_index("agent_code").category
        m = cl[cl.member.map(cat) == "director"]
        actual = _count(agents, m.groupby("ancestor").size())
        return actual, actual, threshold
    raise AssertionError(c.metric)  # pragma: no cover - config validation rejects the rest


def _tree(env: _Env, agents: pd.Series, scope: str, depth: int, include_self: bool
          ) -> pd.DataFrame:
    """(member, ancestor, distance) of the ``scope`` tree for the ancestors ``agents``."""
    cl = env.closure(scope)
    if depth:
        cl = cl[cl.distance <= depth]
    if include_self:
        selves = pd.DataFrame({"member": agents.values, "ancestor": agents.values, "distance": 0})
        cl = pd.concat([cl, selves], ignore_index=True)
    return cl[cl.ancestor.isin(set(agents))]


def _team_persistency(env: _Env, agents: pd.Series, c: Criterion) -> pd.Series:
    """A team's persistency: Σ paid / Σ due of the members' cohorts (None: no policy in any
    member's cohort)."""
    cl = _tree(env, agents, c.scope, c.depth, c.include_self)
    num = _lookup(cl.member, _metric(env, f"{c.metric}#num"), ZERO).to_numpy()
    den = _lookup(cl.member, _metric(env, f"{c.metric}#den"), ZERO).to_numpy()
    m = cl.assign(n=num, d=den)
    sn = _lookup(agents, _decimal_sum(m, "ancestor", "n"), ZERO)
    sd = _lookup(agents, _decimal_sum(m, "ancestor", "d"), ZERO)
    return pd.Series([n / d if d else None for n, d in zip(sn, sd, strict=True)],
                     index=agents.index, dtype=object)


# --- formatting gaps ---------------------------------------------------------------------------


def _num(v: float | Decimal, unit: str) -> str:
    if unit == "rate":
        return f"{v * 100:.1f}%"
    if unit == "count":
        return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"
    return f"{v:,.0f}" if abs(float(v) - round(float(v))) < 0.005 else f"{v:,.2f}"


def gap_texts(metric: str, label: str, gap: float | Decimal) -> tuple[str, str]:
    """("差 3,600 元 FYC", "3,600 元 FYC short") for one unmet criterion (``gap``: the exact
    ``Decimal`` gap; a count is rounded up)."""
    md = METRICS[metric]
    name_zh = label or md.noun_zh or md.zh
    # a rule file's label is the insurer's own (Chinese) wording: English screens name the metric
    name_en = md.en
    if md.unit == "rate":  # percentage points, an exact gap rounded up to 0.1 (never "差 0.0")
        pts = (f"{(gap * 100).quantize(Decimal('0.1'), rounding=ROUND_CEILING)}"
               if isinstance(gap, Decimal) else f"{gap * 100:.1f}")
        return f"差 {pts} 个百分点{name_zh}", f"{pts} points of {name_en} short"
    if md.unit == "count":
        n = math.ceil(gap) if isinstance(gap, Decimal) else math.ceil(gap - 1e-9)
        return f"差 {n:,} {md.unit_zh}{name_zh}", f"{n:,} {name_en} short"
    amount = _num(gap, "money")
    return f"差 {amount} 元 {name_zh}", f"{amount} yuan {name_en} short"


def _floats(values: Any) -> np.ndarray:
    """Decimals (None = NaN) as floats, for display only (the criteria JSON)."""
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _js(a: np.ndarray) -> list[str]:
    """JSON numbers rounded to 4 decimals ("null" for NaN)."""
    return ["null" if v is None else repr(v) for v in _plain(a)]


def _plain(a: np.ndarray) -> list[float | None]:
    """Values rounded to 4 decimals as Python floats, NaN as None (for the criteria JSON)."""
    r = np.round(a.astype(float), 4)
    return [None if v != v else v for v in r.tolist()]


# --- evaluation --------------------------------------------------------------------------------


def _previous_streaks(previous: pd.DataFrame | None, rule: str, pop: pd.DataFrame,
                      window: Window) -> pd.Series:
    """Consecutive failed final results of ``rule`` before ``window``, per agent, counting only
    windows since the agent took their current rank."""
    if previous is None or previous.empty:
        return pd.Series(0, index=pop.agent_code.values, dtype=int)
    p = previous[(previous.rule == rule) & (previous.window_end < window.end)]
    p = p.merge(pop[["agent_code", "rank_since"]], on="agent_code")
    p = p[p.window_end >= p.rank_since]
    p = p.sort_values(["agent_code", "window_end"], ascending=[True, False]).drop_duplicates(
        ["agent_code", "window_end"])
    p["fail"] = p.outcome.isin(FAIL_STEPS)
    # leading failures: the count of rows before the first non-failure, per agent
    p["ok_seen"] = (~p.fail).astype(int).groupby(p.agent_code).cumsum()
    streak = p[p.ok_seen == 0].groupby("agent_code").size()
    return pd.Series(0, index=pop.agent_code.values, dtype=int).add(streak, fill_value=0).astype(int)


def evaluate(ws: Workspace, law: BasicLaw, period: str, as_of: dt.date, *,
             snap: compiler.Snapshot | None = None, previous: pd.DataFrame | None = None,
             rules: list[str] | None = None) -> pd.DataFrame:
    """Every agent's result under every rule of their rank (:data:`RESULT_COLUMNS`).

    ``previous``: stored final results (rule, agent_code, window_end, outcome) for the failure
    ladder. ``rules``: restrict to these rule names."""
    b = basis(ws)
    per = parse_period(period, b)
    snap = snap or compiler.Snapshot.open(ws)
    names = rules or list(law.rules)
    by_window: dict[Window, list[str]] = {}
    for n in names:
        by_window.setdefault(window_for(law.rules[n], per), []).append(n)
    for w in by_window:
        if as_of < w.start:
            raise ZhuizongError(f"考核窗口 {w.label} 尚未开始 (截止 {as_of})",
                                f"assessment window {w.label} has not started on {as_of}")
    recruiter = _recruiters(ws)
    out: list[pd.DataFrame] = []
    for w, rule_names in by_window.items():
        open_ = as_of < w.end
        crits = [c for n in rule_names for c in law.rules[n].criteria]
        kpis = {k for k in (METRICS[c.metric].kpi for c in crits) if k}
        if any(c.metric in ("team_fyc", "effective_headcount") for c in crits):
            kpis.add("fyc")
        if any(c.metric == "team_fyp" for c in crits):
            kpis.add("fyp")
        env = environment(ws, snap, w, as_of, tuple(sorted(kpis)), recruiter)
        pop = env.pop
        q = pd.Series(dtype=object)
        if law.model.q is not None:
            br = _branch(snap, pop.org_code, law.model.basic_law.branch_level)
            qv = br.map(lambda x: law.q_value(x) if isinstance(x, str) else None)
            q = pd.Series([None if v is None or v != v else as_decimal(v) for v in qv],
                          index=pop.agent_code.values, dtype=object)
            uses_q = any(c.unit == "Q" or c.member_unit == "Q" for c in crits)
            if uses_q and q.isna().any():
                missing = sorted({x for x, v in zip(br, qv, strict=True) if v is None or
                                  (isinstance(v, float) and math.isnan(v))} - {None})
                raise ConfigError(
                    f"{law.source}: [q] 中没有分公司 {', '.join(map(str, missing[:5]))} 的 Q 值 "
                    "(请在 [q.branches] 中补充或设置 default)",
                    f"{law.source}: [q] has no Q value for branch(es) "
                    f"{', '.join(map(str, missing[:5]))} (add them to [q.branches] or set default)")
        env.q = q
        for n in rule_names:
            out.append(_evaluate_rule(law, n, env, open_, as_of, previous))
    if not out:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    return pd.concat(out, ignore_index=True)


def environment(ws: Workspace, snap: compiler.Snapshot, w: Window, as_of: dt.date,
                kpis: tuple[str, ...], recruiter: pd.DataFrame) -> _Env:
    """The force, its KPI values (``kpis``) and trees for window ``w`` as of ``as_of`` (no Q)."""
    day = min(as_of, w.end)
    elapsed = (day - w.start).days + 1
    factor = Decimal(w.days) / Decimal(elapsed) if as_of < w.end else Decimal(1)
    pop = population(snap, day)
    dn, sn = day_num(day), day_num(w.start)
    sp = _spells(snap)
    hires = sp[(sp.hire_day >= sn) & (sp.hire_day <= dn)][["agent_code", "hire_day"]]
    return _Env(w, day, factor, pop, _kpi(ws, snap, w, day, kpis), recruiter, hires,
                pd.Series(dtype=object), {})


def _recruiters(ws: Workspace) -> pd.DataFrame:
    a = table("agents")
    with ws.engine.connect() as conn:
        rows = conn.execute(select(a.c.agent_code, a.c.recruiter_code).where(
            a.c.recruiter_code.is_not(None))).all()
    return pd.DataFrame(rows, columns=["child", "parent"])


def _evaluate_rule(law: BasicLaw, name: str, env: _Env, open_: bool, as_of: dt.date,
                   previous: pd.DataFrame | None) -> pd.DataFrame:
    rule = law.rules[name]
    pop = env.pop[env.pop.rank_code == rule.rank].reset_index(drop=True)
    if pop.empty:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    agents = pop.agent_code
    cols: list[dict[str, Any]] = []
    met_opt = pd.Series(0, index=pop.index)
    pmet_opt = pd.Series(0, index=pop.index)
    mand_ok = pd.Series(True, index=pop.index)
    pmand_ok = pd.Series(True, index=pop.index)
    skipped_opt = pd.Series(0, index=pop.index)  # optional criteria not assessed (per agent)
    skipped_mand = pd.Series(0, index=pop.index)
    for c in rule.criteria:
        actual, projected, threshold = _evaluate_criterion(env, agents, c)
        # exact: Decimal against Decimal, no rounding and no tolerance (None: not met)
        met = pd.Series(kpi_eval.at_least(actual.to_numpy(), threshold.to_numpy()),
                        index=pop.index)
        # persistency without policies in the cohort (no value): the rule file's choice
        na = pd.Series(False, index=pop.index)
        if c.no_cohort is not None:
            none = pd.Series([v is None for v in actual], index=pop.index)
            if c.no_cohort == "met":
                met |= none
            elif c.no_cohort == "not_assessed":
                na = none
        pmet = pd.Series(kpi_eval.at_least(projected.to_numpy(), threshold.to_numpy()),
                         index=pop.index) | met
        if c.mandatory:
            mand_ok &= met | na
            pmand_ok &= pmet | na
            skipped_mand += na.astype(int)
        else:
            met_opt += met.astype(int)
            pmet_opt += pmet.astype(int)
            skipped_opt += na.astype(int)
        cols.append({"c": c, "actual": actual, "projected": projected, "threshold": threshold,
                     "met": met, "pmet": pmet, "na": na})
    n_opt = sum(1 for c in rule.criteria if not c.mandatory)
    k0 = n_opt if rule.require is None else rule.require
    # a criterion not assessed is left out: k of n becomes k of n − 1 (k at most n − 1)
    k = np.minimum(k0, n_opt - skipped_opt.to_numpy())
    n_mand = len(rule.criteria) - n_opt
    passed = mand_ok & (met_opt >= k)
    ppassed = pmand_ok & (pmet_opt >= k)
    met_count = sum(x["met"].astype(int) for x in cols)
    eligible = (months_completed(pop.rank_since, env.day) >= rule.min_months_in_rank) & (
        months_completed(pop.hire_date, env.day) >= rule.min_tenure_months)
    streak = _previous_streaks(previous, name, pop, env.window).reindex(agents.values).fillna(
        0).astype(int).values

    # outcomes
    ok_outcome = {"convert": "convert", "promote": "promote", "maintain": "maintain"}[rule.kind]
    if rule.on_fail:
        steps = np.array(rule.on_fail, dtype=object)
        fail_step = steps[np.minimum(streak, len(steps) - 1)]
    else:
        fail_step = np.full(len(pop), "not_met", dtype=object)
    outcome = np.where(passed, ok_outcome, fail_step if not open_ else
                       np.where(ppassed, "on_track",
                                "at_risk" if rule.on_fail else "not_met")).astype(object)
    outcome = np.where(eligible, outcome, "not_eligible")
    target = law.target(name)
    demote_to = law.demotion(name)
    target_rank = np.full(len(pop), None, dtype=object)
    target_rank[outcome == ok_outcome] = target or None
    target_rank[outcome == "demote"] = demote_to

    # criteria JSON and gap texts (the one per-row loop: building the documents)
    # criteria as JSON text, written fragment by fragment (json.dumps of ~100,000 small documents
    # was the largest cost of a run at 50,000 agents); strings are encoded once per criterion
    per_row: list[list[str]] = [[] for _ in range(len(pop))]
    gaps_zh: list[list[str]] = [[] for _ in range(len(pop))]
    gaps_en: list[list[str]] = [[] for _ in range(len(pop))]
    for x in cols:
        c = x["c"]
        md = METRICS[c.metric]
        head = (f'{{"criterion":{json.dumps(c.key, ensure_ascii=False)},"metric":"{c.metric}",'
                f'"scope":"{c.scope}","mandatory":{"true" if c.mandatory else "false"},'
                f'"unit":"{md.unit}"' + (f',"threshold_q":{c.min!r}' if c.unit == "Q" else ""))
        met_ = x["met"].to_numpy(dtype=bool)
        na_ = x["na"].to_numpy(dtype=bool)
        # the exact gap (threshold − actual, ≥ 0; 0 when met or without a threshold)
        gap_d = [ZERO if m_ or n_ or t is None else max(t - (a if a is not None else ZERO), ZERO)
                 for m_, n_, a, t in zip(met_, na_, x["actual"], x["threshold"], strict=True)]
        act, thr = _js(_floats(x["actual"])), _js(_floats(x["threshold"]))
        gaps = _plain(_floats(gap_d))
        proj = _js(_floats(x["projected"]))
        met, pmet = met_.tolist(), x["pmet"].tolist()
        for i in range(len(pop)):
            frag = (f'{head},"met":{"true" if met[i] else "false"},"actual":{act[i]},'
                    f'"threshold":{thr[i]},"gap":{gaps[i] or 0.0!r},"projection":{proj[i]},'
                    f'"projected_met":{"true" if pmet[i] else "false"}')
            if na_[i]:
                frag += ',"assessed":false'
            elif not met[i]:
                zh, en = gap_texts(c.metric, c.label, gap_d[i])
                frag += (f',"gap_zh":{json.dumps(zh, ensure_ascii=False)},'
                         f'"gap_en":{json.dumps(en, ensure_ascii=False)}')
                gaps_zh[i].append(zh)
                gaps_en[i].append(en)
            per_row[i].append(frag + "}")
    k_note = rule.require is not None and rule.require < n_opt
    gzh, gen = [], []
    passed_l, met_opt_l, skipped_l = passed.tolist(), met_opt.tolist(), skipped_opt.tolist()
    for i in range(len(pop)):
        if passed_l[i] or not gaps_zh[i]:
            gzh.append("")
            gen.append("")
            continue
        z, e = ", ".join(gaps_zh[i]), ", ".join(gaps_en[i])
        if k_note:
            n_i, k_i = n_opt - int(skipped_l[i]), int(k[i])
            need = max(k_i - int(met_opt_l[i]), 0)
            z += f" (非必备条件 {n_i} 项中需满足 {k_i} 项, 尚差 {need} 项)"
            e += f" (needs {k_i} of {n_i} optional criteria, {need} more)"
        gzh.append(z)
        gen.append(e)
    return pd.DataFrame({
        "agent_code": agents.values,
        "rule": name,
        "kind": rule.kind,
        "rank_code": rule.rank,
        "org_code": pop.org_code.values,
        "window_start": env.window.start,
        "window_end": env.window.end,
        "as_of": env.day,
        "status": "provisional" if open_ else "final",
        "outcome": outcome,
        "target_rank": target_rank,
        "fail_streak": streak,
        "met_count": met_count.values if hasattr(met_count, "values") else met_count,
        "required_count": n_mand - skipped_mand.to_numpy() + k,
        "passed": passed.values,
        "projected_passed": ppassed.values,
        "gap_zh": gzh,
        "gap_en": gen,
        "criteria": ["[" + ",".join(f) + "]" for f in per_row],
    })[RESULT_COLUMNS]


def actions(results: pd.DataFrame) -> pd.DataFrame:
    """One rank action per agent from final results (precedence :data:`ACTION_PRECEDENCE`):
    agent_code, outcome, rule, target_rank, event_type, event_date (window end + 1 day)."""
    r = results[(results.status == "final") & results.outcome.isin(ACTIONS)].copy()
    if r.empty:
        return pd.DataFrame(columns=["agent_code", "outcome", "rule", "rank_code", "target_rank",
                                     "event_type", "event_date"])
    r["prec"] = r.outcome.map({o: i for i, o in enumerate(ACTION_PRECEDENCE)})
    r = r.sort_values(["agent_code", "prec", "rule"]).drop_duplicates("agent_code")
    r["event_type"] = r.outcome.map(ACTIONS)
    r["event_date"] = [d + dt.timedelta(days=1) for d in r.window_end]
    return r[["agent_code", "outcome", "rule", "rank_code", "target_rank", "event_type",
              "event_date"]].reset_index(drop=True)


__all__ = ["ACTIONS", "ACTION_PRECEDENCE", "FAIL_STEPS", "RESULT_COLUMNS", "Window",
           "actions", "evaluate", "gap_texts", "months_completed", "population", "window_for"]
