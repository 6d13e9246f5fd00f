"""Dashboard (驾驶舱): KPI cards, trend charts, drill-down along the org tree, rank segments,
cohort retention heat map. Data from :mod:`zhuizong.services.dashboard`; this module only turns it
into template variables and ECharts options (JSON read by ``static/app.js``)."""

from __future__ import annotations

import datetime as dt
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from zhuizong.errors import NotFound
from zhuizong.kpi.registry import METRICS
from zhuizong.kpi.service import format_value
from zhuizong.services import dashboard as svc
from zhuizong.tracking.effectiveness import coverage_card
from zhuizong.web import i18n
from zhuizong.web.deps import Ctx, page_ctx

router = APIRouter(include_in_schema=False)


# --- helpers shared by the pages of this area (report, agents, team import them) -------------


def num(v: Decimal | float | int | None, digits: int = 2) -> float | None:
    """A JSON-safe number for a chart."""
    return None if v is None else round(float(v), digits)


def label(ctx: Ctx, metric: str) -> str:
    m = METRICS.get(metric)
    if m is None:
        return ctx.t(metric)
    return m.en if ctx.lang == "en" else m.zh


def fmt_growth(v: Decimal | float | None, pp: bool = False, lang: str = "zh") -> str:
    """A change: a percentage, or for a rate a difference in percentage points (个百分点)."""
    if v is None:
        return "—"
    f = float(v)
    return f"{f:+.2f} {i18n.t('pp_unit', lang)}" if pp else f"{f * 100:+.1f}%"


def fmt_rate(v: Decimal | float | None) -> str:
    return "—" if v is None else f"{float(v) * 100:.1f}%"


def fmt_money(v: Decimal | float | None) -> str:
    """An agent's amount in 元, whole (lists of agents, the team board, the profile)."""
    return "—" if v is None else f"{float(v):,.0f}"


WAN = Decimal(10_000)
#: money of org units, charts and reports is in 万元 (as the insurer's reports): 2 decimals
WAN_DIGITS = 2


def to_wan(v: Decimal | float | int | None) -> Decimal | None:
    """An amount in 元 as 万元, rounded half-up to :data:`WAN_DIGITS` decimals (exact Decimal)."""
    if v is None:
        return None
    return (Decimal(str(v)) / WAN).quantize(Decimal(1).scaleb(-WAN_DIGITS), rounding=ROUND_HALF_UP)


def fmt_wan(v: Decimal | float | int | None) -> str:
    """An org unit's amount in 万元 ("2,542.84"); the unit is in the label or column header."""
    w = to_wan(v)
    return "—" if w is None else f"{w:,}"


def card_value(ctx: Ctx, metric: str, value: Decimal | float | int | None) -> str:
    """A dashboard card's number: money in 万元 with its unit, other metrics as :func:`fv`."""
    m = METRICS.get(metric)
    if m is not None and m.unit == "yuan" and value is not None:
        return f"{fmt_wan(value)} {ctx.t('wan_unit')}"
    return fv(metric, value)


def tone(metric: str, change: Decimal | float | None) -> str:
    """The colour class of a change by its meaning (the registry's ``higher_is_better``: 脱落
    up is bad): "good", "bad", or "" for no change or none."""
    if change is None or float(change) == 0:
        return ""
    m = METRICS.get(metric)
    better_up = True if m is None else m.higher_is_better
    return "good" if (float(change) > 0) == better_up else "bad"


def fv(metric: str, value: Decimal | float | int | None) -> str:
    """A value as the KPI service formats it (floats and ints accepted)."""
    if value is not None and not isinstance(value, Decimal):
        value = Decimal(str(value))
    return format_value(metric, value)


def helpers(ctx: Ctx) -> dict[str, Any]:
    return {"fv": fv, "label": lambda m: label(ctx, m), "growth": lambda v, pp=False: fmt_growth(v, pp, ctx.lang),
            "rate": fmt_rate, "money": fmt_money, "wan": fmt_wan, "tone": tone,
            "card_value": lambda m, v: card_value(ctx, m, v), "qs": lambda **kw: urlencode(
                {k: v for k, v in kw.items() if v is not None and v != ""})}


def _axis(ctx: Ctx, months: list[str]) -> dict[str, Any]:
    return {"type": "category", "data": [m[2:] for m in months]}


def _wan_axis(ctx: Ctx) -> dict[str, Any]:
    """A value axis of amounts in 万元, with its unit written at the top of the axis (the chart's
    grid leaves room for it under the title: :func:`_base`)."""
    return {"type": "value", "name": ctx.t("wan_unit"), "nameTextStyle": {"align": "left"}}


def _base(title: str) -> dict[str, Any]:
    return {"title": {"text": title, "textStyle": {"fontSize": 13}}, "tooltip": {"trigger": "axis"},
            "legend": {"bottom": 0, "type": "scroll"},
            "grid": {"left": 8, "right": 8, "top": 58, "bottom": 36, "containLabel": True}}


def trend_options(ctx: Ctx, d: svc.Dashboard, trends: bool = True) -> dict[str, dict[str, Any]]:
    m, tr = d.months, d.trend
    en = ctx.lang == "en"
    out: dict[str, dict[str, Any]] = {}
    if d.children:
        ch = _base("FYP by unit (click to drill down)" if en else "下级机构 FYP (点击下钻)")
        ch["tooltip"] = {"trigger": "item"}
        ch.update(xAxis={"type": "category", "data": [c["org_name"] for c in d.children],
                         "axisLabel": {"interval": 0, "rotate": 30 if len(d.children) > 4 else 0}},
                  yAxis=_wan_axis(ctx),
                  series=[{"name": "FYP", "type": "bar",
                           "data": [{"value": num(to_wan(c.get("fyp"))), "code": c["org_code"]}
                                    for c in d.children]}])
        out["children"] = ch
    if not trends:
        return out
    fyp = _base("FYP " + ("by month vs plan vs last year" if en else "月度趋势 · 计划 · 去年同期"))
    fyp.update(xAxis=_axis(ctx, m), yAxis=_wan_axis(ctx), series=[
        {"name": "FYP", "type": "bar", "data": [num(to_wan(tr[x]["fyp"])) for x in m]},
        {"name": "Plan" if en else "计划", "type": "line", "data": [num(to_wan(tr[x]["fyp_plan"])) for x in m]},
        {"name": "Last year" if en else "去年同期", "type": "line", "lineStyle": {"type": "dashed"},
         "data": [num(to_wan(tr[x]["fyp_last_year"])) for x in m]},
    ])
    flow = _base("Headcount flow" if en else "人力变动")
    flow.update(xAxis=_axis(ctx, m), yAxis={"type": "value"}, series=[
        {"name": label(ctx, "headcount_open"), "type": "line", "data": [num(tr[x]["headcount_open"], 1) for x in m]},
        {"name": label(ctx, "new_hires"), "type": "bar", "stack": "flow",
         "data": [num(tr[x]["new_hires"], 0) for x in m]},
        {"name": label(ctx, "leavers"), "type": "bar", "stack": "flow",
         "data": [-(num(tr[x]["leavers"], 0) or 0) for x in m]},
        {"name": label(ctx, "headcount_close"), "type": "line", "data": [num(tr[x]["headcount_close"], 1) for x in m]},
    ])
    act = _base(label(ctx, "activity_rate"))
    act.update(xAxis=_axis(ctx, m), yAxis={"type": "value", "axisLabel": {"formatter": "{value}%"}},
               series=[{"name": label(ctx, "activity_rate"), "type": "line", "areaStyle": {},
                        "data": [None if (v := tr[x]["activity_rate"]) is None else num(v * 100, 1)
                                 for x in m]}])
    out.update(fyp=fyp, flow=flow, activity=act)
    if d.cohort is not None and d.cohort.months:
        shares = d.cohort.shares("retention")
        n = len(d.cohort.months)
        data = [[t, h, round(v * 100, 1)] for h in range(n) for t in range(n)
                if h + t < n and (v := shares[h][t]) is not None]
        hm: dict[str, Any] = {
            "title": {"text": "Cohort retention (%)" if en else "批次留存率 (%)", "textStyle": {"fontSize": 13}},
            "tooltip": {"position": "top"},
            "grid": {"left": 8, "right": 8, "top": 36, "bottom": 56, "containLabel": True},
            "xAxis": {"type": "category", "name": "t", "data": list(range(n)), "splitArea": {"show": True}},
            "yAxis": {"type": "category", "data": [f"{x} ({s})" for x, s in zip(d.cohort.months, d.cohort.size,
                                                                               strict=True)],
                      "splitArea": {"show": True}},
            "visualMap": {"min": 0, "max": 100, "calculable": False, "orient": "horizontal", "left": "center",
                          "bottom": 0, "itemHeight": 120,
                          "inRange": {"color": ["#f8696b", "#ffeb84", "#63be7b"]}},
            "series": [{"name": "retention", "type": "heatmap", "data": data,
                        "label": {"show": n <= 12, "fontSize": 9}}],
        }
        out["cohort"] = hm
    return out


def team_chart(ctx: Ctx, board: svc.TeamBoard) -> dict[str, Any]:
    en = ctx.lang == "en"
    rows = sorted(board.rows, key=lambda r: -(r.fyp or 0))
    opt = _base(("Team FYP this month" if en else "团队本月 FYP") + f" ({board.month})")
    opt["tooltip"] = {"trigger": "item"}
    colors = {"green": "#22c55e", "yellow": "#eab308", "red": "#ef4444"}
    opt.update(xAxis={"type": "category", "data": [r.agent.agent_name for r in rows],
                      "axisLabel": {"interval": 0, "rotate": 40}},
               yAxis={"type": "value", "name": ctx.t("yuan_unit"), "nameTextStyle": {"align": "left"}},
               series=[{"name": "FYP", "type": "bar", "data": [
                   {"value": num(r.fyp, 0), "code": r.agent.agent_code,
                    "itemStyle": {"color": colors[r.light]}} for r in rows]}])
    return opt


# --- the page ------------------------------------------------------------------------------------


def no_data(ctx: Ctx, page: str, org: str, period: str, through: Any) -> Response:
    """A period after the last day of data: "本期无数据" with links back (dashboard, report).
    An org unit outside the user's scope is not found, as a missing one (its name not shown)."""
    if org not in {o.org_code for o in svc.visible_orgs(ctx.ws, ctx.actor)}:
        raise NotFound(f"找不到机构 {org}", f"org unit {org} not found")
    name = ctx.names.org(org)
    return ctx.render("dashboard/no_data.html", page=page, org=org, org_label=name, period=period,
                      through=through, last=svc.last_closed_month(ctx.ws, through), **helpers(ctx))



def care_card(ctx: Ctx, through: dt.date, org: str | None) -> dict[str, Any] | None:
    """Care coverage (关怀覆盖, issue 15) of the shown unit within the user's scope (``org`` None:
    the whole scope), as ``zhuizong track effectiveness --coverage`` counts it, on the tracking
    day of the data: the day after it ends, at the latest today. None for a user who does not
    see tracking."""
    if not ctx.actor.can("view_tracking"):
        return None
    return coverage_card(ctx.ws, ctx.actor, min(dt.date.today(), through + dt.timedelta(days=1)), org)


@router.get("/dashboard/care", response_class=HTMLResponse)
def dashboard_care(ctx: Annotated[Ctx, Depends(page_ctx)], org: str | None = None) -> Response:
    """The care-coverage card of /dashboard (an HTMX fragment, loaded after the page: a live count
    over the agents in scope, not a stored result); empty for a user who does not see tracking."""
    if org is not None and org not in {o.org_code for o in svc.visible_orgs(ctx.ws, ctx.actor)}:
        raise NotFound(f"找不到机构 {org}", f"org unit {org} not found")
    care = care_card(ctx, svc.data_through(ctx.ws), org)
    return ctx.render("dashboard/_care.html", care=care, **helpers(ctx))


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(ctx: Annotated[Ctx, Depends(page_ctx)], org: str | None = None,
                   period: str | None = None) -> Response:
    t0 = time.perf_counter()
    through = svc.data_through(ctx.ws)
    period = period or svc.last_closed_month(ctx.ws, through)
    orgs = svc.visible_orgs(ctx.ws, ctx.actor)
    org = org or svc.visible_root(orgs)
    if org is not None and svc.period_without_data(ctx.ws, period, through):
        return no_data(ctx, "dashboard", org, period, through)
    if org is None:  # a supervisor with only a reporting line: their team, no org unit KPIs
        board = None
        if ctx.actor.agent_code:
            board = svc.team_board(ctx.ws, ctx.actor, through=through)
        return ctx.render("dashboard/team_only.html", board=board, period=period, through=through,
                          chart=team_chart(ctx, board) if board and board.rows else None,
                          show_care=ctx.actor.can("view_tracking"), **helpers(ctx))
    # cards, children and segments now; the 12-month trends and the cohort heat map are loaded
    # by HTMX from /dashboard/trends (12 more KPI requests: slow only on a cold cache)
    d = svc.dashboard(ctx.ws, ctx.actor, org, period, through=through, with_trend=False)
    charts = trend_options(ctx, d, trends=False)
    d.timings["total"] = time.perf_counter() - t0
    return ctx.render("dashboard/index.html", d=d, charts=charts, show_care=ctx.actor.can("view_tracking"),
                      orgs=svc.picker_orgs(orgs, d.org_code), period=period,
                      label_of=svc.CATEGORY_EN if ctx.lang == "en" else svc.CATEGORY_ZH,
                      **helpers(ctx))


@router.get("/dashboard/trends", response_class=HTMLResponse)
def dashboard_trends(ctx: Annotated[Ctx, Depends(page_ctx)], org: str, period: str) -> Response:
    """The trend charts and the cohort heat map of /dashboard (an HTMX fragment; a full page
    when opened directly)."""
    d = svc.dashboard(ctx.ws, ctx.actor, org, period)  # NotFound outside the scope
    charts = trend_options(ctx, d)
    tpl = "dashboard/_trends.html" if ctx.request.headers.get("hx-request") else "dashboard/trends_page.html"
    return ctx.render(tpl, d=d, charts=charts, period=period, **helpers(ctx))
