"""The tracking inbox with cards (issue 16 item 1): time and weight of ``/tracking`` per role.

Builds a demo of N agents (one year to 2026-05-27), runs tracking for the next day and the
results store, logs in through the web app in-process (``TestClient``) and times each view
(median of 7 warm requests); prints a Markdown table for docs/perf.md.

    python bench/bench_inbox.py [--agents 1000] [--work /tmp/bench-inbox]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import re
import statistics
import time
from pathlib import Path

from fastapi.testclient import TestClient

from zhuizong.demo.params import DemoParams
from zhuizong.demo.service import DEMO_PASSWORD, build_demo
from zhuizong.kpi import results
from zhuizong.tracking.generate import run as track_run
from zhuizong.web import security
from zhuizong.web.app import create_app
from zhuizong.workspace import Workspace

END = dt.date(2026, 5, 27)
VIEWS = (("supervisor", "/tracking?tab=today&who=mine"), ("executive", "/tracking?tab=today&who=team"),
         ("executive", "/tracking?tab=today&who=team&page=5"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench-inbox"))
    a = ap.parse_args()
    home = a.work / f"ws{a.agents}"
    fresh = not home.exists()
    home.mkdir(parents=True, exist_ok=True)
    ws = Workspace.open(home)
    if fresh:
        ws.init()
        build_demo(ws, DemoParams(agents=a.agents, years=1, end_date=END))
        track_run(ws, END + dt.timedelta(days=1))
        results.build(ws, through=END)
    print("| view | cards | 今日 y | median | HTML | gzip |\n|---|---:|---:|---:|---:|---:|")
    for user, url in VIEWS:
        c = TestClient(create_app(ws), base_url="http://testserver")
        c.get("/login")
        token = c.cookies.get(security.LOGIN_CSRF_COOKIE)
        r = c.post("/login", data={"username": user, "password": DEMO_PASSWORD, "csrf_token": token},
                   follow_redirects=False)
        assert r.status_code == 303, r.text[:200]
        c.get(url)
        times = []
        for _ in range(7):
            t = time.perf_counter()
            r = c.get(url)
            times.append(time.perf_counter() - t)
            assert r.status_code == 200
        body = r.text
        m = re.search(r'data-total="(\d+)"', body)
        cards = body.count('class="tcard')
        print(f"| {user} {url} | {cards} | {m.group(1) if m else '—'} | "
              f"{statistics.median(times) * 1000:.0f} ms | {len(body) / 1024:.0f} KB | "
              f"{len(gzip.compress(body.encode())) / 1024:.1f} KB |")


if __name__ == "__main__":
    main()
