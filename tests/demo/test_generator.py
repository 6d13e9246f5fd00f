"""The demo generator: determinism, referential integrity, calibration and the headcount identity.

Calibration targets are those of docs/demo.md, measured on the default 3,000-agent, 3-year demo
with the kpi-spec definitions (§2, §5, §6) computed here independently with plain pandas.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from zhuizong.demo import DemoParams, default_end_date, generate
from zhuizong.demo.generator import DemoData
from zhuizong.importing.kinds import IMPORT_ORDER, KINDS

END = dt.date(2026, 4, 30)
FYP_SIGN = {"new": 1, "fy_renewal": 1, "free_look_cancel": -1, "surrender": -1, "renewal": 0}


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate(DemoParams(end_date=END))  # 3,000 agents × 3 years


@pytest.fixture(scope="module")
def spells(demo: DemoData) -> pd.DataFrame:
    return _spells(demo)


def _spells(demo: DemoData) -> pd.DataFrame:
    """Employment spells rebuilt from the events: each hire/rehire with the next leave."""
    ev = demo["agent_events"]
    starts = ev[ev.event_type.isin(["hire", "rehire"])][["agent_code", "event_date", "org_code"]]
    starts = starts.rename(columns={"event_date": "hire", "org_code": "hire_org"})
    leaves = ev[ev.event_type == "leave"][["agent_code", "event_date"]]
    leaves = leaves.rename(columns={"event_date": "leave"})
    sp = pd.merge_asof(
        starts.sort_values("hire"),
        leaves.sort_values("leave"),
        left_on="hire",
        right_on="leave",
        by="agent_code",
        direction="forward",
        allow_exact_matches=False,
    )
    return sp.sort_values(["agent_code", "hire"]).reset_index(drop=True)


def _in_force(sp: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    return (sp.hire <= day) & (sp.leave.isna() | (sp.leave > day))


# --- shape and determinism ----------------------------------------------------------------------


def test_default_end_date_is_yesterday() -> None:
    from zhuizong.demo.params import last_closed_month

    assert default_end_date(dt.date(2026, 5, 17)) == dt.date(2026, 5, 16)
    assert default_end_date(dt.date(2026, 3, 1)) == dt.date(2026, 2, 28)
    assert last_closed_month(dt.date(2026, 5, 16)) == "2026-04"
    assert last_closed_month(dt.date(2026, 2, 28)) == "2026-02"
    assert last_closed_month(dt.date(2026, 1, 5)) == "2025-12"
    p = DemoParams(end_date=END)
    assert p.start_date == dt.date(2023, 5, 1)


def test_frames_have_exactly_the_kind_columns_and_types(demo: DemoData) -> None:
    assert list(demo.frames) == list(IMPORT_ORDER)
    for kind, frame in demo.frames.items():
        k = KINDS[kind]
        assert list(frame.columns) == [c.code for c in k.columns], kind
        assert len(frame) > 0, kind  # every kind is generated, goals and staff assignments too
        if len(frame) == 0:
            continue
        for c in k.columns:
            s = frame[c.code]
            if c.type == "date":
                assert s.dtype == "datetime64[ns]", (kind, c.code)
            elif c.type == "int":  # an optional int with empty values: pandas' nullable Int64
                assert s.dtype == np.int64 or (not c.is_required and s.dtype == "Int64"), (kind, c.code)
            elif c.type in ("money", "decimal"):
                assert s.dtype == np.float64, (kind, c.code)
            elif c.type == "bool":
                assert s.dtype == bool, (kind, c.code)
            else:
                vals = s.dropna()
                assert all(isinstance(v, str) for v in vals.head(1000)), (kind, c.code)
            if c.is_required:
                assert s.notna().all(), (kind, c.code)
            if c.choices:
                assert set(s.dropna()) <= set(c.choices), (kind, c.code)
    p = demo["premiums"]
    for col in ("amount", "fyc"):
        fen = p[col].dropna() * 100
        assert np.allclose(fen, np.round(fen), atol=1e-6), col
    assert (p.amount > 0).all() and (p.fyc.dropna() >= 0).all()
    assert demo["agents"].agent_code.str.fullmatch(r"\d{8}").all()
    assert demo["agents"].agent_code.str.startswith("0").all()  # zero padding is data


def test_same_seed_same_frames_other_seed_differs() -> None:
    p = DemoParams(agents=300, years=2, end_date=END)
    a, b = generate(p), generate(p)
    for kind in IMPORT_ORDER:
        assert_frame_equal(a[kind], b[kind], check_exact=True)
    c = generate(p.model_copy(update={"seed": p.seed + 1}))
    assert not a["premiums"].equals(c["premiums"])
    assert not a["agents"].equals(c["agents"])


# --- referential integrity ------------------------------------------------------------------------


def test_keys_unique_per_kind(demo: DemoData) -> None:
    for kind, frame in demo.frames.items():
        key = list(KINDS[kind].key)
        assert not frame.duplicated(key).any(), kind


def test_references_exist(demo: DemoData) -> None:
    orgs = set(demo["org_units"].org_code)
    ranks = set(demo["ranks"].rank_code)
    agents = set(demo["agents"].agent_code)
    products = set(demo["products"].product_code)
    sessions = set(demo["training_sessions"].session_code)
    for kind, frame in demo.frames.items():
        for c in KINDS[kind].columns:
            if c.ref is None or c.ref[0] == "users":  # users are created, not imported
                continue
            target = {"org_units": orgs, "ranks": ranks, "agents": agents, "products": products,
                      "training_sessions": sessions}[
                c.ref[0]
            ]
            missing = set(frame[c.code].dropna()) - target
            assert not missing, (kind, c.code, list(missing)[:5])


def test_org_tree(demo: DemoData) -> None:
    o = demo["org_units"].set_index("org_code")
    assert (o.parent_code.isna() == (o.level == "branch")).all()
    child_level = {"sub_branch": "branch", "department": "sub_branch", "group": "department"}
    for lvl, parent_lvl in child_level.items():
        parents = o.loc[o.level == lvl, "parent_code"]
        assert (o.loc[parents, "level"] == parent_lvl).all()
        assert all(c.startswith(p) for c, p in parents.items())
    assert o.index.str.fullmatch(r"B\d{2}(S\d{2}(D\d{2}(G\d{2})?)?)?").all()


def test_supervisors_are_directors_heading_the_unit(demo: DemoData) -> None:
    a = demo["agents"].set_index("agent_code")
    cat = demo["ranks"].set_index("rank_code").category
    o = demo["org_units"].set_index("org_code")
    sup = a.supervisor_code.dropna()
    assert (cat[a.loc[sup.unique(), "rank_code"]] == "director").all()
    heads = {v: k for k, v in demo.heads.items()}
    for agent, s in sup.items():
        if agent in heads:  # a head reports to the head of the parent unit
            assert s == demo.heads[o.loc[heads[agent], "parent_code"]]
        else:
            assert s == demo.heads[a.loc[agent, "org_code"]]
    # recruiters: the supervisor or another agent, never oneself
    rec = a.recruiter_code.dropna()
    assert (rec != rec.index).all()
    assert len(rec) > 0.9 * len(a)


def test_events_inside_spells_and_agents_row_is_current_spell(
    demo: DemoData, spells: pd.DataFrame
) -> None:
    ev = demo["agent_events"]
    a = demo["agents"].set_index("agent_code")
    end = pd.Timestamp(END)
    assert ev.event_date.max() <= end
    # every agent's history starts with a hire; spells alternate hire/rehire … leave
    first = ev.sort_values(["agent_code", "event_date"]).groupby("agent_code").event_type.first()
    assert (first == "hire").all() and set(first.index) == set(a.index)
    n_start = ev.event_type.isin(["hire", "rehire"]).groupby(ev.agent_code).sum()
    n_leave = (ev.event_type == "leave").groupby(ev.agent_code).sum()
    assert ((n_start - n_leave).isin([0, 1])).all()
    # in-spell events: strictly after the spell's start, before its leave date
    mid = ev[~ev.event_type.isin(["hire", "rehire", "leave"])]
    m = pd.merge_asof(
        mid.sort_values("event_date"),
        spells.sort_values("hire"),
        left_on="event_date",
        right_on="hire",
        by="agent_code",
    )
    assert m.hire.notna().all()
    assert (m.event_date > m.hire).all()
    assert (m.leave.isna() | (m.event_date < m.leave)).all()
    # the agents row is the latest spell
    last = spells.groupby("agent_code").tail(1).set_index("agent_code")
    assert (last.hire == a.loc[last.index, "hire_date"]).all()
    la = a.loc[last.index, "leave_date"]
    assert ((last.leave == la) | (last.leave.isna() & la.isna())).all()
    # a hire/rehire event carries rank, org and supervisor; the hire rank is probationary
    starts = ev[ev.event_type.isin(["hire", "rehire"])]
    assert starts[["rank_code", "org_code"]].notna().all().all()
    assert (starts.rank_code == "T").all()
    # the agents row's state equals the state of the latest event naming it
    named = ev[ev.org_code.notna()].sort_values(["agent_code", "event_date"])
    cur = named.groupby("agent_code").tail(1).set_index("agent_code")
    assert (cur.org_code == a.loc[cur.index, "org_code"]).all()
    assert (cur.rank_code == a.loc[cur.index, "rank_code"]).all()


def test_rank_changes_follow_the_ladder(demo: DemoData) -> None:
    ev = demo["agent_events"].sort_values(["agent_code", "event_date"])
    lvl = demo["ranks"].set_index("rank_code").level
    cat = demo["ranks"].set_index("rank_code").category
    named = ev[ev.rank_code.notna()].copy()
    named["prev"] = named.groupby("agent_code").rank_code.shift()
    conv = named[named.event_type == "convert"]
    assert (cat[conv.prev].to_numpy() == "probationary").all()
    assert (cat[conv.rank_code].to_numpy() == "formal").all()
    up = named[named.event_type == "promote"]
    assert (lvl[up.rank_code].to_numpy() > lvl[up.prev].to_numpy()).all()
    down = named[named.event_type == "demote"]
    assert len(down) > 0
    assert (lvl[down.rank_code].to_numpy() < lvl[down.prev].to_numpy()).all()
    xfer = named[named.event_type == "transfer"].copy()
    xfer["prev_org"] = named.groupby("agent_code").org_code.shift().loc[xfer.index]
    assert len(xfer) > 0 and (xfer.org_code != xfer.prev_org).all()
    assert (ev.event_type == "rehire").sum() > 0


def test_premium_rows_are_consistent(demo: DemoData, spells: pd.DataFrame) -> None:
    p = demo["premiums"]
    prod = demo["products"].set_index("product_code")
    assert p.txn_id.is_unique
    # one writing agent per policy, one new row per policy line
    assert (p.groupby("policy_no").agent_code.nunique() == 1).all()
    new = p[p.txn_type == "new"]
    assert not new.duplicated(["policy_no", "product_code"]).any()
    assert (new.txn_date == new.issue_date).all()
    main = prod.is_main[new.product_code].to_numpy()
    assert (new[main].groupby("policy_no").size() == 1).all()
    assert set(new[~main].policy_no) <= set(new[main].policy_no)  # riders ride on a main
    # fyc = amount × rate (first-year rows), none on renewals
    fy = p[p.txn_type != "renewal"]
    expect = np.round(fy.amount.to_numpy() * 100 * prod.fyc_rate[fy.product_code].to_numpy()) / 100
    assert np.allclose(fy.fyc.to_numpy(), expect, atol=0.011)
    assert p.loc[p.txn_type == "renewal", "fyc"].isna().all()
    # free-look: within 15 days of issue, the same amount as the new premium
    fl = p[p.txn_type == "free_look_cancel"].merge(
        new[["policy_no", "product_code", "amount"]],
        on=["policy_no", "product_code"],
        suffixes=("", "_new"),
    )
    assert len(fl) == (p.txn_type == "free_look_cancel").sum()
    assert ((fl.txn_date - fl.issue_date).dt.days.between(0, 15)).all()
    assert (fl.amount == fl.amount_new).all()
    # renewals: regular products, policy year 2+, about a year apart
    ren = p[p.txn_type == "renewal"]
    assert (prod.pay_mode[ren.product_code] == "regular").all()
    assert (ren.policy_year >= 2).all()
    assert (p.loc[p.txn_type != "renewal", "policy_year"] == 1).all()
    assert (
        p.loc[p.txn_type == "fy_renewal", "txn_date"]
        < p.loc[p.txn_type == "fy_renewal", "issue_date"] + pd.Timedelta(days=366)
    ).all()
    assert (p.txn_type == "surrender").sum() > 0 and (p.txn_type == "fy_renewal").sum() > 0
    # new business is written while the agent is in force
    m = pd.merge_asof(
        new.sort_values("txn_date"),
        spells.sort_values("hire"),
        left_on="txn_date",
        right_on="hire",
        by="agent_code",
    )
    assert (m.leave.isna() | (m.txn_date < m.leave)).all()
    assert p.txn_date.max() <= pd.Timestamp(END)


def test_plans(demo: DemoData) -> None:
    pl = demo["plans"]
    o = demo["org_units"].set_index("org_code")
    assert set(o.level[pl.org_code]) == {"branch", "sub_branch", "department"}
    assert set(pl.metric) == {"fyp"}
    years = pl[pl.period.str.fullmatch(r"\d{4}")]
    months = pl[pl.period.str.fullmatch(r"\d{4}-\d{2}")].copy()
    months["year"] = months.period.str[:4]
    sums = months.groupby(["org_code", "year"]).target.sum()
    got = years.set_index(["org_code", "period"]).target
    assert np.allclose(sums.loc[got.index].to_numpy(), got.to_numpy())
    assert (pl.target >= 0).all()
    root = o.index[o.parent_code.isna()][0]
    rp = months[months.org_code == root].set_index("period").target
    assert rp["2026-01"] > 1.5 * rp["2026-05"]  # 开门红 in the plan too


def test_goals_for_most_agents_each_month_some_behind_some_ahead(demo: DemoData, spells: pd.DataFrame) -> None:
    g = demo["agent_goals"]
    # the activity months (6) and the month of the day after the end date (the tracking run's)
    assert sorted(g.period.unique()) == [f"2025-{m:02d}" for m in (11, 12)] + [f"2026-{m:02d}" for m in range(1, 6)]
    assert set(g.metric) == {"fyp", "cases", "visits", "recruits"}
    assert (g.target > 0).all()
    # FYP goals in whole hundreds, counts whole
    assert np.allclose(g.target[g.metric == "fyp"] % 100, 0)
    assert np.allclose(g.target[g.metric != "fyp"] % 1, 0)
    # most (not all) agents in force on the 15th of a month have a goal for it
    for period in ("2026-01", "2026-04"):
        day = pd.Timestamp(f"{period}-15")
        force = set(spells[_in_force(spells, day)].agent_code)
        with_goal = set(g[g.period == period].agent_code)
        share = len(force & with_goal) / len(force)
        assert 0.8 <= share <= 0.95, (period, share)
        assert with_goal <= set(demo["agents"].agent_code)
    # against the month's actual FYP: some agents ahead of their goal, most behind it, some far
    p = demo["premiums"]
    mar = p[(p.txn_date >= "2026-03-01") & (p.txn_date <= "2026-03-31")]
    actual = (mar.amount * mar.txn_type.map(FYP_SIGN)).groupby(mar.agent_code).sum()
    goal = g[(g.period == "2026-03") & (g.metric == "fyp")].set_index("agent_code").target
    att = actual.reindex(goal.index).fillna(0) / goal
    assert 0.15 <= (att >= 1).mean() <= 0.6, (att >= 1).mean()
    assert 0.2 <= (att < 0.5).mean() <= 0.8, (att < 0.5).mean()


def test_daily_plans_with_most_work_logs(demo: DemoData) -> None:
    w = demo["work_logs"]
    plan = w[["plan_calls", "plan_visits", "plan_interviews"]]
    filed = plan.notna().all(axis=1)
    assert (plan.notna().any(axis=1) == filed).all()  # a plan has all three numbers or none
    assert 0.8 <= filed.mean() <= 0.95
    saturday = w.date.dt.dayofweek == 5
    # a Saturday log plans Sunday as a rest day; a weekday log plans real work
    assert (plan[filed & saturday] == 0).all().all()
    weekday = plan[filed & ~saturday]
    assert (weekday.plan_calls >= 1).all() and weekday.plan_visits.mean() > 1.5
    # a plan is sometimes carried out and sometimes not: next day's log against the plan
    nxt = w.assign(date=w.date - pd.Timedelta(days=1))[["agent_code", "date", "calls", "visits", "interviews"]]
    m = w[filed & ~saturday].merge(nxt, on=["agent_code", "date"], suffixes=("", "_next"))
    done = sum(np.minimum(m[f"{k}_next"], m[f"plan_{k}"].astype(float)) for k in ("calls", "visits", "interviews"))
    total = m[["plan_calls", "plan_visits", "plan_interviews"]].astype(float).sum(axis=1)
    rate = done / total
    assert 0.2 <= (rate < 0.8).mean() <= 0.7, (rate < 0.8).mean()


def test_staff_assigned_per_branch_and_sub_branch(demo: DemoData) -> None:
    a = demo["track_assignments"]
    o = demo["org_units"].set_index("org_code")
    subs = o.index[o.level == "sub_branch"]
    # one user per link and unit: 考核, 方案, 培训, 营销干部 per branch, 组训 per sub-branch
    assert sorted(a[a.role == "trainer"].org_code) == sorted(subs)
    for role in ("executive", "assessment", "campaign", "training"):
        assert list(a[a.role == role].org_code) == ["B01"], role
    assert not a.duplicated(["role", "org_code"]).any() and a.username.is_unique
    assert {s["username"] for s in demo.staff} == set(a.username)
    # the branch's executive is its head (总监); the first units' users keep the plain role names
    ex = next(s for s in demo.staff if s["role"] == "executive")
    assert ex["agent_code"] == demo.heads["B01"]
    assert set(a.username) >= {"trainer", "training", "assessment", "campaign", "executive"}
    assert (a[a.role == "trainer"].username.iloc[1:] == "trainer-" + a[a.role == "trainer"].org_code.iloc[1:]).all()


def test_attendance_and_logs_only_for_in_force_agents_on_working_days(
    demo: DemoData, spells: pd.DataFrame
) -> None:
    at = demo["attendance"]
    assert (at.date.dt.dayofweek < 6).all()
    first = pd.Timestamp(END).to_period("M") - 5
    assert at.date.min() >= first.start_time
    assert set(at.meeting) == {"morning"}
    sample = at.sample(20000, random_state=1)
    m = pd.merge_asof(
        sample.sort_values("date"),
        spells.sort_values("hire"),
        left_on="date",
        right_on="hire",
        by="agent_code",
    )
    assert (m.leave.isna() | (m.date < m.leave)).all()
    key = ["agent_code", "date"]
    wl = demo["work_logs"]
    assert len(wl.merge(at[key], on=key)) == len(wl)  # a log only on an in-force working day
    assert (wl.closes <= wl.proposals).all()


# --- calibration (docs/demo.md) -------------------------------------------------------------------


def _retention(spells: pd.DataFrame, start: dt.date, t: int) -> float:
    """kpi-spec §6: spells hired in month m−t still open at the end of m, pooled over m."""
    hm = spells.hire.dt.to_period("M")
    num = den = 0
    for m in pd.period_range(pd.Period(start, "M") + t, pd.Period(END, "M"), freq="M"):
        c = spells[hm == m - t]
        eom = m.end_time.normalize()
        den += len(c)
        num += int((c.leave.isna() | (c.leave > eom)).sum())
    return num / den


def test_calibration_retention(demo: DemoData, spells: pd.DataFrame) -> None:
    r3 = _retention(spells, demo.start, 3)
    r13 = _retention(spells, demo.start, 13)
    assert 0.60 <= r3 <= 0.70, r3
    assert 0.25 <= r13 <= 0.35, r13


def test_calibration_force_size_and_recruiting_peak(demo: DemoData, spells: pd.DataFrame) -> None:
    n = int(_in_force(spells, pd.Timestamp(END)).sum())
    assert 0.9 * 3000 <= n <= 1.1 * 3000, n
    hires = spells[spells.hire >= pd.Timestamp(demo.start)]
    by_moy = hires.hire.dt.month.value_counts()
    assert by_moy[[1, 2, 3]].mean() > 1.5 * by_moy[[7, 8, 9, 10, 11, 12]].mean()
    # group sizes: a head and about 8–15 agents
    a = demo["agents"]
    o = demo["org_units"]
    live = a[a.leave_date.isna() | (a.leave_date > pd.Timestamp(END))]
    g = live[live.org_code.isin(o.org_code[o.level == "group"])].groupby("org_code").size()
    assert 8 <= g.median() <= 15
    # rehires are a small share of starts
    ev = demo["agent_events"]
    share = (ev.event_type == "rehire").sum() / ev.event_type.isin(["hire", "rehire"]).sum()
    assert 0.005 < share < 0.08


def test_calibration_production(demo: DemoData) -> None:
    p = demo["premiums"]
    main = p.product_code.map(demo["products"].set_index("product_code").is_main)
    cut = pd.Timestamp(END) - pd.Timedelta(days=20)
    new = p[(p.txn_type == "new") & main & (p.issue_date <= cut)]
    fl = p[(p.txn_type == "free_look_cancel") & main & (p.issue_date <= cut)]
    share = len(fl) / len(new)
    assert 0.03 <= share <= 0.05, share
    # activity rate of the last 12 months: active / average headcount, about 50–70 %
    p = p.assign(fyp=p.amount * p.txn_type.map(FYP_SIGN), m=p.txn_date.dt.to_period("M"))
    last12 = p[p.m > pd.Period(END, "M") - 12]
    active = (last12.groupby(["m", "agent_code"]).fyp.sum() > 0).groupby(level=0).sum()
    sp = _spells(demo)
    rates = []
    for m, act in active.items():
        opening = _in_force(sp, m.start_time.normalize() - pd.Timedelta(days=1)).sum()
        closing = _in_force(sp, m.end_time.normalize()).sum()
        rates.append(act / ((opening + closing) / 2))
    assert 0.5 <= float(np.mean(rates)) <= 0.7, rates
    # 13-month persistency (case based) of regular long-term main policies: about 85 %
    prod = demo["products"].set_index("product_code")
    n = p[(p.txn_type == "new") & main]
    n = n[
        (prod.pay_mode[n.product_code].to_numpy() == "regular")
        & (prod.term_years[n.product_code].to_numpy() > 1)
        & (n.issue_date <= pd.Timestamp(END) - pd.Timedelta(days=430))
    ]
    n = n[~n.policy_no.isin(p.policy_no[p.txn_type.isin(["free_look_cancel", "surrender"])])]
    r = p[(p.txn_type == "renewal") & (p.policy_year == 2) & p.policy_no.isin(n.policy_no)]
    r = r[r.txn_date <= r.issue_date + pd.DateOffset(years=1) + pd.Timedelta(days=60)]
    pers = r.policy_no.nunique() / len(n)
    assert 0.78 <= pers <= 0.9, pers


def test_calibration_tools(demo: DemoData) -> None:
    at = demo["attendance"]
    attended = at.status.isin(["present", "late"]).mean()
    assert 0.75 <= attended <= 0.85, attended
    # tool usage: per working day, in-force agents with a log / in-force agents; mean over days
    per_day = demo["work_logs"].groupby("date").size() / at.groupby("date").size()
    usage = per_day.fillna(0).mean()
    assert 0.5 <= usage <= 0.7, usage


# --- the headcount identity (kpi-spec §2) ---------------------------------------------------------


def test_closing_equals_opening_plus_flows_for_every_unit_and_month(
    demo: DemoData, spells: pd.DataFrame
) -> None:
    """closing = opening + hires − leavers + transfers in − transfers out, per unit and month.

    A plain pandas reference: org unit on a date = the latest event on or before it naming one;
    each flow is attributed as kpi-spec §2 says and rolled up to every ancestor unit.
    """
    o = demo["org_units"]
    parent = dict(zip(o.org_code, o.parent_code, strict=True))

    def ancestors(code: str) -> list[str]:
        out = []
        while isinstance(code, str):
            out.append(code)
            code = parent[code]
        return out

    anc = {c: ancestors(c) for c in o.org_code}
    roots = [c for c in o.org_code if not isinstance(parent[c], str)]
    ev = demo["agent_events"]
    cols = ["agent_code", "event_date", "org_code", "event_type"]
    named = ev.loc[ev.org_code.notna(), cols].sort_values("event_date")

    def org_on(frame: pd.DataFrame, date_col: str) -> pd.Series:
        f = frame[["agent_code", date_col]].reset_index().sort_values(date_col)
        m = pd.merge_asof(
            f,
            named.rename(columns={"event_date": "_d"}),
            left_on=date_col,
            right_on="_d",
            by="agent_code",
        )
        return m.set_index("index").org_code.reindex(frame.index)

    def roll(codes: pd.Series, sign: int = 1) -> pd.Series:
        """Count per unit: each record counts in its unit and every ancestor."""
        exploded = codes.map(anc).explode()
        return exploded.value_counts() * sign

    # transfers: org changes between consecutive org-naming events inside one spell
    named_sorted = named.sort_values(["agent_code", "event_date"])
    named_sorted["prev_org"] = named_sorted.groupby("agent_code").org_code.shift()
    chg = named_sorted[
        named_sorted.prev_org.notna() & (named_sorted.org_code != named_sorted.prev_org)
    ]
    chg = chg.assign(day_before=chg.event_date - pd.Timedelta(days=1))
    cs = pd.merge_asof(
        chg.sort_values("day_before"),
        spells.sort_values("hire"),
        left_on="day_before",
        right_on="hire",
        by="agent_code",
    )
    cs = cs[cs.hire.notna() & (cs.leave.isna() | (cs.leave > cs.event_date))]

    checked = 0
    for m in pd.period_range(pd.Period(demo.start, "M"), pd.Period(END, "M"), freq="M"):
        s, e = m.start_time.normalize(), m.end_time.normalize()
        before = s - pd.Timedelta(days=1)
        op = spells[_in_force(spells, before)].assign(d=before)
        cl = spells[_in_force(spells, e)].assign(d=e)
        hi = spells[(spells.hire >= s) & (spells.hire <= e)].assign(d=lambda f: f.hire)
        lv = spells[(spells.leave >= s) & (spells.leave <= e)].assign(
            d=lambda f: f.leave - pd.Timedelta(days=1)
        )
        tr = cs[(cs.event_date >= s) & (cs.event_date <= e)]
        # a transfer between two units of one subtree is not a flow of that subtree
        t_in = (
            tr.apply(lambda r: [a for a in anc[r.org_code] if a not in anc[r.prev_org]], axis=1)
            .explode()
            .dropna()
            .value_counts()
        )
        t_out = (
            tr.apply(lambda r: [a for a in anc[r.prev_org] if a not in anc[r.org_code]], axis=1)
            .explode()
            .dropna()
            .value_counts()
        )
        table = (
            pd.DataFrame(
                {
                    "opening": roll(org_on(op, "d")),
                    "closing": roll(org_on(cl, "d")),
                    "hires": roll(org_on(hi, "d")),
                    "leavers": roll(org_on(lv, "d")),
                    "t_in": t_in,
                    "t_out": t_out,
                }
            )
            .reindex(o.org_code)
            .fillna(0)
            .astype(int)
        )
        lhs = table.closing
        rhs = table.opening + table.hires - table.leavers + table.t_in - table.t_out
        bad = table[lhs != rhs]
        assert bad.empty, (str(m), bad.head())
        assert (table.loc[roots, ["t_in", "t_out"]] == 0).all().all()
        checked += len(table)
    assert checked == len(o) * 36
    # transfers really happen, and only as transfer events
    assert len(cs) > 0 and set(cs.event_type) == {"transfer"}
