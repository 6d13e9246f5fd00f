"""One language per screen (issue 16, item 3), in a real browser: every page of every demo role
on a demo workspace, in Chinese and in English.

- zh-CN, desktop and a 390×844 phone: the visible text of a page may hold no Latin word outside
  the product words of :data:`zhuizong.web.i18n.LATIN_ALLOWED` (FYP, FYC, KPI, Excel, PDF …).
  Data is data: names imported into the workspace (agents, org units, ranks, products, campaigns,
  trainings, users) and file names are taken out of the text before the scan.
- English: the chrome of a page (headings, table headers, labels, buttons, menu, KPI labels) may
  hold no Chinese character outside such data names.
- A screenshot of every page at both viewports goes to ``test-artifacts/pages/<viewport>/``
  (gitignored; kept by CI as artifacts).

The pages are found as a user finds them: the menu of each role, then one page of each kind
linked from there (an agent, a campaign, a training session, a team board …); a linked kind once
across all roles, every role's menu pages always.

Measured (``--durations``, 2 cores shared with other jobs, load average 8–12): 241 s in all —
setup 69 s (demo 5 s, tracking 4 s, the results store 55 s), the walk 168 s (219 page loads:
73 pages × Chinese desktop, Chinese phone, English; three walks in parallel threads). Before
(no results store, every role walking every linked page, ``networkidle`` waits): 13 minutes.
Per-page load and screenshot seconds: ``test-artifacts/pages/timings.txt``.
"""

from __future__ import annotations

import datetime as dt
import queue
import re
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.web.live import browser_or_skip, clean_env, serving
from zhuizong.demo.params import DemoParams
from zhuizong.demo.service import DEMO_PASSWORD, build_demo
from zhuizong.kpi import results
from zhuizong.store.models import table
from zhuizong.tracking.generate import run as track_run
from zhuizong.web.i18n import LATIN_ALLOWED
from zhuizong.workspace import Workspace

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"
END = dt.date(2026, 5, 27)
ROLES = ("admin", "executive", "assessment", "campaign", "training", "trainer", "supervisor", "agent")
#: pages per role at most (menu pages first, then one page of each kind linked from them)
MAX_PAGES = 12
#: not pages: downloads, state changes, the language switch
SKIP = re.compile(r"^/(logout|lang/)|download|export|format=|\.(xlsx|pdf|csv)\b|^/api/|^/static/")
LATIN = re.compile(r"[A-Za-z]{2,}")
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
FILES = re.compile(r"\S+\.(?:csv|xlsx|xls|pdf|toml)\b", re.I)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """A live server over a demo workspace, and the data names of that workspace (longest first)."""
    clean_env()
    ws = Workspace.open(tmp_path_factory.mktemp("one-language") / "ws")
    ws.init()
    build_demo(ws, DemoParams(agents=150, years=1, end_date=END))
    track_run(ws, END + dt.timedelta(days=1))
    results.build(ws, through=END)  # as `zhuizong analytics build` after the imports: pages read the store
    names: set[str] = set()
    with ws.engine.connect() as conn:
        for tname, cols in [("agents", ("agent_name",)), ("org_units", ("org_name",)),
                            ("ranks", ("rank_name",)), ("products", ("product_name",)),
                            ("campaigns", ("name",)), ("training_sessions", ("title",)),
                            ("users", ("username", "display_name")), ("assess_runs", ("rules_name",)),
                            ("campaign_results", ("tier_name",)),
                            ("import_batches", ("file_name",))]:  # the demo's "demo-agents.generated"
            t = table(tname)
            for c in cols:
                names |= {str(v) for (v,) in conn.execute(select(t.c[c]).distinct()) if v}
    with serving(ws) as base:
        yield base, sorted(names, key=len, reverse=True)


def _strip_data(text: str, names: list[str]) -> str:
    text = FILES.sub(" ", text)
    for n in names:
        if n in text:
            text = text.replace(n, " ")
    return text


def _foreign_latin(text: str, names: list[str]) -> set[str]:
    return {w for w in LATIN.findall(_strip_data(text, names)) if w not in LATIN_ALLOWED}


def _foreign_cjk(text: str, names: list[str]) -> set[str]:
    stripped = _strip_data(text, names).replace("中文", " ")  # the language switch
    return {line.strip()[:40] for line in stripped.splitlines() if CJK.search(line)}


_TEXT_JS = """() => {
  const parts = [document.title, document.body.innerText];
  document.querySelectorAll('[placeholder],[title],[aria-label],input[type=submit][value]').forEach(e => {
    for (const a of ['placeholder', 'title', 'aria-label', 'value']) {
      if (e.getAttribute(a) && (a !== 'value' || e.type === 'submit')) parts.push(e.getAttribute(a));
    }
  });
  document.querySelectorAll('select option').forEach(o => parts.push(o.textContent));
  return parts.join('\\n');
}"""
_CHROME_JS = """() => Array.from(document.querySelectorAll(
  'title, h1, h2, h3, th, label, button, nav a, .kpi .l, legend, summary, .tabs a, .chips a'))
  .map(e => e.textContent.trim()).join('\\n')"""


def _pattern(path: str) -> str:
    """The kind of a page: its path with ids and codes replaced, the query's keys only."""
    parts = urlsplit(path)
    p = re.sub(r"/[^/]*\d[^/]*", "/*", parts.path)
    keys = sorted(k.split("=")[0] for k in parts.query.split("&") if k)
    return p + "?" + "&".join(keys)


def _login(page, base: str, user: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation(wait_until="load") as nav:
        page.click("button[type=submit]")
    r = nav.value
    assert r is not None and r.status < 400 and "/login" not in page.url, (user, page.url, r and r.status)


def _settle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait for the fragments a page loads after itself (``hx-trigger=load``), not for the
    network to be idle (that costs 500 ms a page and more while charts poll)."""
    if page.locator("[hx-trigger=load]").count():
        page.wait_for_function("() => !document.querySelector('.htmx-request')")


def _menu(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The role's landing page and its menu pages."""
    start = urlsplit(page.url)
    found = [start.path + (f"?{start.query}" if start.query else "")]
    for href in page.eval_on_selector_all("nav.nav a[href]", "els => els.map(e => e.getAttribute('href'))"):
        if href.startswith("/") and not SKIP.search(href) and href not in found:
            found.append(href)
    return found


def _more(page, found: list[str], seen: set[str]) -> None:  # type: ignore[no-untyped-def]
    """Add one page of each kind not seen yet that the current page links to."""
    for href in page.eval_on_selector_all("main a[href]", "els => els.map(e => e.getAttribute('href'))"):
        if len(found) >= MAX_PAGES:
            return
        if not href.startswith("/") or SKIP.search(href):
            continue
        k = _pattern(href)
        if k not in seen:
            seen.add(k)
            found.append(href)


def _slug(role: str, url: str) -> str:
    return role + "_" + (re.sub(r"[^A-Za-z0-9]+", "-", url).strip("-") or "home")


VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


class _Walk:
    """The three walks of the test, each in its own thread with its own browser and sessions:
    Chinese on the desktop (finds each role's pages), Chinese on the phone and English on the
    desktop (the pages the first walk found, as soon as it has found a role's). The server
    renders one walk's page while the browsers draw and photograph the others'."""

    def __init__(self, base: str, names: list[str], chromium: str) -> None:
        self.base, self.names, self.chromium = base, names, chromium
        self.problems: list[str] = []
        self.timings: list[str] = []
        self.visited = 0
        self.lock = threading.Lock()
        self.found: dict[str, queue.Queue[tuple[str, list[str]] | None]] = {
            "phone": queue.Queue(), "en": queue.Queue()}

    def _note(self, problem: str | None = None, timing: str | None = None) -> None:
        with self.lock:
            if problem:
                self.problems.append(problem)
            if timing:
                self.timings.append(timing)

    def _open(self, browser, view: str, role: str):  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport=VIEWPORTS[view], locale="zh-CN", timezone_id="Asia/Shanghai",
                                      is_mobile=view == "phone", has_touch=view == "phone")
        page = context.new_page()
        page.set_default_timeout(180_000)  # a cold page on a busy 2-core machine
        _login(page, self.base, role)  # lands on the role's home: pages[0]
        return context, page

    def _zh(self, page, view: str, role: str, url: str, first: bool) -> None:  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        if not first:  # the home is on screen after the login
            r = page.goto(self.base + url, wait_until="load")
            assert r is not None and r.status < 400, (role, url, r and r.status)
        _settle(page)
        t1 = time.perf_counter()
        out = ARTIFACTS / view
        out.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out / f"{_slug(role, url)}.png"), full_page=True)
        bad = _foreign_latin(page.evaluate(_TEXT_JS), self.names)
        with self.lock:
            self.visited += 1
        self._note(f"zh {view} {role} {url}: {sorted(bad)}" if bad else None,
                   f"{t1 - t0:6.2f} {time.perf_counter() - t1:5.2f} zh {view} {role} {url}")

    def discover(self) -> None:
        """Chinese, desktop: each role's menu pages, then one page of each kind linked from them
        (a kind once across all roles)."""
        from playwright.sync_api import sync_playwright

        seen: set[str] = set()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=self.chromium, args=["--no-sandbox"])
                for role in ROLES:
                    context, page = self._open(browser, "desktop", role)
                    pages = _menu(page)
                    seen |= {_pattern(u) for u in pages}
                    k = 0
                    while k < len(pages):  # the list grows while discovering
                        self._zh(page, "desktop", role, pages[k], first=k == 0)
                        _more(page, pages, seen)
                        k += 1
                    assert len(pages) >= 2, (role, pages)
                    context.close()
                    for q in self.found.values():
                        q.put((role, list(pages)))
                browser.close()
        finally:
            for q in self.found.values():
                q.put(None)

    def _each_role(self, which: str):  # type: ignore[no-untyped-def]
        while (got := self.found[which].get()) is not None:
            yield got

    def phone(self) -> None:
        """Chinese on a 390×844 phone: the same pages."""
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=self.chromium, args=["--no-sandbox"])
            for role, pages in self._each_role("phone"):
                context, page = self._open(browser, "phone", role)
                for k, url in enumerate(pages):
                    self._zh(page, "phone", role, url, first=k == 0)
                context.close()
            browser.close()

    def english(self) -> None:
        """English (the language switch), desktop: no Chinese in the chrome of the same pages."""
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=self.chromium, args=["--no-sandbox"])
            for role, pages in self._each_role("en"):
                context, page = self._open(browser, "desktop", role)
                page.goto(f"{self.base}/lang/en?back=/account")
                for url in pages:
                    t0 = time.perf_counter()
                    page.goto(self.base + url, wait_until="load")
                    _settle(page)
                    assert page.locator("html").get_attribute("lang") == "en"
                    bad_en = _foreign_cjk(page.evaluate(_CHROME_JS), self.names)
                    self._note(f"en {role} {url}: {sorted(bad_en)[:8]}" if bad_en else None,
                               f"{time.perf_counter() - t0:6.2f}     - en desktop {role} {url}")
                context.close()
            browser.close()


def test_every_page_one_language(site: tuple[str, list[str]]) -> None:
    chromium = browser_or_skip()
    base, names = site
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # no screenshot of an earlier run is left
    ARTIFACTS.mkdir(parents=True)
    walk = _Walk(base, names, chromium)
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            runs = [pool.submit(walk.discover), pool.submit(walk.phone), pool.submit(walk.english)]
            for run in runs:
                run.result()  # a failed walk fails the test
    finally:  # what was found, even when a page fails
        (ARTIFACTS / "timings.txt").write_text("\n".join(sorted(walk.timings, reverse=True)) + "\n")
        (ARTIFACTS / "problems.txt").write_text("\n".join(walk.problems) + "\n", encoding="utf-8")
    assert walk.visited >= 2 * len(ROLES) * 2
    assert walk.problems == [], "mixed languages:\n" + "\n".join(sorted(walk.problems))


def test_scan_catches_mixed_language() -> None:
    """The scan itself: internal words fail, product words and data names pass."""
    names = ["张三", "B01 营业部"]
    assert _foreign_latin("状态 open · 件数 (MTD) 12 pp", names) == {"open", "MTD", "pp"}
    assert _foreign_latin("张三 FYP 1.2 万元 · FYC · KPI 报表 Excel PDF", names) == set()
    assert _foreign_latin("指标 effective_headcount@line", names) == {"effective", "headcount", "line"}
    assert _foreign_cjk("Status\nOrg unit 张三\n状态", names) == {"状态"}
