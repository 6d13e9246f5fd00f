"""Light pages (issue 16 item 7) in a real browser on a 390×844 phone.

On a first visit (a fresh browser context: empty HTTP cache, only the session cookie) the login
page and the supervisor's inbox each transfer at most 150 KB — bytes over the wire as Chromium
counts them (``Network.loadingFinished.encodedDataLength``: compressed bodies plus response
headers, everything loaded until the network is idle). The chart library (ECharts, ~340 KB
compressed) is loaded only by pages that draw a chart: a page without a ``.chart`` element never
requests it, and an agent profile, which has a chart, does (so the check can fail).

No timings here: first-visit times are measured by ``bench/bench_pages.py`` (docs/perf.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from tests.web.live import PHONE, browser_or_skip, clean_env, serving
from zhuizong.demo.params import DemoParams
from zhuizong.demo.service import DEMO_PASSWORD, build_demo
from zhuizong.store.models import table
from zhuizong.tracking.generate import run as track_run
from zhuizong.workspace import Workspace

END = dt.date(2026, 5, 27)
BUDGET = 150 * 1024


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    clean_env()
    ws = Workspace.open(tmp_path_factory.mktemp("weight") / "ws")
    ws.init()
    build_demo(ws, DemoParams(agents=30, years=1, end_date=END))
    track_run(ws, END + dt.timedelta(days=1))  # no results store: the pages compute live
    with ws.engine.connect() as conn:
        code = conn.execute(select(table("users").c.agent_code)
                            .where(table("users").c.username == "supervisor")).scalar()
    with serving(ws) as base:
        yield base, str(code)


def _context(browser: Any, state: dict[str, Any] | None = None) -> Any:
    return browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                               **({"storage_state": state} if state else {}))


def _session(browser: Any, base: str, username: str) -> dict[str, Any]:
    """The cookies of a logged-in user, taken from a throw-away context (its cache stays there)."""
    context = _context(browser)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/login" not in page.url, f"{username} could not log in"
    state: dict[str, Any] = context.storage_state()
    context.close()
    return state


def _first_visit(browser: Any, base: str, url: str, state: dict[str, Any] | None) -> dict[str, Any]:
    """Bytes over the wire, the URLs requested and whether a chart is on the page, in a fresh
    context (empty cache)."""
    context = _context(browser, state)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    resp = page.goto(f"{base}{url}")
    page.wait_for_load_state("networkidle")
    assert resp is not None and resp.status == 200, f"{url}: {resp and resp.status}"
    out = {"url": page.url, "bytes": sum(sizes.values()), "requests": sorted(urls.values()),
           "chart": page.locator(".chart").count() > 0}
    context.close()
    return out


def test_login_and_inbox_light_and_no_chart_library_without_charts(site: tuple[str, str]) -> None:
    base, supervisor_code = site
    chromium = browser_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        login = _first_visit(browser, base, "/login", None)
        assert 0 < login["bytes"] <= BUDGET, f"login page: {login['bytes']} bytes on a first visit"
        assert any("htmx" in u for u in login["requests"])  # the static files were counted

        sup = _session(browser, base, "supervisor")
        inbox = _first_visit(browser, base, "/tracking", sup)
        assert "/tracking" in inbox["url"]
        assert 0 < inbox["bytes"] <= BUDGET, f"inbox: {inbox['bytes']} bytes on a first visit"

        agent = _session(browser, base, "agent")
        visits = [login, inbox] + [_first_visit(browser, base, u, sup) for u in
                                   ("/report", "/team", "/tools", "/campaigns", f"/agents/{supervisor_code}")]
        visits.append(_first_visit(browser, base, "/me", agent))
        browser.close()
    for v in visits:
        echarts = any("echarts" in u for u in v["requests"])
        assert echarts == v["chart"], f"{v['url']}: chart on page {v['chart']}, chart library loaded {echarts}"
    assert any(v["chart"] for v in visits), "no page with a chart was visited: the check proves nothing"
    assert not login["chart"] and not inbox["chart"]
