"""13- and 25-month persistency (继续率, kpi-spec §6) through ``zhuizong kpi --format json``.

A worked example of our own (the seed has none), built from facts through the import path:

January 2025 cohort, reported for March 2026 (issue month m − 14), agent X in unit U1:

| policy | rows | first-year premium | 2nd-year premium counted |
|---|---|---|---|
| P1 | MAIN new 10,000 (2025-01-10); renewal y2 10,000 on 2026-01-05 (early) | 10,000 | 10,000 |
| P2 | MAIN new 20,000 + RIDER new 2,000 (2025-01-15); MAIN renewal 20,000 on 2026-03-16 (anniversary + 60 days: the last day), RIDER renewal 2,000 on 2026-03-17 (one day late) | 22,000 | 20,000 |
| P3 | MAIN new 25,000 (2025-01-20) + fy_renewal 3,000 (2025-02-20); renewal 28,000 on 2026-04-01 (after the evaluation day) | 28,000 | 0 |
| — | SGL (single premium) new 50,000: not in the cohort | | |
| — | MAIN new 40,000 cancelled in the free-look period: not in the cohort | | |
| P6 | MAIN new 5,000 paid 2025-01-02 but issued 2024-12-28: the December cohort | | |

→ premium-based 30,000 / 60,000 = 50 %; case-based 2 / 3 (P1 and P2 paid something in time).
X moves to U2 in June 2025: the cohort stays with U1.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.kpi_cli.builders import RIDER, U1, U2, Agency, config_set, kpi, row

SGL = "SGL"


def d(y: int, m: int, day: int) -> dt.date:
    return dt.date(y, m, day)


def check(r: dict, num: float, den: float) -> None:
    assert (r["numerator"], r["denominator"]) == (num, den), r
    assert r["value"] == pytest.approx(num / den, rel=1e-12, abs=0), r


@pytest.fixture
def agency(home: Path, tmp_path: Path) -> Agency:
    a = Agency(tmp_path / "facts")
    a.products.append((SGL, "趸交年金", "1", "single", "1", "0.1", "1"))
    x, y = a.hire("X", 2, d(2023, 6, 1))
    # the January 2025 cohort
    p1 = a.premium(x, "new", 10_000, d(2025, 1, 10), issue_date=d(2025, 1, 10))
    a.premium(x, "renewal", 10_000, d(2026, 1, 5), policy=p1, policy_year=2)
    p2 = a.premium(x, "new", 20_000, d(2025, 1, 15), issue_date=d(2025, 1, 15))
    a.premium(x, "new", 2_000, d(2025, 1, 15), policy=p2, product=RIDER, issue_date=d(2025, 1, 15))
    a.premium(x, "renewal", 20_000, d(2026, 3, 16), policy=p2, policy_year=2)
    a.premium(x, "renewal", 2_000, d(2026, 3, 17), policy=p2, product=RIDER, policy_year=2)
    p3 = a.premium(x, "new", 25_000, d(2025, 1, 20))
    a.premium(x, "fy_renewal", 3_000, d(2025, 2, 20), policy=p3)
    a.premium(x, "renewal", 28_000, d(2026, 4, 1), policy=p3, policy_year=2)
    a.premium(x, "new", 50_000, d(2025, 1, 8), product=SGL)
    p5 = a.premium(x, "new", 40_000, d(2025, 1, 12))
    a.premium(x, "free_look_cancel", 40_000, d(2025, 1, 20), policy=p5)
    a.premium(x, "new", 5_000, d(2025, 1, 2), issue_date=d(2024, 12, 28))
    # 25 months: the January 2024 cohort (agent Y), reported for March 2026
    p7 = a.premium(y, "new", 8_000, d(2024, 1, 10))
    a.premium(y, "renewal", 8_000, d(2025, 1, 10), policy=p7, policy_year=2)
    a.premium(y, "renewal", 8_000, d(2026, 2, 1), policy=p7, policy_year=3)
    p8 = a.premium(y, "new", 12_000, d(2024, 1, 20))
    a.premium(y, "renewal", 12_000, d(2025, 1, 20), policy=p8, policy_year=2)
    a.transfer(x, d(2025, 6, 1), U2)
    a.load()
    return a


METRICS = ["persistency_13m", "persistency_13m_cases", "persistency_25m", "persistency_25m_cases"]


def test_persistency_worked_example(agency: Agency) -> None:
    res = kpi("2026-03", METRICS)
    check(row(res, "persistency_13m"), 30_000, 60_000)
    check(row(res, "persistency_13m_cases"), 2, 3)
    # 25 months: third-year premium of the January 2024 cohort: P7 paid 8,000 of 20,000
    check(row(res, "persistency_25m"), 8_000, 20_000)
    check(row(res, "persistency_25m_cases"), 1, 2)
    # the issuing unit keeps the cohort after the agent's transfer
    by = kpi("2026-03", METRICS, by="children")
    check(row(by, "persistency_13m", U1), 30_000, 60_000)
    assert row(by, "persistency_13m", U2)["value"] is None
    assert row(by, "persistency_13m", U2)["denominator"] == 0
    # February 2026 reports the December 2024 cohort (P6, issued 2024-12-28): nothing paid
    check(row(kpi("2026-02", ["persistency_13m"]), "persistency_13m"), 0, 5_000)
    # a quarter pools its months' cohorts (Nov 2024: none, Dec 2024: P6, Jan 2025)
    q = kpi("2026Q1", ["persistency_13m", "persistency_13m_cases"])
    check(row(q, "persistency_13m"), 30_000, 65_000)
    check(row(q, "persistency_13m_cases"), 2, 4)


def test_persistency_to_date_counts_what_was_known(agency: Agency) -> None:
    """Month-to-date on 15 March 2026: P2's renewal of 16 March is not known yet."""
    res = kpi("2026-03", ["persistency_13m"], as_of="2026-03-15")
    check(row(res, "persistency_13m"), 10_000, 60_000)


@pytest.mark.parametrize(("grace", "paid"), [("0", 10_000), ("60", 30_000), ("75", 32_000)])
def test_grace_days_setting(agency: Agency, grace: str, paid: int) -> None:
    """kpi.persistency_grace_days moves the last day a renewal counts: 0 → only P1's early one;
    75 → the rider's renewal 61 days late counts too, P3's of 1 April still not (after the
    evaluation day)."""
    config_set("kpi.persistency_grace_days", grace)
    res = kpi("2026-03", ["persistency_13m"])
    check(row(res, "persistency_13m"), paid, 60_000)
    assert res["settings"]["kpi.persistency_grace_days"] == int(grace)


def test_persistency_by_agent_and_segment(agency: Agency) -> None:
    res = kpi("2026-03", ["persistency_13m"], by="agent")
    check(row(res, "persistency_13m", agent="X00001"), 30_000, 60_000)
    seg = kpi("2026-03", ["persistency_13m"], segment="rank_category")
    check(row(seg, "persistency_13m", segment="probationary"), 30_000, 60_000)
    assert row(seg, "persistency_13m", segment="formal")["value"] is None
