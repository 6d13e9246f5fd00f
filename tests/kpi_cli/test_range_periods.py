"""Date ranges that are not whole months, and date ranges made of whole months (issue 14, item 7),
through the import files and ``zhuizong kpi --format json``.

kpi-spec §2 "Periods that are not whole months": a date range shorter than a month uses its own
endpoints, also when it crosses a month boundary — one period whose opening is the end of the day
before it, whose average is (opening + closing) / 2 and whose rates divide by that opening or
average, never by sums over the two months it touches. "Shorter than a month" = the range
contains no whole basis month (docs/kpi-engine.md point 9); a range that contains one is still
split into its basis months.

kpi-spec "Plans": a range made of whole basis months takes the sum of its months' plans.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.kpi_cli.builders import ROOT, U1, U2, Agency, config_set, kpi, row, spread, value

PEOPLE = ("headcount_open", "headcount_close", "headcount_avg", "new_hires", "leavers",
          "recruitment_rate", "attrition_rate", "net_growth_rate", "activity_rate",
          "effective_recruitment_rate", "conversions", "active")


def d(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, day)


def check_ratio(r: dict, numerator: float, denominator: float) -> None:
    assert r["numerator"] == numerator, r
    assert r["denominator"] == denominator, r
    assert r["value"] == pytest.approx(numerator / denominator, rel=1e-12, abs=0), r


@pytest.fixture
def agency(home: Path, tmp_path: Path) -> Agency:
    return Agency(tmp_path / "facts")


# --- a range shorter than a month across a month boundary ---------------------------------------


def _may_june(agency: Agency) -> None:
    """10 agents in force; 5 hired 2026-05-25, 4 leaving 2026-06-05, 3 hired 2026-06-08."""
    old = agency.hire("A", 10, d(2025, 6, 1))
    agency.leave(old[:4], d(2026, 6, 5))
    agency.hire("N", 5, d(2026, 5, 25), org=U2)
    agency.hire("M", 3, d(2026, 6, 8))
    agency.new_policies(old[:6], 60_000, d(2026, 6, 1))
    agency.convert(old[4:5], d(2026, 5, 31))
    agency.load()


@pytest.mark.parametrize("basis", ["natural", "work"])
def test_range_shorter_than_a_month_across_months_uses_its_own_endpoints(
        agency: Agency, basis: str) -> None:
    """``2026-05-20..2026-06-10``: opening 10 (end of 05-19), closing 14, average 12 (not the
    mean 13.5 of the two partial months), recruitment 8 / 10 (not 8 / 25), attrition 4 / 10 —
    on natural months and on work months (cut-off 25: the range touches work May and work June
    and fills neither)."""
    _may_june(agency)
    if basis == "work":
        config_set("calendar.month_basis", "work")
    res = kpi("2026-05-20..2026-06-10", PEOPLE)
    assert res["period"]["start"] == "2026-05-20" and res["period"]["end"] == "2026-06-10"
    assert value(res, "headcount_open") == 10
    assert value(res, "headcount_close") == 14
    assert value(res, "headcount_avg") == 12
    assert value(res, "new_hires") == 8
    assert value(res, "leavers") == 4
    check_ratio(row(res, "recruitment_rate"), 8, 10)
    check_ratio(row(res, "attrition_rate"), 4, 10)
    check_ratio(row(res, "net_growth_rate"), 4, 10)
    check_ratio(row(res, "activity_rate"), 6, 12)
    check_ratio(row(res, "effective_recruitment_rate"), 1, 12)
    # the children: each its own opening
    by = kpi("2026-05-20..2026-06-10", ["headcount_open", "recruitment_rate", "headcount_avg"],
             by="children")
    check_ratio(row(by, "recruitment_rate", U1), 3, 10)
    assert value(by, "headcount_avg", U1) == (10 + 9) / 2
    assert row(by, "recruitment_rate", U2)["denominator"] == 0  # nobody in U2 on 05-19
    assert row(by, "recruitment_rate", U2)["value"] is None


def test_range_containing_a_whole_month_is_still_split_into_months(agency: Agency) -> None:
    """``2026-05-20..2026-06-30`` contains all of June: two pieces (May 20–31, June), mean of
    their averages and Σ of their openings, as for any multi-month period."""
    _may_june(agency)
    res = kpi("2026-05-20..2026-06-30", PEOPLE)
    # May 20–31: 10 → 15 (12.5); June: 15 → 14 (14.5)
    assert value(res, "headcount_avg") == 13.5
    check_ratio(row(res, "recruitment_rate"), 8, 10 + 15)
    check_ratio(row(res, "attrition_rate"), 4, 12.5 + 14.5)


def test_work_month_like_range_on_natural_months(agency: Agency) -> None:
    """``2025-05-26..2025-06-25`` on natural months contains no whole month: its recruitment and
    attrition rates divide by its own opening (end of 05-25), not by the openings of May 26 and
    June 1 added up. On work months it *is* work June, with the same numbers."""
    agency.hire("A", 300, d(2024, 1, 1))
    agency.hire("E", 4, spread(4, d(2025, 5, 1), d(2025, 5, 25)))  # in the opening
    agency.hire("B", 20, spread(20, d(2025, 5, 26), d(2025, 5, 31)), org=U2)
    agency.hire("C", 12, spread(12, d(2025, 6, 1), d(2025, 6, 25)))
    agency.hire("X", 5, d(2025, 6, 26))  # after the range
    agency.leave([f"A{i:05d}" for i in range(1, 9)],
                 [d(2025, 5, 28)] * 3 + [d(2025, 6, 10)] * 5)
    agency.load()

    metrics = ("headcount_open", "headcount_close", "headcount_avg", "recruitment_rate",
               "attrition_rate", "new_hires", "leavers")
    res = kpi("2025-05-26..2025-06-25", metrics)
    assert value(res, "headcount_open") == 304
    assert value(res, "headcount_close") == 328
    assert value(res, "headcount_avg") == 316
    check_ratio(row(res, "recruitment_rate"), 32, 304)
    check_ratio(row(res, "attrition_rate"), 8, 304)

    config_set("calendar.month_basis", "work")
    work = kpi("2025-05-26..2025-06-25", metrics)
    june = kpi("2025-06", metrics)
    assert june["period"]["start"] == "2025-05-26" and june["period"]["end"] == "2025-06-25"
    for m in metrics:
        assert row(work, m) == row(res, m), m
        assert {k: row(june, m)[k] for k in ("value", "numerator", "denominator")} == \
            {k: row(res, m)[k] for k in ("value", "numerator", "denominator")}, m


def test_short_range_reports_the_cohort_of_its_end_month(agency: Agency) -> None:
    """Cohort metrics of a range shorter than a month: one piece, the cohort of the basis month
    containing its end, evaluated at its end (not the two months' cohorts pooled)."""
    agency.hire("A", 10, d(2025, 6, 1))
    agency.hire("F", 3, d(2026, 2, 10))  # May's 3-month cohort: not in the range's
    agency.hire("M", 4, d(2026, 3, 10), leave=[d(2026, 6, 9), d(2026, 6, 11), None, None])
    agency.load()
    res = kpi("2026-05-20..2026-06-10", ["retention_3m"])
    check_ratio(row(res, "retention_3m"), 3, 4)  # March hires still in force at the end of 06-10
    whole = kpi("2026-05-01..2026-06-30", ["retention_3m"])  # two whole months: pooled
    check_ratio(row(whole, "retention_3m"), 3 + 2, 3 + 4)


# --- plans of a range made of whole months ------------------------------------------------------


def test_whole_month_range_sums_its_months_plans(agency: Agency) -> None:
    """``2025-01-01..2025-07-31``: the plan is the sum of the seven monthly plans; a range that is
    not whole months has no plan; the children rule applies to a whole-month range too."""
    a = agency.hire("A", 4, d(2024, 6, 1))
    b = agency.hire("B", 2, d(2024, 6, 1), org=U2)
    for m in range(1, 8):
        agency.new_policies(a + b, 600_000, d(2025, m, 15))
        agency.plan(ROOT, f"2025-{m:02d}", "fyp", 1_000_000)
        agency.plan(U1, f"2025-{m:02d}", "fyp", 400_000)
    agency.plan(ROOT, "2025-08", "fyp", 5)  # August: not in the range
    agency.plan(U2, "2025Q1", "fyp", 1)  # a quarter plan: not a month's
    agency.load()

    res = kpi("2025-01-01..2025-07-31", ["fyp", "fyp_plan_rate"])
    assert value(res, "fyp") == 4_200_000
    check_ratio(row(res, "fyp_plan_rate"), 4_200_000, 7_000_000)
    one = kpi("2025-03-01..2025-03-31", ["fyp_plan_rate"])
    check_ratio(row(one, "fyp_plan_rate"), 600_000, 1_000_000)
    by = kpi("2025-01-01..2025-07-31", ["fyp_plan_rate"], by="children")
    check_ratio(row(by, "fyp_plan_rate", U1), 2_800_000, 2_800_000)
    assert row(by, "fyp_plan_rate", U2)["value"] is None  # U2 has no monthly plans
    for partial in ("2025-01-01..2025-07-30", "2025-01-02..2025-07-31", "2025-05-20..2025-06-10"):
        r = row(kpi(partial, ["fyp_plan_rate"]), "fyp_plan_rate")
        assert r["value"] is None and r["denominator"] is None, (partial, r)


def test_whole_month_range_plans_on_work_months(agency: Agency) -> None:
    """On work months (cut-off 25) "whole months" are whole work months: ``2025-01-01..2025-07-25``
    is work January–July and sums their plans; ``2025-01-01..2025-07-31`` ends inside work
    August and has no plan."""
    a = agency.hire("A", 3, d(2024, 6, 1))
    for m in range(1, 9):
        agency.new_policies(a, 300_000, d(2025, m, 10))
        agency.plan(ROOT, f"2025-{m:02d}", "fyp", 100_000 * m)
    agency.load()
    config_set("calendar.month_basis", "work")
    res = kpi("2025-01-01..2025-07-25", ["fyp", "fyp_plan_rate"])
    assert value(res, "fyp") == 2_100_000
    check_ratio(row(res, "fyp_plan_rate"), 2_100_000, 100_000 * sum(range(1, 8)))
    r = row(kpi("2025-01-01..2025-07-31", ["fyp_plan_rate"]), "fyp_plan_rate")
    assert r["value"] is None and r["denominator"] is None
    q = kpi("2025-02-26..2025-03-25", ["fyp_plan_rate"])  # exactly work March
    check_ratio(row(q, "fyp_plan_rate"), 300_000, 300_000)
