"""The web app in a real browser: Playwright (Python) driving Debian's Chromium against a live
server on 127.0.0.1 — desktop and phone viewports, Chinese and English.

Flow: log in as the demo supervisor → dashboard with a rendered chart (canvas present and not
blank) → tracking inbox → open an item → record a follow-up that resolves it → the item is done.
Every request the pages make is logged: none may leave 127.0.0.1. Screenshots go to
``test-artifacts/browser/`` (kept by CI as artifacts).

Chromium is ``/usr/bin/chromium`` (``.ci/run`` installs it); with ``ZHUIZONG_REQUIRE_BROWSER=1``
(set by ``.ci/run``) a missing browser fails the run instead of skipping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.web.live import browser_or_skip, clean_env, serving
from zhuizong.demo.params import DemoParams
from zhuizong.demo.service import DEMO_PASSWORD, build_demo
from zhuizong.tracking.generate import run as track_run
from zhuizong.workspace import Workspace

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
END = dt.date(2026, 5, 27)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    clean_env()
    home = tmp_path_factory.mktemp("browser") / "ws"
    ws = Workspace.open(home)
    ws.init()
    build_demo(ws, DemoParams(agents=150, years=1, end_date=END))
    track_run(ws, END + dt.timedelta(days=1))
    with serving(ws) as base:
        yield base


def _canvas_not_blank(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("""() => {
        const c = document.querySelector('.chart canvas');
        if (!c || c.width === 0 || c.height === 0) return false;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let painted = 0;
        for (let i = 3; i < d.length; i += 4 * 7) { if (d[i] !== 0) painted++; }
        return painted > 50;
    }"""))


@pytest.mark.parametrize("viewport", [
    pytest.param({"width": 1366, "height": 900}, id="desktop"),
    pytest.param({"width": 390, "height": 844}, id="phone"),
])
def test_supervisor_flow(live_server: str, viewport: dict[str, int]) -> None:
    chromium = browser_or_skip()
    from playwright.sync_api import sync_playwright

    name = "phone" if viewport["width"] < 500 else "desktop"
    out = ARTIFACTS / name
    out.mkdir(parents=True, exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = browser.new_context(viewport=viewport, locale="zh-CN",
                                      is_mobile=name == "phone", has_touch=name == "phone")
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{live_server}/")
        assert "/login" in page.url
        page.fill("input[name=username]", "supervisor")
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")

        page.goto(f"{live_server}/tracking?tab=today&who=mine")
        page.screenshot(path=str(out / "2-inbox.png"), full_page=True)
        first = page.locator("article.tcard a.tname").first
        assert first.count() == 1, "the supervisor has no tracking items"
        first.click()
        page.wait_for_selector("#record-form")
        page.select_option("select[name=method]", "phone")
        page.select_option("select[name=outcome]", "resolved")
        page.fill("textarea[name=finding]", "已电话沟通, 本周出单")
        page.screenshot(path=str(out / "3-record.png"), full_page=True)
        page.click("#record-form button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.locator("#item-status").get_attribute("data-status") == "done"
        assert "已电话沟通" in page.locator("#records").inner_text()
        page.screenshot(path=str(out / "4-done.png"), full_page=True)

        page.goto(f"{live_server}/dashboard")
        page.wait_for_selector(".chart canvas", timeout=15000)
        page.wait_for_timeout(800)  # let the chart's first frame paint
        assert _canvas_not_blank(page), "the dashboard chart did not render"
        page.screenshot(path=str(out / "1-dashboard.png"), full_page=True)

        # switch the language to English
        if name == "phone":
            page.click("label.nav-burger")
        page.click("#lang-switch")
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == "en"
        assert "Tracking" in page.locator("nav").inner_text()
        page.screenshot(path=str(out / "5-english.png"), full_page=True)
        context.close()
        browser.close()
    outside = [u for u in requests if urlsplit(u).hostname not in ("127.0.0.1",)
               and not u.startswith(("data:", "blob:"))]
    assert outside == [], f"requests left the server: {outside[:5]}"
    assert any("/static/vendor/echarts.min.js" in u for u in requests)
