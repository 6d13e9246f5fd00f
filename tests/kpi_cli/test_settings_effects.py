"""Each KPI setting of data-contract.md changes the numbers as kpi-spec.md says, set with
``zhuizong config set KEY VALUE`` and read back through ``zhuizong kpi --format json`` (whose
``settings`` states the values used). SQLite and PostgreSQL (the ``home`` fixture)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.kpi_cli.builders import (
    MAIN,
    RIDER,
    U2,
    Agency,
    config_set,
    kpi,
    row,
    spread,
    value,
)

Y = 2026


def d(month: int, day: int, year: int = Y) -> dt.date:
    return dt.date(year, month, day)


@pytest.fixture
def agency(home: Path, tmp_path: Path) -> Agency:
    return Agency(tmp_path / "facts")


def fyp(period: str, **settings: Any) -> float:
    res = kpi(period, ["fyp"])
    for k, v in settings.items():
        assert res["settings"][k.replace("__", ".")] == v, res["settings"]
    return value(res, "fyp")


# --- calendar.month_basis ---------------------------------------------------------------------


@pytest.mark.parametrize(("basis", "may", "june", "may_bounds"), [
    ("natural", 1_100, 10, ("2026-05-01", "2026-05-31")),
    ("work", 100, 1_010, ("2026-04-26", "2026-05-25")),  # cut-off 25: May 27 is work-month June
])
def test_month_basis(agency: Agency, basis: str, may: int, june: int,
                     may_bounds: tuple[str, str]) -> None:
    a = agency.hire("A", 2, d(1, 5))
    agency.premium(a[0], "new", 100, d(5, 10))
    agency.premium(a[0], "new", 1_000, d(5, 27))
    agency.premium(a[1], "new", 10, d(6, 10))
    agency.load()
    config_set("calendar.month_basis", basis)

    res = kpi("2026-05", ["fyp"])
    assert res["settings"]["calendar.month_basis"] == basis
    assert res["settings"]["calendar.cutoff_day"] == 25
    assert (res["period"]["start"], res["period"]["end"]) == may_bounds
    assert value(res, "fyp") == may
    assert fyp("2026-06", calendar__month_basis=basis) == june
    if basis == "work":
        # January starts on Jan 1 and December ends on Dec 31
        jan = kpi("2026-01", ["fyp"])["period"]
        dec = kpi("2026-12", ["fyp"])["period"]
        assert (jan["start"], jan["end"]) == ("2026-01-01", "2026-01-25")
        assert (dec["start"], dec["end"]) == ("2026-11-26", "2026-12-31")


# --- calendar.cutoff_day ----------------------------------------------------------------------


@pytest.mark.parametrize(("cutoff", "may", "june", "june_bounds"), [
    (25, 1_100, 10, ("2026-05-26", "2026-06-25")),  # May 22 is in work-month May
    (20, 100, 1_010, ("2026-05-21", "2026-06-20")),  # May 22 is in work-month June
])
def test_cutoff_day(agency: Agency, cutoff: int, may: int, june: int,
                    june_bounds: tuple[str, str]) -> None:
    a = agency.hire("A", 2, d(1, 5))
    agency.premium(a[0], "new", 100, d(5, 15))
    agency.premium(a[0], "new", 1_000, d(5, 22))
    agency.premium(a[1], "new", 10, d(5, 27))
    agency.load()
    config_set("calendar.month_basis", "work")
    config_set("calendar.cutoff_day", str(cutoff))

    assert fyp("2026-05", calendar__month_basis="work", calendar__cutoff_day=cutoff) == may
    res = kpi("2026-06", ["fyp"])
    assert res["settings"]["calendar.cutoff_day"] == cutoff
    assert (res["period"]["start"], res["period"]["end"]) == june_bounds
    assert value(res, "fyp") == june


# --- kpi.premium_basis ------------------------------------------------------------------------


@pytest.mark.parametrize(("basis", "april", "may"), [
    ("received", 5_300, 1_800),  # every row on its transaction date
    ("issued", 300, 6_800),  # `new` rows on the issue date, the others on the transaction date
])
def test_premium_basis(agency: Agency, basis: str, april: int, may: int) -> None:
    a = agency.hire("A", 3, d(1, 5))
    # paid in April, issued in May
    agency.premium(a[0], "new", 5_000, d(4, 28), issue_date=d(5, 6))
    # no issue date: the transaction date on both bases
    agency.premium(a[1], "new", 300, d(4, 10))
    # paid and issued in May
    agency.premium(a[2], "new", 2_000, d(5, 3), issue_date=d(5, 3))
    # a cancellation counts on its transaction date on both bases (its policy issued in April)
    p = agency.premium(a[2], "new", 200, d(3, 20), issue_date=d(3, 25))
    agency.premium(a[2], "free_look_cancel", 200, d(5, 8), policy=p, issue_date=d(3, 25))
    agency.load()
    config_set("kpi.premium_basis", basis)

    assert fyp("2026-04", kpi__premium_basis=basis) == april
    assert fyp("2026-05", kpi__premium_basis=basis) == may
    # the quarter contains both dates either way
    assert fyp("2026Q2", kpi__premium_basis=basis) == 7_100


# --- kpi.active_rule --------------------------------------------------------------------------


def _activity_facts(agency: Agency) -> dict[str, str]:
    """May: agents whose FYP, net cases and FYC differ (MAIN fyc_rate 0.3, RIDER 0.2)."""
    c = dict(zip(["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a0"],
                 agency.hire("A", 10, d(1, 5)), strict=True))
    agency.premium(c["a1"], "new", 10_000, d(5, 3))  # FYP + · 1 case · FYC 3,000
    agency.premium(c["a2"], "new", 2_000, d(5, 4), product=RIDER)  # FYP + · 0 · FYC 400
    agency.premium(c["a3"], "new", 3_000, d(5, 5))  # FYP + · 1 · FYC 900
    agency.premium(c["a4"], "new", 1_000, d(5, 6), fyc=1_000)  # FYP + · 1 · FYC 1,000 (given)
    p = agency.premium(c["a5"], "new", 5_000, d(4, 20))  # April
    agency.premium(c["a5"], "free_look_cancel", 5_000, d(5, 7), policy=p)
    agency.premium(c["a5"], "new", 1_000, d(5, 9))  # May: FYP −4,000 · 0 net cases · FYC −1,200
    agency.premium(c["a6"], "renewal", 50_000, d(5, 10), policy_year=2)  # not FYP: nothing
    q = agency.premium(c["a7"], "new", 4_000, d(8, 1, 2025))
    agency.premium(c["a7"], "fy_renewal", 4_000, d(5, 11), policy=q)  # FYP + · 0 · FYC 1,200
    agency.premium(c["a8"], "new", 20_000, d(5, 12))  # FYP + · 1 · FYC 6,000
    agency.premium(c["a9"], "new", 6_000, d(5, 13), product=RIDER)  # FYP + · 0 · FYC 1,200
    agency.premium(c["a0"], "new", 9_000, d(6, 1))  # June: nothing in May
    agency.load()
    return c


@pytest.mark.parametrize(("rule", "who"), [
    ("fyp_positive", ["a1", "a2", "a3", "a4", "a7", "a8", "a9"]),
    ("cases_positive", ["a1", "a3", "a4", "a8"]),
    ("fyc_at_least:1000", ["a1", "a4", "a7", "a8", "a9"]),
])
def test_active_rule(agency: Agency, rule: str, who: list[str]) -> None:
    codes = _activity_facts(agency)
    config_set("kpi.active_rule", rule)

    res = kpi("2026-05", ["active", "fyc", "cases", "fyp_per_active"])
    assert res["settings"]["kpi.active_rule"] == rule
    assert value(res, "active") == len(who)
    assert value(res, "fyc") == 3_000 + 400 + 900 + 1_000 - 1_200 + 1_200 + 6_000 + 1_200
    assert value(res, "cases") == 4
    r = row(res, "fyp_per_active")
    assert r["denominator"] == len(who)
    per_agent = kpi("2026-05", ["active"], by="agent")
    active = sorted(r["agent_code"] for r in per_agent["rows"]
                    if r["metric"] == "active" and r["value"])
    assert active == sorted(codes[k] for k in who)


# --- kpi.cases --------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "cases"), [("net", 8), ("gross", 10)])
def test_cases(agency: Agency, mode: str, cases: int) -> None:
    a = agency.hire("A", 5, d(1, 5))
    b = agency.hire("B", 5, d(1, 5), org=U2)
    agency.new_policies((a + b), 50_000, spread(10, d(5, 1), d(5, 31)))  # 10 new main policies
    for i in range(2):  # two April main policies cancelled in the free-look period in May
        p = agency.premium(a[i], "new", 3_000, d(4, 20))
        agency.premium(a[i], "free_look_cancel", 3_000, d(5, 5), policy=p)
    r = agency.premium(b[0], "new", 500, d(4, 21), product=RIDER)  # riders never count
    agency.premium(b[0], "free_look_cancel", 500, d(5, 6), policy=r, product=RIDER)
    agency.new_policies(b[:3], 900, d(5, 7), product=RIDER)
    s = agency.premium(b[1], "new", 8_000, d(1, 20))  # a surrender is not a free-look cancel
    agency.premium(b[1], "surrender", 8_000, d(5, 8), policy=s, product=MAIN)
    agency.load()
    config_set("kpi.cases", mode)

    res = kpi("2026-05", ["cases", "premium_per_case"])
    assert res["settings"]["kpi.cases"] == mode
    assert value(res, "cases") == cases
    assert row(res, "premium_per_case")["denominator"] == cases
    fyp_may = 50_000 - 6_000 - 500 + 900 - 8_000
    assert row(res, "premium_per_case")["numerator"] == fyp_may


# --- kpi.average_headcount --------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "q2_avg"), [
    ("mean_of_months", (130 + 160 + 140) / 3),  # Σ monthly averages / 3
    ("endpoints", (100 + 120) / 2),  # (opening + closing of the quarter) / 2
])
def test_average_headcount(agency: Agency, mode: str, q2_avg: float) -> None:
    """Q2: opening 100; April +60 hires (end 160); May flat; June −40 leavers (end 120)."""
    old = agency.hire("A", 100, spread(100, d(1, 1, 2025), d(3, 31)))
    agency.hire("N", 60, spread(60, d(4, 1), d(4, 30)), org=U2)
    agency.leave(old[:40], spread(40, d(6, 1), d(6, 30)))
    agency.premium(old[50], "new", 10_000, d(5, 15))
    agency.load()
    config_set("kpi.average_headcount", mode)

    res = kpi("2026Q2", ["headcount_open", "headcount_close", "headcount_avg", "fyp_per_capita",
                         "activity_rate"])
    assert res["settings"]["kpi.average_headcount"] == mode
    assert value(res, "headcount_open") == 100
    assert value(res, "headcount_close") == 120
    assert value(res, "headcount_avg") == pytest.approx(q2_avg, rel=1e-12)
    r = row(res, "fyp_per_capita")
    assert r["numerator"] == 10_000
    assert r["denominator"] == pytest.approx(q2_avg, rel=1e-12)
    assert r["value"] == pytest.approx(10_000 / q2_avg, rel=1e-12)
    assert row(res, "activity_rate")["denominator"] == pytest.approx(q2_avg, rel=1e-12)
    # a single month is (opening + closing) / 2 either way
    assert value(kpi("2026-04", ["headcount_avg"]), "headcount_avg") == 130
    assert value(kpi("2026-06", ["headcount_avg"]), "headcount_avg") == 140


# --- the report states the settings -----------------------------------------------------------

KPI_DEFAULTS = {"calendar.month_basis": "natural", "calendar.cutoff_day": 25,
                "kpi.premium_basis": "received", "kpi.active_rule": "fyp_positive",
                "kpi.cases": "net", "kpi.average_headcount": "mean_of_months"}
KPI_CHANGED = {"calendar.month_basis": "work", "calendar.cutoff_day": 20,
               "kpi.premium_basis": "issued", "kpi.active_rule": "fyc_at_least:1000",
               "kpi.cases": "gross", "kpi.average_headcount": "endpoints"}


def test_json_states_the_settings_used(agency: Agency) -> None:
    a = agency.hire("A", 1, d(1, 5))
    agency.premium(a[0], "new", 100, d(5, 10))
    agency.load()
    res = kpi("2026-05", ["fyp"])
    assert {k: res["settings"].get(k) for k in KPI_DEFAULTS} == KPI_DEFAULTS
    for k, v in KPI_CHANGED.items():
        config_set(k, str(v))
    res = kpi("2026-05", ["fyp"])
    assert {k: res["settings"].get(k) for k in KPI_CHANGED} == KPI_CHANGED
