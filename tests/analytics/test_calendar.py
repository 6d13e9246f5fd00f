from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhuizong.analytics.calendar import Basis, parse_period
from zhuizong.errors import ZhuizongError

D = dt.date
WORK = Basis("work", 25)


def test_natural_periods() -> None:
    p = parse_period("2026-02")
    assert (p.start, p.end, p.days) == (D(2026, 2, 1), D(2026, 2, 28), 28)
    q = parse_period("2026Q2")
    assert (q.start, q.end, q.months()) == (D(2026, 4, 1), D(2026, 6, 30), [(2026, 4), (2026, 5), (2026, 6)])
    y = parse_period("2026")
    assert (y.start, y.end, len(y.months())) == (D(2026, 1, 1), D(2026, 12, 31), 12)


def test_work_months_january_short_december_long() -> None:
    assert parse_period("2026-01", WORK).start == D(2026, 1, 1)
    assert parse_period("2026-01", WORK).end == D(2026, 1, 25)
    assert (parse_period("2026-05", WORK).start, parse_period("2026-05", WORK).end) == (
        D(2026, 4, 26), D(2026, 5, 25))
    assert (parse_period("2026-12", WORK).start, parse_period("2026-12", WORK).end) == (
        D(2026, 11, 26), D(2026, 12, 31))
    assert parse_period("2026Q1", WORK).end == D(2026, 3, 25)
    assert (parse_period("2026", WORK).start, parse_period("2026", WORK).end) == (
        D(2026, 1, 1), D(2026, 12, 31))
    assert WORK.month_of(D(2026, 5, 26)) == (2026, 6)
    assert WORK.month_of(D(2026, 12, 28)) == (2026, 12)


@given(st.dates(D(2000, 1, 1), D(2100, 12, 31)), st.sampled_from([Basis(), WORK, Basis("work", 20)]))
def test_every_day_is_in_exactly_its_month(d: dt.date, basis: Basis) -> None:
    y, m = basis.month_of(d)
    s, e = basis.month_bounds(y, m)
    assert s <= d <= e
    if m > 1:  # months tile the year without gaps or overlaps
        assert basis.month_bounds(y, m - 1)[1] + dt.timedelta(days=1) == s


def test_previous_and_same_last_year() -> None:
    assert parse_period("2026-03").previous().label == "2026-02"
    assert parse_period("2026-01").previous().label == "2025-12"
    assert parse_period("2026Q1").previous().label == "2025Q4"
    assert parse_period("2026").previous().label == "2025"
    assert parse_period("2026-05").same_last_year().label == "2025-05"
    r = parse_period("2026-03-01..2026-03-31")
    assert (r.previous().start, r.previous().end) == (D(2026, 2, 1), D(2026, 2, 28))
    assert (r.same_last_year().start, r.same_last_year().end) == (D(2025, 3, 1), D(2025, 3, 31))


def test_to_date_periods_and_time_progress() -> None:
    p = parse_period("2026-05", as_of=D(2026, 5, 20))
    assert (p.start, p.end, p.as_of) == (D(2026, 5, 1), D(2026, 5, 20), D(2026, 5, 20))
    assert p.previous().end == D(2026, 4, 20)
    assert p.time_progress(D(2026, 5, 20)) == pytest.approx(20 / 31)
    ytd = parse_period("2026", as_of=D(2026, 7, 31))
    assert len(ytd.months()) == 7
    with pytest.raises(ZhuizongError):
        parse_period("2026-05", as_of=D(2026, 6, 1))


@pytest.mark.parametrize("bad", ["2026-13", "2026Q5", "26-05", "2026-05-31..2026-05-01", "x"])
def test_bad_periods(bad: str) -> None:
    with pytest.raises(ZhuizongError):
        parse_period(bad)
