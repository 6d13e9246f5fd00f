"""Benchmark: page weights and first visits on a phone (issue 16 item 7).

Builds (or reuses, with ``--home``) a demo workspace through the CLI (``zhuizong demo --no-serve``,
``zhuizong analytics build``), starts ``zhuizong serve`` on a free localhost port and, with
Playwright driving Debian's Chromium on a 390×844 phone viewport, visits every page kind of each
role: the pages of the role's menu, plus an item page, an agent profile, a campaign and the admin
sub-pages where the role reaches them. Each page gets a fresh browser context (empty HTTP cache;
the session cookie only) and is visited twice in it:

- first visit: bytes over the wire (Chrome DevTools ``Network.loadingFinished.encodedDataLength``:
  compressed bodies and response headers, everything the page loads until the network is idle,
  HTMX fragments included), requests, navigation start → load event
  (``performance.getEntriesByType('navigation')``), whether the chart library was loaded;
- warm visit (same context, so cached static files): the same numbers.

    python bench/bench_pages.py                              # 300 agents, 1 year, built once
    python bench/bench_pages.py --home /tmp/demo --roles supervisor,agent
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _common import append_result, clean_environment  # type: ignore[import-not-found]

from zhuizong.demo.service import DEMO_PASSWORD

CHROMIUM = os.environ.get("ZHUIZONG_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
ROLES = ("login", "supervisor", "agent", "executive", "admin", "assessment", "campaign", "training",
         "trainer")
BUDGET = 150 * 1024  # login and inbox on a first visit (issue 16 item 7)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def zz(home: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "zhuizong", "--home", str(home), *args], check=True,
                   stdout=subprocess.DEVNULL)


def build(home: Path, agents: int, years: int) -> None:
    if (home / "zhuizong.db").exists():
        return
    t = time.perf_counter()
    zz(home, "demo", "--agents", str(agents), "--years", str(years), "--no-serve")
    zz(home, "analytics", "build")
    print(f"demo built in {time.perf_counter() - t:.0f}s")


def serve(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "zhuizong", "--home", str(home), "serve",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("zhuizong serve did not start")


def login_state(browser: Any, base: str, username: str) -> dict[str, Any]:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    if "/login" in page.url:
        raise SystemExit(f"cannot log in as {username}")
    state = context.storage_state()
    context.close()
    return state


def discover(browser: Any, base: str, state: dict[str, Any]) -> list[tuple[str, str]]:
    """The page kinds a role reaches: its menu, then one item, profile and campaign, admin pages."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                                  storage_state=state)
    page = context.new_page()
    page.goto(f"{base}/")
    pages: list[tuple[str, str]] = [("home", urlsplit(page.url).path)]
    navs = page.eval_on_selector_all(".nav a[data-nav]", "els => els.map(a => [a.dataset.nav, a.getAttribute('href')])")
    pages += [(n, h) for n, h in navs if n not in ("account",)]

    def first_link(url: str, selector: str) -> str | None:
        page.goto(f"{base}{url}")
        page.wait_for_load_state("networkidle")
        hrefs = page.eval_on_selector_all(selector, "els => els.map(a => a.getAttribute('href'))")
        return hrefs[0] if hrefs else None

    have = {h.split("?")[0] for _, h in pages}
    if "/tracking" in have and (h := first_link("/tracking", "article.tcard a.tname")):
        pages.append(("item", h))
    for src in ("/team", "/tracking", "/me"):
        if src in have and (h := first_link(src, "main a[href^='/agents/']")):
            pages.append(("profile", h))
            break
    if "/campaigns" in have and (h := first_link("/campaigns", "main a[href^='/campaigns/']:not([href$='download'])")):
        pages.append(("campaign", h))
    if "/tools" in have and (h := first_link("/tools", "main a[href^='/tools/training']")):
        pages.append(("training", h))
    if "/admin" in have:
        for h in ("/admin/users", "/admin/orgs", "/admin/plans", "/admin/rules", "/admin/settings"):
            pages.append(("admin" + h.removeprefix("/admin").replace("/", "-"), h))
    context.close()
    seen: set[str] = set()
    out = []
    for name, h in pages:
        if h not in seen:
            seen.add(h)
            out.append((name, h))
    return out


def visit(browser: Any, base: str, url: str, state: dict[str, Any] | None) -> dict[str, Any]:
    """First and warm visit of ``url`` in a fresh context (empty cache)."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                                  **({"storage_state": state} if state else {}))
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    log: dict[str, dict[str, Any]] = {}
    cdp.on("Network.requestWillBeSent", lambda e: log.setdefault(e["requestId"], {"url": e["request"]["url"]}))
    cdp.on("Network.requestServedFromCache", lambda e: log.setdefault(e["requestId"], {}).update(cached=True))
    cdp.on("Network.responseReceived", lambda e: log.setdefault(e["requestId"], {}).update(
        status=e["response"]["status"], cached=log.get(e["requestId"], {}).get("cached")
        or e["response"].get("fromDiskCache") or e["response"].get("fromPrefetchCache")))
    cdp.on("Network.loadingFinished", lambda e: log.setdefault(e["requestId"], {}).update(bytes=e["encodedDataLength"]))
    out: dict[str, Any] = {}
    for visit_name in ("first", "warm"):
        log.clear()
        resp = page.goto(f"{base}{url}", wait_until="load")
        page.wait_for_load_state("networkidle")
        nav = page.evaluate("() => { const n = performance.getEntriesByType('navigation')[0];"
                            " return [n.loadEventEnd - n.startTime, n.responseEnd - n.startTime]; }")
        reqs = [r for r in log.values() if r.get("url", "").startswith(base)]
        out[visit_name] = {
            "status": resp.status if resp else None,
            "bytes": int(sum(r.get("bytes", 0) for r in reqs)),
            "requests": len(reqs),
            "from_network": sum(1 for r in reqs if not r.get("cached") and r.get("bytes", 0) > 0),
            "load_ms": round(nav[0], 1),
            "response_ms": round(nav[1], 1),
            "echarts": any("echarts" in r.get("url", "") for r in reqs),
            "chart_on_page": page.locator(".chart").count() > 0,
        }
    context.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=300)
    ap.add_argument("--years", type=int, default=1)
    ap.add_argument("--home", type=Path, default=None, help="reuse/build the demo here")
    ap.add_argument("--roles", default=",".join(ROLES), help="comma-separated: login and demo usernames")
    args = ap.parse_args()
    clean_environment()
    from playwright.sync_api import sync_playwright

    home = args.home or Path(f"/tmp/zz-bench-pages-{args.agents}x{args.years}")
    build(home, args.agents, args.years)
    proc, base = serve(home)
    rows: list[dict[str, Any]] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            visit(browser, base, "/login", None)  # warm the server's own caches once
            for role in args.roles.split(","):
                if role == "login":
                    targets: list[tuple[str, str]] = [("login", "/login")]
                    state = None
                else:
                    state = login_state(browser, base, role)
                    targets = discover(browser, base, state)
                for name, url in targets:
                    r = visit(browser, base, url, state)
                    rows.append({"role": role, "page": name, "url": url, **r})
                    f, w = r["first"], r["warm"]
                    print(f"{role:<10} {name:<16} {f['status']} first {f['bytes'] / 1024:7.1f} KB "
                          f"{f['requests']:2d} req {f['load_ms']:6.0f} ms | warm {w['bytes'] / 1024:6.1f} KB "
                          f"{w['from_network']:2d} net {w['load_ms']:6.0f} ms"
                          f"{' echarts' if f['echarts'] else ''}{' CHART' if f['chart_on_page'] else ''}",
                          flush=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    load = os.getloadavg()
    print(f"\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("| role | page | first KB | req | first load ms | warm KB | warm net req | warm load ms | echarts |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        f, w = r["first"], r["warm"]
        print(f"| {r['role']} | {r['page']} | {f['bytes'] / 1024:.1f} | {f['requests']} | {f['load_ms']:.0f} | "
              f"{w['bytes'] / 1024:.1f} | {w['from_network']} | {w['load_ms']:.0f} | "
              f"{'yes' if f['echarts'] else ''} |")
    over = [r for r in rows if r["page"] in ("login", "tracking") and r["first"]["bytes"] > BUDGET]
    stray = [r for r in rows if r["first"]["echarts"] and not r["first"]["chart_on_page"]]
    print(f"over the 150 KB budget (login, inbox): {[(r['role'], r['page']) for r in over] or 'none'}")
    print(f"chart library without a chart: {[(r['role'], r['page']) for r in stray] or 'none'}")
    append_result({"bench": "pages", "agents": args.agents, "years": args.years, "viewport": PHONE,
                   "loadavg": [round(x, 2) for x in load], "pages": rows})


if __name__ == "__main__":
    main()
