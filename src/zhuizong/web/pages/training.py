"""Training (培训班与培训签到): session list, create form, the session roster to mark in a few taps
(phone first, like the meeting attendance sheet), and the completion view.

Thin: parse the form, call :mod:`zhuizong.training.service`, render. Saving redirects (303) so a
reload does not post twice; a rejected form is shown again with the values typed and the errors.
Every POST carries the session's CSRF token (checked by the app for every form).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhuizong.errors import ImportFailed, NotFound, PermissionDenied, ZhuizongError
from zhuizong.importing.service import ImportResult
from zhuizong.store.models import ATTENDANCE_STATUSES, COURSE_KINDS
from zhuizong.training import service as svc
from zhuizong.web.deps import Ctx, page_ctx

router = APIRouter(include_in_schema=False)

STATUS_PREFIX = "st_"
FORM_FIELDS = ("session_code", "title", "course_kind", "session_date", "org_code", "max_tenure_days",
               "location", "invite")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _today() -> dt.date:
    return dt.date.today()


def _msg(ctx: Ctx, e: ZhuizongError) -> str:
    return e.en if ctx.lang == "en" else e.zh


def _errors(ctx: Ctx, result: object, rows: dict[int, str] | None = None) -> list[dict[str, str]]:
    if not isinstance(result, ImportResult):
        return []
    return [{"row": (rows or {}).get(e.row, ""), "column": e.column, "value": e.value,
             "reason": e.reason_en if ctx.lang == "en" else e.reason_zh} for e in result.errors]


def _filters(month: str | None, kind: str | None) -> tuple[str | None, str | None]:
    month = month if month and _MONTH.match(month) else None
    kind = kind if kind in COURSE_KINDS else None
    return month, kind


def text_codes(form: dict[str, str]) -> set[str]:
    """Agent codes of the roster's radio buttons in a posted form."""
    return {k[len(STATUS_PREFIX):] for k in form if k.startswith(STATUS_PREFIX)}


def _codes(text: str) -> list[str]:
    return [c for c in re.split(r"[\s,，;；、]+", text or "") if c]


# --- list and completion ----------------------------------------------------------------------


@router.get("/tools/training", response_class=HTMLResponse)
def sessions(ctx: Annotated[Ctx, Depends(page_ctx)], month: str | None = None,
             kind: str | None = None) -> Response:
    month, kind = _filters(month, kind)
    rows = svc.list_sessions(ctx.ws, ctx.actor, month=month, kind=kind, today=_today())
    return ctx.render("tools/training.html", rows=rows, month=month or "", kind=kind or "",
                      kinds=COURSE_KINDS, can_manage=ctx.actor.can("manage_training"))


@router.get("/tools/training/completion", response_class=HTMLResponse)
def completion(ctx: Annotated[Ctx, Depends(page_ctx)], month: str | None = None,
               kind: str | None = None) -> Response:
    month, kind = _filters(month, kind)
    rows = svc.completion(ctx.ws, ctx.actor, month=month, kind=kind, today=_today())
    titles = {s.session.session_code: s.session.title for s in  # sessions by title, not code
              svc.list_sessions(ctx.ws, ctx.actor, month=month, kind=kind, today=_today())}
    return ctx.render("tools/training_completion.html", rows=rows, month=month or "", kind=kind or "",
                      kinds=COURSE_KINDS, titles=titles)


# --- create -----------------------------------------------------------------------------------


def _new_page(ctx: Ctx, values: dict[str, str] | None = None, *, error: str | None = None,
              errors: list[dict[str, str]] | None = None, status_code: int = 200) -> Response:
    orgs = svc.org_choices(ctx.ws, ctx.actor)
    if values is None:
        values = {f: "" for f in FORM_FIELDS}
        values["session_date"] = _today().isoformat()
        values["course_kind"] = "new_hire"
        values["max_tenure_days"] = "90"
    return ctx.render("tools/training_new.html", values=values, orgs=orgs, kinds=COURSE_KINDS,
                      error=error, errors=errors or [], status_code=status_code)


@router.get("/tools/training/new", response_class=HTMLResponse)
def new(ctx: Annotated[Ctx, Depends(page_ctx)]) -> Response:
    ctx.actor.require("manage_training")
    return _new_page(ctx)


@router.post("/tools/training/new")
async def create(request: Request, ctx: Annotated[Ctx, Depends(page_ctx)]) -> Response:
    ctx.actor.require("manage_training")
    form = await request.form()
    values = {f: str(form.get(f) or "") for f in FORM_FIELDS}
    data = svc.SessionInput(
        session_code=values["session_code"], title=values["title"], course_kind=values["course_kind"],
        session_date=values["session_date"], org_code=values["org_code"],
        max_tenure_days=values["max_tenure_days"], location=values["location"],
        invite=_codes(values["invite"]))
    try:
        await run_in_threadpool(svc.create_session, ctx.ws, ctx.actor, data)
    except ImportFailed as e:
        msg, errs = _msg(ctx, e), _errors(ctx, e.result)  # not in the lambda: ruff F821 on ``e``
        return await run_in_threadpool(lambda: _new_page(
            ctx, values, error=msg, errors=errs, status_code=400))
    except (NotFound, PermissionDenied):
        raise
    except ZhuizongError as e:
        msg = _msg(ctx, e)
        return await run_in_threadpool(lambda: _new_page(ctx, values, error=msg, status_code=400))
    code = data.session_code.strip()
    return RedirectResponse(f"/tools/training/sessions/{quote(code, safe='')}?created=1", status_code=303)


# --- one session: roster and marks ------------------------------------------------------------


def _session_page(ctx: Ctx, code: str, *, marks: dict[str, str] | None = None, saved: int | None = None,
                  created: bool = False, error: str | None = None,
                  errors: list[dict[str, str]] | None = None, walk_in: str = "",
                  status_code: int = 200) -> Response:
    view = svc.get_session(ctx.ws, ctx.actor, code)
    today = _today()
    shown = {e.agent_code: e.status for e in view.roster if e.status}
    if marks is not None:
        shown = {**shown, **marks}
    outcomes = {e.agent_code: svc.outcome(e.status, view.session.session_date, today) for e in view.roster}
    return ctx.render("tools/training_session.html", view=view, s=view.session, counts=view.counts(today),
                      marks=shown, outcomes=outcomes, statuses=ATTENDANCE_STATUSES, prefix=STATUS_PREFIX,
                      can_mark=ctx.actor.can("manage_training"), too_many=len(view.roster) > svc.ROSTER_MAX,
                      saved=saved, created=created, error=error, errors=errors or [], walk_in=walk_in,
                      status_code=status_code)


@router.get("/tools/training/sessions/{code}", response_class=HTMLResponse)
def session(ctx: Annotated[Ctx, Depends(page_ctx)], code: str, saved: int | None = None,
            created: int = 0) -> Response:
    ctx.actor.require("view_training")
    return _session_page(ctx, code, saved=saved, created=bool(created))


@router.post("/tools/training/sessions/{code}")
async def mark(request: Request, ctx: Annotated[Ctx, Depends(page_ctx)], code: str) -> Response:
    """Save the roster's marks (all or nothing). ``fill_all`` (the no-JavaScript "全部出席"
    button) only shows the sheet again with every unmarked agent present, saving nothing."""
    ctx.actor.require("manage_training")
    form = await request.form()
    text = {k: v for k, v in form.items() if isinstance(v, str)}
    marks = {k[len(STATUS_PREFIX):]: v for k, v in text.items() if k.startswith(STATUS_PREFIX) and v}
    walk_in = text.get("walk_in", "")
    if text.get("fill_all"):
        view = await run_in_threadpool(svc.get_session, ctx.ws, ctx.actor, code)
        for e in view.roster:
            marks.setdefault(e.agent_code, "present")
        return await run_in_threadpool(lambda: _session_page(ctx, code, marks=marks, walk_in=walk_in))
    for c in _codes(walk_in):
        marks.setdefault(c, "present")
    try:
        result = await run_in_threadpool(svc.save_marks, ctx.ws, ctx.actor, code, marks)
    except ImportFailed as e:
        errs = _errors(ctx, e.result, svc.row_agent(marks))
        msg = _msg(ctx, e)
        return await run_in_threadpool(lambda: _session_page(
            ctx, code, marks=marks, error=msg, errors=errs, walk_in=walk_in, status_code=400))
    except NotFound as e:
        # the session itself out of sight: 404 (re-raised by the page); an agent code outside the
        # scope (a mistyped walk-in): the sheet again with the message, nothing saved
        msg = _msg(ctx, e)
        return await run_in_threadpool(lambda: _session_page(
            ctx, code, marks={k: v for k, v in marks.items() if k in text_codes(text)},
            error=msg, walk_in=walk_in, status_code=400))
    except PermissionDenied:
        raise
    except ZhuizongError as e:
        msg = _msg(ctx, e)
        return await run_in_threadpool(lambda: _session_page(
            ctx, code, marks=marks, error=msg, walk_in=walk_in, status_code=400))
    q = urlencode({"saved": result.rows_total})
    return RedirectResponse(f"/tools/training/sessions/{quote(code, safe='')}?{q}", status_code=303)
