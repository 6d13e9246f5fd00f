"""Benchmark: the web app under load (issue 6).

Starts ``zhuizong serve`` on 127.0.0.1 and a free port for an existing workspace (``--home``,
e.g. a demo agency; SQLite or, with ``--database-url``, PostgreSQL), logs in ``--users``
simulated users (default 50) of every role, then each user loops over a realistic mix of pages
and API reads with a think time uniform in ``--think-min``…``--think`` seconds (default 1–5 s,
the ``between(1, 5)`` of locust's examples: a person reads a page before the next click;
0–1 s was used before 2026-11-29 and is still available): dashboard (and its
HTMX trends fragment), tracking inbox and item pages, team board, agent profile, KPI report,
basic law, campaigns, ``/api/v1/...`` reads and (unless ``--no-writes``) a few tracking records
posted through the API. After ``--warmup`` seconds (not counted) it measures ``--duration``
seconds (default 60) and prints count / min / median / p95 / max / errors per route group,
pages and API reads overall, and requests/s. A request is an error when it raises (timeout,
connection) or answers anything but 2xx/3xx. Exit status 1 when there were errors.

Users: the demo's users (``admin``, ``executive``, … password ``zhuizong-demo``) plus bench users
``bench_<role>_<n>`` (password ``zhuizong-bench``) created in the workspace through the access
layer when missing — supervisors bound to the heads of other groups (reporting line), trainers
and executives on other sub-branches — so that scopes differ as they do in a real agency.
Every login must succeed (login throttling: the bench stops at the first failure).

The workspace is written to: bench users, their sessions and audit lines, and the tracking
records posted (each with a unique note; after the run the bench checks that each landed exactly
once). Run it on a copy of a demo, not on a real database.

    python bench/bench_web.py --home /tmp/web3k --duration 20 --warmup 5
    python bench/bench_web.py --home /tmp/web50k_sqlite                    # 50 users, 60 s
    python bench/bench_web.py --home /tmp/web50k_pg --workers 2 \\
        --database-url postgresql+psycopg://zz@127.0.0.1:55433/web50k
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import ROOT, append_result, clean_environment

import httpx

DEMO_PASSWORD = "zhuizong-demo"
BENCH_PASSWORD = "zhuizong-bench"
DEFAULT_MIX = "supervisor=30,trainer=5,executive=5,admin=2,assessment=2,training=2,campaign=2,agent=2"

#: role → action → weight (how often a user of that role does it; pages a role cannot open are absent)
WEIGHTS: dict[str, dict[str, float]] = {
    "supervisor": {"tracking_inbox": 4, "tracking_item": 4, "team": 3, "agent_profile": 3,
                   "dashboard": 1, "basic_law": 1, "campaigns": 1, "campaign_detail": 1,
                   "api_tracking": 2, "api_agent": 2, "api_campaign": 1, "api_me": 1,
                   "track_record": 1},
    "trainer": {"tracking_inbox": 3, "tracking_item": 3, "dashboard": 2, "team": 1,
                "agent_profile": 2, "agents_list": 1, "basic_law": 1, "campaigns": 1,
                "campaign_detail": 1, "api_tracking": 2, "api_kpi": 1, "api_agent": 1,
                "track_record": 1},
    "executive": {"dashboard": 4, "report": 2, "team": 1, "agent_profile": 2, "agents_list": 1,
                  "tracking_inbox": 2, "tracking_item": 1, "basic_law": 1, "campaigns": 1,
                  "campaign_detail": 1, "api_kpi": 3, "api_orgs": 1, "api_tracking": 1},
    "admin": {"dashboard": 3, "report": 2, "agents_list": 1, "agent_profile": 2,
              "tracking_inbox": 1, "tracking_item": 1, "team": 1, "basic_law": 1, "campaigns": 1,
              "campaign_detail": 1, "api_kpi": 2, "api_agent": 1, "api_orgs": 1},
    "assessment": {"basic_law": 4, "agent_profile": 2, "tracking_inbox": 1, "dashboard": 1,
                   "api_basic_law": 2, "api_agent": 1},
    "training": {"dashboard": 1, "tracking_inbox": 2, "tracking_item": 1, "agent_profile": 2,
                 "basic_law": 1, "campaigns": 1, "campaign_detail": 1, "api_tracking": 1},
    "campaign": {"campaigns": 2, "campaign_detail": 3, "dashboard": 1, "tracking_inbox": 1,
                 "agent_profile": 1, "api_campaign": 2},
    "agent": {"tools": 3, "campaigns": 2, "campaign_detail": 2, "account": 1, "api_me": 1,
              "api_agent": 1},
}

#: route group → "page" | "api" | "write" (the issue's aim covers pages and API reads)
KIND = {
    "dashboard": "page", "dashboard_trends": "page", "tracking_inbox": "page",
    "tracking_item": "page", "team": "page", "agent_profile": "page", "agents_list": "page",
    "report": "page", "basic_law": "page", "campaigns": "page", "campaign_detail": "page",
    "tools": "page", "account": "page",
    "api_kpi": "api", "api_tracking": "api", "api_agent": "api", "api_basic_law": "api",
    "api_campaign": "api", "api_me": "api", "api_orgs": "api",
    "track_record": "write",
}


# --- the server ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(home: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHUIZONG_")}
    env["ZHUIZONG_HOME"] = str(home)
    if database_url:
        env["ZHUIZONG_DATABASE_URL"] = database_url
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


class Server:
    """``python -m zhuizong serve`` in its own process group (uvicorn workers included)."""

    def __init__(self, home: Path, database_url: str | None, workers: int, port: int) -> None:
        self.port = port
        self.log = Path(tempfile.mkstemp(prefix="zz-bench-web-", suffix=".log")[1])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zhuizong", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)],
            env=server_env(home, database_url), stdout=self.log.open("w"), stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 180) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"server not ready after {timeout:.0f}s:\n{self.log.read_text()[-3000:]}")

    def worker_pids(self) -> set[int]:
        """Processes of the server's group other than the supervisor (uvicorn workers; a pid that
        changes means a worker was restarted, e.g. killed by uvicorn's health check)."""
        out = set()
        for d in Path("/proc").iterdir():
            if d.name.isdigit() and int(d.name) != self.proc.pid:
                try:
                    stat = (d / "stat").read_text()
                except OSError:
                    continue
                fields = stat[stat.rindex(")") + 2:].split()
                if int(fields[2]) == self.proc.pid and fields[0] != "Z":
                    try:
                        cmd = (d / "cmdline").read_bytes()
                    except OSError:
                        continue
                    if b"spawn_main" in cmd and b"resource_tracker" not in cmd:
                        out.add(int(d.name))
        return out

    def cpu_seconds(self) -> float:
        """user + system CPU of every process of the server's process group (Linux /proc)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) == self.proc.pid:  # pgrp
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def tracebacks(self) -> list[str]:
        text = self.log.read_text(errors="replace")
        return [chunk[-1500:] for chunk in text.split("Traceback (most recent call last):")[1:]]


# --- users ---------------------------------------------------------------------------------------


@dataclass
class BenchUser:
    username: str
    password: str
    role: str


def parse_mix(text: str, total: int) -> list[str]:
    mix: list[tuple[str, int]] = []
    for part in text.split(","):
        role, _, n = part.partition("=")
        if role.strip() not in WEIGHTS:
            raise SystemExit(f"unknown role in --mix: {role!r}")
        mix.append((role.strip(), int(n)))
    roles = [r for r, n in mix for _ in range(n)]
    if total != len(roles):  # scale the mix to --users, keeping its proportions
        weights = [n for _r, n in mix]
        roles = [r for r, n in mix for _ in range(max(0, round(n * total / sum(weights))))]
        while len(roles) < total:
            roles.append(mix[0][0])
        roles = roles[:total]
    return roles


def prepare_users(home: Path, database_url: str | None, roles: list[str], seed: int) -> list[BenchUser]:
    """The demo user of each role first, then bench users (created when missing) with distinct
    scopes: supervisors = heads of other groups, trainers/executives = other sub-branches."""
    from sqlalchemy import text

    from zhuizong.access import users as access_users
    from zhuizong.errors import ZhuizongError
    from zhuizong.store.db import atomic
    from zhuizong.workspace import Workspace

    ws = Workspace.open(home)
    ws.require_ready()
    rng = random.Random(seed)
    with ws.engine.connect() as conn:
        existing = {r[0] for r in conn.execute(text("select username from users"))}
        orgs = conn.execute(text("select org_code, parent_code, level from org_units")).all()
        # a unit's head is the in-force agent placed in it whom its members report to
        heads = dict(conn.execute(text(
            "select a.org_code, min(h.agent_code) from agents a join agents h "
            "on h.agent_code = a.supervisor_code and h.org_code = a.org_code "
            "where a.leave_date is null and h.leave_date is null group by a.org_code")).all())
        # sub-branch and branch heads have no members in their own unit: the one agent placed there
        for code, head in conn.execute(text(
                "select a.org_code, min(a.agent_code) from agents a join org_units o "
                "on o.org_code = a.org_code where o.level in ('branch', 'sub_branch', 'department') "
                "and a.leave_date is null group by a.org_code")).all():
            heads.setdefault(code, head)
    level: dict[str, list[str]] = {}
    for code, _parent, lvl in orgs:
        level.setdefault(lvl or "", []).append(code)
    for v in level.values():
        v.sort()
    groups = [g for g in level.get("group", []) if g in heads]
    subs = [s for s in level.get("sub_branch", []) if s in heads] or level.get("branch", [])
    rng.shuffle(groups)
    rng.shuffle(subs)

    out: list[BenchUser] = []
    counters: dict[str, int] = {}
    to_create: list[tuple[str, list[str], str | None, list[tuple[str, str | None, str | None]]]] = []
    for role in roles:
        n = counters.get(role, 0)
        counters[role] = n + 1
        if n == 0 and role in existing:  # the demo user of this role
            out.append(BenchUser(role, DEMO_PASSWORD, role))
            continue
        name = f"bench_{role}_{n:02d}"
        out.append(BenchUser(name, BENCH_PASSWORD, role))
        if name in existing:
            continue
        if role == "supervisor":
            g = groups[n % len(groups)]
            to_create.append((name, ["supervisor", "agent"], heads[g], [("reporting_line", None, heads[g])]))
        elif role == "trainer":
            to_create.append((name, ["trainer"], None, [("org_subtree", subs[n % len(subs)], None)]))
        elif role == "executive":
            s = subs[n % len(subs)]
            to_create.append((name, ["executive"], heads.get(s), [("org_subtree", s, None)]))
        elif role == "agent":
            g = groups[(n + 7) % len(groups)]
            with ws.engine.connect() as conn:
                code = conn.execute(text(
                    "select min(agent_code) from agents where org_code = :g and leave_date is null "
                    "and agent_code <> :h"), {"g": g, "h": heads[g]}).scalar()
            to_create.append((name, ["agent"], code, [("self", None, code)]))
        else:  # admin, assessment, training, campaign: the whole agency
            roots = [c for c, p, _lvl in orgs if p is None]
            to_create.append((name, [role], None, [("org_subtree", r, None) for r in roots]))
    if to_create:
        with atomic(ws.engine) as conn:
            for name, rls, agent, scopes in to_create:
                try:
                    access_users.create_user(conn, name, name, roles=rls, agent_code=agent,
                                             password=BENCH_PASSWORD, actor="bench")
                except ZhuizongError as e:
                    raise SystemExit(f"cannot create {name}: {e.en}") from None
                for st, org, ag in scopes:
                    access_users.grant_scope(conn, name, st, org_code=org, agent_code=ag, actor="bench")
        print(f"created {len(to_create)} bench users")
    ws.engine.dispose()
    return out


def workspace_facts(home: Path, database_url: str | None) -> dict[str, Any]:
    """Agents in force, the database, the period the pages default to (for the KPI API reads);
    refreshes the analytic snapshot first (not timed with the load)."""
    from sqlalchemy import text

    from zhuizong.analytics import snapshot
    from zhuizong.services import dashboard as svc
    from zhuizong.workspace import Workspace

    ws = Workspace.open(home)
    with ws.engine.connect() as conn:
        agents = conn.execute(text("select count(*) from agents where leave_date is null")).scalar()
        items = conn.execute(text("select count(*) from track_items")).scalar()
    t = time.perf_counter()
    snapshot.refresh(ws)  # the analytic snapshot up to date (after a copy or a migration: an export)
    refresh_s = time.perf_counter() - t
    through = svc.data_through(ws)
    facts = {"database": ws.engine.dialect.name, "agents_in_force": int(agents or 0),
             "track_items": int(items or 0), "data_through": str(through),
             "period": svc.last_closed_month(ws, through), "snapshot_refresh_s": round(refresh_s, 1)}
    ws.engine.dispose()
    return facts


def count_records(home: Path, database_url: str | None, notes: list[str]) -> dict[str, int]:
    """How many times each posted note is stored (must be exactly once)."""
    from sqlalchemy import bindparam, text

    from zhuizong.workspace import Workspace

    ws = Workspace.open(home)
    counts = {n: 0 for n in notes}
    with ws.engine.connect() as conn:
        for i in range(0, len(notes), 500):
            chunk = notes[i:i + 500]
            q = text("select note, count(*) from track_records where note in :notes group by note"
                     ).bindparams(bindparam("notes", expanding=True))
            for note, n in conn.execute(q, {"notes": chunk}):
                counts[note] = int(n)
    ws.engine.dispose()
    return counts


# --- the simulated users -------------------------------------------------------------------------


@dataclass
class Sample:
    group: str
    start: float  # time.monotonic() at send
    ms: float
    ok: bool
    status: str
    url: str = ""


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # notes of records answered 201

    def add(self, s: Sample, detail: str = "") -> None:
        self.samples.append(s)
        if not s.ok and len(self.errors) < 200:
            self.errors.append(f"{s.group} {s.status} {detail}"[:400])


SET_COOKIE = re.compile(r"^\s*([^=;\s]+)=([^;]*)")


def cookies_of(resp: httpx.Response) -> dict[str, str]:
    """Cookies set by a response, read from the headers: the app marks them Secure (on for
    localhost), which a cookie jar would not send back over plain http."""
    out = {}
    for h in resp.headers.get_list("set-cookie"):
        m = SET_COOKIE.match(h)
        if m:
            out[m.group(1)] = m.group(2).strip('"')
    return out


class User:
    def __init__(self, spec: BenchUser, base: str, rec: Recorder, rng: random.Random, period: str,
                 timeout: float, writes: bool, login_base: str | None = None) -> None:
        self.spec, self.base, self.rec, self.rng, self.period = spec, base, rec, rng, period
        self.login_base = login_base or base
        self.writes = writes
        self.timeout = timeout
        self.client: httpx.AsyncClient | None = None
        self.csrf = ""
        self.roles: set[str] = set()
        self.agent_code: str | None = None
        self.orgs: list[dict[str, Any]] = []
        self.root: str | None = None
        self.items: list[int] = []
        self.agents: list[str] = []
        self.campaigns: list[str] = []
        self.heads: list[str] = []
        self.actions: list[str] = []
        self.weights: list[float] = []

    # -- setup (not measured) --

    async def login(self) -> float:
        t0 = time.perf_counter()
        async with httpx.AsyncClient(base_url=self.login_base, timeout=self.timeout) as c:
            r = await c.get("/login")
            r.raise_for_status()
            m = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
            login_csrf = cookies_of(r).get("zz_login_csrf")
            if not m or not login_csrf:
                raise SystemExit("login page without its CSRF token/cookie")
            r = await c.post("/login", data={"csrf_token": html.unescape(m.group(1)),
                                             "username": self.spec.username,
                                             "password": self.spec.password, "next": "/"},
                             headers={"Cookie": f"zz_login_csrf={login_csrf}",
                                      "Origin": self.login_base})
            token = cookies_of(r).get("zz_session")
            if r.status_code != 303 or not token:
                raise SystemExit(f"login of {self.spec.username} failed: HTTP {r.status_code} "
                                 "(wrong password? the bench stops before the throttle locks it)")
        self.client = httpx.AsyncClient(
            base_url=self.base, timeout=self.timeout, follow_redirects=False,
            headers={"Cookie": f"zz_session={token}", "Origin": self.base,
                     "User-Agent": "zhuizong-bench-web"})
        return time.perf_counter() - t0

    async def _json(self, url: str) -> Any:
        assert self.client is not None
        for attempt in range(3):  # set-up only: a dropped connection is retried (and reported)
            try:
                r = await self.client.get(url)
                break
            except httpx.TransportError as e:
                print(f"{self.spec.username}: GET {url}: {e!r} (attempt {attempt + 1})", flush=True)
                if attempt == 2:
                    raise
        if r.status_code != 200:
            raise SystemExit(f"{self.spec.username}: GET {url} → HTTP {r.status_code}: {r.text[:300]}")
        return r.json()

    async def discover(self, heads: dict[str, str]) -> None:
        """What this user can open: org units, items, agents, campaigns (as a browser session
        would learn from the pages it visits)."""
        me = await self._json("/api/v1/me")
        self.csrf, self.roles, self.agent_code = me["csrf_token"], set(me["roles"]), me["agent_code"]
        self.orgs = (await self._json("/api/v1/orgs"))["org_units"]
        codes = {o["org_code"] for o in self.orgs}
        tops = sorted(o["org_code"] for o in self.orgs if o["parent_code"] not in codes)
        self.root = tops[0] if tops else None
        if "view_tracking" in me["permissions"]:
            items = (await self._json("/api/v1/tracking/items?status=open&limit=300"))["items"]
            self.items = [x["id"] for x in items]
        groups = [o["org_code"] for o in self.orgs if o["level"] == "group"]
        if self.root is None or not groups:  # reporting line or self: all of them
            ags = (await self._json("/api/v1/agents?limit=300"))["agents"]
        else:  # a wide scope: the agents of a few groups
            ags = []
            for g in self.rng.sample(groups, min(3, len(groups))):
                ags += (await self._json(f"/api/v1/agents?org={g}&limit=100"))["agents"]
        self.agents = [a["agent_code"] for a in ags if a.get("leave_date") is None] or \
            [a["agent_code"] for a in ags]
        self.campaigns = [c["id"] for c in (await self._json("/api/v1/campaigns"))["campaigns"]]
        self.heads = [heads[c] for c in codes if c in heads and c in {
            o["org_code"] for o in self.orgs if o["level"] == "group"}]
        w = WEIGHTS[self.spec.role]
        for action, weight in w.items():
            if action in ("tracking_item", "api_tracking", "track_record") and not self.items:
                continue
            if action in ("agent_profile", "api_agent") and not self.agents:
                continue
            if action in ("campaign_detail", "api_campaign") and not self.campaigns:
                continue
            if action == "team" and not (self.agent_code or self.heads):
                continue
            if action == "track_record" and not self.writes:
                continue
            if action in ("report", "api_kpi", "agents_list") and self.root is None:
                continue
            self.actions.append(action)
            self.weights.append(weight)

    # -- the measured loop --

    async def hit(self, group: str, method: str, url: str, **kw: Any) -> httpx.Response | None:
        assert self.client is not None
        start = time.monotonic()
        t0 = time.perf_counter()
        try:
            r = await self.client.request(method, url, **kw)
        except Exception as e:  # noqa: BLE001 - every failure is an error of the run
            self.rec.add(Sample(group, start, (time.perf_counter() - t0) * 1000, False,
                                type(e).__name__, f"{method} {url}"), f"{method} {url}: {e!r}")
            return None
        ms = (time.perf_counter() - t0) * 1000
        ok = 200 <= r.status_code < 400
        self.rec.add(Sample(group, start, ms, ok, str(r.status_code), f"{method} {url} [{self.spec.username}]"),
                     "" if ok else f"{method} {url}: {r.text[:200]!r}")
        return r

    def _org(self) -> str | None:
        """The root of the scope most of the time, else a unit below it (drill-down)."""
        if not self.orgs or self.rng.random() < 0.6:
            return self.root
        return self.rng.choice(self.orgs)["org_code"]

    async def do(self, action: str) -> None:
        rng = self.rng
        if action == "dashboard":
            org = self._org()
            r = await self.hit("dashboard", "GET", "/dashboard" + (f"?org={org}" if org and org != self.root else ""))
            m = re.search(r'hx-get="(/dashboard/trends\?[^"]+)"', r.text) if r is not None else None
            if m:  # what the browser loads right after the page (hx-trigger="load")
                await self.hit("dashboard_trends", "GET", html.unescape(m.group(1)),
                               headers={"HX-Request": "true"})
        elif action == "tracking_inbox":
            tab = rng.choice(("today", "today", "overdue", "done"))
            who = "team" if ("supervisor" not in self.roles or rng.random() < 0.3) else "mine"
            await self.hit(action, "GET", f"/tracking?tab={tab}&who={who}")
        elif action == "tracking_item":
            await self.hit(action, "GET", f"/tracking/{rng.choice(self.items)}")
        elif action == "team":
            url = "/team" if self.agent_code and (not self.heads or rng.random() < 0.7) else \
                f"/team?head={rng.choice(self.heads)}"
            await self.hit(action, "GET", url)
        elif action == "agent_profile":
            await self.hit(action, "GET", f"/agents/{rng.choice(self.agents)}")
        elif action == "agents_list":
            org = self._org()
            await self.hit(action, "GET", f"/agents?org={org}&period={self.period}&filter=active")
        elif action == "report":
            org = self._org() if rng.random() < 0.3 else self.root
            await self.hit(action, "GET", f"/report?org={org}")
        elif action == "basic_law":
            view = rng.choice(("all", "all", "promotion", "risk"))
            await self.hit(action, "GET", f"/basic-law?view={view}")
        elif action == "campaigns":
            await self.hit(action, "GET", "/campaigns")
        elif action == "campaign_detail":
            await self.hit(action, "GET", f"/campaigns/{rng.choice(self.campaigns)}")
        elif action == "tools":
            await self.hit(action, "GET", "/tools")
        elif action == "account":
            await self.hit(action, "GET", "/account")
        elif action == "api_kpi":
            org = self._org()
            by = rng.choice(("children", "children", "agent")) if org != self.root else "children"
            await self.hit(action, "GET", f"/api/v1/kpi?period={self.period}&org={org}&by={by}")
        elif action == "api_tracking":
            if rng.random() < 0.5:
                await self.hit(action, "GET", "/api/v1/tracking/items?status=open&owner=me&limit=100"
                               if "supervisor" in self.roles else "/api/v1/tracking/items?status=open&limit=100")
            else:
                await self.hit(action, "GET", f"/api/v1/tracking/items/{rng.choice(self.items)}")
        elif action == "api_agent":
            code = rng.choice(self.agents)
            url = f"/api/v1/agents/{code}" if rng.random() < 0.5 else f"/api/v1/agents/{code}/activity"
            await self.hit(action, "GET", url)
        elif action == "api_basic_law":
            groups = [o["org_code"] for o in self.orgs if o["level"] in ("group", "department")]
            org = rng.choice(groups) if groups else None
            view = rng.choice(("risk", "promotion"))
            await self.hit(action, "GET", f"/api/v1/basic-law/results?view={view}" + (f"&org={org}" if org else ""))
        elif action == "api_campaign":
            await self.hit(action, "GET", f"/api/v1/campaigns/{rng.choice(self.campaigns)}/standings?limit=50")
        elif action == "api_me":
            await self.hit(action, "GET", "/api/v1/me")
        elif action == "api_orgs":
            await self.hit(action, "GET", "/api/v1/orgs")
        elif action == "track_record":
            note = f"zz-bench-{uuid.uuid4().hex}"
            item = rng.choice(self.items)
            r = await self.hit(action, "POST", f"/api/v1/tracking/items/{item}/records",
                               json={"method": rng.choice(("phone", "wechat", "face_to_face")),
                                     "outcome": rng.choice(("contacted", "committed")), "note": note},
                               headers={"X-CSRF-Token": self.csrf})
            if r is not None and r.status_code == 201:
                self.rec.notes.append(note)
        else:
            raise AssertionError(action)

    async def run(self, until: float, think: tuple[float, float]) -> None:
        await asyncio.sleep(self.rng.uniform(0, think[1]))  # do not start in lockstep
        while time.monotonic() < until:
            await self.do(self.rng.choices(self.actions, self.weights)[0])
            await asyncio.sleep(self.rng.uniform(*think))

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()


# --- statistics ----------------------------------------------------------------------------------


def pct(xs: list[float], p: float) -> float:
    """The p-th percentile, nearest rank (no interpolation: a value that was measured)."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def group_stats(samples: list[Sample]) -> dict[str, float | int]:
    ms = [s.ms for s in samples]
    return {"count": len(ms), "min_ms": round(min(ms), 1), "median_ms": round(statistics.median(ms), 1),
            "p95_ms": round(pct(ms, 95), 1), "max_ms": round(max(ms), 1),
            "errors": sum(1 for s in samples if not s.ok)}


def summarise(samples: list[Sample]) -> dict[str, Any]:
    by: dict[str, list[Sample]] = {}
    for s in samples:
        by.setdefault(s.group, []).append(s)
    out: dict[str, Any] = {"groups": {g: group_stats(v) for g, v in sorted(by.items())}}
    for kind in ("page", "api", "write"):
        sub = [s for s in samples if KIND[s.group] == kind]
        if sub:
            out[kind] = group_stats(sub)
    reads = [s for s in samples if KIND[s.group] in ("page", "api")]
    if reads:
        out["reads"] = group_stats(reads)
    out["all"] = group_stats(samples) if samples else None
    return out


def print_table(title: str, summary: dict[str, Any], aim_ms: float) -> None:
    print(f"\n{title}")
    print(f"{'route group':<18}{'count':>7}{'min':>9}{'median':>9}{'p95':>9}{'max':>9}{'errors':>8}")
    rows = list(summary["groups"].items()) + [
        (f"= {k}", summary[k]) for k in ("page", "api", "reads", "write", "all") if summary.get(k)]
    for g, st in rows:
        flag = "" if g.startswith("=") or KIND.get(g) == "write" or st["p95_ms"] < aim_ms else "  ✗"
        print(f"{g:<18}{st['count']:>7}{st['min_ms']:>9.0f}{st['median_ms']:>9.0f}{st['p95_ms']:>9.0f}"
              f"{st['max_ms']:>9.0f}{st['errors']:>8}{flag}")
    print("(milliseconds)")


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


# --- main ----------------------------------------------------------------------------------------


async def load_run(args: argparse.Namespace, base: str, specs: list[BenchUser], facts: dict[str, Any],
                   heads: dict[str, str], server: Server | None, login_base: str | None) -> dict[str, Any]:
    rec = Recorder()
    master = random.Random(args.seed)
    users = [User(s, base, rec, random.Random(master.random()), facts["period"], args.timeout,
                  not args.no_writes, login_base) for s in specs]
    # log in (concurrently, as users arrive in the morning) and look around
    t = time.perf_counter()
    login_s = await asyncio.gather(*(u.login() for u in users))
    print(f"{len(users)} users logged in in {time.perf_counter() - t:.1f}s "
          f"(per login: median {statistics.median(login_s) * 1000:.0f} ms, max {max(login_s) * 1000:.0f} ms)")
    t = time.perf_counter()
    await asyncio.gather(*(u.discover(heads) for u in users))
    print(f"discovery (orgs, items, agents, campaigns per user) {time.perf_counter() - t:.1f}s")

    t_warm = time.monotonic()
    t_start = t_warm + args.warmup
    t_end = t_start + args.duration
    loads: list[list[float]] = []
    marks: dict[str, Any] = {}
    pids: set[int] = set(server.worker_pids()) if server is not None else set()

    async def watch() -> None:
        while time.monotonic() < t_start:
            if server is not None:
                pids.update(server.worker_pids())
            await asyncio.sleep(min(2.0, max(0.0, t_start - time.monotonic())))
        marks["load_start"] = loadavg()
        marks["cpu_start"] = server.cpu_seconds() if server else None
        marks["client_cpu_start"] = time.process_time()
        while time.monotonic() < t_end:
            await asyncio.sleep(min(2.0, max(0.0, t_end - time.monotonic())))
            loads.append(loadavg())
            if server is not None:
                pids.update(server.worker_pids())
        marks["load_end"] = loadavg()
        marks["cpu_end"] = server.cpu_seconds() if server else None
        marks["client_cpu_end"] = time.process_time()

    print(f"warm-up {args.warmup:.0f}s, then measuring {args.duration:.0f}s …", flush=True)
    await asyncio.gather(watch(), *(u.run(t_end, (args.think_min, args.think)) for u in users))
    t_done = time.monotonic()
    for u in users:
        await u.close()

    warm = [s for s in rec.samples if s.start < t_start]
    measured = [s for s in rec.samples if t_start <= s.start < t_end]
    out: dict[str, Any] = {
        "measured": summarise(measured) if measured else None,
        "warmup": summarise(warm) if warm else None,
        "requests": len(measured),
        "requests_per_s": round(len(measured) / args.duration, 1),
        "errors": sum(1 for s in measured if not s.ok),
        "errors_warmup": sum(1 for s in warm if not s.ok),
        "error_samples": rec.errors[:20],
        "tail_s": round(t_done - t_end, 1),  # the last requests in flight at the end
        "login_ms": {"median": round(statistics.median(login_s) * 1000), "max": round(max(login_s) * 1000)},
        "loadavg": {"start": marks.get("load_start"), "end": marks.get("load_end"),
                    "max_1min": max((x[0] for x in loads), default=None),
                    "mean_1min": round(statistics.mean(x[0] for x in loads), 2) if loads else None},
        "notes": rec.notes,
        # the slowest requests of the measured window: (seconds after its start, ms, request)
        "slowest": [(round(x.start - t_start, 1), round(x.ms), x.url)
                    for x in sorted(measured, key=lambda x: -x.ms)[:15]],
    }
    if server is not None and marks.get("cpu_end") is not None:
        out["server_cpu_s"] = round(marks["cpu_end"] - marks["cpu_start"], 1)
    if server is not None:
        # worker processes seen beyond the workers asked for = restarted workers
        out["server_processes_seen"] = len(pids)
    out["client_cpu_s"] = round(marks["client_cpu_end"] - marks["client_cpu_start"], 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True, help="the workspace (a demo agency); written to")
    ap.add_argument("--database-url", default=None,
                    help="postgresql+psycopg://… when the workspace's database is not in its zhuizong.toml")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--mix", default=DEFAULT_MIX, help=f"users per role (default {DEFAULT_MIX})")
    ap.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    ap.add_argument("--warmup", type=float, default=20.0, help="seconds of load before measuring")
    ap.add_argument("--think-min", type=float, default=1.0,
                    help="think time: uniform THINK_MIN…THINK seconds (default 1–5 s)")
    ap.add_argument("--think", type=float, default=5.0, help="longest think time, seconds")
    ap.add_argument("--workers", type=int, default=1, help="zhuizong serve --workers")
    ap.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    ap.add_argument("--url", default=None, help="use this running server instead of starting one")
    ap.add_argument("--login-url", default=None,
                    help="log in through this server (e.g. another worker) and browse --url")
    ap.add_argument("--no-writes", action="store_true", help="no tracking records posted")
    ap.add_argument("--timeout", type=float, default=60.0, help="per request, seconds")
    ap.add_argument("--aim-ms", type=float, default=300.0, help="p95 aim for pages and API reads")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--label", default=None, help="free text stored with the result")
    ap.add_argument("--no-record", action="store_true", help="do not append to the results file")
    args = ap.parse_args()
    clean_environment()
    if args.database_url:  # for the set-up and checks done in this process (the server gets it too)
        os.environ["ZHUIZONG_DATABASE_URL"] = args.database_url

    roles = parse_mix(args.mix, args.users)
    specs = prepare_users(args.home, args.database_url, roles, args.seed)
    facts = workspace_facts(args.home, args.database_url)
    print(f"workspace {args.home} ({facts['database']}): {facts['agents_in_force']:,} agents in force, "
          f"{facts['track_items']:,} tracking items, data through {facts['data_through']}, "
          f"period {facts['period']} (snapshot refresh {facts['snapshot_refresh_s']}s)")
    heads = _group_heads(args.home)

    server = None
    if args.url:
        base = args.url.rstrip("/")
    else:
        server = Server(args.home, args.database_url, args.workers, args.port or free_port())
        base = server.url
    try:
        if server is not None:
            t = time.perf_counter()
            server.wait_ready()
            print(f"server {base} ({args.workers} worker(s)) ready in {time.perf_counter() - t:.1f}s; "
                  f"log {server.log}")
        res = asyncio.run(load_run(args, base, specs, facts, heads, server, args.login_url))
    finally:
        if server is not None:
            server.stop()
    tracebacks = server.tracebacks() if server is not None else []

    notes = res.pop("notes")
    landed = count_records(args.home, args.database_url, notes) if notes else {}
    not_once = {n: c for n, c in landed.items() if c != 1}

    if res["warmup"]:
        print_table(f"warm-up ({args.warmup:.0f}s, not counted)", res["warmup"], args.aim_ms)
    if res["measured"] is None:
        raise SystemExit("no request completed in the measured window")
    print_table(f"measured: {args.users} users, {args.duration:.0f}s, think {args.think_min:g}–{args.think:g}s, "
                f"{args.workers} worker(s), {facts['database']}", res["measured"], args.aim_ms)
    la = res["loadavg"]
    print(f"requests: {res['requests']}  ({res['requests_per_s']} req/s)   errors: {res['errors']}"
          f"  (warm-up: {res['errors_warmup']})")
    print(f"load average (1/5/15 min) at start {la['start']}, at end {la['end']}, 1-min max "
          f"{la['max_1min']} (cores: {os.cpu_count()})")
    if "server_cpu_s" in res:
        print(f"server CPU {res['server_cpu_s']}s in {args.duration:.0f}s "
              f"(= {res['server_cpu_s'] / args.duration:.2f} cores); bench client CPU {res['client_cpu_s']}s")
    if "server_processes_seen" in res:
        extra = max(0, res["server_processes_seen"] - args.workers)
        print(f"worker processes seen: {res['server_processes_seen']}"
              + (f" — {extra} worker restart(s) (uvicorn kills a worker whose health check does not "
                 "answer within its timeout)" if args.workers > 1 and extra else ""))
    if notes:
        print(f"tracking records posted (201): {len(notes)}; stored exactly once: "
              f"{sum(1 for c in landed.values() if c == 1)}; not once: {len(not_once)}")
    print("slowest requests (s after the start of the measured window, ms, request):")
    for at, ms, url in res["slowest"]:
        print(f"  {at:>6}  {ms:>7}  {url}")
    for e in res["error_samples"]:
        print("  error:", e)
    if tracebacks:
        print(f"server log: {len(tracebacks)} traceback(s); last:\n{tracebacks[-1]}")
    m = res["measured"]
    aim_met = all(st["p95_ms"] < args.aim_ms for g, st in m["groups"].items() if KIND[g] != "write")
    print(f"aim (p95 < {args.aim_ms:.0f} ms for every page and API read group, 0 errors): "
          f"{'met' if aim_met and res['errors'] == 0 else 'NOT met'}")

    if not args.no_record:
        append_result({
            "bench": "web_load", "label": args.label, "home": str(args.home), **facts,
            "users": args.users, "mix": args.mix, "workers": args.workers,
            "duration_s": args.duration, "warmup_s": args.warmup, "think_min_s": args.think_min, "think_max_s": args.think,
            "writes": not args.no_writes, **{k: v for k, v in res.items() if k != "error_samples"},
            "error_samples": res["error_samples"][:5], "server_tracebacks": len(tracebacks),
            "records_posted": len(notes), "records_not_once": len(not_once), "aim_met": aim_met,
        })
    if res["errors"] or not_once:
        sys.exit(1)


def _group_heads(home: Path) -> dict[str, str]:
    """org code → head agent (to open other teams' boards: /team?head=…)."""
    from sqlalchemy import text

    from zhuizong.workspace import Workspace

    ws = Workspace.open(home)
    with ws.engine.connect() as conn:
        heads = dict(conn.execute(text(
            "select a.org_code, min(h.agent_code) from agents a join agents h "
            "on h.agent_code = a.supervisor_code and h.org_code = a.org_code "
            "where a.leave_date is null and h.leave_date is null group by a.org_code")).all())
    ws.engine.dispose()
    return heads


if __name__ == "__main__":
    main()
