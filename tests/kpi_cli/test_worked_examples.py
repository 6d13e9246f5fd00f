"""kpi-spec.md §7: the worked examples E1–E14, each built from facts through the import path and
checked through ``zhuizong kpi --format json`` (value, and numerator / denominator for ratios).

Every test runs on SQLite and on PostgreSQL (the ``home`` fixture is parametrised).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from tests.kpi_cli.builders import (
    RIDER,
    ROOT,
    U1,
    U2,
    A,
    Agency,
    D,
    kpi,
    row,
    spread,
    value,
)

Y = 2026


def d(month: int, day: int, year: int = Y) -> dt.date:
    return dt.date(year, month, day)


def check_ratio(r: dict, value_: float, numerator: float, denominator: float) -> None:
    assert r["numerator"] == numerator, r
    assert r["denominator"] == denominator, r
    assert r["value"] == pytest.approx(value_, rel=1e-12, abs=0), r


def check_count(r: dict, expected: float) -> None:
    assert r["value"] == expected, r
    assert r["numerator"] is None and r["denominator"] is None, r


@pytest.fixture
def agency(home: Path, tmp_path: Path) -> Agency:
    return Agency(tmp_path / "facts")


# --- E1 ---------------------------------------------------------------------------------------


def test_E01_fyp_january(agency: Agency) -> None:
    """January: new 10,000,000; first-year renewal 500,000 → FYP 10,500,000."""
    a = agency.hire("A", 4, d(6, 1, 2025))
    b = agency.hire("B", 2, d(6, 1, 2025), org=U2)
    # new business 10,000,000: 9,000,000 on main policies, 1,000,000 on a rider
    agency.new_policies([a[0], a[1], a[2], b[0]], 9_000_000, [d(1, 1), d(1, 15), d(1, 31), d(1, 2)])
    agency.premium(b[1], "new", 1_000_000, d(1, 20), product=RIDER)
    # first-year renewal 500,000, on policies written in December
    p1 = agency.premium(a[3], "new", "123456.78", d(12, 31, 2025))  # December: not January FYP
    p2 = agency.premium(b[0], "new", 80_000, d(12, 1, 2025))
    agency.premium(a[3], "fy_renewal", 300_000, d(1, 10), policy=p1)
    agency.premium(b[0], "fy_renewal", 200_000, d(1, 31), policy=p2)
    # not in January FYP: renewal premium (policy year 2+) and a February policy
    agency.premium(a[0], "renewal", 777_000, d(1, 5), policy_year=2)
    agency.premium(a[1], "new", 50_000, d(2, 1))
    # this example goes through the console script: the premiums import and the query
    agency.load(subprocess_=["premiums"])

    res = kpi("2026-01", ["fyp"], subprocess_=True)
    assert res["period"] == {"label": "2026-01", "start": "2026-01-01", "end": "2026-01-31"}
    check_count(row(res, "fyp", ROOT), 10_500_000)
    by = kpi("2026-01", ["fyp"], by="children")
    assert value(by, "fyp", U1) == 6_750_000 + 300_000
    assert value(by, "fyp", U2) == 2_250_000 + 1_000_000 + 200_000


# --- E2 ---------------------------------------------------------------------------------------


def test_E02_fyp_mom(agency: Agency) -> None:
    """FYP February 20,000,000; March 30,000,000 → March 环比 50%."""
    a = agency.hire("A", 10, d(10, 1, 2025))
    # February: new 19,000,000 + first-year renewal 1,500,000 − surrender 500,000 = 20,000,000
    agency.new_policies(a[:5], 19_000_000, spread(5, d(2, 1), d(2, 28)))
    agency.premium(a[5], "fy_renewal", 1_500_000, d(2, 10))
    agency.premium(a[6], "surrender", 500_000, d(2, 27))
    # March: 30,000,000
    agency.new_policies(a, 30_000_000, spread(10, d(3, 1), d(3, 31)))
    agency.load()

    assert value(kpi("2026-02", ["fyp"]), "fyp") == 20_000_000
    res = kpi("2026-03", ["fyp", "fyp_mom"])
    assert value(res, "fyp") == 30_000_000
    check_ratio(row(res, "fyp_mom"), 0.5, 10_000_000, 20_000_000)


# --- E3 ---------------------------------------------------------------------------------------


def test_E03_fyp_plan_rate(agency: Agency) -> None:
    """February plan 20,000,000; actual 19,000,000 → 95%."""
    a = agency.hire("A", 6, d(10, 1, 2025))
    b = agency.hire("B", 4, d(10, 1, 2025), org=U2)
    agency.new_policies(a + b, 19_000_000, spread(10, d(2, 1), d(2, 28)))
    agency.new_policies(a[:2], 3_000_000, d(3, 2))  # March: not February
    agency.plan(ROOT, "2026-02", "fyp", 20_000_000)
    agency.plan(ROOT, "2026-03", "fyp", 1)  # another month's plan is not February's
    agency.load()

    res = kpi("2026-02", ["fyp", "fyp_plan_rate"])
    assert value(res, "fyp") == 19_000_000
    check_ratio(row(res, "fyp_plan_rate"), 0.95, 19_000_000, 20_000_000)


# --- E4 ---------------------------------------------------------------------------------------


def test_E04_fyp_year_progress(agency: Agency) -> None:
    """Annual plan 80,000,000; January–July FYP 56,000,000 → July 70%."""
    a = agency.hire("A", 8, d(10, 1, 2025))
    for m in range(1, 8):
        agency.new_policies(a, 8_000_000, spread(8, d(m, 1), d(m, 28)))
    agency.new_policies(a, 9_000_000, d(8, 1))  # August: after July
    agency.new_policies(a[:2], 5_000_000, d(12, 31, 2025))  # the previous year
    agency.plan(ROOT, "2026", "fyp", 80_000_000)
    agency.load()

    res = kpi("2026-07", ["fyp", "fyp_year_progress"])
    assert value(res, "fyp") == 8_000_000
    check_ratio(row(res, "fyp_year_progress"), 0.7, 56_000_000, 80_000_000)


# --- E5 ---------------------------------------------------------------------------------------


def test_E05_headcount(agency: Agency) -> None:
    """January opening 1,000, closing 1,200 → February opening 1,200; January average 1,100."""
    agency.hire("A", 600, spread(600, d(3, 1, 2025), d(12, 31, 2025)))
    agency.hire("B", 400, spread(400, d(1, 1, 2024), d(12, 31, 2025)), org=U2)
    agency.hire("N", 120, spread(120, d(1, 1), d(1, 31)))
    agency.hire("M", 80, spread(80, d(1, 1), d(1, 31)), org=U2)
    agency.load()

    jan = kpi("2026-01", ["headcount_open", "headcount_close", "headcount_avg", "new_hires",
                          "leavers"])
    check_count(row(jan, "headcount_open"), 1000)
    check_count(row(jan, "headcount_close"), 1200)
    check_count(row(jan, "headcount_avg"), 1100)
    check_count(row(jan, "new_hires"), 200)
    check_count(row(jan, "leavers"), 0)
    feb = kpi("2026-02", ["headcount_open"])
    check_count(row(feb, "headcount_open"), 1200)
    by = kpi("2026-01", ["headcount_open", "headcount_close"], by="children")
    assert (value(by, "headcount_open", U1), value(by, "headcount_close", U1)) == (600, 720)
    assert (value(by, "headcount_open", U2), value(by, "headcount_close", U2)) == (400, 480)


# --- E6 ---------------------------------------------------------------------------------------


def test_E06_activity_rate(agency: Agency) -> None:
    """May active 1,800; average headcount 2,000 → 90%."""
    old = agency.hire("A", 1950, spread(1950, d(1, 1, 2025), d(12, 31, 2025)))
    new = agency.hire("N", 100, spread(100, d(5, 1), d(5, 31)), org=U2)
    # opening 1,950, closing 2,050, average 2,000; exactly 1,800 agents with FYP > 0 in May
    producers = old[:1750] + new[:50]
    agency.new_policies(producers, 9_000_000, spread(1750, d(5, 1), d(5, 31)) + [d(5, 31)] * 50)
    agency.new_policies(old[1750:1850], 400_000, d(4, 30))  # April production: not May
    agency.load()

    res = kpi("2026-05", ["active", "headcount_avg", "activity_rate"])
    check_count(row(res, "active"), 1800)
    check_count(row(res, "headcount_avg"), 2000)
    check_ratio(row(res, "activity_rate"), 0.9, 1800, 2000)


# --- E7 / E8 (October) ------------------------------------------------------------------------


def _october(agency: Agency) -> None:
    """October: opening 960, closing 1,040 (average 1,000); 800 agents write 5,000,000."""
    old = agency.hire("A", 960, spread(960, d(1, 1, 2025), d(9, 30)))
    new = agency.hire("N", 80, spread(80, d(10, 1), d(10, 31)), org=U2)
    producers = old[:760] + new[:40]
    agency.new_policies(producers, 5_000_000, spread(760, d(10, 1), d(10, 31)) + [d(10, 31)] * 40)
    agency.new_policies(old[760:800], 100_000, d(11, 1))  # November: not October
    agency.load()


def test_E07_fyp_per_capita(agency: Agency) -> None:
    """October FYP 5,000,000; average headcount 1,000 → 5,000 元/人."""
    _october(agency)
    res = kpi("2026-10", ["fyp", "headcount_avg", "fyp_per_capita"])
    check_count(row(res, "fyp"), 5_000_000)
    check_count(row(res, "headcount_avg"), 1000)
    check_ratio(row(res, "fyp_per_capita"), 5000, 5_000_000, 1000)


def test_E08_fyp_per_active(agency: Agency) -> None:
    """October FYP 5,000,000; active 800 → 6,250 元/人."""
    _october(agency)
    res = kpi("2026-10", ["fyp", "active", "fyp_per_active"])
    check_count(row(res, "active"), 800)
    check_ratio(row(res, "fyp_per_active"), 6250, 5_000_000, 800)


# --- E9 ---------------------------------------------------------------------------------------


def test_E09_premium_per_case(agency: Agency) -> None:
    """January FYP 8,000,000; 2,850 main-policy cases → 2,807.02 元/件."""
    a = agency.hire("A", 200, d(6, 1, 2025))
    b = agency.hire("B", 100, d(6, 1, 2025), org=U2)
    writers = [(a + b)[i % 300] for i in range(2850)]
    agency.new_policies(writers, 7_900_000, spread(2850, d(1, 1), d(1, 31)))
    # riders: FYP but never cases
    agency.new_policies(a[:100], 100_000, d(1, 15), product=RIDER)
    agency.load()

    res = kpi("2026-01", ["fyp", "cases", "premium_per_case"])
    check_count(row(res, "fyp"), 8_000_000)
    check_count(row(res, "cases"), 2850)
    r = row(res, "premium_per_case")
    check_ratio(r, 8_000_000 / 2_850, 8_000_000, 2850)
    assert round(r["value"], 2) == 2807.02


# --- E10 / E11 (February) ---------------------------------------------------------------------


def _february_cases(agency: Agency) -> None:
    """February: opening 1,450 + 100 hires (average 1,500); 1,400 agents write 2 net main cases
    each (2,820 new main policies − 20 free-look cancellations of January policies); riders."""
    old = agency.hire("A", 1450, spread(1450, d(1, 1, 2025), d(1, 31)))
    agency.hire("N", 100, spread(100, d(2, 1), d(2, 28)), org=U2)
    producers = old[:1400]
    agency.new_policies([c for c in producers for _ in (1, 2)], 8_400_000,
                        spread(2800, d(2, 1), d(2, 28)))
    for i, c in enumerate(producers[:20]):
        jan = agency.premium(c, "new", 1_000, d(1, 10 + i))
        agency.premium(c, "free_look_cancel", 1_000, d(2, 1 + i), policy=jan)
        agency.premium(c, "new", 2_000, d(2, 3 + i))
    agency.new_policies(producers[:50], 50_000, d(2, 14), product=RIDER)
    agency.load()


def test_E10_cases_per_capita(agency: Agency) -> None:
    """February 2,800 cases; average headcount 1,500 → 1.87 件/人."""
    _february_cases(agency)
    res = kpi("2026-02", ["cases", "headcount_avg", "cases_per_capita"])
    check_count(row(res, "cases"), 2800)
    check_count(row(res, "headcount_avg"), 1500)
    r = row(res, "cases_per_capita")
    check_ratio(r, 2800 / 1500, 2800, 1500)
    assert round(r["value"], 2) == 1.87


def test_E11_cases_per_active(agency: Agency) -> None:
    """February 2,800 cases; 1,400 active → 2.00 件/人."""
    _february_cases(agency)
    res = kpi("2026-02", ["cases", "active", "cases_per_active"])
    check_count(row(res, "active"), 1400)
    check_ratio(row(res, "cases_per_active"), 2, 2800, 1400)


# --- E12 --------------------------------------------------------------------------------------


def test_E12_recruitment_and_effective_recruitment(agency: Agency) -> None:
    """February: opening 1,200; 300 new hires; 120 conversions; no leavers →
    recruitment rate 25%; effective recruitment rate 120 / 1,350 = 8.89%."""
    old = agency.hire("A", 1170, spread(1170, d(6, 1, 2025), d(1, 31)))
    formal = agency.hire("F", 30, d(3, 1, 2025), org=U2, rank=A)
    agency.hire("N", 300, spread(300, d(2, 1), d(2, 28)))
    agency.convert(old[:120], spread(120, d(2, 1), d(2, 28)))  # 120 conversions in February
    agency.convert(old[120:150], d(1, 31))  # January conversions: not February's
    agency.convert(formal[:10], d(2, 15), rank=D, event="promote")  # formal → director: not 转正
    agency.load()

    res = kpi("2026-02", ["headcount_open", "headcount_close", "headcount_avg", "new_hires",
                          "leavers", "conversions", "recruitment_rate",
                          "effective_recruitment_rate"])
    check_count(row(res, "headcount_open"), 1200)
    check_count(row(res, "headcount_close"), 1500)
    check_count(row(res, "headcount_avg"), 1350)
    check_count(row(res, "new_hires"), 300)
    check_count(row(res, "leavers"), 0)
    check_count(row(res, "conversions"), 120)
    check_ratio(row(res, "recruitment_rate"), 0.25, 300, 1200)
    r = row(res, "effective_recruitment_rate")
    check_ratio(r, 120 / 1350, 120, 1350)
    assert round(r["value"] * 100, 2) == 8.89


# --- E13 --------------------------------------------------------------------------------------


def test_E13_attrition_rate(agency: Agency) -> None:
    """February: opening 1,200; 300 leavers → 25%."""
    stay = agency.hire("A", 885, spread(885, d(1, 1, 2025), d(1, 31)))
    agency.hire("L", 300, spread(300, d(1, 1, 2025), d(1, 31)),
                leave=spread(300, d(2, 1), d(2, 28)))  # leave_date in February: leavers
    agency.hire("M", 15, d(1, 5), org=U2, leave=d(3, 1))  # in force all February: not leavers
    agency.hire("J", 20, d(6, 1, 2025), org=U2, leave=d(1, 31))  # left in January: not opening
    assert len(stay) == 885
    agency.load()

    res = kpi("2026-02", ["headcount_open", "headcount_close", "leavers", "attrition_rate"])
    check_count(row(res, "headcount_open"), 1200)
    check_count(row(res, "headcount_close"), 900)
    check_count(row(res, "leavers"), 300)
    check_ratio(row(res, "attrition_rate"), 0.25, 300, 1200)


# --- E14 --------------------------------------------------------------------------------------


def test_E14_retention_3m(agency: Agency) -> None:
    """Hired Jan 100, in force end of Apr 80; Feb 200 → end of May 170; Mar 50 → end of Jun 40 →
    3-month retention Apr 80%, May 85%, Jun 80%."""
    agency.hire("X", 60, d(12, 10, 2025))  # December hires: no cohort of interest
    # January: 20 leave by April 30; 5 leave on May 1 (still in force at the end of April)
    agency.hire("J", 100, spread(100, d(1, 1), d(1, 31)),
                leave=spread(20, d(2, 1), d(4, 30)) + [d(5, 1)] * 5 + [None] * 75)
    # February (both units): 30 leave by May 31; 10 leave on June 1
    agency.hire("F", 120, spread(120, d(2, 1), d(2, 28)),
                leave=spread(18, d(3, 1), d(5, 31)) + [d(6, 1)] * 10 + [None] * 92)
    agency.hire("G", 80, spread(80, d(2, 1), d(2, 28)), org=U2,
                leave=spread(12, d(3, 1), d(5, 31)) + [None] * 68)
    # March: 10 leave by June 30
    agency.hire("M", 50, spread(50, d(3, 1), d(3, 31)),
                leave=spread(10, d(4, 1), d(6, 30)) + [None] * 40)
    agency.hire("Q", 40, spread(40, d(4, 1), d(6, 30)), org=U2)  # later hires: other cohorts
    agency.load()

    for period, num, den in (("2026-04", 80, 100), ("2026-05", 170, 200), ("2026-06", 40, 50)):
        res = kpi(period, ["retention_3m"])
        check_ratio(row(res, "retention_3m"), num / den, num, den)
    # the cohort stays attributed to the unit of hire
    by = kpi("2026-05", ["retention_3m"], by="children")
    check_ratio(row(by, "retention_3m", U1), 102 / 120, 102, 120)
    check_ratio(row(by, "retention_3m", U2), 68 / 80, 68, 80)


def test_E_examples_money_is_exact(agency: Agency) -> None:
    """Money adds up in 分 without float drift (E1's inputs with odd cents)."""
    a = agency.hire("A", 3, d(6, 1, 2025))
    for _ in range(10):
        agency.premium(a[0], "new", "0.10", d(1, 5))
    agency.premium(a[1], "new", "0.20", d(1, 6))
    agency.load()
    assert Decimal(str(value(kpi("2026-01", ["fyp"]), "fyp"))) == Decimal("1.2")
