"""KPI report page: the monthly report table on screen (:func:`zhuizong.reports.monthly.monthly_report`)
with xlsx and PDF downloads (:func:`zhuizong.reports.export.build_monthly`), each export audited."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from zhuizong.errors import ZhuizongError
from zhuizong.kpi.registry import METRICS
from zhuizong.reports.export import build_monthly
from zhuizong.reports.monthly import Column, monthly_view
from zhuizong.services import dashboard as svc
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.web.deps import Ctx, page_ctx
from zhuizong.web.pages.dashboard import helpers, no_data

router = APIRouter(include_in_schema=False)

MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "pdf": "application/pdf"}
SUB_EN = {"实际": "Actual", "计划": "Plan", "达成率": "Attainment", "同比": "YoY", "环比": "MoM",
          "排名": "Rank", "同比(百分点)": "YoY (pp)", "环比(百分点)": "MoM (pp)"}
UNIT_EN = {"元": "yuan", "万元": "10k yuan", "元/人": "yuan/agent", "元/件": "yuan/case",
           "件/人": "cases/agent"}


def _block_en(col: Column, has_sub: bool) -> str:
    """The English header of a metric block: the metric's English name (a key metric's block is
    labelled in Chinese by the report), with the unit of money columns."""
    name = METRICS[col.key].en if has_sub and col.registry else col.en
    unit = UNIT_EN.get(col.unit)
    return f"{name} ({unit})" if unit and col.fmt in ("money", "per2") else name


def _resolve(ctx: Ctx, org: str | None, period: str | None) -> tuple[str | None, str]:
    through = svc.data_through(ctx.ws)
    period = period or svc.last_closed_month(ctx.ws, through)
    if org is None:
        org = svc.visible_root(svc.visible_orgs(ctx.ws, ctx.actor))
    return org, period


@router.get("/report", response_class=HTMLResponse)
def report_page(ctx: Annotated[Ctx, Depends(page_ctx)], org: str | None = None,
                period: str | None = None) -> Response:
    org, period = _resolve(ctx, org, period)
    through = svc.data_through(ctx.ws)
    if org is None:  # a supervisor's reporting line: the team this month (the team board's data)
        board = svc.team_board(ctx.ws, ctx.actor, through=through) if ctx.actor.agent_code else None
        return ctx.render("report/index.html", report=None, period=period, org=None, orgs=[],
                          board=board, through=through, **helpers(ctx))
    if svc.period_without_data(ctx.ws, period, through):
        return no_data(ctx, "report", org, period, through)
    report, body = monthly_view(ctx.ws, ctx.actor, period, org)  # NotFound outside the scope
    en = ctx.lang == "en"
    cols = report.columns
    header = {
        "groups": [(g.split(" ", 1)[-1] if en and " " in g else g.split(" ", 1)[0], a, b)
                   for g, a, b in report.groups],
        "blocks": [(_block_en(cols[a], has_sub) if en else label, a, b, has_sub)
                   for label, a, b, has_sub in report.blocks],
        "subs": [(SUB_EN.get(c.sub, c.sub) if en else c.sub) if c.sub else None for c in cols],
    }
    return ctx.render("report/index.html", report=report, header=header, body=body, period=period,
                      org=report.org_code,
                      orgs=svc.picker_orgs(svc.visible_orgs(ctx.ws, ctx.actor), report.org_code),
                      **helpers(ctx))


@router.get("/report/download")
def report_download(ctx: Annotated[Ctx, Depends(page_ctx)], org: str | None = None,
                    period: str | None = None, format: str = "xlsx") -> Response:
    if format not in MEDIA:
        raise ZhuizongError(f"报表格式应为 xlsx 或 pdf: {format}", f"format must be xlsx or pdf: {format}")
    org, period = _resolve(ctx, org, period)
    if org is None:
        raise ZhuizongError("没有可见的机构", "no visible org unit")
    with tempfile.TemporaryDirectory(prefix="zz-report-") as tmp:
        out = Path(tmp) / f"report.{format}"
        build_monthly(ctx.ws, ctx.actor, period, org, out, format)  # type: ignore[arg-type]
        data = out.read_bytes()
    with atomic(ctx.ws.engine) as conn:
        audit.record(conn, actor=ctx.actor.username, action="export", object_type="report",
                     object_id=f"monthly {org} {period}",
                     detail={"format": format, "org": org, "period": period, "bytes": len(data)})
    name = f"月度业绩报表_{org}_{period}.{format}"
    ascii_name = f"monthly_report_{org}_{period}.{format}"
    return Response(data, media_type=MEDIA[format], headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"})
