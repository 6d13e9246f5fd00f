"""Authorization matrix: every route with an id × every role and relationship × method.

The agency (:mod:`tests.web.agency`) places agents around the supervisor user ``s``: self, direct
report, indirect report, peer, peer's report, own manager, other branch. Users: admin (root
subtree), executive (one branch subtree), three supervisors (reporting lines), an agent (self
only), a supervisor with no scope, and an anonymous visitor. Expected answers come from an oracle
written from the tables of the agency (not from ``scope_for``): visible → 200/201/303, outside
the scope → 404 (exactly like a missing id), role without the permission → 403, no session →
401 (API and page POST) or 303 to /login (page GET). A refused POST must change nothing.

:data:`ROUTES` is the table; the inventory test fails when the app has a route with a path
parameter that the table does not list (add it here, with what visibility means for it) — or when
the table lists a route the app does not have.

Runs on SQLite and on PostgreSQL (skipped without a server, as everywhere in the suite).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.web import agency
from tests.web.agency import RELATION, USERS, Web, may, visible_agents, visible_orgs
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

ANON = "(anonymous)"
VIEWERS = [*USERS, ANON]
MISSING_AGENT = "NO_SUCH_AGENT"
MISSING_ITEM = 987654
MISSING_USER = "no_such_user"
MISSING_TOKEN = "A" * 32
UPLOADER = "admin"


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str  # exactly as in app.routes
    param: str  # the path parameter
    kind: str  # "agent" code, tracking "item" id, "user" name, "upload" token, "campaign" id or
    # "training" session code
    permission: str  # the action the route needs (zhuizong.access.actor.PERMISSIONS)
    ok: int | tuple[int, ...]  # status(es) when allowed and visible
    api: bool
    form: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    closes: bool = False  # the success closes the item: reopen it afterwards

    def url(self, ident: str | int) -> str:
        return self.path.replace("{" + self.param + "}", str(ident))


RECORD_FORM = {"method": "phone", "outcome": "contacted", "finding": "matrix 授权测试"}
ROLES_FORM = {"roles": "__the target's own roles__"}  # filled per target: no change of state
ROUTES: list[RouteSpec] = [
    # pages
    RouteSpec("GET", "/agents/{code}", "code", "agent", "view_agents", 200, api=False),
    RouteSpec("GET", "/tracking/{item_id}", "item_id", "item", "view_tracking", 200, api=False),
    RouteSpec("POST", "/tracking/{item_id}/record", "item_id", "item", "record_tracking", 303, api=False,
              form=RECORD_FORM),
    RouteSpec("POST", "/tracking/{item_id}/close", "item_id", "item", "record_tracking", 303, api=False,
              form={"reason": "matrix"}, closes=True),
    # report up (上报): a holder with a superior raises (303), a holder at the top of the line gets
    # the form again with the reason (400), a visible non-holder is refused (403); out of scope: 404
    RouteSpec("POST", "/tracking/{item_id}/raise", "item_id", "item", "record_tracking", (303, 400, 403),
              api=False, form={"category": "other", "note": "matrix 授权测试"}),
    # 转派 / 暂缓 (issue 16): through the permission and scope checks, then refused by validation
    # (400: nobody of that name; a date in the past) — so the matrix moves and hides no item
    RouteSpec("POST", "/tracking/{item_id}/reassign", "item_id", "item", "record_tracking", 400, api=False,
              form={"to": "no-such-user"}),
    RouteSpec("POST", "/tracking/{item_id}/snooze", "item_id", "item", "record_tracking", 400, api=False,
              form={"until": "2000-01-01"}),
    # REST API
    RouteSpec("GET", "/api/v1/agents/{code}", "code", "agent", "view_agents", 200, api=True),
    RouteSpec("GET", "/api/v1/agents/{code}/activity", "code", "agent", "view_agents", 200, api=True),
    RouteSpec("GET", "/api/v1/tracking/items/{item_id}", "item_id", "item", "view_tracking", 200, api=True),
    RouteSpec("POST", "/api/v1/tracking/items/{item_id}/records", "item_id", "item", "record_tracking", 201,
              api=True, json=RECORD_FORM),
    RouteSpec("POST", "/api/v1/tracking/items/{item_id}/close", "item_id", "item", "record_tracking", 200,
              api=True, json={"reason": "matrix"}, closes=True),
    # administration: the admin role, any user (no data scope); requests that leave state as it is
    RouteSpec("GET", "/admin/users/{username}", "username", "user", "manage_users", 200, api=False),
    RouteSpec("POST", "/admin/users/{username}/roles", "username", "user", "manage_users", 303, api=False,
              form=ROLES_FORM),
    RouteSpec("POST", "/admin/users/{username}/active", "username", "user", "manage_users", 303, api=False,
              form={"active": "1"}),
    # a bogus scope type / too short a password: through the permission and existence checks, then
    # refused by validation (400) — so the matrix changes no grant and no password
    RouteSpec("POST", "/admin/users/{username}/grant", "username", "user", "manage_users", 400, api=False,
              form={"scope_type": "bogus", "code": "HQ"}),
    RouteSpec("POST", "/admin/users/{username}/revoke", "username", "user", "manage_users", (303, 400),
              api=False, form={"scope_type": "bogus", "code": "HQ"}),
    RouteSpec("POST", "/admin/users/{username}/password", "username", "user", "manage_users", 400, api=False,
              form={"password": "short"}),
    # an import's error report: only the admin who uploaded it (another admin: 404)
    RouteSpec("GET", "/imports/errors/{token}.xlsx", "token", "upload", "import", 200, api=False),
    # campaigns (方案): visible when the scope holds an agent placed under the eligible org units
    RouteSpec("GET", "/campaigns/{campaign_id}", "campaign_id", "campaign", "view_campaigns", 200, api=False),
    RouteSpec("GET", "/campaigns/{campaign_id}/download", "campaign_id", "campaign", "view_campaigns", 200,
              api=False),
    RouteSpec("GET", "/api/v1/campaigns/{campaign_id}/standings", "campaign_id", "campaign", "view_campaigns",
              200, api=True),
    # training sessions (培训): visible when the org grants cover the session's unit or the scope holds
    # an agent of its roster (docs/training.md); the POST carries no marks, so a visible session
    # answers 400 ("nothing to save") and nothing changes
    RouteSpec("GET", "/tools/training/sessions/{code}", "code", "training", "view_training", 200, api=False),
    RouteSpec("POST", "/tools/training/sessions/{code}", "code", "training", "manage_training", 400,
              api=False, form={}),
]

#: campaigns defined in the agency (April 2026, closed): id → eligible org subtrees (none = all)
CAMPAIGNS = {"cm-b1": ("B1",), "cm-g3": ("G3",), "cm-all": ()}
MISSING_CAMPAIGN = "no-such-campaign"

#: training sessions defined in the agency: code → (org unit, date, max tenure days, listed agents)
TRAININGS = {"tr-b1": ("B1", "2026-04-10", None, ("R1",)), "tr-g3": ("G3", "2026-04-10", None, ("XR",)),
             "tr-hq-new": ("HQ", "2024-01-15", 30, ())}
MISSING_TRAINING = "no-such-session"
#: training permissions of the roles used in the agency (mirrors PERMISSIONS independently)
TRAINING_PERMS = {"view_training": {"admin", "executive", "supervisor"}, "manage_training": {"admin"}}

#: routes with a path parameter that are not about a scoped object
INVENTORY_EXCLUDED = ("/static", "/login", "/logout", "/lang/", "/healthz", "/api/openapi",
                      # a raise's answer: its id exists only after a raise; scope (out of scope:
                      # not found), the superior-only rule and one answer are tested through the
                      # same service in tests/tracking/test_raise.py and in the browser in
                      # tests/web/test_raise_browser.py
                      "/tracking/raises/")


# --- fixtures --------------------------------------------------------------------------------


@dataclass
class World:
    ws: Workspace
    items: list[dict[str, Any]]  # every generated item (system view)
    webs: dict[str, Web]
    upload_token: str = ""

    def item_of(self, subject: str) -> dict[str, Any]:
        return next(x for x in self.items if x["subject_code"] == subject and x["subject_type"] == "agent")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp(f"authz-{request.param}")
    if request.param == "sqlite":
        home = agency.sqlite_copy(base / "ws", tmp_path_factory.mktemp("agency-template"))
        url_iter: Iterator[str] = iter([""])
    else:
        from tests.conftest import _pg_database

        url_iter = _pg_database(request.getfixturevalue("pg_server"))
        home = base / "ws"
    url = next(url_iter)
    with agency.env(url), pytest.MonkeyPatch.context() as mp:
        # who sees what is the question here, not production figures: the agent snapshot on the
        # item page, the profile and the activity API show without KPIs when the engine fails
        # (as designed), which keeps ~100 engine runs out of the matrix
        mp.setattr("zhuizong.kpi.engine.compute", _no_kpis)
        mp.setattr("zhuizong.kpi.results.compute", _no_kpis)
        if request.param != "sqlite":
            agency.build(home, base / "files")
        items = agency.items(home)
        ws = Workspace.open(home)
        _define_campaigns(ws)
        _define_trainings(ws)
        webs = {u: agency.web_for(ws, None if u == ANON else u) for u in VIEWERS}
        yield World(ws, items, webs, _upload(webs[UPLOADER]))
        for w in webs.values():
            w.client.close()
        ws.engine.dispose()
    for _ in url_iter:  # drop the PostgreSQL database
        pass


def _define_campaigns(ws: Workspace) -> None:
    """:data:`CAMPAIGNS`, closed (standings read back from the frozen rows: no engine runs)."""
    import datetime as dt

    from zhuizong.access.actor import SYSTEM
    from zhuizong.campaigns import service
    from zhuizong.campaigns.config import parse_campaign

    camps = [parse_campaign({"id": cid, "name": f"矩阵 {cid}", "period": "2026-04", "measure": "fyp",
                             "tiers": [{"name": "铜", "threshold": 1000}],
                             "eligibility": {"orgs": list(orgs)}}, "matrix")
             for cid, orgs in CAMPAIGNS.items()]
    service.define(ws, SYSTEM, camps, "matrix")
    for c in camps:
        service.close(ws, SYSTEM, c.id, dt.date(2026, 5, 31))


def _define_trainings(ws: Workspace) -> None:
    """:data:`TRAININGS`, through the import pipeline (the system actor)."""
    import pandas as pd

    from zhuizong.importing.service import import_frame

    sessions = pd.DataFrame([{"session_code": c, "title": f"矩阵 {c}", "course_kind": "new_hire",
                              "session_date": d, "org_code": o, "max_tenure_days": n}
                             for c, (o, d, n, _a) in TRAININGS.items()], dtype=object)
    assert import_frame(ws, "training_sessions", sessions, source_name="matrix").status == "committed"
    listed = pd.DataFrame([{"session_code": c, "agent_code": a, "status": "present"}
                           for c, (_o, _d, _n, agents) in TRAININGS.items() for a in agents], dtype=object)
    assert import_frame(ws, "training_attendance", listed, source_name="matrix").status == "committed"


def _training_roster(code: str) -> set[str]:
    """The listed agents, plus — with a tenure limit — the agents hired in the session's subtree at
    most that many days before the session (nobody in the agency moves or leaves)."""
    import datetime as dt

    org, day, max_days, listed = TRAININGS[code]
    out = set(listed)
    if max_days is not None:
        d = dt.date.fromisoformat(day)
        orgs = agency._subtree(org)
        out |= {c for c, _n, hired, o, _r, _s in agency.AGENTS if o in orgs
                and 0 <= (d - dt.date.fromisoformat(hired)).days <= max_days}
    return out


def _sees_training(user: str, code: str) -> bool:
    return TRAININGS[code][0] in visible_orgs(user) or bool(_training_roster(code) & visible_agents(user))


def _upload(web: Web) -> str:
    """Upload a faulty agents file on the imports page; the token of its error report."""
    import re

    bad = "agent_code,agent_name,hire_date,org_code,rank_code\nZ1,坏行,not-a-date,NOPE,A\n"
    r = web.post("/imports/upload", data={"kind": "agents"},
                 files={"file": ("agents.csv", bad.encode(), "text/csv")})
    m = re.search(r"/imports/errors/([A-Za-z0-9_-]{32})\.xlsx", r.text)
    assert m, f"no error report link after a faulty upload: {r.status_code} {r.text[:300]}"
    return m.group(1)


def _no_kpis(*args: Any, **kw: Any) -> Any:
    from zhuizong.errors import ZhuizongError

    raise ZhuizongError("矩阵测试中不计算指标", "KPI engine disabled in the authorization matrix")


# --- the oracle ------------------------------------------------------------------------------


def _may(user: str, permission: str) -> bool:
    if permission in TRAINING_PERMS:
        return bool(set(USERS[user][0]) & TRAINING_PERMS[permission])
    return permission == "view_campaigns" or may(user, permission)  # view_campaigns: every role


def _sees_campaign(user: str, campaign_id: str) -> bool:
    """docs/campaigns.md rule 9: an agent of the user's scope placed under an eligible unit."""
    orgs = set().union(*(agency._subtree(o) for o in CAMPAIGNS[campaign_id])) if CAMPAIGNS[campaign_id] \
        else {o[0] for o in agency.ORGS}
    return any(agency.AGENT_ORG[a] in orgs for a in visible_agents(user))


def _sees(user: str, subject_type: str, code: str) -> bool:
    if subject_type == "campaign":
        return _sees_campaign(user, code)
    if subject_type == "training":
        return _sees_training(user, code)
    if subject_type == "agent":
        return code in visible_agents(user)
    return code in visible_orgs(user)


def expected(route: RouteSpec, user: str, subject_type: str | None, code: str | None) -> tuple[int, ...]:
    if user == ANON:
        return (303,) if (route.method == "GET" and not route.api) else (401,)
    if not _may(user, route.permission):
        return (403,)
    if subject_type is None or code is None:
        return (404,)
    if subject_type == "user":  # administration is not scoped by data: every user
        pass
    elif subject_type == "upload":  # one's own uploads only
        if code != user:
            return (404,)
    elif not _sees(user, subject_type, code):
        return (404,)
    return route.ok if isinstance(route.ok, tuple) else (route.ok,)


def test_oracle_matches_the_relationships() -> None:
    """The scope rules as stated in the issue, relative to the supervisor user ``s``."""
    seen = visible_agents("s")
    assert {r for r, a in RELATION.items() if a in seen} == {"self", "direct_report", "indirect_report"}
    assert visible_agents("nos") == set() and visible_orgs("nos") == set()
    assert visible_agents("admin") == {a[0] for a in agency.AGENTS}
    assert visible_orgs("admin") == {o[0] for o in agency.ORGS}
    assert visible_agents("m") == {"M", "S", "R1", "R2", "Q", "QR"}  # the manager sees S's line
    assert visible_agents("q") == {"Q", "QR"}
    assert visible_agents("exec") == {"M", "S", "R1", "R2", "Q", "QR"}
    assert visible_agents("r1") == {"R1"}


def test_training_oracle() -> None:
    assert _training_roster("tr-hq-new") == {"R1", "QR", "XR"}  # hired 14 days before; R2 not yet
    assert {c for c in TRAININGS if _sees_training("s", c)} == {"tr-b1", "tr-hq-new"}
    assert {c for c in TRAININGS if _sees_training("exec", c)} == {"tr-b1", "tr-hq-new"}
    assert not any(_sees_training("nos", c) for c in TRAININGS)


@pytest.mark.parametrize("user", [u for u in USERS])
def test_training_list_holds_exactly_the_scope(world: World, user: str) -> None:
    import re

    r = world.webs[user].get("/tools/training")
    if not _may(user, "view_training"):
        assert r.status_code == 403
        return
    assert r.status_code == 200
    assert set(re.findall(r'data-session="([^"]+)"', r.text)) == {c for c in TRAININGS if _sees_training(user, c)}


def test_every_agent_has_an_item(world: World) -> None:
    subjects = {x["subject_code"] for x in world.items if x["subject_type"] == "agent"}
    assert subjects == {a[0] for a in agency.AGENTS}, world.items


# --- the matrix ------------------------------------------------------------------------------


def _state(ws: Workspace, item_id: int) -> tuple[Any, ...]:
    i, rec, ev = table("track_items"), table("track_records"), table("track_events")
    with ws.engine.connect() as conn:
        status = conn.execute(select(i.c.status, i.c.due_date, i.c.closed_on).where(i.c.id == item_id)).one()
        n_rec = conn.execute(select(func.count()).select_from(rec).where(rec.c.item_id == item_id)).scalar()
        n_ev = conn.execute(select(func.count()).select_from(ev).where(ev.c.item_id == item_id)).scalar()
    return (*status, n_rec, n_ev)


def _reopen(ws: Workspace, item_id: int) -> None:
    i = table("track_items")
    with ws.engine.begin() as conn:
        conn.execute(update(i).where(i.c.id == item_id).values(
            status="open", closed_on=None, close_reason=None, closed_by=None))


def _call(web: Web, route: RouteSpec, ident: str | int) -> Any:
    url = route.url(ident)
    if route.method == "GET":
        return web.get(url)
    if route.api:
        return web.post(url, json=route.json)
    form = route.form
    if form is ROLES_FORM:
        form = {"roles": list(USERS[str(ident)][0]) if ident in USERS else ["agent"]}
    return web.post(url, data=form)


def _targets(world: World, route: RouteSpec) -> list[tuple[str, str | None, str | None, str | int]]:
    """(label, subject type, subject code, id) for every object of the route's kind, and a missing id."""
    if route.kind == "user":
        return [*((f"user {u}", "user", u, u) for u in USERS), ("missing", None, None, MISSING_USER)]
    if route.kind == "upload":
        return [(f"{UPLOADER}'s upload", "upload", UPLOADER, world.upload_token),
                ("missing", None, None, MISSING_TOKEN)]
    if route.kind == "campaign":
        return [*((f"campaign {cid}", "campaign", cid, cid) for cid in CAMPAIGNS),
                ("missing", None, None, MISSING_CAMPAIGN)]
    if route.kind == "training":
        return [*((f"training {c}", "training", c, c) for c in TRAININGS),
                ("missing", None, None, MISSING_TRAINING)]
    if route.kind == "agent":
        rel = {a: r for r, a in RELATION.items()}
        return [*((rel.get(code, code), "agent", code, code) for code, *_ in agency.AGENTS),
                ("missing", None, None, MISSING_AGENT)]
    out: list[tuple[str, str | None, str | None, str | int]] = []
    rel = {a: r for r, a in RELATION.items()}
    for x in world.items:
        label = rel.get(x["subject_code"], x["subject_code"]) if x["subject_type"] == "agent" \
            else f"org {x['subject_code']}"
        out.append((f"{label} #{x['id']} ({x['link']})", x["subject_type"], x["subject_code"], x["id"]))
    out.append(("missing", None, None, MISSING_ITEM))
    return out


@pytest.mark.parametrize("user", VIEWERS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_matrix(world: World, route: RouteSpec, user: str) -> None:
    web = world.webs[user]
    wrong: list[str] = []
    targets = _targets(world, route)
    if user == ANON or not _may(user, route.permission):
        # refused before any id is looked at: an existing id and a missing one answer alike
        # (two ids suffice; each refusal is also written to the audit log, which costs a commit)
        targets = [targets[0], targets[-1]]
    for label, stype, code, ident in targets:
        wants = expected(route, user, stype, code)
        before = _state(world.ws, int(ident)) if route.method == "POST" and route.kind == "item" \
            and ident != MISSING_ITEM else None
        r = _call(web, route, ident)
        if r.status_code not in wants:
            wrong.append(f"{label}: expected {'/'.join(map(str, wants))}, got {r.status_code} {r.text[:120]!r}")
            continue
        want = r.status_code
        if want == 303 and route.method == "GET":
            assert r.headers["location"].startswith("/login"), r.headers
        if route.api and want >= 400:
            body = r.json()
            assert body.get("detail") and body.get("detail_zh"), body
        if before is not None and want >= 400:
            assert _state(world.ws, int(ident)) == before, f"{label}: a refused POST changed the item"
        if before is not None and want < 400:
            assert _state(world.ws, int(ident)) != before, f"{label}: an accepted POST changed nothing"
            if route.closes:
                _reopen(world.ws, int(ident))
    assert not wrong, f"{route.method} {route.path} as {user}:\n  " + "\n  ".join(wrong)


def test_not_found_and_out_of_scope_look_the_same(world: World) -> None:
    """An out-of-scope id answers exactly like a missing one (no existence oracle)."""
    web = world.webs["s"]
    hidden = world.item_of(RELATION["peer"])["id"]
    a, b = web.get(f"/api/v1/tracking/items/{hidden}"), web.get(f"/api/v1/tracking/items/{MISSING_ITEM}")
    assert (a.status_code, b.status_code) == (404, 404)
    assert a.json()["detail"].replace(str(hidden), "N") == b.json()["detail"].replace(str(MISSING_ITEM), "N")
    a, b = web.get("/api/v1/agents/Q"), web.get(f"/api/v1/agents/{MISSING_AGENT}")
    assert a.json()["detail"].replace("Q", "N") == b.json()["detail"].replace(MISSING_AGENT, "N")


@pytest.mark.parametrize("user", [u for u in USERS])
def test_lists_hold_exactly_the_scope(world: World, user: str) -> None:
    web = world.webs[user]
    agents = web.get("/api/v1/agents")
    assert agents.status_code == 200
    assert {a["agent_code"] for a in agents.json()["agents"]} == visible_agents(user)
    orgs = web.get("/api/v1/orgs")
    assert {o["org_code"] for o in orgs.json()["org_units"]} == visible_orgs(user)
    camps = web.get("/api/v1/campaigns")
    assert camps.status_code == 200
    assert {c["id"] for c in camps.json()["campaigns"]} == {c for c in CAMPAIGNS if _sees_campaign(user, c)}
    items = web.get("/api/v1/tracking/items", params={"status": "all"})
    if not may(user, "view_tracking"):
        assert items.status_code == 403
        return
    assert items.status_code == 200
    want = {x["id"] for x in world.items if _sees(user, x["subject_type"], x["subject_code"])}
    assert {x["id"] for x in items.json()["items"]} == want
    eff = web.get("/api/v1/tracking/effectiveness", params={"period": "2026-05"})
    assert eff.status_code == 200
    assert eff.json()["total"]["items"] == len({x["id"] for x in world.items
                                               if x["id"] in want and x["date"].startswith("2026-05")})


# --- the route inventory ---------------------------------------------------------------------


def _id_routes(ws: Workspace) -> set[tuple[str, str]]:
    from zhuizong.web.app import create_app

    app = create_app(ws)
    try:  # FastAPI ≥ 0.13x keeps included routers nested; this walks them with their prefixes
        from fastapi.routing import iter_route_contexts

        routes: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # pragma: no cover - older FastAPI: a flat list
        routes = list(app.routes)
    out: set[tuple[str, str]] = set()
    for r in routes:
        path = getattr(r, "path", "")
        if "{" not in path or path.startswith(INVENTORY_EXCLUDED):
            continue
        for m in (getattr(r, "methods", None) or {"GET"}) - {"HEAD", "OPTIONS"}:
            out.add((m, path))
    return out


def test_route_inventory(world: World) -> None:
    """Every route with a path parameter is in the matrix, and every matrix route exists."""
    app_routes = _id_routes(world.ws)
    table_routes = {(r.method, r.path) for r in ROUTES}
    missing = sorted(app_routes - table_routes)
    assert not missing, ("routes with an id missing from the authorization matrix (add them to "
                         f"ROUTES in {Path(__file__).name}): {missing}")
    gone = sorted(table_routes - app_routes)
    assert not gone, f"the matrix lists routes the app does not have: {gone}"

