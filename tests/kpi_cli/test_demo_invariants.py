"""Invariants of the KPIs on a generated demo agency (``zhuizong demo``), through the CLI.

For every org unit (queried a whole level at a time with ``--by level:NAME``) and every month of
the last months of the demo:

* at the root, closing = opening + new hires − leavers (transfers cancel at the top);
* the rank-category segments add up to the total (headcounts, hires, leavers, active);
* FYP of a multi-month period (year to date, a date range) = the sum of its months' FYP;
* a parent's active count is ≥ the largest of its children's and ≤ their sum plus the agents
  placed directly in the parent (in the demo, the head of a unit is placed in the unit itself);
* closing headcount of month m = opening headcount of month m + 1.

The 300-agent, 2-year demo runs on SQLite (12 months); a tiny one on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.kpi_cli.builders import cli_ok, kpi
from zhuizong.demo.params import default_end_date

TOTALS = ("headcount_open", "headcount_close", "new_hires", "leavers", "fyp", "active")
SEGMENTED = ("headcount_open", "headcount_close", "new_hires", "leavers", "active")
CATEGORIES = ("probationary", "formal", "director")
KEEP_ENV = ("ZHUIZONG_REQUIRE_PG", "ZHUIZONG_TEST_PG_URL", "ZHUIZONG_REQUIRE_BROWSER")


def month_label(y: int, m: int) -> str:
    return f"{y:04d}-{m:02d}"


def last_months(end: dt.date, n: int) -> list[str]:
    out = []
    y, m = end.year, end.month
    for _ in range(n):
        out.append(month_label(y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


@dataclass
class Demo:
    end: dt.date
    months: list[str]
    orgs: list[dict[str, Any]]
    agents: list[dict[str, Any]]
    _cache: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)

    @property
    def levels(self) -> list[str]:
        return list(dict.fromkeys(o["level"] for o in self.orgs))

    @property
    def root(self) -> str:
        return next(o["org_code"] for o in self.orgs if not o["parent_code"])

    def query(self, period: str, metrics: tuple[str, ...], *, by: str | None = None,
              segment: str | None = None, as_of: str | None = None) -> dict[str, Any]:
        key = (period, metrics, by, segment, as_of)
        if key not in self._cache:
            self._cache[key] = kpi(period, metrics, by=by, segment=segment, as_of=as_of)
        return self._cache[key]

    def values(self, period: str, metrics: tuple[str, ...] = TOTALS, *,
               segment: str | None = None,
               as_of: str | None = None) -> dict[tuple[str, str, str], Any]:
        """(org_code, segment, metric) → value for every unit of every level."""
        out: dict[tuple[str, str, str], Any] = {}
        for level in self.levels:
            res = self.query(period, metrics, by=f"level:{level}", segment=segment, as_of=as_of)
            for r in res["rows"]:
                out[(r["org_code"], r["segment"], r["metric"])] = r["value"]
        return out


# tiny: (db, agents, years, months checked)
DEMOS = [
    pytest.param(("sqlite", 300, 2, 12), id="sqlite-300x2y"),
    pytest.param(("sqlite", 30, 1, 4), id="sqlite-30x1y"),
    pytest.param(("postgresql", 30, 1, 4), id="postgresql-30x1y"),
]


@pytest.fixture(scope="module", params=DEMOS)
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    db, agents, years, n_months = request.param
    db_gen = None
    url = ""
    if db == "postgresql":
        from tests.conftest import _pg_database

        db_gen = _pg_database(request.getfixturevalue("pg_server"))
        url = next(db_gen)
    home = tmp_path_factory.mktemp(f"demo-{db}-{agents}") / "ws"
    home.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for var in list(os.environ):
            if var.startswith("ZHUIZONG_") and var not in KEEP_ENV:
                mp.delenv(var)
        mp.setenv("ZHUIZONG_HOME", str(home))
        if url:
            mp.setenv("ZHUIZONG_DATABASE_URL", url)
        cli_ok("demo", "--agents", str(agents), "--years", str(years), "--no-serve")
        end = default_end_date()
        orgs = json.loads(cli_ok("orgs", "list", "--format", "json"))["org_units"]
        ags = json.loads(cli_ok("agents", "list", "--format", "json"))["agents"]
        yield Demo(end, last_months(end, n_months), orgs, ags)
    if db_gen is not None:
        for _ in db_gen:  # drop the database
            pass


def test_root_closing_is_opening_plus_hires_minus_leavers(demo: Demo) -> None:
    bad = []
    for m in demo.months:
        v = demo.values(m)
        root = demo.root
        o, c = v[(root, "all", "headcount_open")], v[(root, "all", "headcount_close")]
        h, lv = v[(root, "all", "new_hires")], v[(root, "all", "leavers")]
        if c != o + h - lv:
            bad.append(f"{m}: close {c} != open {o} + hires {h} - leavers {lv}")
    assert not bad, bad


def test_rank_category_segments_add_up_to_the_total(demo: Demo) -> None:
    bad = []
    for m in demo.months:
        total = demo.values(m)
        seg = demo.values(m, SEGMENTED, segment="rank_category")
        units = {o["org_code"] for o in demo.orgs}
        for u in units:
            for metric in SEGMENTED:
                parts = [seg.get((u, c, metric)) for c in CATEGORIES]
                if any(p is None for p in parts) or sum(parts) != total[(u, "all", metric)]:
                    bad.append(f"{m} {u} {metric}: {parts} vs total {total[(u, 'all', metric)]}")
        # active_probationary / _formal / _director add up to active too
        split = demo.query(m, ("active", "active_probationary", "active_formal",
                               "active_director"))
        vals = {r["metric"]: r["value"] for r in split["rows"]}
        if vals["active"] != vals["active_probationary"] + vals["active_formal"] + \
                vals["active_director"]:
            bad.append(f"{m} root active split {vals}")
    assert not bad, bad[:20]


def _sum_months(demo: Demo, months: list[str]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for m in months:
        for (u, s, metric), v in demo.values(m).items():
            if metric == "fyp" and s == "all":
                out[u] += v or 0
    return out


def test_multi_month_fyp_is_the_sum_of_its_months(demo: Demo) -> None:
    bad = []
    y = demo.end.year
    checks: list[tuple[str, str | None, list[str]]] = []
    # a date range over the checked months
    first = demo.months[0] + "-01"
    checks.append((f"{first}..{demo.end.isoformat()}", None, demo.months))
    # year to date, when the checked months cover January..the end month
    ytd_months = [month_label(y, k) for k in range(1, demo.end.month + 1)]
    if set(ytd_months) <= set(demo.months):
        checks.append((str(y), demo.end.isoformat(), ytd_months))
    for period, as_of, months in checks:
        expected = _sum_months(demo, months)
        got = demo.values(period, ("fyp",), as_of=as_of)
        for u in {o["org_code"] for o in demo.orgs}:
            g = got[(u, "all", "fyp")]
            if g != pytest.approx(expected[u], abs=0.005):
                bad.append(f"{period} as of {as_of} {u}: {g} != Σ months {expected[u]}")
    # at the root, YTD at every month end of the year = Σ of the months so far
    if set(ytd_months) <= set(demo.months):
        running = 0.0
        for k, m in enumerate(ytd_months, start=1):
            running += demo.values(m)[(demo.root, "all", "fyp")]
            month_end = demo.end if k == demo.end.month else (
                dt.date(y, k + 1, 1) - dt.timedelta(days=1))
            g = demo.query(str(y), ("fyp",), as_of=month_end.isoformat())["rows"][0]["value"]
            if g != pytest.approx(running, abs=0.005):
                bad.append(f"YTD {y} as of {month_end}: {g} != {running}")
    assert not bad, bad[:20]


def test_parent_active_between_max_and_sum_of_children(demo: Demo) -> None:
    children: dict[str, list[str]] = defaultdict(list)
    for o in demo.orgs:
        if o["parent_code"]:
            children[o["parent_code"]].append(o["org_code"])
    # agents placed in the unit itself (not in a child) can be active only at the unit
    direct: dict[str, int] = defaultdict(int)
    for a in demo.agents:
        direct[a["org_code"]] += 1
    bad = []
    for m in demo.months:
        v = demo.values(m)
        for p, kids in children.items():
            act = v[(p, "all", "active")]
            kid_act = [v[(k, "all", "active")] for k in kids]
            if not max(kid_act) <= act <= sum(kid_act) + direct[p]:
                bad.append(f"{m} {p}: active {act}, children {kid_act}, direct {direct[p]}")
    assert not bad, bad[:20]


def test_closing_equals_next_opening(demo: Demo) -> None:
    bad = []
    for m, nxt in zip(demo.months, demo.months[1:], strict=False):
        a, b = demo.values(m), demo.values(nxt)
        for o in demo.orgs:
            u = o["org_code"]
            if a[(u, "all", "headcount_close")] != b[(u, "all", "headcount_open")]:
                bad.append(f"{u} close {m} {a[(u, 'all', 'headcount_close')]} != "
                           f"open {nxt} {b[(u, 'all', 'headcount_open')]}")
    assert not bad, bad[:20]
