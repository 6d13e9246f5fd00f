"""我的 (my page): an agent's own home — month to date against their own goals, running campaigns
with their standing and the next tier, their basic-law gap and their recent work logs. Numbers come
from the same services as the agent profile (:func:`zhuizong.services.profile.my_home`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from zhuizong.services.profile import my_home, my_rank_gain
from zhuizong.web.deps import Ctx, page_ctx
from zhuizong.web.pages.dashboard import helpers

router = APIRouter(include_in_schema=False)

#: the first page of each role, the first role listed that the user holds (docs/web.md "Homes")
HOMES = (
    ("supervisor", "/tracking"),
    ("trainer", "/tracking"),
    ("executive", "/dashboard"),
    ("admin", "/dashboard"),
    ("assessment", "/basic-law"),
    ("campaign", "/campaigns"),
    ("training", "/tools/training"),
    ("agent", "/me"),
)


def home_of(ctx: Ctx) -> str:
    """The home page of the user's roles (account page when no role has one)."""
    return next((path for role, path in HOMES if role in ctx.roles), "/account")


@router.get("/me", response_class=HTMLResponse)
def me_page(ctx: Annotated[Ctx, Depends(page_ctx)]) -> Response:
    if not ctx.actor.agent_code:
        return RedirectResponse(home_of(ctx) if home_of(ctx) != "/me" else "/account", status_code=303)
    h = my_home(ctx.ws, ctx.actor, with_gain=False)  # the gain comes after: /me/gain
    # goals are stored as exact decimals, production is float: one type for the attainment ratio
    goals = {m: (h.production.get(m), None if g is None else float(g)) for m, g in h.goals.items()}
    return ctx.render("me/index.html", h=h, goals=goals, **helpers(ctx))


@router.get("/me/gain", response_class=HTMLResponse)
def me_gain(ctx: Annotated[Ctx, Depends(page_ctx)]) -> Response:
    """The gain of the next rank on 我的 (an HTMX fragment loaded after the page: evaluating the
    benefit rules at two ranks takes seconds); empty when there is none."""
    gain = my_rank_gain(ctx.ws, ctx.actor) if ctx.actor.agent_code else None
    return ctx.render("me/_gain.html", gain=gain, **helpers(ctx))
