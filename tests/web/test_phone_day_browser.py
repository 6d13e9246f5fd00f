"""Each role's day on a 390×844 phone in Chinese (issue 16, "Done when"), in a real browser.

* Supervisor: logs in → the inbox shows 今日已跟进 0 / y → the first card has a ``tel:`` link →
  taps an outcome with a short note on the card → back on the inbox: 1 / y, the card marked, the
  next card not yet followed up in view → snoozes one (暂缓), reassigns one (转派 to a deputy in
  the line) and closes one (结案): each leaves the day's inbox.
* Agent: logs in and lands on 我的 with the own goal and work log.
* Executive: dashboard → drills into a unit → its KPI report → the PDF answers 200 application/pdf.

On every screen: no Latin word outside :data:`zhuizong.web.i18n.LATIN_ALLOWED`, no horizontal
scroll, and the card's tap targets are at least 44 px high. Screenshots:
``test-artifacts/pages/phone/day-*.png``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from tests.web.live import PHONE, browser_or_skip, clean_env, phone_login, serving
from zhuizong.access import users as access_users
from zhuizong.basiclaw.service import install_demo_basic_law
from zhuizong.demo.params import DemoParams
from zhuizong.demo.service import DEMO_PASSWORD, build_demo
from zhuizong.importing.service import import_frame
from zhuizong.kpi import results
from zhuizong.store.db import atomic
from zhuizong.store.models import table
from zhuizong.tracking.generate import run as track_run
from zhuizong.web.i18n import LATIN_ALLOWED
from zhuizong.workspace import Workspace

OUT = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages" / "phone"
END = dt.date(2026, 5, 27)
LATIN = re.compile(r"[A-Za-z]{2,}")
NOTE = "已电话沟通, 周五陪访"
DEPUTY = "deputy"
#: Chromium's own language (date and month pickers) as on a Chinese phone, besides the page locale
CHROMIUM_ARGS = ["--no-sandbox", "--lang=zh-CN"]


def _line_agent(ws: Workspace, head: str) -> str:
    """An agent in force directly under ``head`` (the demo supervisor's line)."""
    a = table("agents")
    with ws.engine.connect() as conn:
        code = conn.execute(select(a.c.agent_code).where(a.c.supervisor_code == head, a.c.leave_date.is_(None))
                            .order_by(a.c.agent_code)).scalars().first()
    assert code is not None, "the demo supervisor has nobody in the line"
    return str(code)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Workspace]]:
    clean_env()
    ws = Workspace.open(tmp_path_factory.mktemp("phoneday") / "ws")
    ws.init()
    build_demo(ws, DemoParams(agents=150, years=1, end_date=END))
    u = table("users")
    with ws.engine.connect() as conn:
        head = conn.execute(select(u.c.agent_code).where(u.c.username == "supervisor")).scalar_one()
        agent = conn.execute(select(u.c.agent_code).where(u.c.username == "agent")).scalar_one()
    # a deputy in the supervisor's line who sees the whole line, as an administrator would add one
    with atomic(ws.engine) as conn:
        access_users.create_user(conn, DEPUTY, "副主管", roles=["supervisor"], agent_code=_line_agent(ws, head),
                                 password=DEMO_PASSWORD, actor="test")
        access_users.grant_scope(conn, DEPUTY, "reporting_line", org_code=None, agent_code=head, actor="test")
    # the agent's own goal for the month (imported as the insurer would)
    goal = pd.DataFrame([{"agent_code": agent, "period": END.strftime("%Y-%m"), "metric": "fyp",
                          "target": 50000}], dtype=object)
    assert import_frame(ws, "agent_goals", goal, source_name="test").status == "committed"
    track_run(ws, END + dt.timedelta(days=1))
    results.build(ws, through=END)
    install_demo_basic_law(ws)  # as `zhuizong demo` does: 我的 shows the agent's benefits
    with serving(ws) as base:
        yield base, ws


def _latin(page: Any) -> list[str]:
    text = page.locator("main").inner_text()
    return sorted({w for w in LATIN.findall(text) if w not in LATIN_ALLOWED})


def _no_sideways_scroll(page: Any) -> None:
    w = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert w[0] <= w[1], f"horizontal scroll on {page.url}: {w}"


def _counter(page: Any) -> tuple[int, int]:
    c = page.locator("#day-counter")
    return int(c.get_attribute("data-followed")), int(c.get_attribute("data-total"))


def _in_view(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and 0 <= box["y"] < PHONE["height"] - 40


def _cards(page: Any) -> list[str]:
    return [str(x) for x in page.eval_on_selector_all("article.tcard", "els => els.map(e => e.dataset.item)")]


def _open_more(page: Any, item: str) -> None:
    page.locator(f"#item-{item} details.more summary").click()


def test_supervisor_day(site: tuple[str, Workspace]) -> None:
    chromium = browser_or_skip()
    from playwright.sync_api import sync_playwright

    base, _ws = site
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = phone_login(browser, base, "supervisor")
        page.goto(f"{base}/tracking?tab=today&who=mine")
        followed, total = _counter(page)
        assert followed == 0 and total >= 5, (followed, total)
        assert "今日已跟进" in page.locator("#day-counter").inner_text()
        cards = _cards(page)
        assert len(cards) >= 5
        first = f"#item-{cards[0]}"
        tel = page.locator(f"{first} a[href^='tel:']")
        assert tel.count() == 1 and re.fullmatch(r"tel:\d{11}", tel.get_attribute("href") or "")
        assert page.locator(f"{first} a[data-chat='wecom']").count() == 1  # the demo imports WeCom ids
        assert "从未联系" in page.locator(first).inner_text()  # the demo's items: nobody recorded yet
        # tap targets: the call link, the outcome buttons, the more-actions summary
        for sel in (f"{first} a[href^='tel:']", f"{first} .outcomes button", f"{first} details.more summary",
                    f"{first} .tname", "nav.tabs a"):
            for box in [page.locator(sel).nth(i).bounding_box() for i in range(page.locator(sel).count())]:
                assert box is not None and box["height"] >= 44, (sel, box)
        _no_sideways_scroll(page)
        assert _latin(page) == []
        page.screenshot(path=str(OUT / "day-1-inbox.png"))
        page.screenshot(path=str(OUT / "day-1-inbox-full.png"), full_page=True)

        # one tap: a note and 已沟通 on the first card
        page.fill(f"{first} input[name=finding]", NOTE)
        page.click(f"{first} .outcomes button[value=contacted]")
        page.wait_for_load_state("load")
        assert _counter(page) == (1, total)
        assert page.locator(first).get_attribute("data-followed") == "yes"
        assert "今日已跟进" in page.locator(first).inner_text()
        assert f"上次联系 {dt.date.today().isoformat()}" in page.locator(first).inner_text()
        nxt = page.url.split("#", 1)[1]
        assert nxt == f"item-{cards[1]}", page.url
        assert page.locator(f"#{nxt}").get_attribute("data-followed") == "no"
        assert _in_view(page, f"#{nxt}"), "the next card is not in view"
        _no_sideways_scroll(page)
        page.screenshot(path=str(OUT / "day-2-next.png"))

        # 暂缓 the next card: one tap on 明天
        snoozed = cards[1]
        _open_more(page, snoozed)
        page.locator(f"#item-{snoozed}").scroll_into_view_if_needed()
        assert _latin(page) == []
        for sel in (f"#item-{snoozed} form.act button", f"#item-{snoozed} form.act select",
                    f"#item-{snoozed} form.act input:not([type=hidden])"):
            for i in range(page.locator(sel).count()):
                box = page.locator(sel).nth(i).bounding_box()
                assert box is not None and box["height"] >= 44, (sel, box)
        _no_sideways_scroll(page)
        page.screenshot(path=str(OUT / "day-3-actions.png"))
        tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
        page.click(f"#item-{snoozed} form[data-act=snooze-quick] button[value='{tomorrow}']")
        page.wait_for_load_state("load")
        assert page.locator(f"#item-{snoozed}").count() == 0
        assert _counter(page) == (1, total - 1)

        # 转派 the next one to the deputy
        moved = cards[2]
        _open_more(page, moved)
        page.select_option(f"#item-{moved} form[data-act=reassign] select[name=to]", DEPUTY)
        page.click(f"#item-{moved} form[data-act=reassign] button[type=submit]")
        page.wait_for_load_state("load")
        assert page.locator(f"#item-{moved}").count() == 0
        assert _counter(page) == (1, total - 2)

        # 结案 one more with a reason
        closed = cards[3]
        _open_more(page, closed)
        page.fill(f"#item-{closed} form[data-act=close] input[name=reason]", "已离司")
        page.click(f"#item-{closed} form[data-act=close] button[type=submit]")
        page.wait_for_load_state("load")
        assert page.locator(f"#item-{closed}").count() == 0
        assert _counter(page) == (1, total - 3)
        assert page.locator(first).get_attribute("data-followed") == "yes"
        assert _latin(page) == []
        page.goto(f"{base}/tracking?tab=today&who=mine")
        page.screenshot(path=str(OUT / "day-4-after.png"), full_page=True)

        # the item pages tell what happened, in Chinese
        page.goto(f"{base}/tracking/{cards[0]}")
        assert NOTE in page.locator("#records").inner_text()
        page.goto(f"{base}/tracking/{moved}")
        assert "已转派" in page.locator("main").inner_text() and _latin(page) == []
        page.goto(f"{base}/tracking/{snoozed}")
        assert "已暂缓" in page.locator("main").inner_text() and _latin(page) == []

        # the same moves on the item page: snooze a fifth item from there, back on the item page
        fifth = cards[4]
        page.goto(f"{base}/tracking/{fifth}")
        page.locator("#item-moves details.more summary").click()
        page.click(f"#item-moves form[data-act=snooze-quick] button[value='{tomorrow}']")
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/tracking/{fifth}"), page.url
        assert "已暂缓" in page.locator("main").inner_text() and page.locator("#item-moves").count() == 1
        assert _latin(page) == []
        page.screenshot(path=str(OUT / "day-9-item-page.png"), full_page=True)

        # the deputy finds the reassigned item in their own inbox
        deputy = phone_login(browser, base, DEPUTY)
        deputy.goto(f"{base}/tracking?tab=today&who=mine")
        assert deputy.locator(f"#item-{moved}").count() == 1
        browser.close()


def test_agent_day(site: tuple[str, Workspace]) -> None:
    chromium = browser_or_skip()
    from playwright.sync_api import sync_playwright

    base, _ws = site
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = phone_login(browser, base, "agent")
        assert page.url.rstrip("/").endswith("/me"), page.url
        assert page.locator("#me-production [data-goal]").count() >= 1, "no own goal on 我的"
        assert page.locator("#no-goals").count() == 0
        assert page.locator("#me-worklog table tr").count() >= 2  # header + the own work log
        # the benefits of the demo's basic law load after the page: this month's, in Chinese
        page.wait_for_selector("#me-benefits, #me-rank-gain-none", timeout=60_000)
        assert page.locator("#me-benefits [data-benefit]").count() >= 1, "no benefit on 我的"
        assert "元" in page.locator("#me-benefits").inner_text()
        assert _latin(page) == []
        _no_sideways_scroll(page)
        page.screenshot(path=str(OUT / "day-5-agent-me.png"), full_page=True)
        browser.close()


def test_executive_day(site: tuple[str, Workspace]) -> None:
    chromium = browser_or_skip()
    from playwright.sync_api import sync_playwright

    base, _ws = site
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = phone_login(browser, base, "executive")
        page.goto(f"{base}/dashboard")
        assert _latin(page) == []
        page.screenshot(path=str(OUT / "day-6-exec-dashboard.png"))
        child = page.locator("tr[data-child] a").first
        assert child.count() == 1, "the executive's dashboard has no unit to drill into"
        unit = child.inner_text().strip()
        child.click()
        page.wait_for_load_state("load")
        org = re.search(r"org=([^&]+)", page.url)
        assert org, page.url
        assert unit in page.locator(".crumbs").inner_text()
        _no_sideways_scroll(page)
        page.screenshot(path=str(OUT / "day-7-exec-unit.png"))
        page.goto(f"{base}/report?org={org.group(1)}")
        assert page.locator("#dl-pdf").count() == 1
        assert _latin(page) == []
        page.screenshot(path=str(OUT / "day-8-exec-report.png"))
        href = page.locator("#dl-pdf").get_attribute("href")
        r = page.context.request.get(f"{base}{href}")
        assert r.status == 200 and r.headers["content-type"].startswith("application/pdf"), r.headers
        assert r.body()[:5] == b"%PDF-"
        browser.close()
