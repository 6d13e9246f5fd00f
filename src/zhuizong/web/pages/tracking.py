"""Tracking inbox (追踪清单), item page with the agent's snapshot, and the record form."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhuizong.errors import ZhuizongError
from zhuizong.services.activity import recent_activity
from zhuizong.store.models import RAISE_CATEGORIES, TRACK_LINKS, TRACK_METHODS, TRACK_OUTCOMES
from zhuizong.tracking.raises import answer, can_raise, list_raises, raise_item
from zhuizong.tracking.service import (
    LINK_ZH,
    METHOD_ZH,
    OUTCOME_ZH,
    RAISE_CATEGORY_EN,
    RAISE_CATEGORY_ZH,
    ListQuery,
    RecordInput,
    close,
    list_items,
    record,
    show_item,
)
from zhuizong.web.deps import Ctx, page_ctx

router = APIRouter(include_in_schema=False)

LINK_EN = {"campaign": "Campaign", "supervisor": "Supervisor", "executive": "Executive",
           "training": "Training", "coaching": "Coaching", "assessment": "Assessment"}
METHOD_EN = {"phone": "Phone", "wechat": "WeChat", "face_to_face": "Face to face",
             "accompany": "Joint visit", "other": "Other"}
OUTCOME_EN = {"contacted": "Contacted", "committed": "Committed", "resolved": "Resolved",
              "no_answer": "No answer", "refused": "Refused", "other": "Other"}


def _labels(ctx: Ctx) -> dict[str, dict[str, str]]:
    en = ctx.lang == "en"
    return {"link": LINK_EN if en else LINK_ZH, "method": METHOD_EN if en else METHOD_ZH,
            "outcome": OUTCOME_EN if en else OUTCOME_ZH,
            "raise": RAISE_CATEGORY_EN if en else RAISE_CATEGORY_ZH}


@router.get("/tracking", response_class=HTMLResponse)
def inbox(ctx: Annotated[Ctx, Depends(page_ctx)], tab: str = "today", who: str = "mine",
          link: str | None = None, priority: int | None = None) -> Response:
    tab = tab if tab in ("today", "overdue", "done") else "today"
    who = who if who in ("mine", "team") else "mine"
    link = link if link in TRACK_LINKS else None
    status = "done" if tab == "done" else "open"
    owner = "me" if who == "mine" else None
    items = list_items(ctx.ws, ctx.actor, ListQuery(status=status, owner=owner, link=link, limit=500))
    if tab == "overdue":
        items = [x for x in items if x["overdue"]]
    if priority:
        items = [x for x in items if x["priority"] <= priority]
    return ctx.render("tracking/inbox.html", items=items, tab=tab, who=who, link=link,
                      priority=priority, links=TRACK_LINKS, labels=_labels(ctx),
                      raises_pending=list_raises(ctx.ws, ctx.actor, open_only=True, to_me=True))


@router.get("/tracking/{item_id}", response_class=HTMLResponse)
def item_page(ctx: Annotated[Ctx, Depends(page_ctx)], item_id: int, error: str | None = None) -> Response:
    x = show_item(ctx.ws, ctx.actor, item_id)
    activity = None
    if x["subject_type"] == "agent":
        # the facts as of the day the item was last seen (the tracking date), not the wall clock
        activity = recent_activity(ctx.ws, ctx.actor, x["subject_code"],
                                   on=dt.date.fromisoformat(x["last_seen"]))
    return ctx.render("tracking/item.html", x=x, activity=activity, labels=_labels(ctx),
                      methods=TRACK_METHODS, outcomes=TRACK_OUTCOMES, error=error,
                      can_record=ctx.actor.can("record_tracking"),
                      raise_item=x, raises=list_raises(ctx.ws, ctx.actor, item_id=item_id),
                      can_raise=can_raise(ctx.ws, ctx.actor, x), raise_categories=RAISE_CATEGORIES)


@router.post("/tracking/{item_id}/record")
def record_submit(request: Request, ctx: Annotated[Ctx, Depends(page_ctx)], item_id: int,
                  method: Annotated[str, Form()], outcome: Annotated[str, Form()],
                  finding: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
                  next_date: Annotated[str, Form()] = "") -> Response:
    try:
        nd = dt.date.fromisoformat(next_date) if next_date else None
    except ValueError:
        nd = None
    try:
        record(ctx.ws, ctx.actor, item_id, RecordInput(method=method, outcome=outcome,
                                                       finding=finding.strip() or None,
                                                       note=note.strip() or None, next_date=nd))
    except ZhuizongError as e:
        if type(e).__name__ in ("NotFound", "PermissionDenied"):
            raise
        return item_page(ctx, item_id, error=e.en if ctx.lang == "en" else e.zh)
    return RedirectResponse(f"/tracking/{item_id}", status_code=303)


@router.post("/tracking/{item_id}/close")
def close_submit(ctx: Annotated[Ctx, Depends(page_ctx)], item_id: int,
                 reason: Annotated[str, Form()]) -> Response:
    try:
        close(ctx.ws, ctx.actor, item_id, reason)
    except ZhuizongError as e:
        if type(e).__name__ in ("NotFound", "PermissionDenied"):
            raise
        return item_page(ctx, item_id, error=e.en if ctx.lang == "en" else e.zh)
    return RedirectResponse(f"/tracking/{item_id}", status_code=303)


@router.post("/tracking/{item_id}/raise")
def raise_submit(ctx: Annotated[Ctx, Depends(page_ctx)], item_id: int,
                 category: Annotated[str, Form()], note: Annotated[str, Form()] = "") -> Response:
    """上报上级 (report up) from the item page."""
    try:
        raise_item(ctx.ws, ctx.actor, item_id, category, note)
    except ZhuizongError as e:
        if type(e).__name__ in ("NotFound", "PermissionDenied"):
            raise
        page = item_page(ctx, item_id, error=e.en if ctx.lang == "en" else e.zh)
        page.status_code = 400  # the form again with the reason; nothing was raised
        return page
    return RedirectResponse(f"/tracking/{item_id}#raises", status_code=303)


@router.post("/tracking/raises/{raise_id}/answer")
def answer_submit(ctx: Annotated[Ctx, Depends(page_ctx)], raise_id: int, item_id: Annotated[int, Form()],
                  note: Annotated[str, Form()] = "", back: Annotated[str, Form()] = "inbox") -> Response:
    """The superior's answer to a raise (inline in the inbox, or on the item page)."""
    try:
        answer(ctx.ws, ctx.actor, raise_id, note)
    except ZhuizongError as e:
        if type(e).__name__ in ("NotFound", "PermissionDenied"):
            raise
        return item_page(ctx, item_id, error=e.en if ctx.lang == "en" else e.zh)
    return RedirectResponse("/tracking" if back == "inbox" else f"/tracking/{item_id}#raises", status_code=303)
