"""Data of the web pages dashboard (驾驶舱), agent list and team board (the agent profile:
:mod:`zhuizong.services.profile`).

Every number comes from the governed KPI layer: :func:`zhuizong.kpi.service.kpi_report` (scoped:
an org unit outside the actor's scope answers :class:`NotFound`) or, for one agent or one team
whose members the scope has already admitted, the materialised engine results
(:func:`zhuizong.kpi.results.agent_rows`, the same rows ``kpi_report`` returns) filtered to those
agents. Facts typed in by people (attendance, work logs, tracking items) are read from the system
of record with the scope filter. Routes only format what these functions return.

Dates. The data runs "through yesterday": :func:`data_through` is the last day with data (the
latest premium transaction) capped at yesterday; the dashboard defaults to the last month fully
covered by it, the team board and profiles to that day ("this month" = month to date).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select

from zhuizong.access.actor import Actor
from zhuizong.access.scope import scope_for
from zhuizong.analytics.calendar import Basis, Period, parse_period
from zhuizong.errors import NotFound, ZhuizongError
from zhuizong.kpi import results
from zhuizong.kpi.engine import KpiRequest, KpiResult
from zhuizong.kpi.registry import METRICS
from zhuizong.kpi.results import data_through
from zhuizong.kpi.service import kpi_report
from zhuizong.reports.cohort import cohort_table
from zhuizong.reports.monthly import _other_plans, _plans_available
from zhuizong.services.directory import AgentRow, AgentSelect, OrgRow, list_agents, list_orgs
from zhuizong.store.models import table
from zhuizong.tracking.service import ListQuery, list_items
from zhuizong.workspace import Workspace

#: metrics of the dashboard's cards and trends: one request per month (materialised per month)
TREND_METRICS: tuple[str, ...] = (
    "fyp", "fyp_plan_rate", "fyp_yoy", "fyp_mom", "cases", "headcount_open", "headcount_close",
    "headcount_avg", "active", "activity_rate", "new_hires", "leavers", "attrition_rate",
)
#: metrics of the children table and the rank segments
CHILD_METRICS: tuple[str, ...] = ("fyp", "fyp_plan_rate", "cases", "headcount_close", "active",
                                  "activity_rate", "new_hires", "leavers")
SEGMENT_METRICS: tuple[str, ...] = ("fyp", "cases", "headcount_close", "active", "activity_rate")
#: per-agent metrics behind the dashboard's numbers (the agent list's filters)
AGENT_METRICS: tuple[str, ...] = ("fyp", "cases", "active", "new_hires", "leavers",
                                  "headcount_open", "headcount_close")
AGENT_FILTERS: dict[str, str] = {
    # filter -> per-agent metric that must be non-zero ("all": every agent with a row)
    "fyp": "fyp", "cases": "cases", "active": "active", "new_hires": "new_hires",
    "leavers": "leavers", "headcount_open": "headcount_open", "headcount_close": "headcount_close",
    "inactive": "headcount_close",  # in force at the end and no production (see agent_list)
}
CATEGORY_ZH = {"probationary": "试用", "formal": "正式", "director": "主任以上"}
CATEGORY_EN = {"probationary": "Probationary", "formal": "Formal", "director": "Director+"}
TREND_MONTHS = 12


# --- dates and periods --------------------------------------------------------------------------


def _basis(ws: Workspace) -> Basis:
    cal = ws.settings.calendar
    return Basis(cal.month_basis, cal.cutoff_day)


def month_label(ws: Workspace, d: dt.date) -> str:
    y, m = _basis(ws).month_of(d)
    return f"{y:04d}-{m:02d}"


def last_closed_month(ws: Workspace, d: dt.date) -> str:
    """The last basis month that ends on or before ``d``."""
    basis = _basis(ws)
    y, m = basis.month_of(d)
    if basis.month_bounds(y, m)[1] <= d:
        return f"{y:04d}-{m:02d}"
    idx = y * 12 + m - 2
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def shift_month(label: str, delta: int) -> str:
    y, m = int(label[:4]), int(label[5:7])
    idx = y * 12 + m - 1 + delta
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def month_period(ws: Workspace, label: str, through: dt.date) -> tuple[Period, dt.date | None]:
    """The month ``label`` (``YYYY-MM``) and the as-of cut when it is still running at ``through``."""
    p = parse_period(label, _basis(ws))
    if p.kind != "month":
        raise ZhuizongError(f"期间应为月份 (如 2026-05): {label}", f"the period must be a month such as 2026-05: {label}")
    if p.start <= through < p.end:
        return p.cut(through), through
    return p, None


def period_without_data(ws: Workspace, label: str, through: dt.date) -> bool:
    """True when the month ``label`` starts after the last day of data (a future month): pages
    say "本期无数据" instead of showing computed emptiness (−100%, every unit ranked 1)."""
    try:
        p = parse_period(label, _basis(ws))
    except ZhuizongError:
        return False  # the page's own check reports a malformed period
    return p.start > through


def _req_args(p: Period) -> tuple[str, dt.date | None]:
    """(period text, as_of) that ``parse_period`` turns back into ``p``."""
    if p.kind == "range":
        return p.label, None
    return p.uncut().label, (p.end if p.as_of is not None else None)


# --- org helpers ----------------------------------------------------------------------------------


def visible_orgs(ws: Workspace, actor: Actor) -> list[OrgRow]:
    with ws.engine.connect() as conn:
        return list_orgs(conn, actor)


def visible_root(orgs: list[OrgRow]) -> str | None:
    """The narrowest org unit covering the actor's scope: the top visible unit (the first by code
    when the scope has several unconnected subtrees); None without any visible unit."""
    codes = {o.org_code for o in orgs}
    tops = [o.org_code for o in orgs if o.parent_code not in codes]
    return sorted(tops)[0] if tops else None


#: an org picker lists every visible unit up to this many; beyond, the units near the chosen one
PICKER_ALL = 300


def picker_orgs(orgs: list[OrgRow], org: str | None) -> list[OrgRow]:
    """The units an org picker offers: all of them for a small scope; for a large one (a
    province's 3,000+ units would be a third of a megabyte in every page) the top units, the
    chosen unit's ancestors, siblings and children — one step up or down the tree at a time,
    as the drill-down links go. Tree order (each unit before its children)."""
    if len(orgs) <= PICKER_ALL:
        return orgs
    by = {o.org_code: o for o in orgs}
    kids: dict[str | None, list[OrgRow]] = {}
    for o in orgs:
        kids.setdefault(o.parent_code if o.parent_code in by else None, []).append(o)
    keep: set[str] = set()
    tops = kids.get(None, [])
    keep.update(o.org_code for o in tops)
    for t in tops:
        keep.update(o.org_code for o in kids.get(t.org_code, []))
    cur = by.get(org or "")
    if cur is not None:
        keep.update(o.org_code for o in kids.get(cur.org_code, []))
        keep.update(o.org_code for o in kids.get(cur.parent_code if cur.parent_code in by else None, []))
        while cur is not None:
            keep.add(cur.org_code)
            cur = by.get(cur.parent_code or "")
    out: list[OrgRow] = []

    def walk(parent: str | None) -> None:
        for o in sorted(kids.get(parent, []), key=lambda x: x.org_code):
            if o.org_code in keep:
                out.append(o)
                walk(o.org_code)

    walk(None)
    return out


def picker_options(options: list[tuple[str, str]], parents: dict[str, str | None],
                   org: str | None) -> list[tuple[str, str]]:
    """:func:`picker_orgs` for (code, name) options (a filter of a list page), the tree read
    from ``parents`` (code → parent code)."""
    if len(options) <= PICKER_ALL:
        return options
    rows = [OrgRow(c, n, parents.get(c), None) for c, n in options]
    return [(o.org_code, o.org_name) for o in picker_orgs(rows, org)]


def breadcrumbs(orgs: list[OrgRow], org: str) -> list[OrgRow]:
    """The visible ancestors of ``org`` (top first), ``org`` included."""
    by = {o.org_code: o for o in orgs}
    out: list[OrgRow] = []
    cur = by.get(org)
    while cur is not None:
        out.append(cur)
        cur = by.get(cur.parent_code) if cur.parent_code else None
    return out[::-1]


def _parallel(fn: Any, keys: list[Any], workers: int = 4) -> dict[Any, Any]:
    """``{key: fn(key)}``, computed in up to ``workers`` threads (errors propagate)."""
    if len(keys) <= 1:
        return {k: fn(k) for k in keys}
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(workers, len(keys))) as pool:
        # each in a copy of the caller's context: the request's pinned KPI data version
        futures = [pool.submit(contextvars.copy_context().run, fn, k) for k in keys]
        return {k: f.result() for k, f in zip(keys, futures, strict=True)}


# --- the dashboard ----------------------------------------------------------------------------


def _by_metric(result: KpiResult, segment: str = "all") -> dict[str, Any]:
    return {r.metric: r for r in result.rows if r.segment == segment and r.agent_code is None
            and r.org_code == result.org_code}


def _val(rows: dict[str, Any], metric: str) -> Decimal | None:
    r = rows.get(metric)
    return None if r is None else r.value


def _growth(cur: Decimal | None, base: Decimal | None) -> Decimal | None:
    if cur is None or base is None or base == 0:
        return None
    return (cur - base) / base


@dataclass
class Card:
    metric: str
    value: Decimal | None
    plan: Decimal | None = None
    attainment: Decimal | None = None
    yoy: Decimal | None = None  # growth rate, or percentage points for a rate metric
    mom: Decimal | None = None
    pp: bool = False  # yoy/mom in percentage points
    filter: str | None = None  # agent-list filter behind the number


@dataclass
class Dashboard:
    org_code: str
    org_name: str
    period: Period
    as_of: dt.date | None
    through: dt.date
    crumbs: list[OrgRow]
    cards: list[Card]
    months: list[str]
    #: month label -> metric -> value (segment "all")
    trend: dict[str, dict[str, Decimal | None]]
    children: list[dict[str, Any]]
    segments: list[dict[str, Any]]
    cohort: Any | None  # reports.cohort.CohortTable
    timings: dict[str, float] = field(default_factory=dict)


def _other_plan(ws: Workspace, period: Period, org: str, metric: str) -> Decimal | None:
    """The plan of ``metric`` (not FYP) for ``org`` with the engine's plan rules, if any."""
    try:
        if metric not in _plans_available(ws):
            return None
        return _other_plans(ws, period, [org], metric).get(org)
    except Exception:  # a dashboard without optional plans is still correct
        return None


def dashboard(ws: Workspace, actor: Actor, org: str, period: str, *, through: dt.date | None = None,
              with_trend: bool = True, with_cohort: bool = True) -> Dashboard:
    """:func:`_dashboard`: every number read from the results store (:mod:`zhuizong.kpi.results`)
    within the actor's scope."""
    actor.require("view_agents")
    through = through or data_through(ws)
    return _dashboard(ws, actor, org, period, through=through, with_trend=with_trend,
                      with_cohort=with_cohort)


def _dashboard(ws: Workspace, actor: Actor, org: str, period: str, *, through: dt.date | None = None,
               with_trend: bool = True, with_cohort: bool = True) -> Dashboard:
    """Everything the dashboard shows for ``org`` (visible to ``actor``) and month ``period``.

    KPI calls: one per trend month (12, each materialised and shared by every later view), one for
    the same month last year, one by children, one by rank category; the cohort matrix is one
    DuckDB query. ``with_trend=False``: only the selected and the previous month (the cards, the
    children and the segments; the page loads the trend charts separately). Raises NotFound when
    ``org`` is outside the scope."""

    timings: dict[str, float] = {}
    through = through or data_through(ws)
    p, as_of = month_period(ws, period, through)
    label = p.uncut().label
    t0 = time.perf_counter()
    # the selected month first: it checks the scope before anything else is computed
    cur = kpi_report(ws, actor, KpiRequest(period=label, org=org, metrics=TREND_METRICS, as_of=as_of))
    org_code = cur.org_code
    months = [shift_month(label, -k) for k in range(TREND_MONTHS - 1, -1, -1)]
    trend: dict[str, dict[str, Decimal | None]] = {}
    # the other months in a few threads (DuckDB runs outside the GIL; results are materialised
    # with atomic renames, so concurrent computations are safe): ~3x faster on a cold cache
    # without the trend: only the previous month (for 环比) besides the selected one
    wanted = months if with_trend else months[-2:]
    others = _parallel(lambda m: kpi_report(ws, actor, KpiRequest(period=m, org=org_code,
                                                                  metrics=TREND_METRICS)),
                       [m for m in wanted if m != label])
    for m in wanted:
        res = cur if m == label else others[m]
        rows = _by_metric(res)
        trend[m] = {k: _val(rows, k) for k in TREND_METRICS}
        trend[m]["fyp_plan"] = rows["fyp_plan_rate"].denominator if "fyp_plan_rate" in rows else None
        trend[m]["fyp_last_year"] = rows["fyp_yoy"].denominator if "fyp_yoy" in rows else None
    timings["trend"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ly_text, ly_cut = _req_args(p.same_last_year())
    ly = _by_metric(kpi_report(ws, actor, KpiRequest(period=ly_text, org=org_code, metrics=TREND_METRICS,
                                                     as_of=ly_cut)))
    pv_text, pv_cut = _req_args(p.previous())
    if pv_cut is None:  # a whole month: the previous month is in the trend already
        prev = trend[months[-2]]
    else:  # month to date: compare with the same days of the previous month
        pv = _by_metric(kpi_report(ws, actor, KpiRequest(period=pv_text, org=org_code,
                                                         metrics=TREND_METRICS, as_of=pv_cut)))
        prev = {k: _val(pv, k) for k in TREND_METRICS}
    timings["compare"] = time.perf_counter() - t0
    now_rows = _by_metric(cur)
    now = trend[label]
    name = next((r.org_name for r in cur.rows if r.org_code == org_code), org_code)

    def card(metric: str, filt: str | None, pp: bool = False, plan: Decimal | None = None) -> Card:
        v = now.get(metric)
        lv, pv = _val(ly, metric), prev.get(metric)
        if pp:
            yoy = None if v is None or lv is None else (v - lv) * 100
            mom = None if v is None or pv is None else (v - pv) * 100
        else:
            yoy, mom = _growth(v, lv), _growth(v, pv)
        att = None if plan is None or plan == 0 or v is None else v / plan
        return Card(metric, v, plan, att, yoy, mom, pp, filt)

    fyp_plan = now_rows["fyp_plan_rate"].denominator if "fyp_plan_rate" in now_rows else None
    fyp = Card("fyp", now.get("fyp"), fyp_plan, now.get("fyp_plan_rate"), now.get("fyp_yoy"),
               now.get("fyp_mom"), False, "fyp")
    plan_card = Card("fyp_plan_rate", now.get("fyp_plan_rate"), None, None,
                     *((None if now.get("fyp_plan_rate") is None or _val(ly, "fyp_plan_rate") is None
                        else (now["fyp_plan_rate"] - _val(ly, "fyp_plan_rate")) * 100),  # type: ignore[operator]
                       (None if now.get("fyp_plan_rate") is None or prev.get("fyp_plan_rate") is None
                        else (now["fyp_plan_rate"] - prev["fyp_plan_rate"]) * 100)),  # type: ignore[operator]
                     True, "fyp")
    cards = [
        fyp, plan_card, card("cases", "cases"),
        card("headcount_close", "headcount_close",
             plan=_other_plan(ws, cur.period, org_code, "headcount_close")),
        card("active", "active"),
        card("activity_rate", "active", pp=True, plan=_other_plan(ws, cur.period, org_code, "activity_rate")),
        card("new_hires", "new_hires"), card("leavers", "leavers"),
        card("attrition_rate", "leavers", pp=True),
    ]
    t0 = time.perf_counter()
    ch = kpi_report(ws, actor, KpiRequest(period=label, org=org_code, by="children",
                                          metrics=CHILD_METRICS, as_of=as_of))
    children: dict[str, dict[str, Any]] = {}
    for r in ch.rows:
        if r.segment != "all":
            continue
        row = children.setdefault(r.org_code, {"org_code": r.org_code, "org_name": r.org_name})
        row[r.metric] = r.value
        if r.metric == "fyp_plan_rate":
            row["fyp_plan"] = r.denominator
    timings["children"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    seg = kpi_report(ws, actor, KpiRequest(period=label, org=org_code, segment="rank_category",
                                           metrics=SEGMENT_METRICS, as_of=as_of))
    segments: dict[str, dict[str, Any]] = {}
    for r in seg.rows:
        if r.org_code == org_code and r.agent_code is None:
            segments.setdefault(r.segment, {"segment": r.segment})[r.metric] = r.value
    timings["segments"] = time.perf_counter() - t0
    cohort = None
    if with_cohort and with_trend:
        t0 = time.perf_counter()
        try:
            cohort = cohort_table(ws, actor, months[0], label, org_code)
        except ZhuizongError:
            cohort = None
        timings["cohort"] = time.perf_counter() - t0
    with ws.engine.connect() as conn:
        crumbs = breadcrumbs(list_orgs(conn, actor), org_code)
    return Dashboard(org_code=org_code, org_name=name, period=cur.period, as_of=as_of, through=through,
                     crumbs=crumbs, cards=cards, months=wanted, trend=trend,
                     children=sorted(children.values(), key=lambda x: x["org_code"]),
                     segments=[segments[s] for s in ("probationary", "formal", "director") if s in segments],
                     cohort=cohort, timings=timings)


# --- agents behind a number ---------------------------------------------------------------------


@dataclass
class AgentListRow:
    agent_code: str
    agent_name: str
    org_code: str
    rank_code: str
    hire_date: dt.date | None
    leave_date: dt.date | None
    values: dict[str, Decimal | None] = field(default_factory=dict)


def agent_list(ws: Workspace, actor: Actor, *, org: str | None = None, period: str | None = None,
               filt: str | None = None, q: str | None = None, through: dt.date | None = None,
               limit: int = 1000) -> tuple[list[AgentListRow], Period | None]:
    """:func:`_agent_list` (with a period, the per-agent rows of the results store)."""
    if period:
        actor.require("view_agents")
    return _agent_list(ws, actor, org=org, period=period, filt=filt, q=q, through=through,
                       limit=limit)


def _agent_list(ws: Workspace, actor: Actor, *, org: str | None = None, period: str | None = None,
                filt: str | None = None, q: str | None = None, through: dt.date | None = None,
                limit: int = 1000) -> tuple[list[AgentListRow], Period | None]:
    """Agents visible to ``actor``; with ``period`` and ``org``: those behind a dashboard number.

    With a period, the rows carry the per-agent KPI values (``AGENT_METRICS``, by agent within
    ``org``, exactly the rows whose sum is the org unit's number) and ``filt`` keeps the agents
    whose value of that metric is non-zero (``inactive``: in force at the end without production).
    Without a period: the agents of the scope (of ``org``'s unit when given). ``q`` matches the
    code or the name. NotFound when ``org`` is outside the scope."""
    through = through or data_through(ws)
    qn = (q or "").strip().lower()
    agents: dict[str, AgentRow] = {}
    if not period:
        with ws.engine.connect() as conn:
            agents = {a.agent_code: a for a in list_agents(conn, actor)}
    rows: list[AgentListRow] = []
    per: Period | None = None
    if period:
        p, as_of = month_period(ws, period, through)
        if org is None:
            org = visible_root(visible_orgs(ws, actor))
            if org is None:
                raise NotFound("没有可见的机构", "no visible org unit")
        res = kpi_report(ws, actor, KpiRequest(period=p.uncut().label, org=org, by="agent",
                                               metrics=AGENT_METRICS, as_of=as_of))
        per = res.period
        vals: dict[str, dict[str, Any]] = {}
        orgs_of: dict[str, str] = {}
        cols = res.columns()  # column-wise: a branch's result has hundreds of thousands of rows
        for code, unit, metric, value in zip(cols["agent_code"], cols["org_code"], cols["metric"],
                                             cols["value"], strict=True):
            if code is None:
                continue
            v = vals.get(code)
            if v is None:
                v = vals[code] = {}
                orgs_of[code] = unit
            v[metric] = value
        kept = []
        for code, v in vals.items():
            if filt in AGENT_FILTERS:
                if filt == "inactive":
                    if not (v.get("headcount_close") and not v.get("active")):
                        continue
                elif not v.get(AGENT_FILTERS[filt]):
                    continue
            kept.append(code)
        kept.sort(key=lambda c: (-(vals[c].get("fyp") or 0), c))
        if not qn:  # the first ``limit`` rows need only their own agents' details
            kept = kept[:limit]
        with ws.engine.connect() as conn:
            agents = {a.agent_code: a for a in list_agents(conn, actor, codes=kept)}
        for code in kept:
            v = vals[code]
            a = agents.get(code)
            rows.append(AgentListRow(code, a.agent_name if a else "", orgs_of.get(code, ""),
                                     a.rank_code if a else "", a.hire_date if a else None,
                                     a.leave_date if a else None, v))
        rows.sort(key=lambda r: (-(r.values.get("fyp") or 0), r.agent_code))
    else:
        if org is not None:
            with ws.engine.connect() as conn:
                if org not in {o.org_code for o in list_orgs(conn, actor)}:
                    raise NotFound(f"找不到机构 {org}", f"org unit {org} not found")
                sub = _subtree(conn, org)
            pool = [a for a in agents.values() if a.org_code in sub]
        else:
            pool = list(agents.values())
        rows = [AgentListRow(a.agent_code, a.agent_name, a.org_code, a.rank_code, a.hire_date,
                             a.leave_date) for a in pool]
        rows.sort(key=lambda r: (r.leave_date is not None, r.agent_code))
    if qn:
        rows = [r for r in rows if qn in r.agent_code.lower() or qn in r.agent_name.lower()]
    return rows[:limit], per


def _subtree(conn: Any, org: str) -> set[str]:
    o = table("org_units")
    tree = select(o.c.org_code.label("code")).where(o.c.org_code == org).cte("sub", recursive=True)
    child = o.alias("c")
    tree = tree.union(select(child.c.org_code).where(child.c.parent_code == tree.c.code))
    return set(conn.execute(select(tree.c.code)).scalars())


# --- one agent's and one team's production (scope already checked) ---------------------------


def _ancestors(conn: Any, codes: set[str]) -> dict[str, list[str]]:
    """org -> [org, parent, ..., root] for each of ``codes``."""
    o = table("org_units")
    parent: dict[str, str | None] = {}
    todo = set(codes)
    while todo:
        rows = conn.execute(select(o.c.org_code, o.c.parent_code).where(o.c.org_code.in_(sorted(todo)))).all()
        todo = set()
        for code, par in rows:
            parent[code] = par
            if par and par not in parent:
                todo.add(par)
    out: dict[str, list[str]] = {}
    for c in codes:
        chain: list[str] = []
        cur: str | None = c
        while cur is not None and cur in parent:
            chain.append(cur)
            cur = parent[cur]
        out[c] = chain
    return out


def common_org(conn: Any, codes: set[str]) -> str | None:
    """The lowest org unit whose subtree holds every unit of ``codes``."""
    chains = _ancestors(conn, codes)
    if not chains:
        return None
    common = None
    first = chains[next(iter(chains))]
    sets = [set(c) for c in chains.values()]
    for c in first:  # lowest first
        if all(c in s for s in sets):
            common = c
            break
    return common


def agents_production(ws: Workspace, org: str, agents: set[str], period: str,
                      as_of: dt.date | None, metrics: tuple[str, ...] = ("fyp", "cases")
                      ) -> dict[str, dict[str, Decimal | None]]:
    """Per-agent KPI values of ``agents`` (already admitted by the scope) within ``org``'s
    subtree: the engine's by-agent rows (from the results store), filtered to those agents."""
    res = results.agent_rows(ws, KpiRequest(period=period, org=org, by="agent",
                                            metrics=metrics, as_of=as_of), agents)
    out: dict[str, dict[str, Decimal | None]] = {a: {m: Decimal(0) for m in metrics} for a in agents}
    for r in res.rows:
        if r.agent_code is not None:  # by="agent": every row is an agent's
            out[r.agent_code][r.metric] = r.value
    return out


# --- team board ----------------------------------------------------------------------------


@dataclass
class TeamRow:
    agent: AgentRow
    light: str  # green | yellow | red
    reasons: list[str]  # codes of the conditions behind the light
    fyp: Decimal | None
    cases: Decimal | None
    meetings: int
    attended: int
    attendance_rate: float | None
    absent_streak: int
    last_log: dt.date | None
    open_items: int
    open_p1: int
    is_head: bool = False
    #: direct reports in force (a link to their own board when > 0)
    reports: int = 0


@dataclass
class TeamBoard:
    head: AgentRow | None
    through: dt.date
    month: str
    day_of_month: int
    rows: list[TeamRow]
    #: True when the line is longer than TEAM_MAX: the rows are the head and direct reports only
    direct_only: bool = False
    #: agents in force on the line (visible), or None when longer than LINE_CAP (not counted)
    line_size: int | None = None


LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2}
#: the most agents a board shows one by one; a longer line (a branch head's) shows the head and
#: their direct reports, each with a link to their own board
TEAM_MAX = 300
#: the line is read up to this many agents (leavers included) to decide; beyond it, not counted
LINE_CAP = 5000


def _reporting_line(conn: Any, head: str, cap: int | None = None) -> set[str]:
    """``head`` and everyone below them along the current supervisor line (the scope's
    ``reporting_line`` grant, :mod:`zhuizong.access.scope`, leavers included), read level by
    level; with ``cap``, reading stops once the line holds ``cap`` agents or more (a branch head's
    line is the whole branch)."""
    a = table("agents")
    line, frontier = {head}, [head]
    while frontier and (cap is None or len(line) < cap):
        below: list[str] = []
        for k in range(0, len(frontier), 900):
            below += conn.execute(select(a.c.agent_code).where(
                a.c.supervisor_code.in_(frontier[k:k + 900]))).scalars()
        frontier = sorted(set(below) - line)
        line.update(frontier)
    return line


def _direct_reports(conn: Any, scope: Any, codes: list[str], through: dt.date) -> dict[str, int]:
    """agent code → direct reports in force on ``through`` (current supervisor line) within
    ``scope``."""
    a = table("agents")
    out: dict[str, int] = {}
    for k in range(0, len(codes), 900):
        out.update(conn.execute(
            select(a.c.supervisor_code, func.count())
            .where(a.c.supervisor_code.in_(codes[k:k + 900]), a.c.hire_date <= through,
                   (a.c.leave_date.is_(None)) | (a.c.leave_date > through),
                   scope.agent_filter(a.c.agent_code))
            .group_by(a.c.supervisor_code)).all())
    return out


def team_board(ws: Workspace, actor: Actor, head: str | None = None, *,
               through: dt.date | None = None) -> TeamBoard:
    """The team of ``head`` (default: the actor's own agent code) with a traffic light per agent.

    Team: ``head`` and every agent below them along the supervisor line, in force on ``through``,
    intersected with the actor's scope (a head outside the scope answers NotFound). ``through`` is
    the last day with data ("yesterday"); "this month" is the month containing it, to date. A line
    of more than :data:`TEAM_MAX` such agents (a branch head's: up to the whole company) is shown
    as the head and their direct reports (``direct_only``), each row carrying its number of direct
    reports so that the page links to their own boards.

    Three conditions, each evaluated on ``through``:

    * **produced** — month-to-date FYP > 0 (KPI engine, net of free-look cancellations);
    * **attended** — month-to-date morning-meeting attendance (present or late / recorded morning
      meetings) ≥ 80 %; an agent with no recorded meeting this month is not held to it;
    * **logged** — a work log on the last working day (Monday to Saturday, as the tracking rules
      count them) on or before ``through`` ("yesterday").

    The light:

    * **red** when any of: no production with day of month ≥ 20 (the day counted from the start of
      the basis month); absent from the last 3 recorded morning meetings in a row (up to
      ``through``); an open (open/recorded/escalated) P1 tracking item on the agent; or two or more
      of the three conditions missing;
    * **yellow** when exactly one of the three conditions is missing (and nothing red);
    * **green** when all three hold.
    """
    through = through or data_through(ws)
    head = head or actor.agent_code
    if head is None:
        raise ZhuizongError("请指定主管工号", "give the head of the team (agent code)")
    engine = ws.require_ready()
    label = month_label(ws, through)
    p, as_of = month_period(ws, label, through)
    day = (through - p.start).days + 1
    workday = through if through.weekday() < 6 else through - dt.timedelta(days=1)  # Mon–Sat
    at, wl = table("attendance"), table("work_logs")
    with engine.connect() as conn:
        scope = scope_for(conn, actor)
        a = table("agents")
        head_ok = conn.execute(select(a.c.agent_code).where(
            a.c.agent_code == head, scope.agent_filter(a.c.agent_code))).first()
        if head_ok is None:
            raise NotFound(f"找不到工号 {head}", f"agent {head} not found")
        line = _reporting_line(conn, head, LINE_CAP)
        direct_only = len(line) >= LINE_CAP
        line_size: int | None = None
        if not direct_only:
            # the visible agents in force of the line (not the whole scope: a branch's 100,000)
            visible = {x.agent_code: x for x in list_agents(conn, actor, in_force_on=through,
                                                            codes=sorted(line))}
            line_size = len(line & set(visible))
            direct_only = line_size > TEAM_MAX
        if direct_only:  # the head and the direct reports
            line = {head} | set(conn.execute(select(a.c.agent_code).where(a.c.supervisor_code == head)).scalars())
            visible = {x.agent_code: x for x in list_agents(conn, actor, in_force_on=through,
                                                            codes=sorted(line))}
        team = line & set(visible)
        members = [visible[c] for c in sorted(team)]
        codes = sorted(team)
        since = min(p.start, through - dt.timedelta(days=31))
        att: dict[str, list[tuple[dt.date, str]]] = {c: [] for c in codes}
        logs: dict[str, dt.date | None] = {c: None for c in codes}
        for k in range(0, len(codes), 900):
            chunk = codes[k:k + 900]
            marks: Select[str, dt.date, str] = (
                select(at.c.agent_code, at.c.date, at.c.status)
                .where(at.c.agent_code.in_(chunk), at.c.meeting == "morning",
                       at.c.date >= since, at.c.date <= through)
                .order_by(at.c.agent_code, at.c.date))
            for code, d, status in conn.execute(marks):
                att[code].append((d, status))
            last_logs: Select[str, dt.date | str | None] = (  # max(date): text on SQLite
                select(wl.c.agent_code, func.max(wl.c.date))
                .where(wl.c.agent_code.in_(chunk), wl.c.date <= through)
                .group_by(wl.c.agent_code))
            for code, last in conn.execute(last_logs):
                logs[code] = dt.date.fromisoformat(last[:10]) if isinstance(last, str) else last
        reports = _direct_reports(conn, scope, codes, through)
        org = common_org(conn, {m.org_code for m in members}) if members else None
        head_q: AgentSelect = select(a.c.agent_code, a.c.agent_name, a.c.org_code, a.c.rank_code,
                                     a.c.supervisor_code, a.c.hire_date, a.c.leave_date)
        head_row = conn.execute(head_q.where(a.c.agent_code == head)).first()
    prod = agents_production(ws, org, team, label, as_of) if org else {}
    open_items: dict[str, list[int]] = {c: [] for c in codes}
    if actor.can("view_tracking") and codes:
        for x in list_items(ws, actor, ListQuery(status="open", subjects=frozenset(codes))):
            if x["subject_type"] == "agent" and x["subject_code"] in open_items:
                open_items[x["subject_code"]].append(int(x["priority"]))
    rows: list[TeamRow] = []
    for m in members:
        c = m.agent_code
        fyp = prod.get(c, {}).get("fyp")
        cases = prod.get(c, {}).get("cases")
        month_att = [s for d, s in att[c] if d >= p.start]
        attended = sum(1 for s in month_att if s in ("present", "late"))
        rate = attended / len(month_att) if month_att else None
        streak = 0
        for _d, s in reversed(att[c]):
            if s != "absent":
                break
            streak += 1
        produced = fyp is not None and fyp > 0
        attended_ok = rate is None or rate >= 0.8
        last_log = logs[c]
        logged = last_log is not None and last_log >= workday
        missing = [k for k, ok in (("no_production", produced), ("low_attendance", attended_ok),
                                   ("no_log", logged)) if not ok]
        red = []
        if not produced and day >= 20:
            red.append("zero_day20")
        if streak >= 3:
            red.append("absent_streak")
        if 1 in open_items[c]:
            red.append("open_p1")
        if red or len(missing) >= 2:
            light = "red"
        elif missing:
            light = "yellow"
        else:
            light = "green"
        rows.append(TeamRow(m, light, red + missing, fyp, cases, len(month_att), attended, rate, streak,
                            logs[c], len(open_items[c]), open_items[c].count(1), c == head,
                            reports.get(c, 0)))
    rows.sort(key=lambda r: (LIGHT_ORDER[r.light], -(r.fyp or 0), r.agent.agent_code))
    return TeamBoard(AgentRow(*head_row) if head_row else None, through, label, day, rows,
                     direct_only, line_size)


__all__ = ["AGENT_FILTERS", "CHILD_METRICS", "Card", "Dashboard", "METRICS", "TREND_METRICS",
           "TeamBoard", "TeamRow", "agent_list", "dashboard", "data_through",
           "last_closed_month", "team_board", "visible_orgs", "visible_root"]
