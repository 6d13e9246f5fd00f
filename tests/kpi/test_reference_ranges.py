"""The reference implementation alone: date ranges shorter than a month (one piece with its own
endpoints, also across a month boundary) and date ranges made of whole months (their months'
plans add up) — kpi-spec §2 "Periods that are not whole months" and "Plans"; docs/kpi-engine.md
points 9 and 12.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from tests.kpi.reference import _short_range, _whole_months_range
from tests.kpi.test_reference_unit import Facts, count, d, val
from zhuizong.analytics.calendar import Basis, parse_period

WORK = {"calendar.month_basis": "work", "calendar.cutoff_day": 25}


def _may_june() -> Facts:
    f = Facts()
    old = f.hire(6, d(6, 1, 2025))
    f.hire(4, d(6, 1, 2025), leave=d(6, 5))
    f.hire(5, d(5, 25), org="U2")
    f.hire(3, d(6, 8))
    f.premium(old[0], "new", 100, d(6, 1))
    return f


@pytest.mark.parametrize("settings", [None, WORK])
def test_short_range_across_months_uses_its_own_endpoints(settings: dict | None) -> None:
    res = _may_june().kpis("2026-05-20..2026-06-10", settings=settings)
    assert count(res, "headcount_open") == 10
    assert count(res, "headcount_close") == 14
    assert count(res, "headcount_avg") == 12
    assert val(res, "recruitment_rate") == (Fraction(8, 10), 8, 10)
    assert val(res, "attrition_rate") == (Fraction(4, 10), 4, 10)
    assert val(res, "activity_rate") == (Fraction(1, 12), 1, 12)


def test_range_with_a_whole_month_is_split() -> None:
    res = _may_june().kpis("2026-05-20..2026-06-30")
    assert count(res, "headcount_avg") == Fraction(27, 2)
    assert val(res, "recruitment_rate")[1:] == (8, 25)
    assert val(res, "attrition_rate")[1:] == (4, 27)


def test_short_range_cohort_is_its_end_month() -> None:
    f = Facts()
    f.hire(3, d(2, 10))
    f.hire(2, d(3, 10))
    f.hire(2, d(3, 10), leave=d(6, 9))
    assert val(f.kpis("2026-05-20..2026-06-10"), "retention_3m")[1:] == (2, 4)
    assert val(f.kpis("2026-05-01..2026-06-30"), "retention_3m")[1:] == (5, 7)


@pytest.mark.parametrize(("text", "basis", "short", "whole"), [
    ("2026-05-20..2026-06-10", Basis(), True, False),
    ("2026-05-01..2026-05-31", Basis(), False, True),
    ("2026-05-02..2026-05-31", Basis(), True, False),
    ("2026-05-26..2026-06-25", Basis(), True, False),
    ("2026-05-26..2026-06-25", Basis("work", 25), False, True),
    ("2026-05-20..2026-06-30", Basis(), False, False),
    ("2026-01-31..2026-03-01", Basis(), False, False),  # contains all of February
    ("2026-01-01..2026-07-31", Basis(), False, True),
    ("2026-01-01..2026-07-31", Basis("work", 25), False, False),
    ("2026-01-01..2026-07-25", Basis("work", 25), False, True),
    ("2026-12-20..2026-12-31", Basis("work", 25), True, False),  # work December: Nov 26..Dec 31
])
def test_range_classification(text: str, basis: Basis, short: bool, whole: bool) -> None:
    p = parse_period(text, basis)
    assert _short_range(p) is short
    assert p.is_short_range is short  # the engine's calendar agrees
    assert _whole_months_range(p) is whole
    assert p.is_whole_months is whole


def test_whole_month_range_sums_month_plans() -> None:
    f = Facts()
    (a,) = f.hire(1, d(6, 1, 2025))
    for m in range(1, 8):
        f.premium(a, "new", 100, d(m, 10))
        f.plan("R", f"2026-{m:02d}", 50)
        f.plan("U1", f"2026-{m:02d}", 100)
    assert val(f.kpis("2026-01-01..2026-07-31"), "fyp_plan_rate") == (2, 700, 350)
    kids = f.kpis("2026-01-01..2026-07-31", by="children")
    assert val(kids, "fyp_plan_rate", "U1") == (1, 700, 700)
    assert val(kids, "fyp_plan_rate", "U2")[2] is None
    assert val(f.kpis("2026-01-01..2026-07-30"), "fyp_plan_rate")[2] is None
    work = f.kpis("2026-01-01..2026-07-25", settings=WORK)
    assert val(work, "fyp_plan_rate") == (2, 700, 350)
    assert val(f.kpis("2026-01-01..2026-07-31", settings=WORK), "fyp_plan_rate")[2] is None
    # a range cut at an as-of date has no plan (its whole period is unknown)
    cut = f.kpis("2026-01-01..2026-07-31", as_of=dt.date(2026, 3, 31))
    assert val(cut, "fyp_plan_rate")[2] is None
