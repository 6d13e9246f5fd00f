"""The pandas baseline of issue 14: the full monthly report, vectorised, from the snapshot.

``full_report(analytics_dir, period)`` computes, for one natural month, every org unit at every
level (the root's subtree, as ``compute(ws, KpiRequest(period, by="subtree"))``) × the segments
``none`` (rows say ``all``) and ``rank_category`` × every metric of
``zhuizong.kpi.registry.METRICS`` — value, numerator, denominator — from the analytic snapshot's
Parquet files only (``orgs``, ``org_ancestors``, ``placements``, ``spells``, ``plans``,
``premiums/``, ``attendance/``, ``work_logs/``), with the settings of a demo workspace:
natural months, received premium basis, net cases, active rule ``fyp_positive``,
``mean_of_months`` average headcount (a single month: (opening + closing) / 2) and
``persistency_grace_days`` (default 60). Semantics: ``docs/kpi-engine.md``, points 1–17.

How it is computed (the way an analyst would with pandas/NumPy, no per-fact Python):

* every string key (agent, org unit, policy) becomes an integer code; a fact's **placement** on
  its day is one ``np.searchsorted`` over the placements sorted by (agent, from_day) — the first
  row extended backwards — checked against ``to_day`` (the engine's range join; placements and
  spells of one agent must not overlap, which the snapshot guarantees for generated and imported
  data — an overlap would be counted twice by the engine's join and once here);
* additive measures are counted/summed per (placement unit, rank category) with ``bincount`` /
  ``groupby().sum()`` on int64, then fanned out to every ancestor through ``org_ancestors``
  (``np.add.at``); the ``all`` column is the sum of the category columns (plus facts whose
  placement has no category);
* distinct counts (net cases, active agents) are deduplicated per placement unit, fanned out with
  a ``merge`` on ``org_ancestors`` and deduplicated again per unit (never summed from children);
* money stays exact: FYP in fen (int64), FYC in 10⁻⁶ fen and standard premium in 10⁻⁴ fen
  (the snapshot's decimal(24,6) / decimal(24,4) read as scaled int64 by Arrow casts), plans in
  10⁻⁴ 元, average headcount in halves. Only the output is turned into ``Decimal``: each
  leaf once (``int / 10^k``, exact), and every ratio as ``Decimal / Decimal`` with Python's
  default context — the same operation as the engine, so values are *equal*, not close.

Output columns: org_code, segment (``all`` or a category), metric, value, numerator,
denominator (``Decimal`` or None; numerator/denominator only for ratios, as the engine).

``compare(ws, period)`` runs the engine (``by="subtree"``, segments ``none`` and
``rank_category``) and this function on the same workspace and returns every (org_code, segment,
metric) whose value, numerator or denominator differs — compared **exactly** as Decimals (None
equals only None; a row present on one side only is a mismatch). No metric is excluded.
``tests/kpi/test_pandas_baseline.py`` holds it at zero mismatches on a generated agency.

Scope (what a benchmark of the monthly report needs, not a second engine): a natural month
only; the settings above only (``check_settings`` refuses a workspace configured otherwise —
work months, the issued basis, other active/case rules would each be a few more lines); one
root org unit (as ``compute`` without ``org``); placements and spells of one agent must not
overlap (the snapshot's are contiguous; an overlap would be double-counted by the engine's range
join and counted once here). Reads: the month's premium partition with every column, the 12
other months FYP needs (previous month, same month last year, the year to date) with four
columns, and two predicate-pushdown scans of all premium partitions for the persistency cohorts
(issue months m − 14 and m − 26: their regular-pay ``new`` rows, then every row of those
policies); the month's attendance and work-log partitions; the small tables.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from zhuizong.kpi.ir import (
    Active,
    Cohort,
    Difference,
    Meetings,
    People,
    Persistency,
    Plan,
    Production,
    Ratio,
    ToolUse,
)
from zhuizong.kpi.registry import METRICS

OPEN_DAY = 10_000_000
EPOCH = dt.date(1970, 1, 1)
CATEGORIES = ("probationary", "formal", "director")
NSEG = 4  # category slots of a placement: the three categories, 3 = no/unknown category
ALL = 4  # column of the unsegmented total in a leaf array (n_orgs, 5)
_K = 1 << 26  # agent * _K + (day + OPEN_DAY): one sortable int64 key per (agent, day)
_PREMIUM_COLS = ["agent_code", "txn_day", "amount_fen", "fyp_sign"]
SEGMENTS = ("none", "rank_category")


def _day(d: dt.date) -> int:
    return (d - EPOCH).days


def _month(y: int, m: int) -> tuple[int, int]:
    """(y, m) normalised (m may be ≤ 0 or > 12)."""
    i = y * 12 + m - 1
    return i // 12, i % 12 + 1


def _bounds(y: int, m: int) -> tuple[int, int]:
    y, m = _month(y, m)
    return _day(dt.date(y, m, 1)), _day(dt.date(y, m, calendar.monthrange(y, m)[1]))


def _scaled(col: pa.ChunkedArray | pa.Array, digits: int) -> np.ndarray:
    """A decimal column with ``digits`` decimals as exact int64 of 10^-digits (nulls 0)."""
    col = pc.fill_null(col, pa.scalar(Decimal(0)).cast(col.type))
    if digits:
        col = pc.multiply(col, pa.scalar(Decimal(10**digits)))
    return pc.cast(col, pa.int64()).to_numpy()


def _read(path: Path, columns: list[str], filters: Any = None,
          dictionary: tuple[str, ...] = ("agent_code",)) -> pd.DataFrame:
    return pd.read_parquet(path, columns=columns, filters=filters,
                           read_dictionary=[c for c in dictionary if c in columns])


class _World:
    """The small tables, as integer codes, and the placement / in-force lookups."""

    def __init__(self, a: Path, period: str) -> None:
        self.a = a
        y, m = (int(x) for x in period.split("-"))
        self.y, self.m = y, m
        self.S, self.E = _bounds(y, m)
        orgs = pd.read_parquet(a / "orgs.parquet", columns=["org_code", "parent_code", "depth"])
        self.org_codes = pd.Index(orgs.org_code)
        self.n_orgs = len(orgs)
        anc = pd.read_parquet(a / "org_ancestors.parquet", columns=["org_code", "ancestor_code"])
        a_org = self.org_codes.get_indexer(anc.org_code)
        a_anc = self.org_codes.get_indexer(anc.ancestor_code)
        ok = (a_org >= 0) & (a_anc >= 0)
        self.anc_org, self.anc_anc = a_org[ok].astype(np.int64), a_anc[ok].astype(np.int64)
        self.anc_df = pd.DataFrame({"leaf": self.anc_org, "unit": self.anc_anc})
        self.parent = self.org_codes.get_indexer(orgs.parent_code)
        self.depth = orgs.depth.to_numpy()
        roots = orgs.org_code[orgs.parent_code.isna()].tolist()
        if len(roots) != 1:
            raise ValueError(f"{len(roots)} root org units: the report needs one")
        root = self.org_codes.get_loc(roots[0])
        self.units = np.sort(self.anc_org[self.anc_anc == root])  # the root's subtree
        # units in code order, as the engine lists them
        order = np.argsort(self.org_codes[self.units].to_numpy().astype(str), kind="stable")
        self.units = self.units[order]

        pl = _read(a / "placements.parquet", ["agent_code", "from_day", "to_day", "org_code",
                                              "category"], dictionary=("agent_code", "category"))
        sp = _read(a / "spells.parquet", ["agent_code", "hire_day", "leave_day"])
        self.agents = pd.Index(pd.concat([pl.agent_code.astype(str), sp.agent_code.astype(str)])
                               .unique())
        self.n_agents = len(self.agents)
        pa_ = self.agent_idx(pl.agent_code)
        cat = pd.Index(CATEGORIES).get_indexer(pl.category.astype(object))
        pcat = np.where(cat >= 0, cat, 3).astype(np.int64)
        porg = self.org_codes.get_indexer(pl.org_code).astype(np.int64)
        pfrom = pl.from_day.to_numpy().astype(np.int64)
        pto = pl.to_day.to_numpy().astype(np.int64)
        o = np.lexsort((pfrom, pa_))
        pa_, pfrom, pto, porg, pcat = pa_[o], pfrom[o], pto[o], porg[o], pcat[o]
        # the raw rows in (agent, from_day) order: conversions
        self.raw = (pa_, pfrom, porg, pcat)
        first = np.r_[True, pa_[1:] != pa_[:-1]]
        first_from = np.maximum.accumulate(np.where(first, np.arange(len(pa_)), 0))
        ext = np.where(pfrom == pfrom[first_from], -OPEN_DAY, pfrom)  # days before the 1st hire
        self.p_key = pa_ * _K + (ext + OPEN_DAY)
        self.p_agent, self.p_to, self.p_org, self.p_cat = pa_, pto, porg, pcat
        sa = self.agent_idx(sp.agent_code)
        hire = sp.hire_day.to_numpy().astype(np.int64)
        leave = sp.leave_day.to_numpy().astype(np.int64)
        o = np.lexsort((hire, sa))
        self.s_agent, self.s_hire, self.s_leave = sa[o], hire[o], leave[o]
        self.s_key = self.s_agent * _K + (self.s_hire + OPEN_DAY)

    # --- keys and lookups ---------------------------------------------------------------------

    def agent_idx(self, s: pd.Series) -> np.ndarray:
        if isinstance(s.dtype, pd.CategoricalDtype):
            m = self.agents.get_indexer(s.cat.categories.astype(str))
            codes = s.cat.codes.to_numpy()
            return np.where(codes >= 0, m[codes], -1).astype(np.int64)
        return self.agents.get_indexer(s).astype(np.int64)

    def place(self, agent: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(unit, category slot) of each agent's placement on its day; unit −1 = not placed."""
        agent = np.asarray(agent, dtype=np.int64)
        day = np.asarray(day, dtype=np.int64)
        i = np.searchsorted(self.p_key, agent * _K + (day + OPEN_DAY), side="right") - 1
        ic = np.maximum(i, 0)
        ok = (agent >= 0) & (i >= 0) & (self.p_agent[ic] == agent) & (day < self.p_to[ic])
        return np.where(ok, self.p_org[ic], -1), np.where(ok, self.p_cat[ic], 3)

    def in_force(self, agent: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Whether each agent has a spell in force at the end of its day."""
        i = np.searchsorted(self.s_key, agent * _K + (day + OPEN_DAY), side="right") - 1
        ic = np.maximum(i, 0)
        return (agent >= 0) & (i >= 0) & (self.s_agent[ic] == agent) & (day < self.s_leave[ic])

    # --- roll-ups -----------------------------------------------------------------------------

    def fan(self, per_leaf: np.ndarray) -> np.ndarray:
        """(n_orgs, NSEG, ...) per placement unit → per unit over its subtree, with the ALL
        column appended (n_orgs, NSEG + 1, ...)."""
        out = np.zeros_like(per_leaf)
        np.add.at(out, self.anc_anc, per_leaf[self.anc_org])
        return np.concatenate([out, out.sum(axis=1, keepdims=True)], axis=1)

    def count(self, unit: np.ndarray, seg: np.ndarray, mask: np.ndarray | None = None
              ) -> np.ndarray:
        ok = unit >= 0 if mask is None else (unit >= 0) & mask
        c = np.bincount(unit[ok] * NSEG + seg[ok], minlength=self.n_orgs * NSEG)
        return self.fan(c.astype(np.int64).reshape(self.n_orgs, NSEG))

    def total(self, unit: np.ndarray, seg: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Exact int64 sums of ``w`` (bincount's weights are floats: groupby instead)."""
        ok = unit >= 0
        s = pd.Series(w[ok].astype(np.int64)).groupby(unit[ok] * NSEG + seg[ok]).sum()
        c = np.zeros(self.n_orgs * NSEG, dtype=np.int64)
        c[s.index.to_numpy()] = s.to_numpy()
        return self.fan(c.reshape(self.n_orgs, NSEG))

    def distinct(self, unit: np.ndarray, seg: np.ndarray, item: np.ndarray) -> np.ndarray:
        """Distinct ``item`` per unit (over its subtree) and category; ALL deduplicated apart."""
        ok = unit >= 0
        d = pd.DataFrame({"leaf": unit[ok], "seg": seg[ok], "item": item[ok]}).drop_duplicates()
        j = d.merge(self.anc_df, on="leaf")
        out = np.zeros((self.n_orgs, NSEG + 1), dtype=np.int64)
        by = j.drop_duplicates(["unit", "seg", "item"]).groupby(["unit", "seg"]).size()
        out[by.index.get_level_values(0), by.index.get_level_values(1)] = by.to_numpy()
        al = j.drop_duplicates(["unit", "item"]).groupby("unit").size()
        out[al.index.to_numpy(), ALL] = al.to_numpy()
        return out


# --- leaves ---------------------------------------------------------------------------------


def _production(w: _World) -> dict[Any, tuple[np.ndarray, int]]:
    a, S, E = w.a / "premiums", w.S, w.E
    y, m = w.y, w.m
    prev, ly = _month(y, m - 1), _month(y - 1, m)
    ytd = [(y, k) for k in range(1, m)]
    other = sorted({prev, ly, *ytd})
    # the month itself: every column; the other months: what FYP needs
    t = pq.read_table(a, columns=["agent_code", "txn_day", "amount_fen", "fyp_sign", "fyc_fen",
                                  "std_fen", "is_main", "txn_type", "policy_no"],
                      filters=[("month", "=", y * 100 + m)], read_dictionary=["agent_code",
                                                                             "txn_type"])
    fyc = _scaled(t.column("fyc_fen"), 6)  # 10^-6 fen
    std = _scaled(t.column("std_fen"), 4)  # 10^-4 fen
    cur = t.drop_columns(["fyc_fen", "std_fen"]).to_pandas()
    cur = cur[(cur.txn_day >= S) & (cur.txn_day <= E)]
    fyc, std = fyc[cur.index.to_numpy()], std[cur.index.to_numpy()]
    ag = w.agent_idx(cur.agent_code)
    unit, seg = w.place(ag, cur.txn_day.to_numpy())
    sign = cur.fyp_sign.to_numpy().astype(np.int64)
    fyp = cur.amount_fen.to_numpy() * sign
    out: dict[Any, tuple[np.ndarray, int]] = {
        Production("fyp"): (w.total(unit, seg, fyp), 100),
        Production("fyc"): (w.total(unit, seg, fyc * sign), 10**8),
        Production("std_premium"): (w.total(unit, seg, std * sign), 10**6),
    }
    # net cases: distinct main policies of new rows − of free-look cancellations, per unit
    main = cur.is_main.fillna(False).to_numpy(dtype=bool)
    ttype = cur.txn_type.astype(object).to_numpy()
    pol = pd.factorize(cur.policy_no)[0]
    new, canc = main & (ttype == "new"), main & (ttype == "free_look_cancel")
    out[Production("cases")] = (w.distinct(unit[new], seg[new], pol[new])
                                - w.distinct(unit[canc], seg[canc], pol[canc]), 1)
    # active (fyp_positive): the agent's FYP over the unit's subtree > 0, counted in the category
    # of their placement on the last in-force day of the month (else at E)
    ok = unit >= 0
    pa_ = pd.DataFrame({"leaf": unit[ok], "agent": ag[ok], "fyp": fyp[ok]})
    pa_ = pa_.groupby(["leaf", "agent"], as_index=False).fyp.sum()
    j = pa_.merge(w.anc_df, on="leaf").groupby(["unit", "agent"], as_index=False).fyp.sum()
    j = j[j.fyp > 0]
    has = w.s_hire <= E
    last = pd.Series(np.minimum(E, w.s_leave[has] - 1)).groupby(w.s_agent[has]).max()
    seg_day = np.full(w.n_agents, E, dtype=np.int64)
    seg_day[last.index.to_numpy()] = np.where(last.to_numpy() >= S, last.to_numpy(), E)
    agents = np.unique(j.agent.to_numpy())
    a_unit, a_cat = w.place(agents, seg_day[agents])
    cat_of = np.full(w.n_agents, -1, dtype=np.int64)
    cat_of[agents[a_unit >= 0]] = a_cat[a_unit >= 0]
    jc = cat_of[j.agent.to_numpy()]
    keep = jc >= 0
    c = np.bincount(j.unit.to_numpy()[keep] * NSEG + jc[keep], minlength=w.n_orgs * NSEG)
    c = c.reshape(w.n_orgs, NSEG).astype(np.int64)
    act = np.concatenate([c, c.sum(axis=1, keepdims=True)], axis=1)
    out[Active()] = (act, 1)
    for k, cat in enumerate(CATEGORIES):
        only = np.zeros_like(act)
        only[:, k] = act[:, k]
        only[:, ALL] = act[:, k]  # with segment none: the category's count in the row "all"
        out[Active(cat)] = (only, 1)  # type: ignore[arg-type]
    # FYP of the previous month, the same month a year earlier, the year to date
    o = _read(a, _PREMIUM_COLS, filters=[("month", "in", [yy * 100 + mm for yy, mm in other])])
    o_ag = w.agent_idx(o.agent_code)
    o_day = o.txn_day.to_numpy().astype(np.int64)
    o_unit, o_seg = w.place(o_ag, o_day)
    o_fyp = o.amount_fen.to_numpy() * o.fyp_sign.to_numpy().astype(np.int64)
    for offset, (s, e) in (("previous", _bounds(*prev)), ("last_year", _bounds(*ly))):
        sel = (o_day >= s) & (o_day <= e)
        out[Production("fyp", offset)] = (  # type: ignore[arg-type]
            w.total(o_unit[sel], o_seg[sel], o_fyp[sel]), 100)
    sel = (o_day >= _bounds(y, 1)[0]) & (o_day < S)
    ytd_before = w.total(o_unit[sel], o_seg[sel], o_fyp[sel])
    out[Production("fyp", "year_to_date")] = (ytd_before + out[Production("fyp")][0], 100)
    return out


def _people(w: _World) -> dict[Any, tuple[np.ndarray, int]]:
    S, E = w.S, w.E
    out: dict[Any, tuple[np.ndarray, int]] = {}

    def headcount(d: int) -> np.ndarray:
        f = (w.s_hire <= d) & (d < w.s_leave)
        unit, seg = w.place(w.s_agent[f], np.full(int(f.sum()), d))
        return w.count(unit, seg)

    opening, closing = headcount(S - 1), headcount(E)
    out[People("headcount_open")] = out[People("sum_monthly_open")] = (opening, 1)
    # a single month: attrition divides by the opening (E13)
    out[People("sum_monthly_avg")] = (opening, 1)
    out[People("headcount_close")] = (closing, 1)
    out[People("headcount_avg")] = (opening + closing, 2)
    f = (w.s_hire >= S) & (w.s_hire <= E)
    out[People("new_hires")] = (w.count(*w.place(w.s_agent[f], w.s_hire[f])), 1)
    f = (w.s_leave >= S) & (w.s_leave <= E)
    last = np.maximum(w.s_hire[f], w.s_leave[f] - 1)
    out[People("leavers")] = (w.count(*w.place(w.s_agent[f], last)), 1)
    pa_, pfrom, porg, pcat = w.raw
    prev_cat = np.r_[-1, pcat[:-1]]
    same = np.r_[False, pa_[1:] == pa_[:-1]]
    conv = same & (prev_cat == 0) & ((pcat == 1) | (pcat == 2)) & (pfrom >= S) & (pfrom <= E)
    out[People("conversions")] = (w.count(porg[conv], pcat[conv]), 1)
    # cohorts: spells hired t months earlier, placed at hire; retained = still open at E;
    # converted = retained and formal/director at E (a member not placed at E is not counted)
    for t in (3, 6, 12):
        cs, ce = _bounds(w.y, w.m - t)
        f = (w.s_hire >= cs) & (w.s_hire <= ce)
        unit, seg = w.place(w.s_agent[f], w.s_hire[f])
        u_e, c_e = w.place(w.s_agent[f], np.full(int(f.sum()), E))
        placed = u_e >= 0
        retained = w.s_leave[f] > E
        out[Cohort(t, "size")] = (w.count(unit, seg, placed), 1)
        out[Cohort(t, "retained")] = (w.count(unit, seg, placed & retained), 1)
        out[Cohort(t, "converted")] = (w.count(unit, seg, placed & retained & (c_e >= 1)
                                                & (c_e <= 2)), 1)
    return out


def _activity(w: _World) -> dict[Any, tuple[np.ndarray, int]]:
    S, E = w.S, w.E
    month = w.y * 100 + w.m
    at = _read(w.a / "attendance", ["agent_code", "day", "meeting", "attended"],
               filters=[("month", "=", month)], dictionary=("agent_code", "meeting"))
    at = at[(at.day >= S) & (at.day <= E)]
    ag = w.agent_idx(at.agent_code)
    day = at.day.to_numpy().astype(np.int64)
    unit, seg = w.place(ag, day)
    inf = w.in_force(ag, day)
    out: dict[Any, tuple[np.ndarray, int]] = {
        Meetings("attended"): (w.count(unit, seg, inf & at.attended.fillna(False)
                                       .to_numpy(dtype=bool)), 1),
        Meetings("scheduled"): (w.count(unit, seg, inf), 1),
    }
    # tool usage: a unit's working days = days with a morning meeting of an agent placed in
    # its subtree; Σ over them of in-force agents with a work log / of in-force agents
    morning = (at.meeting.astype(object) == "morning").to_numpy() & (unit >= 0)
    days = np.arange(S, E + 1)
    nd = len(days)
    wd = pd.DataFrame({"leaf": unit[morning], "d": day[morning] - S}).drop_duplicates()
    wd = wd.merge(w.anc_df, on="leaf")[["unit", "d"]].drop_duplicates()
    workday = np.zeros((w.n_orgs, nd), dtype=np.int64)
    workday[wd.unit.to_numpy(), wd.d.to_numpy()] = 1
    any_day = workday.any(axis=0)
    f = (w.s_hire <= E) & (w.s_leave > S)  # spells in force on some day of the month
    sh, sl, sa = w.s_hire[f], w.s_leave[f], w.s_agent[f]
    inside = (sh[:, None] <= days[None, :]) & (days[None, :] < sl[:, None]) & any_day[None, :]
    r, c = np.nonzero(inside)
    agent, d = sa[r], days[c]
    unit_d, seg_d = w.place(agent, d)
    wl = _read(w.a / "work_logs", ["agent_code", "day"], filters=[("month", "=", month)])
    wl_key = np.unique(w.agent_idx(wl.agent_code) * _K + wl.day.to_numpy().astype(np.int64))
    filled = np.isin(agent * _K + d, wl_key)
    ok = unit_d >= 0
    cell = (unit_d[ok] * NSEG + seg_d[ok]) * nd + c[ok]
    size = w.n_orgs * NSEG * nd
    for kind, mask in (("in_force", np.ones(int(ok.sum()), dtype=bool)), ("filled", filled[ok])):
        per = np.bincount(cell[mask], minlength=size).astype(np.int64)
        u = w.fan(per.reshape(w.n_orgs, NSEG, nd))
        out[ToolUse(kind)] = ((u * workday[:, None, :]).sum(axis=2), 1)  # type: ignore[arg-type]
    return out


def _persistency(w: _World, grace_days: int) -> dict[Any, tuple[np.ndarray, int]]:
    a, E = w.a / "premiums", w.E
    cohorts = {n: _bounds(w.y, w.m - (n + 1)) for n in (13, 25)}
    iss = pc.coalesce(pc.field("issue_day"), pc.field("txn_day"))
    when = None
    for lo, hi in cohorts.values():
        c = (iss >= lo) & (iss <= hi)
        when = c if when is None else when | c
    cand = pd.read_parquet(a, columns=["policy_no"], filters=(
        (pc.field("txn_type") == "new") & (pc.field("pay_mode") == "regular") & when))
    rows = pd.read_parquet(a, columns=["txn_id", "policy_no", "agent_code", "txn_type", "txn_day",
                                       "issue_day", "amount_fen", "pay_mode", "policy_year"],
                           filters=pc.field("policy_no").isin(cand.policy_no.unique().tolist()))
    rows["pol"] = pd.factorize(rows.policy_no)[0]
    regular = rows.pay_mode == "regular"
    new = rows[regular & (rows.txn_type == "new")].copy()
    new["iss"] = new.issue_day.fillna(new.txn_day).astype(np.int64)
    first = new.sort_values(["pol", "iss", "txn_id"]).drop_duplicates("pol")
    cancelled = rows.pol[rows.txn_type == "free_look_cancel"].unique()
    first = first[~first.pol.isin(cancelled)]
    due = rows[regular & rows.txn_type.isin(["new", "fy_renewal"])].groupby("pol").amount_fen.sum()
    out: dict[Any, tuple[np.ndarray, int]] = {}
    for n, (lo, hi) in cohorts.items():
        years = (n - 1) // 12
        coh = first[(first.iss >= lo) & (first.iss <= hi)]
        # last counting day per issue day: the anniversary (29 Feb → 28 Feb) + grace
        limit = {}
        for d in range(lo, hi + 1):
            issued = EPOCH + dt.timedelta(days=d)
            try:
                ann = issued.replace(year=issued.year + years)
            except ValueError:
                ann = issued.replace(year=issued.year + years, day=28)
            limit[d] = _day(ann) + grace_days
        ren = rows[regular & (rows.txn_type == "renewal") & (rows.policy_year == years + 1)
                   & (rows.txn_day <= E)]
        ren = ren.merge(coh[["pol", "iss"]], on="pol")
        ren = ren[ren.txn_day <= ren.iss.map(limit)]
        paid = ren.groupby("pol").amount_fen.sum()
        pol = coh.pol.to_numpy()
        p_due = due.reindex(pol).to_numpy().astype(np.int64)
        p_paid = paid.reindex(pol, fill_value=0).to_numpy().astype(np.int64)
        unit, seg = w.place(w.agent_idx(coh.agent_code), coh.iss.to_numpy())
        out[Persistency(n, "due")] = (w.total(unit, seg, p_due), 100)  # type: ignore[arg-type]
        out[Persistency(n, "paid")] = (w.total(unit, seg, p_paid), 100)  # type: ignore[arg-type]
        out[Persistency(n, "policies")] = (w.count(unit, seg), 1)  # type: ignore[arg-type]
        out[Persistency(n, "paid_policies")] = (  # type: ignore[arg-type]
            w.count(unit, seg, p_paid > 0), 1)
    return out


def _plans(w: _World) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
    """FYP plan of each unit for the month and for its calendar year (docs point 12): exact,
    else the sum of the months (a year), else the sum of the children when all have one."""
    t = pq.read_table(w.a / "plans.parquet")
    df = t.drop_columns(["target"]).to_pandas()
    df["target"] = _scaled(t.column("target"), 4)  # 10^-4 元
    df = df[df.metric == "fyp"]
    df["org"] = w.org_codes.get_indexer(df.org_code)
    df = df[df.org >= 0]
    out: dict[Any, tuple[np.ndarray, np.ndarray]] = {}
    label_m = f"{w.y:04d}-{w.m:02d}"
    label_y = f"{w.y:04d}"
    for leaf, label, months in ((Plan("fyp"), label_m, []),
                                (Plan("fyp", year=True), label_y,
                                 [f"{w.y:04d}-{k:02d}" for k in range(1, 13)])):
        val = np.zeros(w.n_orgs, dtype=np.int64)
        has = np.zeros(w.n_orgs, dtype=bool)
        if months:
            mm = df[df.period.isin(months)].groupby("org").target.agg(["size", "sum"])
            mm = mm[mm["size"] == len(months)]
            val[mm.index.to_numpy()] = mm["sum"].to_numpy()
            has[mm.index.to_numpy()] = True
        ex = df[df.period == label]
        val[ex.org.to_numpy()] = ex.target.to_numpy()
        has[ex.org.to_numpy()] = True
        kids = w.parent >= 0
        for depth in sorted(set(w.depth[kids].tolist()), reverse=True):
            c = kids & (w.depth == depth)
            g = pd.DataFrame({"p": w.parent[c], "has": has[c], "v": val[c]}).groupby("p").agg(
                n=("has", "size"), k=("has", "sum"), v=("v", "sum"))
            g = g[(g.n == g.k)]
            p = g.index.to_numpy()
            fill = p[~has[p]]
            val[fill] = g.v.reindex(fill).to_numpy()
            has[fill] = True
        out[leaf] = (val, has)
    return out


# --- the report -----------------------------------------------------------------------------


def _decimals(a: np.ndarray, scale: int) -> np.ndarray:
    d = np.fromiter(map(Decimal, a.tolist()), dtype=object, count=len(a))
    return d / Decimal(scale) if scale != 1 else d


def _not_none(a: np.ndarray) -> np.ndarray:
    return np.fromiter((x is not None for x in a), dtype=bool, count=len(a))


def full_report(analytics_dir: Path, period: str, *, grace_days: int = 60) -> pd.DataFrame:
    """The full monthly report of ``period`` (``YYYY-MM``, a natural month) — see the module."""
    w = _World(Path(analytics_dir), period)
    leaves: dict[Any, tuple[np.ndarray, int]] = {}
    leaves.update(_production(w))
    leaves.update(_people(w))
    leaves.update(_activity(w))
    leaves.update(_persistency(w, grace_days))
    plans = _plans(w)
    units = w.units
    codes = w.org_codes[units].to_numpy()
    n_u = len(units)
    metrics = list(METRICS)
    frames = []
    for segment in SEGMENTS:
        cols = [ALL] if segment == "none" else [0, 1, 2]
        labels = ["all"] if segment == "none" else list(CATEGORIES)
        n_keys = n_u * len(cols)
        cache: dict[Any, np.ndarray] = {}

        def leaf_column(leaf: Any, cols: list[int] = cols, n_keys: int = n_keys,
                        cache: dict[Any, np.ndarray] = cache, segment: str = segment
                        ) -> np.ndarray:
            if leaf not in cache:
                if isinstance(leaf, Plan):
                    col = np.full(n_keys, None, dtype=object)
                    if segment == "none":  # plans apply to the unsegmented rows only
                        val, has = plans[leaf]
                        v, h = val[units], has[units]
                        col[h] = _decimals(v[h], 10**4)
                    cache[leaf] = col
                else:
                    arr, scale = leaves[leaf]
                    cache[leaf] = _decimals(arr[units][:, cols].ravel(), scale)
            return cache[leaf]

        def column(node: Any, leaf_column: Any = leaf_column, n_keys: int = n_keys
                   ) -> np.ndarray:
            if isinstance(node, Ratio):
                return _divide(column(node.numerator), column(node.denominator), n_keys)
            if isinstance(node, Difference):
                a, b = column(node.left), column(node.right)
                out = np.full(n_keys, None, dtype=object)
                ok = _not_none(a) & _not_none(b)
                out[ok] = a[ok] - b[ok]
                return out
            return leaf_column(node)

        value = np.empty((n_keys, len(metrics)), dtype=object)
        numer = np.full((n_keys, len(metrics)), None, dtype=object)
        denom = np.full((n_keys, len(metrics)), None, dtype=object)
        for i, code in enumerate(metrics):
            node = METRICS[code].node
            if isinstance(node, Ratio):
                n, d = column(node.numerator), column(node.denominator)
                value[:, i] = _divide(n, d, n_keys)
                numer[:, i], denom[:, i] = n, d
            else:
                value[:, i] = column(node)
        n_m = len(metrics)
        frames.append(pd.DataFrame({
            "org_code": np.repeat(codes, len(cols) * n_m),
            "segment": np.tile(np.repeat(np.array(labels, dtype=object), n_m), n_u),
            "metric": np.tile(np.array(metrics, dtype=object), n_keys),
            "value": value.ravel(), "numerator": numer.ravel(), "denominator": denom.ravel()}))
    return pd.concat(frames, ignore_index=True)


def _divide(n: np.ndarray, d: np.ndarray, n_keys: int) -> np.ndarray:
    out = np.full(n_keys, None, dtype=object)
    ok = _not_none(n) & _not_none(d)
    ok[ok] = d[ok] != 0
    out[ok] = n[ok] / d[ok]
    return out


# --- against the engine -----------------------------------------------------------------------

#: the settings this baseline implements (a demo workspace's defaults)
EXPECTED_SETTINGS = {"calendar.month_basis": "natural", "kpi.premium_basis": "received",
                     "kpi.active_rule": "fyp_positive", "kpi.cases": "net",
                     "kpi.average_headcount": "mean_of_months"}


def check_settings(ws: Any) -> None:
    s = ws.settings
    got = {"calendar.month_basis": s.calendar.month_basis,
           "kpi.premium_basis": s.kpi.premium_basis, "kpi.active_rule": s.kpi.active_rule,
           "kpi.cases": s.kpi.cases, "kpi.average_headcount": s.kpi.average_headcount}
    if got != EXPECTED_SETTINGS:
        raise ValueError(f"the pandas baseline implements {EXPECTED_SETTINGS}, not {got}")


def engine_report(ws: Any, period: str) -> pd.DataFrame:
    """The engine's full report: ``by="subtree"`` for segments none and rank_category."""
    from zhuizong.kpi.engine import KpiRequest, compute

    return pd.concat([compute(ws, KpiRequest(period=period, by="subtree", segment=s)).frame()
                      for s in SEGMENTS], ignore_index=True)


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None or (isinstance(a, float) and a != a) or \
            (isinstance(b, float) and b != b):
        return (a is None or (isinstance(a, float) and a != a)) and \
            (b is None or (isinstance(b, float) and b != b))
    return bool(a == b)  # Decimal == Decimal: exact


def mismatches(engine: pd.DataFrame, pandas_: pd.DataFrame) -> pd.DataFrame:
    """Every (org_code, segment, metric) whose value, numerator or denominator differs between
    the engine's frame (``KpiResult.frame()`` rows) and :func:`full_report`'s — exact Decimal
    equality, None equal only to None; a key on one side only is a mismatch. Columns: the key,
    ``side`` (both / engine_only / pandas_only) and both sides' numbers."""
    keys = ["org_code", "segment", "metric"]
    m = engine[[*keys, "value", "numerator", "denominator"]].merge(
        pandas_, on=keys, how="outer", suffixes=("_engine", "_pandas"), indicator="side")
    bad = (m.side != "both").to_numpy()
    for c in ("value", "numerator", "denominator"):
        bad |= ~np.fromiter((_same(a, b) for a, b in zip(m[f"{c}_engine"], m[f"{c}_pandas"],
                                                          strict=True)), dtype=bool, count=len(m))
    out = m[bad].copy()
    out["side"] = out.side.astype(str).map({"both": "both", "left_only": "engine_only",
                                            "right_only": "pandas_only"})
    return out.reset_index(drop=True)


def compare(ws: Any, period: str) -> pd.DataFrame:
    """:func:`mismatches` of the engine's full report (:func:`engine_report`) and
    :func:`full_report` on ``ws`` for ``period`` (empty: the same numbers everywhere)."""
    check_settings(ws)
    eng = engine_report(ws, period)  # refreshes the snapshot first when the database changed
    mine = full_report(ws.analytics_dir, period,
                       grace_days=ws.settings.kpi.persistency_grace_days)
    return mismatches(eng, mine)


__all__ = ["check_settings", "compare", "engine_report", "full_report", "mismatches"]
