"""Campaign standings: eligibility, the measure, tiers, pace and rankings — in bulk.

Everything is computed for the whole eligible force at once: grouped Ibis expressions over the
analytic snapshot (DuckDB) produce one row per agent, and the tiers, gaps, pace and rankings are
vectorised pandas/numpy operations on that frame. Nothing loops over agents. Exact rules (which
rows count, the grace period, the tie-breaker order) are fixed in ``docs/campaigns.md``:

* **Eligibility** is decided on the agent's *first in-force day of the period* (the start date, or
  the hire day of someone hired during the period): rank, rank category and org unit of the
  placement on that day, tenure month on that day (basis months since the hire month, as the KPI
  engine's tenure, M0 = month of hire). With ``exclude_leavers`` (default) an agent no longer in
  force at the measuring day is out.
* **Result window:** ``new`` and ``fy_renewal`` rows attributed (``kpi.premium_basis``) to a day in
  ``[start, min(as_of, end)]`` count positively; a ``free_look_cancel`` row counts negatively when
  its policy was *written in the period* (a ``new`` row in the window) and the cancellation is dated
  in ``[start, min(as_of, end + grace_days)]``. Cancellations after the grace period, and
  surrenders, never change a campaign result.
* **Team** of an agent = the org unit of their placement on the measuring day
  (``min(as_of, end)``, or their last in-force day); a team ranking at level L sums the results of
  the eligible agents whose unit lies under the level-L unit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd

from zhuizong.analytics import snapshot
from zhuizong.analytics.calendar import Basis, day_num, from_day_num
from zhuizong.campaigns.config import Campaign
from zhuizong.kpi import compiler

OPEN_DAY = compiler.OPEN_DAY
_EPOCH = np.datetime64("1970-01-01", "D")

#: individual standings columns (in this order)
COLUMNS = ["position", "agent_code", "agent_name", "org_code", "org_name", "value", "cases", "fyp",
           "fyc", "std_premium", "reached_on", "tier_index", "tier", "next_tier", "gap",
           "gap_share", "projection", "projected_tier"]
TEAM_COLUMNS = ["position", "org_code", "org_name", "level", "value", "members", "achievers",
                "cases", "value_per_member"]


@dataclass
class Window:
    """Day numbers of a campaign evaluated on ``as_of``."""

    start: int
    end: int
    grace_end: int
    pos_end: int  # last day whose production counts: min(as_of, end)
    cancel_end: int  # last day whose free-look cancellations count: min(as_of, end + grace)
    as_of: dt.date
    total_days: int
    elapsed_days: int  # days of the period up to as_of (0 before the start)

    @classmethod
    def of(cls, c: Campaign, as_of: dt.date) -> Window:
        s, e = day_num(c.start), day_num(c.end)
        a = day_num(as_of)
        return cls(start=s, end=e, grace_end=e + c.grace_days, pos_end=min(a, e),
                   cancel_end=min(a, e + c.grace_days), as_of=as_of, total_days=e - s + 1,
                   elapsed_days=max(0, min(a, e) - s + 1))

    @property
    def days_left(self) -> int:
        """Days of the period after ``as_of`` (0 once the end is reached)."""
        return max(0, self.end - max(self.pos_end, self.start - 1))


@dataclass
class Standings:
    campaign: Campaign
    window: Window
    rows: pd.DataFrame  # COLUMNS, ordered by position
    teams: dict[str, pd.DataFrame] = field(default_factory=dict)  # level -> TEAM_COLUMNS
    frozen: bool = False
    eligible: int = 0


def month_index(days: np.ndarray, basis: Basis) -> np.ndarray:
    """Basis month index (year × 12 + month − 1) of each day number (vectorised)."""
    d = _EPOCH + days.astype("int64").astype("timedelta64[D]")
    y = d.astype("datetime64[Y]").astype(int) + 1970
    m = d.astype("datetime64[M]").astype(int) % 12  # 0-based
    if basis.kind == "work":
        dom = (d - d.astype("datetime64[M]")).astype(int) + 1
        shift = (dom > basis.cutoff_day) & (m != 11)
        m = m + shift.astype(int)
    return (y * 12 + m).astype("int64")


# --- eligibility ---------------------------------------------------------------------------------


@dataclass
class Facts:
    """The parts of the analytic snapshot a campaign reads: DuckDB tables and the (small) org tree.

    Lighter than :class:`zhuizong.kpi.compiler.Snapshot` (which also loads every placement into
    pandas): standings join placements inside DuckDB."""

    con: Any
    t: dict[str, Any]
    orgs_df: pd.DataFrame
    anc_df: pd.DataFrame

    @classmethod
    def open(cls, ws: Any) -> Facts:
        import glob

        paths = snapshot.tables(ws)  # refreshes first when the database changed
        con = ibis.duckdb.connect()
        con.raw_sql("SET enable_progress_bar = false")  # nothing on the web server's stderr
        t: dict[str, Any] = {}
        for name in ("orgs", "org_ancestors", "spells", "placements", "premiums"):
            path = paths[name]
            if any(ch in path for ch in "*?") and not glob.glob(path):
                t[name] = ibis.memtable(compiler._FACT_SCHEMAS[name].empty_table())
            else:
                t[name] = con.read_parquet(path, table_name=f"zc_{name}")
        return cls(con, t, con.execute(t["orgs"]), con.execute(t["org_ancestors"]))

    @classmethod
    def of(cls, snap: compiler.Snapshot | Facts) -> Facts:
        if isinstance(snap, Facts):
            return snap
        return cls(snap.con, snap.t, snap.orgs_df, snap.anc_df)


def _placements(f: Facts) -> Any:
    """Placements with each agent's earliest row extended backwards (as the KPI engine)."""
    p = f.t["placements"]
    first = p.group_by("agent_code").aggregate(first_from=p.from_day.min())
    p = p.join(first, "agent_code")
    return p.mutate(from_day=ibis.ifelse(p.from_day == p.first_from, -OPEN_DAY, p.from_day))


def eligible_expr(f: Facts, c: Campaign, w: Window) -> Any:
    """Candidates (before the tenure filter): agent_code, elig_day, hire_day, org_code (team)."""
    sp = f.t["spells"]
    sp = sp.filter((sp.hire_day <= w.pos_end) & (sp.leave_day > w.start))
    ag = sp.group_by("agent_code").aggregate(hire_day=sp.hire_day.min(),
                                              last_leave=sp.leave_day.max())
    if c.eligibility.exclude_leavers:
        ag = ag.filter(ag.last_leave > w.pos_end)
    ag = ag.mutate(elig_day=ibis.greatest(ag.hire_day, w.start).cast("int32"),
                   team_day=ibis.least(ag.last_leave - 1, w.pos_end).cast("int32"))
    p = _placements(f)
    pe = p.select(e_agent=p.agent_code, e_from=p.from_day, e_to=p.to_day, e_org=p.org_code,
                  e_rank=p.rank_code, e_cat=p.category)
    j = ag.join(pe, [ag.agent_code == pe.e_agent, pe.e_from <= ag.elig_day, ag.elig_day < pe.e_to])
    el = c.eligibility
    if el.ranks:
        j = j.filter(j.e_rank.isin(list(el.ranks)))
    if el.categories:
        j = j.filter(j.e_cat.isin(list(el.categories)))
    if el.orgs:
        anc = f.anc_df
        inside = sorted(set(anc.loc[anc.ancestor_code.isin(el.orgs), "org_code"]))
        units = ibis.memtable(pd.DataFrame({"u_org": pd.Series(inside, dtype=object)}))
        j = j.join(units, j.e_org == units.u_org)
    j = j.select("agent_code", "hire_day", "elig_day", "team_day")
    pt = p.select(t_agent=p.agent_code, t_from=p.from_day, t_to=p.to_day, org_code=p.org_code)
    j2 = j.join(pt, [j.agent_code == pt.t_agent, pt.t_from <= j.team_day, j.team_day < pt.t_to])
    return j2.select("agent_code", "hire_day", "elig_day", "org_code")


def _tenure_filter(c: Campaign, df: pd.DataFrame, basis: Basis) -> pd.DataFrame:
    el = c.eligibility
    if el.min_tenure_months is None and el.max_tenure_months is None:
        return df
    tenure = (month_index(df.elig_day.to_numpy(), basis) - month_index(df.hire_day.to_numpy(), basis))
    keep = np.ones(len(df), dtype=bool)
    if el.min_tenure_months is not None:
        keep &= tenure >= el.min_tenure_months
    if el.max_tenure_months is not None:
        keep &= tenure <= el.max_tenure_months
    return df[keep]


# --- the measure ---------------------------------------------------------------------------------


def _counted_rows(f: Facts, w: Window, issued: bool) -> Any:
    """Premium rows that count for the campaign, with ``sign`` (+1/−1), ``day`` (when the row took
    effect) and ``w_day`` (the day its policy was written, for active months)."""
    pr = f.t["premiums"]
    if issued:
        aday = ibis.ifelse((pr.txn_type == "new") & pr.issue_day.notnull(), pr.issue_day,
                           pr.txn_day)
    else:
        aday = pr.txn_day
    pr = pr.mutate(aday=aday.cast("int32"))
    cols = ["agent_code", "policy_no", "txn_type", "is_main", "amount_fen", "fyc_fen", "std_fen"]
    pos = pr.filter(pr.txn_type.isin(["new", "fy_renewal"]) & (pr.aday >= w.start)
                    & (pr.aday <= w.pos_end))
    pos = pos.select(*cols, sign=ibis.literal(1, "int8"), day=pos.aday, w_day=pos.aday)
    written = pos.filter(pos.txn_type == "new").group_by("policy_no").aggregate(
        written_day=lambda t: t.day.min())
    cn = pr.filter((pr.txn_type == "free_look_cancel") & (pr.txn_day >= w.start)
                   & (pr.txn_day <= w.cancel_end))
    cn = cn.join(written, "policy_no")
    cn = cn.select(*cols, sign=ibis.literal(-1, "int8"), day=cn.txn_day, w_day=cn.written_day)
    return pos.union(cn)


def _fetch(f: Facts, expr: Any) -> pd.DataFrame:
    return f.con.to_pyarrow(expr).to_pandas()


def measure_frame(f: Facts, c: Campaign, w: Window, basis: Basis, issued: bool,
                  recruits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per eligible agent: org_code, value, cases, fyp, fyc, std_premium (元) and reached_day.

    One DuckDB query for the eligible agents joined with their sums and reaching day."""
    elig = eligible_expr(f, c, w)
    rows = _counted_rows(f, w, issued)
    agg = rows.group_by("agent_code").aggregate(
        fyp_fen=(rows.amount_fen * rows.sign).sum(),
        fyc_fen=(rows.fyc_fen.cast("decimal(38, 6)") * rows.sign).sum(),
        std_fen=(rows.std_fen.cast("decimal(38, 4)") * rows.sign).sum(),
        cases_pos=rows.policy_no.nunique(where=rows.is_main & (rows.sign == 1)
                                         & (rows.txn_type == "new")),
        cases_neg=rows.policy_no.nunique(where=rows.is_main & (rows.sign == -1)),
    )
    agg = agg.select(
        s_agent=agg.agent_code,
        fyp=(agg.fyp_fen.cast("decimal(38, 2)") / 100).round(2).cast("float64"),
        fyc=(agg.fyc_fen / 100).round(2).cast("float64"),
        std_premium=(agg.std_fen / 100).round(2).cast("float64"),
        cases=(agg.cases_pos - agg.cases_neg).cast("int64"),
    )
    q = elig.left_join(agg, elig.agent_code == agg.s_agent).drop("s_agent")
    m = c.measure
    if m in ("fyp", "fyc", "std_premium", "cases"):
        # reaching day: the first day the running total reached the final result
        if m == "cases":
            contrib = rows.filter(rows.is_main & ((rows.txn_type == "new") | (rows.sign == -1)))
            daily = contrib.group_by(["agent_code", "day"]).aggregate(
                v=contrib.sign.cast("int64").sum())
        else:
            col = {"fyp": rows.amount_fen.cast("decimal(38, 6)"),
                   "fyc": rows.fyc_fen.cast("decimal(38, 6)"),
                   "std_premium": rows.std_fen.cast("decimal(38, 6)")}[m]
            daily = rows.group_by(["agent_code", "day"]).aggregate(v=(col * rows.sign).sum())
        run = daily.mutate(
            run=daily.v.sum().over(ibis.cumulative_window(group_by="agent_code", order_by="day")),
            total=daily.v.sum().over(ibis.window(group_by="agent_code")))
        reached = run.filter((run.run >= run.total) & (run.total > 0)).group_by("agent_code") \
            .aggregate(reached_day=lambda t: t.day.min())
        reached = reached.select(r_agent=reached.agent_code, reached_day=reached.reached_day)
        q = q.left_join(reached, q.agent_code == reached.r_agent).drop("r_agent")
    out = _tenure_filter(c, _fetch(f, q), basis)
    for col in ("fyp", "fyc", "std_premium"):
        out[col] = out[col].astype(float).fillna(0.0)
    out["cases"] = out["cases"].fillna(0).astype("int64")
    if m in ("fyp", "fyc", "std_premium", "cases"):
        out["value"] = out[m].astype(float)
    elif m == "active_months":
        daily = _fetch(f, rows.group_by(["agent_code", "w_day"]).aggregate(
            v=(rows.amount_fen * rows.sign).sum()))
        out["value"] = 0.0
        if len(daily):
            daily["month"] = month_index(daily.w_day.to_numpy(), basis)
            per = daily.groupby(["agent_code", "month"], as_index=False)["v"].sum()
            act = per[per.v > 0].groupby("agent_code").size()
            out["value"] = out.agent_code.map(act).fillna(0).astype(float).to_numpy()
    elif m == "new_recruits":
        sp = _fetch(f, f.t["spells"].select("agent_code", "hire_day"))
        sp = sp[(sp.hire_day >= w.start) & (sp.hire_day <= w.pos_end)]
        rec = recruits if recruits is not None else pd.DataFrame(
            columns=["agent_code", "recruiter_code"])
        hires = sp.merge(rec, on="agent_code", how="inner").dropna(subset=["recruiter_code"])
        cnt = hires.groupby("recruiter_code").agg(value=("hire_day", "size"),
                                                 reached_day=("hire_day", "max"))
        out["value"] = out.agent_code.map(cnt["value"]).fillna(0).astype(float).to_numpy()
        out["reached_day"] = out.agent_code.map(cnt["reached_day"]).to_numpy()
    else:  # pragma: no cover - a registry ``campaign`` measure this engine does not compute
        raise AssertionError(f"campaign measure {m} is not computed by the campaign engine")
    if "reached_day" not in out:
        out["reached_day"] = np.nan
    out["reached_day"] = out["reached_day"].astype("float64")
    return out.drop(columns=["hire_day", "elig_day"]).reset_index(drop=True)


# --- tiers, pace, rankings -----------------------------------------------------------------------


def rank_individuals(c: Campaign, w: Window, df: pd.DataFrame) -> pd.DataFrame:
    """Sort by the measure (desc), the configured tie-breakers, then agent code; add tiers."""
    keys: list[str] = ["value"]
    asc: list[bool] = [False]
    for tb in c.tie_breakers:
        if tb == "reached":
            df["_reached"] = df["reached_day"].fillna(float(OPEN_DAY))
            keys.append("_reached")
            asc.append(True)
        else:
            keys.append(tb)
            asc.append(False)
    keys.append("agent_code")
    asc.append(True)
    df = df.sort_values(keys, ascending=asc, kind="mergesort").reset_index(drop=True)
    df = df.drop(columns=[k for k in ("_reached",) if k in df])
    df.insert(0, "position", np.arange(1, len(df) + 1, dtype="int64"))
    return add_tiers(c, w, df)


def add_tiers(c: Campaign, w: Window, df: pd.DataFrame) -> pd.DataFrame:
    th = np.array([float(t.threshold) for t in c.tiers])
    names = np.array([t.name for t in c.tiers] + [None], dtype=object)
    v = df["value"].to_numpy(dtype=float)
    idx = np.searchsorted(th, v, side="right") - 1  # −1: no tier
    df["tier_index"] = idx
    df["tier"] = np.where(idx >= 0, names[np.clip(idx, 0, None)], None)
    nxt = idx + 1
    has_next = nxt < len(th)
    nth = th[np.clip(nxt, 0, len(th) - 1)]
    df["next_tier"] = np.where(has_next, names[np.clip(nxt, 0, len(th) - 1)], None)
    df["gap"] = np.where(has_next, np.round(nth - v, 2), np.nan)
    df["gap_share"] = np.where(has_next, np.round((nth - v) / nth, 6), np.nan)
    if w.elapsed_days <= 0:
        proj = np.zeros_like(v)
    elif w.pos_end >= w.end:
        proj = v.copy()
    else:
        proj = v * w.total_days / w.elapsed_days
    df["projection"] = np.round(proj, 2)
    pidx = np.searchsorted(th, df["projection"].to_numpy(), side="right") - 1
    df["projected_tier"] = np.where(pidx >= 0, names[np.clip(pidx, 0, None)], None)
    return df


def rank_teams(df: pd.DataFrame, snap: compiler.Snapshot | Facts, level: str) -> pd.DataFrame:
    """Team ranking at org ``level``: Σ value desc, achievers desc, cases desc, org code."""
    orgs, anc = snap.orgs_df, snap.anc_df
    units = orgs.loc[orgs.level == level, ["org_code", "org_name"]]
    a = anc[anc.ancestor_code.isin(units.org_code)][["org_code", "ancestor_code"]]
    m = df[["org_code", "value", "cases", "tier_index"]].merge(a, on="org_code", how="inner")
    if m.empty:
        return pd.DataFrame(columns=TEAM_COLUMNS)
    m["ach"] = (m.tier_index >= 0).astype("int64")
    g = m.groupby("ancestor_code").agg(value=("value", "sum"), members=("value", "size"),
                                       achievers=("ach", "sum"), cases=("cases", "sum"))
    g = g.reset_index().rename(columns={"ancestor_code": "org_code"})
    g["value"] = g["value"].round(2)
    g = g.merge(units, on="org_code", how="left")
    g = g.sort_values(["value", "achievers", "cases", "org_code"],
                      ascending=[False, False, False, True], kind="mergesort").reset_index(drop=True)
    g.insert(0, "position", np.arange(1, len(g) + 1, dtype="int64"))
    g["level"] = level
    g["value_per_member"] = np.round(g["value"] / g["members"].clip(lower=1), 2)
    return g[TEAM_COLUMNS]


def compute(snap: compiler.Snapshot | Facts, c: Campaign, as_of: dt.date, *, basis: Basis,
            issued: bool, names: dict[str, str] | pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
            recruits: pd.DataFrame | None = None) -> Standings:
    """Live standings of ``c`` on ``as_of`` for every eligible agent (no scope applied here).

    ``names``: agent names (a frame agent_code/agent_name, a dict, or a callable returning the
    frame — called only after the DuckDB work, so a caller may fetch names concurrently)."""
    f = Facts.of(snap)
    w = Window.of(c, as_of)
    df = measure_frame(f, c, w, basis, issued, recruits)
    df = rank_individuals(c, w, df)
    org_names = dict(zip(f.orgs_df.org_code, f.orgs_df.org_name, strict=True))
    df["org_name"] = df.org_code.map(org_names)
    if callable(names):
        names = names()
    if isinstance(names, pd.DataFrame):
        df["agent_name"] = df.agent_code.map(names.set_index("agent_code")["agent_name"])
    elif names is not None:
        df["agent_name"] = df.agent_code.map(names)
    else:
        df["agent_name"] = None
    df["agent_name"] = df["agent_name"].fillna("")
    rd = df.reached_day.to_numpy()
    df["reached_on"] = [None if x != x else from_day_num(int(x)) for x in rd]
    return Standings(campaign=c, window=w, rows=df[COLUMNS], eligible=len(df))


def team_levels(snap: compiler.Snapshot | Facts) -> list[str]:
    lv = snap.orgs_df.level.dropna()
    return sorted(lv.unique().tolist())


def as_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain JSON-able dicts (NaN → None, numpy scalars → Python)."""
    out = []
    cols = list(df.columns)
    for tup in df.itertuples(index=False, name=None):
        rec = {}
        for k, v in zip(cols, tup, strict=True):
            if isinstance(v, float) and v != v:
                v = None
            elif hasattr(v, "item"):
                v = v.item()
            if isinstance(v, dt.date):
                v = v.isoformat()
            rec[k] = v
        out.append(rec)
    return out


__all__ = ["COLUMNS", "TEAM_COLUMNS", "Standings", "Window", "add_tiers", "as_records", "compute",
           "Facts", "eligible_expr", "measure_frame", "month_index", "rank_individuals", "rank_teams",
           "team_levels"]
