"""Tracking inbox (追踪清单), item page with the agent's snapshot, and the record form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhuizong.errors import NotFound, PermissionDenied, ZhuizongError
from zhuizong.services.activity import recent_activity
from zhuizong.store.models import RAISE_CATEGORIES, TRACK_LINKS, TRACK_METHODS, TRACK_OUTCOMES
from zhuizong.tracking.day import (
    SNOOZE_MAX_DAYS,
    card_facts,
    day_count,
    reassign,
    reassign_targets,
    snooze,
)
from zhuizong.tracking.raises import answer, can_raise, list_raises, raise_item
from zhuizong.tracking.service import (
    LINK_EN,
    LINK_ZH,
    METHOD_EN,
    METHOD_ZH,
    OUTCOME_EN,
    OUTCOME_ZH,
    RAISE_CATEGORY_EN,
    RAISE_CATEGORY_ZH,
    ListQuery,
    RecordInput,
    close,
    count_items,
    list_items,
    record,
    show_item,
)
from zhuizong.web.deps import Ctx, page_ctx
from zhuizong.web.paging import pager

#: cards per page of the inbox (a phone scrolls through a day's work, not through 1,000 cards)
INBOX_PAGE = 50

router = APIRouter(include_in_schema=False)

def _labels(ctx: Ctx) -> dict[str, dict[str, str]]:
    en = ctx.lang == "en"
    return {"link": LINK_EN if en else LINK_ZH, "method": METHOD_EN if en else METHOD_ZH,
            "outcome": OUTCOME_EN if en else OUTCOME_ZH,
            "raise": RAISE_CATEGORY_EN if en else RAISE_CATEGORY_ZH}


def _today() -> dt.date:
    return dt.date.today()


def _view(tab: str | None, who: str | None, link: str | None, priority: int | str | None,
          page: int | str | None) -> dict[str, Any]:
    """The inbox's query parameters, cleaned (unknown values: the defaults)."""
    try:
        prio = int(priority) if priority not in (None, "") else None  # type: ignore[arg-type]
    except ValueError:
        prio = None
    try:
        pg = max(1, int(page)) if page not in (None, "") else 1  # type: ignore[arg-type]
    except ValueError:
        pg = 1
    return {"tab": tab if tab in ("today", "overdue", "done") else "today",
            "who": who if who in ("mine", "team") else "mine",
            "link": link if link in TRACK_LINKS else None,
            "priority": prio if prio in (1, 2, 3) else None, "page": pg}


def _query(v: dict[str, Any], today: dt.date) -> ListQuery:
    owner = "me" if v["who"] == "mine" else None
    common = {"owner": owner, "link": v["link"], "max_priority": v["priority"]}
    if v["tab"] == "today":
        return ListQuery(inbox_on=today, **common)  # type: ignore[arg-type]
    if v["tab"] == "overdue":
        return ListQuery(status="open", overdue_on=today, **common)  # type: ignore[arg-type]
    return ListQuery(status="done", **common)  # type: ignore[arg-type]


def _inbox_href(v: dict[str, Any], **change: Any) -> str:
    """The inbox URL of view ``v`` with ``change``d parameters (None: left out)."""
    params = {**{k: v[k] for k in ("tab", "who", "link", "priority", "page")}, **change}
    if params.get("page") == 1:
        params["page"] = None
    return "/tracking?" + urlencode({k: x for k, x in params.items() if x not in (None, "")})


def _page_items(ctx: Ctx, v: dict[str, Any], today: dt.date) -> tuple[list[dict[str, Any]], Any]:
    q = _query(v, today)
    pg = pager(count_items(ctx.ws, ctx.actor, q), v["page"], INBOX_PAGE)
    items = list_items(ctx.ws, ctx.actor, ListQuery(**{**q.__dict__, "limit": INBOX_PAGE, "offset": pg.start}))
    facts = card_facts(ctx.ws, ctx.actor, items, today)
    return [{**x, **facts.get(x["id"], {})} for x in items], pg


def _move_context(ctx: Ctx, can_record: bool) -> dict[str, Any]:
    """What the 结案 · 转派 · 暂缓 forms need: whom to reassign to, the snooze dates."""
    today = _today()
    return {"targets": reassign_targets(ctx.ws, ctx.actor) if can_record else [],
            "tomorrow": (today + dt.timedelta(days=1)).isoformat(),
            "snooze_days": [((today + dt.timedelta(days=n)).isoformat(), f"snooze_{n}") for n in (1, 3, 7)],
            "snooze_max": (today + dt.timedelta(days=SNOOZE_MAX_DAYS)).isoformat()}


@router.get("/tracking", response_class=HTMLResponse)
def inbox(ctx: Annotated[Ctx, Depends(page_ctx)], tab: str = "today", who: str = "mine",
          link: str | None = None, priority: str | None = None, page: str | None = None) -> Response:
    v = _view(tab, who, link, priority, page)
    today = _today()
    items, pg = _page_items(ctx, v, today)
    count = day_count(ctx.ws, ctx.actor, today, "me" if v["who"] == "mine" else None)
    can_record = ctx.actor.can("record_tracking")
    return ctx.render("tracking/inbox.html", items=items, pg=pg, count=count, view=v,
                      href=lambda n: _inbox_href(v, page=n), tab=v["tab"], who=v["who"], link=v["link"],
                      priority=v["priority"], links=TRACK_LINKS, labels=_labels(ctx),
                      methods=TRACK_METHODS, outcomes=TRACK_OUTCOMES, can_record=can_record,
                      **_move_context(ctx, can_record),
                      raises_pending=list_raises(ctx.ws, ctx.actor, open_only=True, to_me=True))


def _next_card(ctx: Ctx, item_id: int, form: dict[str, Any]) -> str:
    """Before a move on a card: the anchor of the next card of the same inbox view not yet
    followed up today after ``item_id`` (else the first such card; none left: the counter)."""
    v = _view(form.get("tab"), form.get("who"), form.get("link"), form.get("priority"), form.get("page"))
    items, _pg = _page_items(ctx, v, _today())
    ids = [x["id"] for x in items]
    pos = ids.index(item_id) if item_id in ids else -1
    order = items[pos + 1:] + items[:pos + 1] if pos >= 0 else items
    nxt = next((x["id"] for x in order if x["id"] != item_id and not x.get("followed_today")), None)
    return f"#item-{nxt}" if nxt is not None else "#day-counter"


def _back_to_inbox(item_id: int, form: dict[str, Any], anchor: str) -> Response:
    """After a move on a card: the inbox again (same view), at ``anchor`` (:func:`_next_card`)."""
    v = _view(form.get("tab"), form.get("who"), form.get("link"), form.get("priority"), form.get("page"))
    return RedirectResponse(_inbox_href(v, saved=item_id) + anchor, status_code=303)


@router.get("/tracking/{item_id}", response_class=HTMLResponse)
def item_page(ctx: Annotated[Ctx, Depends(page_ctx)], item_id: int, error: str | None = None) -> Response:
    x = show_item(ctx.ws, ctx.actor, item_id)
    activity = None
    if x["subject_type"] == "agent":
        # the facts as of the day the item was last seen (the tracking date), not the wall clock
        activity = recent_activity(ctx.ws, ctx.actor, x["subject_code"],
                                   on=dt.date.fromisoformat(x["last_seen"]))
    can_record = ctx.actor.can("record_tracking")
    return ctx.render("tracking/item.html", x=x, activity=activity, labels=_labels(ctx),
                      methods=TRACK_METHODS, outcomes=TRACK_OUTCOMES, error=error,
                      can_record=can_record, **_move_context(ctx, can_record),
                      raise_item=x, raises=list_raises(ctx.ws, ctx.actor, item_id=item_id),
                      can_raise=can_raise(ctx.ws, ctx.actor, x), raise_categories=RAISE_CATEGORIES)


def _move(ctx: Ctx, item_id: int, back: str, form: dict[str, Any], act: Callable[[], Any],
          refused_status: int = 400) -> Response:
    """A change to an item from its page or a card of the inbox: ``act()`` (the service call),
    then back where it came from — the inbox at the next card not yet followed up, or the item.
    Refused for its input: the item page with the reason (``refused_status``; nothing changed);
    out of scope or without the right: raised as such (404 / 403)."""
    anchor = _next_card(ctx, item_id, form) if back == "inbox" else ""
    try:
        act()
    except (NotFound, PermissionDenied):
        raise
    except ZhuizongError as e:
        page = item_page(ctx, item_id, error=e.en if ctx.lang == "en" else e.zh)
        page.status_code = refused_status
        return page
    if back == "inbox":
        return _back_to_inbox(item_id, form, anchor)
    return RedirectResponse(f"/tracking/{item_id}", status_code=303)


#: the form fields of a card's move besides its own: where to go back to
ViewForm = Annotated[str, Form()]


def _view_form(tab: str, who: str, link: str, priority: str, page: str) -> dict[str, Any]:
    return {"tab": tab, "who": who, "link": link, "priority": priority, "page": page}


@router.post("/tracking/{item_id}/record")
def record_submit(ctx: Annotated[Ctx, Depends(page_ctx)], item_id: int,
                  method: Annotated[str, Form()], outcome: Annotated[str, Form()],
                  finding: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "",
                  next_date: Annotated[str, Form()] = "", back: ViewForm = "", tab: ViewForm = "",
                  who: ViewForm = "", link: ViewForm = "", priority: ViewForm = "",
                  page: ViewForm = "") -> Response:
    try:
        nd = dt.date.fromisoformat(next_date) if next_date else None
    except ValueError:
        nd = None
    inp = RecordInput(method=method, outcome=outcome, finding=finding.strip() or None,
                      note=note.strip() or None, next_date=nd)
    return _move(ctx, item_id, back, _view_form(tab, who, link, priority, page),
                 lambda: record(ctx.ws, ctx.actor, item_id, inp), refused_status=200)


@router.post("/tracking/{item_id}/close")
def close_submit(ctx: Annotated[Ctx, Depends(page_ctx)], item_id: int, reason: Annotated[str, Form()],
                 back: ViewForm = "", tab: ViewForm = "", who: ViewForm = "", link: ViewForm = "",
                 priority: ViewForm = "", page: ViewForm = "") -> Response:
    """结案 (close with a reason), from the item page or a card of the inbox."""
    return _move(ctx, item_id, back, _view_form(tab, who, link, priority, page),
                 lambda: close(ctx.ws, ctx.actor, item_id, reason), refused_status=200)


@router.post("/tracking/{item_id}/reassign")
def reassign_submit(ctx: Annotated[Ctx, Depends(page_ctx)], item_id: int, to: ViewForm = "",
                    back: ViewForm = "", tab: ViewForm = "", who: ViewForm = "", link: ViewForm = "",
                    priority: ViewForm = "", page: ViewForm = "") -> Response:
    """转派 to another user in scope who may own tracking (refused: 400 with the reason)."""
    return _move(ctx, item_id, back, _view_form(tab, who, link, priority, page),
                 lambda: reassign(ctx.ws, ctx.actor, item_id, to))


@router.post("/tracking/{item_id}/snooze")
def snooze_submit(ctx: Annotated[Ctx, Depends(page_ctx)], item_id: int, until: ViewForm = "",
                  back: ViewForm = "", tab: ViewForm = "", who: ViewForm = "", link: ViewForm = "",
                  priority: ViewForm = "", page: ViewForm = "") -> Response:
    """暂缓 until a date (refused: 400 with the reason)."""
    try:
        day: dt.date | None = dt.date.fromisoformat(until)
    except ValueError:
        day = None  # refused by the service after the scope check (no oracle)
    return _move(ctx, item_id, back, _view_form(tab, who, link, priority, page),
                 lambda: snooze(ctx.ws, ctx.actor, item_id, day))


@router.post("/tracking/{item_id}/raise")
def raise_submit(ctx: Annotated[Ctx, Depends(page_ctx)], item_id: int,
                 category: Annotated[str, Form()], note: Annotated[str, Form()] = "") -> Response:
    """上报上级 (report up) from the item page."""
    try:
        raise_item(ctx.ws, ctx.actor, item_id, category, note)
    except (NotFound, PermissionDenied):
        raise
    except ZhuizongError as e:
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
    except (NotFound, PermissionDenied):
        raise
    except ZhuizongError as e:
        return item_page(ctx, item_id, error=e.en if ctx.lang == "en" else e.zh)
    return RedirectResponse("/tracking" if back == "inbox" else f"/tracking/{item_id}#raises", status_code=303)
