"""Tools (工具): the agent's work log (phone first) and the meeting attendance sheet (training:
:mod:`zhuizong.web.pages.training`).

Thin: parse the form, call :mod:`zhuizong.services.tools`, render. Saving redirects (303) so a
reload does not post twice; a rejected form is shown again with the values typed and the errors.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhuizong.errors import ImportFailed, ZhuizongError
from zhuizong.importing.service import ImportResult
from zhuizong.services import tools as svc
from zhuizong.store.models import ATTENDANCE_STATUSES, MEETINGS
from zhuizong.web.deps import Ctx, page_ctx

router = APIRouter(include_in_schema=False)

STATUS_PREFIX = "st_"


def _today() -> dt.date:
    return dt.date.today()


def _msg(ctx: Ctx, e: ZhuizongError) -> str:
    return e.en if ctx.lang == "en" else e.zh


def _date(value: str | None, default: dt.date) -> dt.date:
    if not value:
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ZhuizongError(f"日期格式应为 YYYY-MM-DD: {value!r}",
                            f"dates are YYYY-MM-DD: {value!r}") from None


def _errors(ctx: Ctx, result: ImportResult, rows: dict[int, str] | None = None) -> list[dict[str, str]]:
    out = []
    for e in result.errors:
        out.append({"row": (rows or {}).get(e.row, ""), "column": e.column, "value": e.value,
                    "reason": e.reason_en if ctx.lang == "en" else e.reason_zh})
    return out


@router.get("/tools", response_class=HTMLResponse)
def menu(ctx: Annotated[Ctx, Depends(page_ctx)]) -> Response:
    return ctx.render("tools/index.html", has_agent=bool(ctx.actor.agent_code),
                      can_attendance=bool(ctx.roles & svc.ATTENDANCE_ROLES),
                      can_training=ctx.actor.can("view_training"))


# --- work log ---------------------------------------------------------------------------------


def _worklog_page(ctx: Ctx, day: dt.date, *, saved: bool = False, error: str | None = None,
                  errors: list[dict[str, str]] | None = None, values: dict[str, str] | None = None,
                  status_code: int = 200) -> Response:
    today = _today()
    recent = svc.recent_worklogs(ctx.ws, ctx.actor, today)
    if values is None:
        current = next((r for r in recent if r["date"] == day), None) or {}
        values = {f: "" if current.get(f) is None else str(current[f]) for f in svc.WORKLOG_FIELDS}
        values["note"] = str(current.get("note") or "")
    return ctx.render("tools/worklog.html", day=day, days=svc.worklog_days(today), recent=recent,
                      fields=svc.WORKLOG_FIELDS, values=values, saved=saved, error=error,
                      errors=errors or [], agent_code=svc.own_agent_code(ctx.actor),
                      status_code=status_code)


@router.get("/tools/worklog", response_class=HTMLResponse)
def worklog(ctx: Annotated[Ctx, Depends(page_ctx)], date: str | None = None, saved: int = 0) -> Response:
    today = _today()
    try:
        day = _date(date, today)
    except ZhuizongError as e:
        return _worklog_page(ctx, today, error=_msg(ctx, e), status_code=400)
    if day not in svc.worklog_days(today):
        day = today
    return _worklog_page(ctx, day, saved=bool(saved))


@router.post("/tools/worklog")
async def worklog_submit(request: Request, ctx: Annotated[Ctx, Depends(page_ctx)]) -> Response:
    form = await request.form()
    text = {k: v for k, v in form.items() if isinstance(v, str)}
    today = _today()
    values = {f: text.get(f, "") for f in svc.WORKLOG_FIELDS}
    values["note"] = text.get("note", "")
    try:
        day = _date(text.get("date"), today)
        data = svc.WorkLogInput(date=day, counts={f: values[f] for f in svc.WORKLOG_FIELDS},
                                note=values["note"], agent_code=text.get("agent_code") or None)
        await run_in_threadpool(svc.save_worklog, ctx.ws, ctx.actor, data, today)
    except ImportFailed as e:
        msg = _msg(ctx, e)  # outside the lambda: ruff reads ``e`` in a lambda as unbound (F821)
        errs = _errors(ctx, e.result) if isinstance(e.result, ImportResult) else []
        return await run_in_threadpool(
            lambda: _worklog_page(ctx, day, error=msg, values=values, errors=errs, status_code=400))
    except ZhuizongError as e:
        if type(e).__name__ in ("NotFound", "PermissionDenied"):
            raise
        msg = _msg(ctx, e)
        return await run_in_threadpool(
            lambda: _worklog_page(ctx, today, error=msg, values=values, status_code=400))
    return RedirectResponse(f"/tools/worklog?{urlencode({'date': day.isoformat(), 'saved': 1})}",
                            status_code=303)


# --- attendance -------------------------------------------------------------------------------


def _attendance_page(ctx: Ctx, day: dt.date, meeting: str, group: str | None, *,
                     marks: dict[str, str] | None = None, saved: int | None = None,
                     error: str | None = None, errors: list[dict[str, str]] | None = None,
                     status_code: int = 200) -> Response:
    today = _today()
    sheet = svc.attendance_sheet(ctx.ws, ctx.actor, day, meeting, today, group=group)
    shown = {a.agent_code: a.status for g in sheet.groups for a in g.agents if a.status}
    if marks is not None:
        shown = {**shown, **marks}
    return ctx.render("tools/attendance.html", sheet=sheet, marks=shown, statuses=ATTENDANCE_STATUSES,
                      meetings=MEETINGS, today=today, prefix=STATUS_PREFIX, saved=saved, error=error,
                      errors=errors or [], status_code=status_code,
                      first_day=today - dt.timedelta(days=svc.ATTENDANCE_BACKFILL_DAYS))


@router.get("/tools/attendance", response_class=HTMLResponse)
def attendance(ctx: Annotated[Ctx, Depends(page_ctx)], date: str | None = None, meeting: str = "morning",
               group: str | None = None, saved: int | None = None) -> Response:
    svc.require_attendance_role(ctx.actor)
    today = _today()
    meeting = meeting if meeting in MEETINGS else "morning"
    try:
        day = _date(date, today)
        svc.check_attendance_date(day, meeting, today)
    except ZhuizongError as e:
        return _attendance_page(ctx, today, meeting, None, error=_msg(ctx, e), status_code=400)
    return _attendance_page(ctx, day, meeting, group or None, saved=saved)


@router.post("/tools/attendance")
async def attendance_submit(request: Request, ctx: Annotated[Ctx, Depends(page_ctx)]) -> Response:
    """Save the sheet (all or nothing); with ``fill_group`` (the no-JavaScript "全部出席" button)
    only show it again with that group marked present, saving nothing."""
    svc.require_attendance_role(ctx.actor)
    form = await request.form()
    text = {k: v for k, v in form.items() if isinstance(v, str)}
    today = _today()
    meeting = text.get("meeting", "morning")
    group = text.get("group") or None
    marks = {k[len(STATUS_PREFIX):]: v for k, v in text.items() if k.startswith(STATUS_PREFIX) and v}
    try:
        day = _date(text.get("date"), today)
        svc.check_attendance_date(day, meeting, today)
    except ZhuizongError as e:
        return _attendance_page(ctx, today, "morning", None, error=_msg(ctx, e), status_code=400)
    fill = text.get("fill_group")
    if fill:
        sheet = await run_in_threadpool(svc.attendance_sheet, ctx.ws, ctx.actor, day, meeting, today, group)
        for g in sheet.groups:
            if g.org_code == fill:
                marks.update({a.agent_code: "present" for a in g.agents})
        return await run_in_threadpool(lambda: _attendance_page(ctx, day, meeting, group, marks=marks))
    try:
        result = await run_in_threadpool(svc.save_attendance, ctx.ws, ctx.actor, day, meeting, marks, today)
    except ImportFailed as e:
        rows = svc.row_agent(e.result, list(marks)) if isinstance(e.result, ImportResult) else {}
        errs = _errors(ctx, e.result, rows) if isinstance(e.result, ImportResult) else []
        msg = _msg(ctx, e)
        return await run_in_threadpool(lambda: _attendance_page(
            ctx, day, meeting, group, marks=marks, error=msg, errors=errs, status_code=400))
    except ZhuizongError as e:
        if type(e).__name__ in ("NotFound", "PermissionDenied"):
            raise
        msg = _msg(ctx, e)
        return await run_in_threadpool(lambda: _attendance_page(
            ctx, day, meeting, group, marks=marks, error=msg, status_code=400))
    q = {"date": day.isoformat(), "meeting": meeting, "saved": result.rows_total}
    if group:
        q["group"] = group
    return RedirectResponse(f"/tools/attendance?{urlencode(q)}", status_code=303)

