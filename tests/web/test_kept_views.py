"""Kept KPI page data (:func:`zhuizong.services.cache.kpi_view`): the dashboard, the agent list
behind a number and the monthly report page are kept per scope, parameters and KPI data version —
a second view is a hit, and an import, a scope change or a missing permission is seen at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from tests.web.conftest import DEMO_END, login, small_demo
from zhuizong.access.actor import SYSTEM
from zhuizong.errors import NotFound, PermissionDenied
from zhuizong.services import admin
from zhuizong.services import cache
from zhuizong.services import dashboard as svc
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

PERIOD = "2026-05"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    yield from small_demo(tmp_path_factory, "kept-views")


def _actor(ws: Workspace, user: str) -> Any:
    from zhuizong.access.users import load_actor

    with ws.engine.connect() as conn:
        return load_actor(conn, user)


def _root(ws: Workspace) -> str:
    return svc.visible_root(svc.visible_orgs(ws, _actor(ws, "executive")))  # type: ignore[return-value]


def _fyp(ws: Workspace, user: str = "executive") -> Decimal | None:
    d = svc.dashboard(ws, _actor(ws, user), _root(ws), PERIOD, through=DEMO_END, with_trend=False)
    return next(c.value for c in d.cards if c.metric == "fyp")


def test_second_view_is_a_hit_and_an_import_is_seen_at_once(ws: Workspace) -> None:
    before = _fyp(ws)
    hits, misses = cache._KPI_VIEWS.mem.hits, cache._KPI_VIEWS.mem.misses
    assert _fyp(ws) == before
    assert (cache._KPI_VIEWS.mem.hits, cache._KPI_VIEWS.mem.misses) == (hits + 1, misses)
    rows, _per = svc.agent_list(ws, _actor(ws, "executive"), org=_root(ws), period=PERIOD, filt="fyp",
                                through=DEMO_END)
    # one more new-business premium of 12,345 元 in the month, imported
    p, a = table("premiums"), table("agents")
    with ws.engine.connect() as conn:
        proto = conn.execute(select(p).where(p.c.txn_type == "new").limit(1)).mappings().one()
        agent = conn.execute(select(a.c.agent_code).where(a.c.leave_date.is_(None))
                             .order_by(a.c.agent_code)).scalars().first()
    frame = pd.DataFrame([{"txn_id": "KEPT-VIEW-1", "policy_no": "KEPT-VIEW-P1", "agent_code": agent,
                           "product_code": proto["product_code"], "txn_date": "2026-05-20",
                           "txn_type": "new", "amount": "12345", "issue_date": "2026-05-20",
                           "policy_year": 1}])
    from zhuizong.importing.service import import_frame

    res = import_frame(ws, "premiums", frame, source_name="kept-view.csv")
    assert res.ok, res
    after = _fyp(ws)
    assert after == (before or 0) + 12345
    rows2, _per = svc.agent_list(ws, _actor(ws, "executive"), org=_root(ws), period=PERIOD, filt="fyp",
                                 through=DEMO_END)
    assert agent in {r.agent_code for r in rows2}
    old = {r.agent_code: r.values["fyp"] for r in rows}
    new = {r.agent_code: r.values["fyp"] for r in rows2}
    assert new[agent] == (old.get(agent) or 0) + 12345


def test_scope_change_and_permission_are_checked_every_time(ws: Workspace) -> None:
    root = _root(ws)
    assert _fyp(ws) is not None
    # a user with the executive's grants but no role: refused, although the data is kept
    from zhuizong.access import users as access_users
    from zhuizong.store.db import atomic

    with atomic(ws.engine) as conn:
        access_users.create_user(conn, "noroles", "noroles", roles=[], password="x" * 12, actor="test")
        for g in conn.execute(select(table("user_scopes")).where(
                table("user_scopes").c.username == "executive")).mappings().all():
            access_users.grant_scope(conn, "noroles", g["scope_type"], org_code=g["org_code"],
                                     agent_code=g["agent_code"], actor="test")
    with pytest.raises(PermissionDenied):
        svc.dashboard(ws, _actor(ws, "noroles"), root, PERIOD, through=DEMO_END, with_trend=False)
    with pytest.raises(PermissionDenied):
        svc.agent_list(ws, _actor(ws, "noroles"), org=root, period=PERIOD, through=DEMO_END)
    # the supervisor (a reporting line) does not see the unit; granted it, sees it at once
    sup = _actor(ws, "supervisor")
    with pytest.raises(NotFound):
        svc.dashboard(ws, sup, root, PERIOD, through=DEMO_END, with_trend=False)
    admin.grant_scope(ws, SYSTEM, "supervisor", "org_subtree", root)
    try:
        assert _fyp(ws, "supervisor") == _fyp(ws)
        page = login(_app(ws), "supervisor", _password()).get(f"/report?org={root}&period={PERIOD}")
        assert page.status_code == 200
    finally:
        admin.revoke_scope(ws, SYSTEM, "supervisor", "org_subtree", root)
    with pytest.raises(NotFound):
        svc.dashboard(ws, sup, root, PERIOD, through=DEMO_END, with_trend=False)
    assert login(_app(ws), "supervisor", _password()).get(
        f"/report?org={root}&period={PERIOD}").status_code == 404


def test_report_page_kept_and_equal(ws: Workspace) -> None:
    c = login(_app(ws), "executive", _password())
    first = c.get(f"/report?period={PERIOD}")
    hits = cache._KPI_VIEWS.mem.hits
    second = c.get(f"/report?period={PERIOD}")
    assert first.status_code == second.status_code == 200
    assert cache._KPI_VIEWS.mem.hits > hits
    strip = lambda t: t.split("<main", 1)[-1].split("</main>", 1)[0]  # noqa: E731
    assert strip(first.text) == strip(second.text)


_APPS: dict[str, Any] = {}


def _app(ws: Workspace) -> Any:
    from zhuizong.web.app import create_app

    return _APPS.setdefault(str(ws.home), create_app(ws))


def _password() -> str:
    from zhuizong.demo.service import DEMO_PASSWORD

    return DEMO_PASSWORD


def test_dates_are_part_of_the_key(ws: Workspace) -> None:
    actor = _actor(ws, "executive")
    a = svc.dashboard(ws, actor, _root(ws), PERIOD, through=DEMO_END, with_trend=False)
    b = svc.dashboard(ws, actor, _root(ws), PERIOD, through=DEMO_END - dt.timedelta(days=3),
                      with_trend=False)
    assert a.through == DEMO_END and b.through == DEMO_END - dt.timedelta(days=3)


def test_views_are_shared_through_files(ws: Workspace) -> None:
    """Another worker process (memory empty) reads the view a first one wrote; a damaged file
    is computed again; another version never reads it."""
    actor = _actor(ws, "executive")
    first = svc.dashboard(ws, actor, _root(ws), PERIOD, through=DEMO_END, with_trend=True)
    cache._KPI_VIEWS.clear()  # as in a new process
    disk = cache._KPI_VIEWS.disk_hits
    again = svc.dashboard(ws, actor, _root(ws), PERIOD, through=DEMO_END, with_trend=True)
    assert cache._KPI_VIEWS.disk_hits == disk + 1
    assert (again.cards, again.trend, again.children, again.segments) == (
        first.cards, first.trend, first.children, first.segments)
    assert again.cohort is not None and again.cohort.months == first.cohort.months  # type: ignore[union-attr]
    files = sorted((ws.analytics_dir / "views" / "kpi").glob("*/*.pickle"))
    assert files
    for f in files:
        f.write_bytes(b"not a pickle")
    cache._KPI_VIEWS.clear()
    disk = cache._KPI_VIEWS.disk_hits
    third = svc.dashboard(ws, actor, _root(ws), PERIOD, through=DEMO_END, with_trend=True)
    assert cache._KPI_VIEWS.disk_hits == disk and third.cards == first.cards
    # a generic view: another version computes, the same version reads
    sv = cache.SharedViews("test", 4)
    calls: list[int] = []
    assert sv.get(ws, ("v", 1), ("k", frozenset({"b", "a"})), lambda: calls.append(1) or "one") == "one"
    sv.clear()
    assert sv.get(ws, ("v", 1), ("k", frozenset({"a", "b"})), lambda: calls.append(2) or "two") == "one"
    assert sv.get(ws, ("v", 2), ("k", frozenset({"a", "b"})), lambda: calls.append(3) or "three") == "three"
    assert calls == [1, 3]


def test_warm_prepares_every_org_scope_home_pages(ws: Workspace) -> None:
    """zhuizong analytics warm → services.warm.warm_views: afterwards a new worker process opens
    the dashboard, the monthly report and the campaign standings of each org scope's top unit
    from the files, computing nothing."""
    from zhuizong.campaigns import service as cs
    from zhuizong.reports.monthly import monthly_view
    from zhuizong.services.warm import warm_views

    from zhuizong.campaigns.config import parse_campaign

    cs.define(ws, SYSTEM, [parse_campaign({"id": "kept-may", "name": "五月冲刺", "period": "2026-05",
                                           "measure": "fyp", "tiers": [{"name": "达标", "threshold": 1000}]},
                                          "test")], "test")
    res = warm_views(ws, DEMO_END)
    assert (res.scopes >= 1, res.views >= 3, res.failed) == (True, True, []), res
    for kept in (cache._KPI_VIEWS, cs._LIVE, cs._FROZEN, cs._SCOPED):
        kept.clear()  # as in a new process
    disk = cache._KPI_VIEWS.disk_hits
    actor = _actor(ws, "executive")
    period = svc.last_closed_month(ws, DEMO_END)
    svc.dashboard(ws, actor, _root(ws), period, through=DEMO_END, with_trend=False)
    svc.dashboard(ws, actor, _root(ws), period, through=DEMO_END)
    monthly_view(ws, actor, period, _root(ws))
    assert cache._KPI_VIEWS.disk_hits == disk + 3
    live = [c["id"] for c in cs.list_campaigns(ws, actor) if c["phase"] != "upcoming"]
    assert live
    scoped = cs._SCOPED.disk_hits
    for cid in live:
        cs.standings(ws, actor, cid)
    assert cs._SCOPED.disk_hits == scoped + len(live)
