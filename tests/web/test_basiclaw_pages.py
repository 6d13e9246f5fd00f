"""Basic law page (/basic-law), its xlsx download and /api/v1/basic-law/results on a small demo
agency (60 agents) with the demo basic law assessed for 2026Q1 (closed, frozen) and 2026Q2 (open,
provisional, as of the demo's last day)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.web.conftest import DEMO_END, login, small_demo
from zhuizong.basiclaw import service as bl
from zhuizong.basiclaw.engine import _num as engine_number
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

EVIL = "=HYPERLINK(\"http://x\",\"y\")"


@dataclass
class World:
    ws: Workspace
    app: Any

    def client(self, user: str) -> Any:
        from zhuizong.demo.service import DEMO_PASSWORD

        return login(self.app, user, DEMO_PASSWORD)

    def actor(self, user: str) -> Any:
        from zhuizong.access.users import load_actor

        with self.ws.engine.connect() as conn:
            return load_actor(conn, user)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from zhuizong.access.actor import SYSTEM
    from zhuizong.web.app import create_app

    for ws in small_demo(tmp_path_factory, "basiclaw-web"):
        bl.install_demo_basic_law(ws)
        bl.run_assessment(ws, SYSTEM, "2026Q1", as_of=DEMO_END)
        bl.run_assessment(ws, SYSTEM, "2026Q2", as_of=DEMO_END)
        yield World(ws, create_app(ws))


@pytest.fixture(scope="module")
def clients(world: World) -> dict[str, Any]:
    return {u: world.client(u) for u in ("executive", "supervisor", "agent", "assessment")}


def _agents(html: str, table_id: str = "bl-table") -> list[str]:
    part = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-agent="([^"]+)"', part)


def _service(world: World, user: str, period: str = "2026Q2") -> list[dict[str, Any]]:
    return bl.list_results(world.ws, world.actor(user), bl.ListQuery(period=period))


def test_latest_period_by_default_one_row_per_agent(world: World, clients: dict[str, Any]) -> None:
    r = clients["executive"].get("/basic-law")
    assert r.status_code == 200
    assert "2026Q2" in r.text and 'option value="2026Q1"' in r.text
    rows = _service(world, "executive")
    want = sorted({(x["org_code"], x["agent_code"]) for x in rows})
    assert _agents(r.text) == [a for _o, a in want]
    # the outcome chips count the service's results
    counts = dict(re.findall(r'data-outcome="([a-z_]+)" href="[^"]*">[^<]* (\d+)</a>', r.text))
    want_counts: dict[str, int] = {}
    for x in rows:
        want_counts[x["outcome"]] = want_counts.get(x["outcome"], 0) + 1
    assert {k: int(v) for k, v in counts.items()} == want_counts
    # one agent's criteria: actual / threshold as the service stores them
    x = next(x for x in rows if x["criteria"] and x["criteria"][0]["unit"] == "money" and not x["passed"])
    c = x["criteria"][0]
    row = r.text.split(f'<tr data-agent="{x["agent_code"]}"', 1)[1].split("</tr>", 1)[0]
    assert f'{engine_number(c["actual"], "money")} / {engine_number(c["threshold"], "money")}' in row
    assert x["gap_zh"] in row
    # one rounding rule (issue 16): the 差距 number is the one of the gap text "差 … 元"
    unmet = next(k for k in x["criteria"] if not k["met"] and k["unit"] == "money")
    shown = engine_number(unmet["gap"], "money")
    assert f'<span class="gap">差距 {shown}</span>' in row
    assert f"差 {shown} 元" in x["gap_zh"]


def test_supervisor_sees_only_the_line(world: World, clients: dict[str, Any]) -> None:
    sup = clients["supervisor"].get("/basic-law")
    assert sup.status_code == 200
    mine = set(_agents(sup.text))
    everyone = set(_agents(clients["executive"].get("/basic-law").text))
    assert mine == {x["agent_code"] for x in _service(world, "supervisor")}
    assert mine and mine < everyone
    other = sorted(everyone - mine)[0]
    assert f"/agents/{other}" not in sup.text
    api = clients["supervisor"].get("/api/v1/basic-law/results").json()
    assert {x["agent_code"] for x in api["results"]} == mine
    # an org unit outside the options answers 404, like a missing one
    assert clients["supervisor"].get("/basic-law", params={"org": "B01"}).status_code == 404
    assert clients["supervisor"].get("/basic-law", params={"org": "NOPE"}).status_code == 404
    for org in ("B01", "NOPE"):  # the API and the download check the unit the same way
        assert clients["supervisor"].get("/api/v1/basic-law/results", params={"org": org}).status_code == 404
        assert clients["supervisor"].get("/basic-law/download", params={"org": org}).status_code == 404
    own = {x["org_code"] for x in _service(world, "supervisor")}
    for org in sorted(own):  # a unit holding a result of the line: allowed, its results only
        api = clients["supervisor"].get("/api/v1/basic-law/results", params={"org": org}).json()
        assert {x["agent_code"] for x in api["results"]} == {
            x["agent_code"] for x in _service(world, "supervisor") if x["org_code"] == org}


def test_roles_without_the_permission_are_refused(clients: dict[str, Any]) -> None:
    agent = clients["agent"]
    assert agent.get("/basic-law").status_code == 403
    assert agent.get("/basic-law/download").status_code == 403
    assert agent.get("/api/v1/basic-law/results").status_code == 403
    assert 'href="/basic-law"' not in agent.get("/campaigns").text  # no nav link
    assert 'href="/basic-law"' in clients["supervisor"].get("/campaigns").text


def test_filters_by_outcome_and_org(world: World, clients: dict[str, Any]) -> None:
    c = clients["executive"]
    rows = _service(world, "executive")
    promoted = {x["agent_code"] for x in rows if x["outcome"] in ("maintain", "convert")}
    r = c.get("/basic-law", params={"outcome": "maintain,convert"})
    assert set(_agents(r.text)) == promoted
    group = "B01S01D01G01"
    r = c.get("/basic-law", params={"org": group})
    assert set(_agents(r.text)) == {x["agent_code"] for x in rows if x["org_code"] == group}
    assert c.get("/basic-law", params={"outcome": "bogus"}).status_code == 400
    assert c.get("/basic-law", params={"period": "not-a-period"}).status_code == 400


def test_gap_lists(world: World, clients: dict[str, Any]) -> None:
    rows = _service(world, "executive")
    r = clients["executive"].get("/basic-law", params={"view": "promotion"})
    got = re.findall(r'<tr data-agent="([^"]+)" data-rule="([^"]+)">.*?data-shortfall="([^"]+)"', r.text, re.S)
    want = [x for x in rows if x["kind"] == "promote" and not x["passed"] and x["outcome"] != "not_eligible"]
    assert len(got) == len(want) > 0
    shortfalls = [float(s) for _a, _r, s in got]
    assert shortfalls == sorted(shortfalls)
    # the shortfall of a one-criterion rule is gap / threshold
    by_key = {(x["agent_code"], x["rule"]): x for x in want}
    for a, rule, s in got:
        x = by_key[(a, rule)]
        if len(x["criteria"]) == 1:
            c = x["criteria"][0]
            assert float(s) == pytest.approx(c["gap"] / c["threshold"], abs=1e-5)
    r = clients["executive"].get("/basic-law", params={"view": "risk"})
    got = re.findall(r'<tr data-agent="([^"]+)" data-rule="([^"]+)">', r.text.split('id="bl-risk"')[1])
    risky = [x for x in rows if x["kind"] in ("convert", "maintain")
             and x["outcome"] in ("contract_end", "demote", "extra_period", "at_risk")]
    assert len(got) == len(risky) > 0
    order = [by for by in (next(x["outcome"] for x in risky if (x["agent_code"], x["rule"]) == g) for g in got)]
    sev = ["contract_end", "demote", "extra_period", "at_risk"]
    assert [sev.index(o) for o in order] == sorted(sev.index(o) for o in order)
    api = clients["executive"].get("/api/v1/basic-law/results", params={"view": "risk"}).json()
    assert [(x["agent_code"], x["rule"]) for x in api["results"]] == got


def test_closed_period_is_final(clients: dict[str, Any]) -> None:
    r = clients["executive"].get("/basic-law", params={"period": "2026Q1"})
    assert r.status_code == 200 and "结果为最终" in r.text and "2026-01-01" in r.text


def test_english(world: World) -> None:
    c = world.client("executive")
    assert c.get("/lang/en", params={"back": "/basic-law"}, follow_redirects=False).status_code == 303
    r = c.get("/basic-law", params={"view": "risk"})
    assert "Basic law assessment" in r.text and "Demotion risk" in r.text and "At risk" in r.text
    assert "基本法考核" not in r.text


def test_shortfall_k_of_n_and_mandatory() -> None:
    def crit(met: bool, gap: float, threshold: float, mandatory: bool = False) -> dict[str, Any]:
        return {"met": met, "gap": gap, "threshold": threshold, "mandatory": mandatory}

    passed = {"passed": True, "required_count": 1, "met_count": 1, "criteria": [crit(True, 0, 10)]}
    assert bl.shortfall(passed) == 0.0
    # 2 of 3 optional, one met: the smaller of the two unmet relative gaps counts
    two_of_three = {"passed": False, "required_count": 2, "met_count": 1,
                    "criteria": [crit(True, 0, 10), crit(False, 5, 10), crit(False, 1, 10)]}
    assert bl.shortfall(two_of_three) == pytest.approx(0.1)
    # a mandatory unmet criterion always counts, plus the optional ones still needed
    mand = {"passed": False, "required_count": 2, "met_count": 0,
            "criteria": [crit(False, 2, 10, True), crit(False, 3, 10), crit(False, 6, 10)]}
    assert bl.shortfall(mand) == pytest.approx(0.5)
    assert bl.shortfall({"passed": False, "required_count": 0, "met_count": 0, "criteria": []}) is None


def test_xlsx_download_is_injection_safe_and_audited(world: World, clients: dict[str, Any]) -> None:
    from openpyxl import load_workbook

    victim = _service(world, "supervisor")[0]["agent_code"]
    a = table("agents")
    with world.ws.engine.begin() as conn:
        old = conn.execute(select(a.c.agent_name).where(a.c.agent_code == victim)).scalar_one()
        conn.execute(update(a).where(a.c.agent_code == victim).values(agent_name=EVIL))
    try:
        r = clients["supervisor"].get("/basic-law/download", params={"period": "2026Q2"})
    finally:
        with world.ws.engine.begin() as conn:
            conn.execute(update(a).where(a.c.agent_code == victim).values(agent_name=old))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    sheet = wb.worksheets[0]
    codes = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert codes == {x["agent_code"] for x in _service(world, "supervisor")}  # the scope only
    texts = [v for wsx in wb.worksheets for row in wsx.iter_rows(values_only=True) for v in row
             if isinstance(v, str)]
    assert "'" + EVIL in texts
    assert not any(v.startswith(("=", "+", "-", "@")) for v in texts)
    log = table("audit_log")
    with world.ws.engine.connect() as conn:
        n = conn.execute(select(log.c.id).where(log.c.action == "export",
                                                log.c.object_type == "assessment")).all()
    assert n


def test_page_summary_is_kept_but_never_stale(world: World, clients: dict[str, Any]) -> None:
    """The page's summary is kept per scope, filters and data version: a second view is a hit;
    a scope change or a new assessment run is seen at once."""
    from zhuizong.access.actor import SYSTEM
    from zhuizong.services import admin
    from zhuizong.web.pages import basiclaw as page

    c = clients["supervisor"]
    first = set(_agents(c.get("/basic-law").text))
    hits = page._SUMMARIES.mem.hits
    assert set(_agents(c.get("/basic-law").text)) == first
    assert page._SUMMARIES.mem.hits == hits + 1
    # a wider scope: the branch's agents at once
    admin.grant_scope(world.ws, SYSTEM, "supervisor", "org_subtree", "B01")
    try:
        wider = set(_agents(c.get("/basic-law").text))
        assert first < wider
        assert wider == {x["agent_code"] for x in _service(world, "supervisor")}
    finally:
        admin.revoke_scope(world.ws, SYSTEM, "supervisor", "org_subtree", "B01")
    assert set(_agents(c.get("/basic-law").text)) == first
    # a new run of the period (results re-computed at another day): a new version
    misses = page._SUMMARIES.mem.misses
    bl.run_assessment(world.ws, SYSTEM, "2026Q2", as_of=DEMO_END, recompute=True)
    assert set(_agents(c.get("/basic-law").text)) == first
    assert page._SUMMARIES.mem.misses == misses + 1


def test_lists_in_pages(world: World, clients: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Each view's list comes in pages: every agent exactly once, in the first page's order."""
    from zhuizong.web import paging

    monkeypatch.setattr(paging, "PAGE_ROWS", 9)
    c = clients["executive"]
    want = [a for _o, a in sorted({(x["org_code"], x["agent_code"]) for x in _service(world, "executive")})]
    assert len(want) > 18
    pages = -(-len(want) // 9)
    got: list[str] = []
    for n in range(1, pages + 1):
        html = c.get("/basic-law", params={"period": "2026Q2", "page": n}).text
        assert f'data-page="{n}" data-pages="{pages}"' in html
        got += _agents(html)
    assert got == want
    # the risk list: positions continue across pages
    risk = c.get("/basic-law", params={"period": "2026Q2", "view": "risk"}).text
    total = int(re.search(r'data-view="risk">[^<(]*\((\d+)\)', risk).group(1))  # type: ignore[union-attr]
    if total > 9:
        second = c.get("/basic-law", params={"period": "2026Q2", "view": "risk", "page": 2}).text
        assert '<td class="num">10</td>' in second.split('id="bl-risk"', 1)[1]
