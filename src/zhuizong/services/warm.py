"""Pages prepared by the nightly job (``zhuizong analytics warm``): the kept page data of each
user's home views, so that the morning's first views are reads.

The web app keeps page data per scope, parameters and data version, in memory and in files
shared by its worker processes (:class:`zhuizong.services.cache.SharedViews`). The first view of a
scope after an import computes it — for a branch: seconds (the basic-law page reads 80,000
results; the dashboard a dozen KPI results and the cohort matrix). This module computes, for each
distinct scope of the active users (users with the same grants see the same data: one
computation), what their home pages open on: the dashboard of the scope's top unit for the last
closed month (cards, trends and cohort), the monthly report page of that unit, for users who see
assessments the basic-law page of the latest assessed period, and the standings of every
running or ended campaign they see. Users with only people
(a reporting line, themselves) open pages that are cheap already and are skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from zhuizong.access.actor import Actor
from zhuizong.access.scope import scope_key
from zhuizong.access.users import load_actor
from zhuizong.errors import ZhuizongError
from zhuizong.store.models import table
from zhuizong.workspace import Workspace


@dataclass(frozen=True)
class _Who:
    """What the page helpers read of a request: the workspace and the user."""

    ws: Workspace
    actor: Actor


@dataclass
class WarmedViews:
    scopes: int = 0  # distinct scopes with org units
    views: int = 0  # page data computed or found current
    failed: list[str] | None = None  # "user: view: error" (a view that could not be prepared)


def _actors(ws: Workspace) -> list[Actor]:
    """One active user per distinct scope that holds org units and may see KPIs."""
    users, grants = table("users"), table("user_scopes")
    with ws.engine.connect() as conn:
        names = list(conn.execute(
            select(users.c.username).where(users.c.is_active.is_(True),
                                           users.c.username.in_(
                                               select(grants.c.username)
                                               .where(grants.c.scope_type == "org_subtree")))
            .order_by(users.c.username)).scalars())
        seen: set[Any] = set()
        out: list[Actor] = []
        for name in names:
            actor = load_actor(conn, name)
            if not actor.can("view_agents"):
                continue
            key = scope_key(conn, actor)
            if key in seen:
                continue
            seen.add(key)
            out.append(actor)
    return out


def warm_views(ws: Workspace, through: dt.date | None = None,
               progress: Callable[[int, int, str], None] | None = None) -> WarmedViews:
    """Prepare the home views of every distinct org scope (see the module's text)."""
    from zhuizong.kpi import materialized
    from zhuizong.reports.monthly import monthly_view
    from zhuizong.services import dashboard as svc
    from zhuizong.services.cache import request_scope

    out = WarmedViews(failed=[])
    actors = _actors(ws)
    out.scopes = len(actors)
    through = through or svc.data_through(ws)
    period = svc.last_closed_month(ws, through)
    steps: list[tuple[Actor, str]] = []
    for a in actors:
        steps += [(a, "dashboard"), (a, "report")]
        if a.can("view_assessment"):
            steps.append((a, "basic_law"))
        if a.can("view_campaigns"):
            steps.append((a, "campaigns"))
    for i, (actor, view) in enumerate(steps):
        if progress is not None:
            progress(i, len(steps), f"{actor.username} {view}")
        try:
            with request_scope(), materialized.one_version():
                root = svc.visible_root(svc.visible_orgs(ws, actor))
                if root is None:
                    continue
                if view == "dashboard":
                    svc.dashboard(ws, actor, root, period, through=through, with_trend=False)
                    svc.dashboard(ws, actor, root, period, through=through)
                elif view == "report":
                    monthly_view(ws, actor, period, root)
                elif view == "campaigns":
                    from zhuizong.campaigns import service as cs
                    from zhuizong.web.pages import campaigns as cpage

                    who = _Who(ws, actor)
                    for c in cs.list_campaigns(ws, actor):
                        if c["phase"] == "upcoming":
                            continue
                        st = cs.standings(ws, actor, c["id"])
                        options = cpage._kept_options(who, st)  # type: ignore[arg-type]
                        cpage._picker(who, st, options, None)  # type: ignore[arg-type]
                else:
                    from zhuizong.web.pages import basiclaw as page

                    who = _Who(ws, actor)
                    label, _periods = page.resolve_period(who, None)  # type: ignore[arg-type]
                    if label is not None:
                        page.page_summary(who, label, None, None)  # type: ignore[arg-type]
            out.views += 1
        except ZhuizongError as e:
            out.failed.append(f"{actor.username}: {view}: {e.en}")  # type: ignore[union-attr]
    if progress is not None:
        progress(len(steps), len(steps), "")
    return out
