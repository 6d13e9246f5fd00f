"""Team board (团队看板): a supervisor's reporting line with a traffic light per agent.

The light is defined in :func:`zhuizong.services.dashboard.team_board`; this page sorts and shows
it (a table on wide screens, cards on a phone)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from zhuizong.services import dashboard as svc
from zhuizong.web.deps import Ctx, page_ctx
from zhuizong.web.pages.dashboard import helpers

router = APIRouter(include_in_schema=False)

SORTS = ("light", "fyp", "cases", "attendance", "log", "items", "name")


@router.get("/team", response_class=HTMLResponse)
def team_page(ctx: Annotated[Ctx, Depends(page_ctx)], head: str | None = None,
              sort: str = "light") -> Response:
    sort = sort if sort in SORTS else "light"
    head = (head or "").strip() or None
    if head is None and ctx.actor.agent_code is None:  # e.g. an admin: choose whose team
        return ctx.render("team/board.html", board=None, sort=sort, head=None, **helpers(ctx))
    board = svc.team_board(ctx.ws, ctx.actor, head)  # NotFound for a head outside the scope
    keys = {
        "light": lambda r: (svc.LIGHT_ORDER[r.light], -(r.fyp or 0), r.agent.agent_code),
        "fyp": lambda r: (-(r.fyp or 0), r.agent.agent_code),
        "cases": lambda r: (-(r.cases or 0), r.agent.agent_code),
        "attendance": lambda r: (r.attendance_rate if r.attendance_rate is not None else 2, r.agent.agent_code),
        "log": lambda r: (r.last_log.toordinal() if r.last_log else 0, r.agent.agent_code),
        "items": lambda r: (-r.open_items, r.agent.agent_code),
        "name": lambda r: (r.agent.agent_name, r.agent.agent_code),
    }
    board.rows.sort(key=keys[sort])
    counts = {k: sum(1 for r in board.rows if r.light == k) for k in ("red", "yellow", "green")}
    return ctx.render("team/board.html", board=board, sort=sort, head=head, counts=counts,
                      team_max=svc.TEAM_MAX, line_cap=svc.LINE_CAP, **helpers(ctx))
