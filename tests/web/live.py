"""A live app for the browser tests: the browser to drive, a clean environment, the app served on
a free localhost port in a thread, and a login on a phone. One place for what every browser test
needs (test_browser, test_raise_browser, test_phone_day_browser, test_page_weight,
test_one_language)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from zhuizong.demo.service import DEMO_PASSWORD
from zhuizong.web.app import create_app
from zhuizong.workspace import Workspace

CHROMIUM = os.environ.get("ZHUIZONG_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
#: variables a browser test keeps; any other ZHUIZONG_* of the caller would change its workspace
KEEP = ("ZHUIZONG_REQUIRE_PG", "ZHUIZONG_REQUIRE_BROWSER", "ZHUIZONG_CHROMIUM")


def browser_or_skip() -> str:
    """The Chromium to drive; missing: a failure under ``ZHUIZONG_REQUIRE_BROWSER=1`` (CI), else
    a skip."""
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    if os.environ.get("ZHUIZONG_REQUIRE_BROWSER") == "1":
        pytest.fail(f"Chromium not found at {CHROMIUM} (ZHUIZONG_REQUIRE_BROWSER=1)")
    pytest.skip(f"Chromium not found at {CHROMIUM}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env() -> None:
    """Drop the caller's ZHUIZONG_* settings (but :data:`KEEP`) before building a workspace."""
    for var in [v for v in os.environ if v.startswith("ZHUIZONG_") and v not in KEEP]:
        os.environ.pop(var)


@contextmanager
def serving(ws: Workspace) -> Iterator[str]:
    """The app of ``ws`` served on a free localhost port while the block runs → its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ws), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def phone_login(browser: Any, base: str, username: str, password: str = DEMO_PASSWORD) -> Any:
    """A new phone context (390×844, zh-CN, touch) logged in as ``username`` → its page."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page
