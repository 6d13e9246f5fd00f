"""Report up (上报, issue 15 item 4) in a real browser on a 390×844 phone, in Chinese.

The demo supervisor opens an item of their inbox and raises it (category + note); the superior
(whom :meth:`Responsibility.superior` names: the supervisor's own supervisor, else the executive
above) logs in, finds it under 待回复上报 in their inbox and answers inline; the supervisor sees the
answer on the item. The raise's sections hold no Latin word outside
:data:`zhuizong.web.i18n.LATIN_ALLOWED`. Screenshots: ``test-artifacts/pages/phone/raise-*.png``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.web.live import browser_or_skip, clean_env, phone_login, serving
from zhuizong.access import users as access_users
from zhuizong.access.actor import SYSTEM
from zhuizong.demo.params import DemoParams
from zhuizong.demo.service import DEMO_PASSWORD, build_demo
from zhuizong.kpi import results
from zhuizong.store.db import atomic
from zhuizong.store.models import table
from zhuizong.tracking.generate import run as track_run
from zhuizong.tracking.raises import list_raises
from zhuizong.web.i18n import LATIN_ALLOWED
from zhuizong.workspace import Workspace

OUT = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages" / "phone"
END = dt.date(2026, 5, 27)
LATIN = re.compile(r"[A-Za-z]{2,}")
NOTE = "最近情绪低落, 说想转行, 请经理出面谈一次"
ANSWER = "本周五我约他面谈, 你先多陪访两次"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Workspace]]:
    clean_env()
    ws = Workspace.open(tmp_path_factory.mktemp("raise") / "ws")
    ws.init()
    build_demo(ws, DemoParams(agents=150, years=1, end_date=END))
    track_run(ws, END + dt.timedelta(days=1))
    results.build(ws, through=END)
    with serving(ws) as base:
        yield base, ws


def _login_of(ws: Workspace, code: str) -> str:
    """The username of the person ``code`` (a username, or an agent code); an agent without a
    login gets one (a supervisor over their reporting line), as an administrator would add it."""
    u = table("users")
    with ws.engine.connect() as conn:
        name = conn.execute(select(u.c.username).where((u.c.username == code) | (u.c.agent_code == code))
                            .order_by(u.c.username)).scalar()
    if name is not None:
        return str(name)
    with atomic(ws.engine) as conn:
        access_users.create_user(conn, "manager", "经理", roles=["supervisor"], agent_code=code,
                                 password=DEMO_PASSWORD, actor="test")
        access_users.grant_scope(conn, "manager", "reporting_line", org_code=None, agent_code=code, actor="test")
    return "manager"


def _one_language(text: str) -> list[str]:
    return sorted({w for w in LATIN.findall(text) if w not in LATIN_ALLOWED})


def test_raise_on_a_phone(site: tuple[str, Workspace]) -> None:
    chromium = browser_or_skip()
    from playwright.sync_api import sync_playwright

    base, ws = site
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        sup = phone_login(browser, base, "supervisor")
        sup.goto(f"{base}/tracking?tab=today&who=mine")
        first = sup.locator("article.tcard a.tname").first
        assert first.count() == 1, "the supervisor has no tracking items"
        first.click()
        sup.wait_for_selector("#raise-form")
        item_url = sup.url
        sup.select_option("#raise-form select[name=category]", "attitude")
        sup.fill("#raise-form textarea[name=note]", NOTE)
        sup.locator("#raises").scroll_into_view_if_needed()
        sup.screenshot(path=str(OUT / "raise-1-form.png"), full_page=True)
        assert _one_language(sup.locator("#raises").inner_text()) == []
        sup.click("#raise-form button[type=submit]")
        sup.wait_for_load_state("networkidle")
        raised = sup.locator("#raises").inner_text()
        assert NOTE in raised and "待回复" in raised and "心态" in raised
        assert _one_language(raised) == []
        sup.screenshot(path=str(OUT / "raise-2-raised.png"), full_page=True)

        [r] = list_raises(ws, SYSTEM, open_only=True)
        boss = phone_login(browser, base, _login_of(ws, r["raised_to"]))
        boss.goto(f"{base}/tracking")
        pending = boss.locator("#raises-pending")
        assert pending.count() == 1, "the superior does not see the raise"
        assert NOTE in pending.inner_text() and _one_language(pending.inner_text()) == []
        boss.screenshot(path=str(OUT / "raise-3-inbox.png"), full_page=True)
        boss.fill(f"li[data-raise='{r['id']}'] textarea[name=note]", ANSWER)
        boss.click(f"li[data-raise='{r['id']}'] button[type=submit]")
        boss.wait_for_load_state("networkidle")
        assert boss.locator("#raises-pending").count() == 0
        boss.screenshot(path=str(OUT / "raise-4-answered.png"), full_page=True)

        sup.goto(item_url)
        done = sup.locator("#raises").inner_text()
        assert ANSWER in done and "已回复" in done and "待回复" not in done
        assert _one_language(done) == []
        sup.locator("#raises").scroll_into_view_if_needed()
        sup.screenshot(path=str(OUT / "raise-5-seen.png"), full_page=True)
        browser.close()
    [closed] = list_raises(ws, SYSTEM)
    assert closed["open"] is False and closed["answer"] == ANSWER and closed["hours_to_answer"] >= 0
