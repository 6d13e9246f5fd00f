"""Agents: the searchable list within scope (and the agents behind a dashboard number), and the
agent profile (timeline, production, attendance, work logs, tracking, assessment)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from zhuizong.services import dashboard as svc
from zhuizong.services import profile
from zhuizong.web.deps import Ctx, page_ctx
from zhuizong.web.pages.dashboard import _base, helpers, num
from zhuizong.web.pages.tracking import _labels
from zhuizong.web.paging import pager

router = APIRouter(include_in_schema=False)

FILTERS = ("fyp", "cases", "active", "inactive", "new_hires", "leavers", "headcount_open",
           "headcount_close")


@router.get("/agents", response_class=HTMLResponse)
def agents_page(ctx: Annotated[Ctx, Depends(page_ctx)], org: str | None = None, q: str | None = None,
                period: str | None = None, filter: str | None = None, page: int = 1) -> Response:
    filt = filter if filter in FILTERS else None
    rows, per = svc.agent_list(ctx.ws, ctx.actor, org=org or None, period=period or None, filt=filt,
                               q=q)  # NotFound when org is outside the scope
    pg = pager(len(rows), page)
    return ctx.render("agents/list.html", rows=rows[pg.start:pg.end], total=len(rows), per=per,
                      org=org, q=q or "", period=period, filter=filt, filters=FILTERS, limit=1000,
                      pg=pg, href=lambda n: "/agents?" + urlencode(
                          {k: v for k, v in (("org", org), ("q", q), ("period", period),
                                             ("filter", filt), ("page", n)) if v}), **helpers(ctx))


def _production_chart(ctx: Ctx, p: profile.Profile) -> dict[str, Any]:
    opt = _base("FYP · " + ("last 12 months" if ctx.lang == "en" else "近 12 个月"))
    opt.update(xAxis={"type": "category", "data": [m[2:] for m in p.months]},
               yAxis={"type": "value"},
               series=[{"name": "FYP", "type": "bar", "data": [num(p.production[m].get("fyp"), 0) for m in p.months]},
                       {"name": "cases" if ctx.lang == "en" else "件数", "type": "line", "yAxisIndex": 0,
                        "data": [num(p.production[m].get("cases"), 0) for m in p.months]}])
    return opt


@router.get("/agents/{code}", response_class=HTMLResponse)
def agent_page(ctx: Annotated[Ctx, Depends(page_ctx)], code: str) -> Response:
    p = profile.agent_profile(ctx.ws, ctx.actor, code)  # NotFound outside the scope
    return ctx.render("agents/profile.html", p=p, a=p.detail.agent, chart=_production_chart(ctx, p),
                      labels=_labels(ctx), **helpers(ctx))
