"""Periods and the calendar (kpi-spec.md §1), on the natural or the work-month basis.

Work month M with cut-off day c runs from day c+1 of M-1 to day c of M; January starts on
Jan 1 and December ends on Dec 31 (so January is short and December long). Quarters and years
are unions of months of the chosen basis. Month keys are integers ``yyyymm``; day numbers are days
since 1970-01-01 (portable integer keys for every engine).
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from zhuizong.errors import ZhuizongError

EPOCH = dt.date(1970, 1, 1)
PeriodKind = Literal["month", "quarter", "year", "range"]


def day_num(d: dt.date) -> int:
    return (d - EPOCH).days


def from_day_num(n: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(n))


@dataclass(frozen=True)
class Basis:
    """Month basis: ``natural``, or ``work`` with a cut-off day."""

    kind: Literal["natural", "work"] = "natural"
    cutoff_day: int = 25

    def month_bounds(self, year: int, month: int) -> tuple[dt.date, dt.date]:
        last = _cal.monthrange(year, month)[1]
        if self.kind == "natural":
            return dt.date(year, month, 1), dt.date(year, month, last)
        c = self.cutoff_day
        start = dt.date(year, 1, 1) if month == 1 else dt.date(year, month - 1, c) + dt.timedelta(days=1)
        end = dt.date(year, 12, 31) if month == 12 else dt.date(year, month, c)
        return start, end

    def month_of(self, d: dt.date) -> tuple[int, int]:
        """(year, month) of the basis month that contains ``d``."""
        if self.kind == "work" and d.day > self.cutoff_day and d.month != 12:
            return d.year, d.month + 1
        return d.year, d.month


def month_key(year: int, month: int) -> int:
    return year * 100 + month


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    idx = year * 12 + (month - 1) + delta
    return idx // 12, idx % 12 + 1


def _shift_date(d: dt.date, months: int) -> dt.date:
    y, m = _shift_month(d.year, d.month, months)
    return dt.date(y, m, min(d.day, _cal.monthrange(y, m)[1]))


@dataclass(frozen=True)
class Period:
    """A reporting period: a month, quarter, year or date range, possibly cut at an as-of date."""

    kind: PeriodKind
    label: str
    start: dt.date
    end: dt.date
    basis: Basis
    year: int | None = None
    index: int | None = None  # month 1..12 or quarter 1..4
    as_of: dt.date | None = None  # set for to-date periods (MTD/QTD/YTD)

    # --- composition ------------------------------------------------------------------------
    def months(self) -> list[tuple[int, int]]:
        """The basis months the period covers (for to-date periods: up to the as-of month)."""
        y, m = self.basis.month_of(self.start)
        last = self.basis.month_of(self.end)
        out = []
        while (y, m) <= last:
            out.append((y, m))
            y, m = _shift_month(y, m, 1)
        return out

    def month_periods(self) -> list[Period]:
        """The period split into its months, each cut to the period's own bounds."""
        out = []
        for y, m in self.months():
            s, e = self.basis.month_bounds(y, m)
            s, e = max(s, self.start), min(e, self.end)
            out.append(Period("month", f"{y:04d}-{m:02d}", s, e, self.basis, y, m,
                              as_of=e if e < self.basis.month_bounds(y, m)[1] else None))
        return out

    def whole_months(self) -> list[tuple[int, int]]:
        """The basis months that lie entirely inside the period's (cut) bounds."""
        out = []
        for y, m in self.months():
            s, e = self.basis.month_bounds(y, m)
            if self.start <= s and e <= self.end:
                out.append((y, m))
        return out

    @property
    def is_short_range(self) -> bool:
        """A date range *shorter than a month* (kpi-spec §2, "Periods that are not whole
        months"): it contains no whole basis month. Such a range is one piece with its own
        endpoints, also when it crosses a month boundary (it then touches two basis months and
        fills neither); a range inside one month is one too. docs/kpi-engine.md point 9."""
        return self.kind == "range" and not self.whole_months()

    @property
    def is_whole_months(self) -> bool:
        """The period starts on the first day of a basis month and ends on the last day of one
        (a month, quarter or year before any as-of cut; a range such as 2025-01-01..2025-07-31
        on natural months, or 2025-01-01..2025-07-25 on work months with cut-off 25)."""
        first = self.basis.month_bounds(*self.basis.month_of(self.start))[0]
        last = self.basis.month_bounds(*self.basis.month_of(self.end))[1]
        return first == self.start and last == self.end

    def pieces(self) -> list[Period]:
        """The parts whose averages and openings multi-month rules add up (kpi-spec §2, §5):
        the period itself for a range shorter than a month (:attr:`is_short_range`), else its
        basis months cut to the period (:meth:`month_periods`)."""
        return [self] if self.is_short_range else self.month_periods()

    def report_months(self) -> list[tuple[int, int]]:
        """The basis months whose cohorts the period reports (retention, conversion,
        persistency), each evaluated at its end cut to the period's end: :meth:`months`, except
        that a range shorter than a month is one piece and reports the month containing its end
        (as the to-date month ending on that day would)."""
        return [self.basis.month_of(self.end)] if self.is_short_range else self.months()

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def full_end(self) -> dt.date:
        """End of the whole period (before an as-of cut)."""
        if self.as_of is None or self.kind == "range":
            return self.end
        return self.uncut().end

    def uncut(self) -> Period:
        return _make(self.kind, self.year, self.index, self.basis) if self.kind != "range" else self

    def time_progress(self, as_of: dt.date) -> float:
        """Elapsed days / days in the whole period (kpi-spec §1)."""
        full = self.uncut()
        elapsed = (min(max(as_of, full.start - dt.timedelta(days=1)), full.end) - full.start).days + 1
        return max(elapsed, 0) / full.days

    # --- comparisons ------------------------------------------------------------------------
    def previous(self) -> Period:
        """环比: the preceding period of the same kind (a range moves back one calendar month)."""
        if self.kind == "range":
            return range_period(_shift_date(self.start, -1), _shift_date(self.end, -1), self.basis)
        if self.kind == "month":
            y, m = _shift_month(self.year or 0, self.index or 1, -1)
            p = _make("month", y, m, self.basis)
        elif self.kind == "quarter":
            q = (self.year or 0) * 4 + (self.index or 1) - 2
            p = _make("quarter", q // 4, q % 4 + 1, self.basis)
        else:
            p = _make("year", (self.year or 0) - 1, None, self.basis)
        return p.cut(self._same_offset(p)) if self.as_of else p

    def same_last_year(self) -> Period:
        """同比: the same period one year earlier."""
        if self.kind == "range":
            return range_period(_shift_date(self.start, -12), _shift_date(self.end, -12), self.basis)
        p = _make(self.kind, (self.year or 0) - 1, self.index, self.basis)
        return p.cut(self._same_offset(p)) if self.as_of else p

    def _same_offset(self, other: Period) -> dt.date:
        """The as-of date in ``other`` at the same elapsed position (same number of days)."""
        elapsed = (self.end - self.start).days
        return min(other.start + dt.timedelta(days=elapsed), other.end)

    def cut(self, as_of: dt.date) -> Period:
        """The to-date version ending on ``as_of`` (MTD/QTD/YTD)."""
        if not (self.start <= as_of <= self.end):
            raise ZhuizongError(
                f"截止日期 {as_of} 不在期间 {self.label} ({self.start}..{self.end}) 内",
                f"as-of date {as_of} is outside {self.label} ({self.start}..{self.end})",
            )
        if as_of == self.end:
            return self
        return Period(self.kind, f"{self.label}@{as_of.isoformat()}", self.start, as_of, self.basis,
                      self.year, self.index, as_of)


def _make(kind: PeriodKind, year: int | None, index: int | None, basis: Basis) -> Period:
    assert year is not None
    if kind == "month":
        assert index is not None
        s, e = basis.month_bounds(year, index)
        return Period("month", f"{year:04d}-{index:02d}", s, e, basis, year, index)
    if kind == "quarter":
        assert index is not None
        s, _ = basis.month_bounds(year, 3 * index - 2)
        _, e = basis.month_bounds(year, 3 * index)
        return Period("quarter", f"{year:04d}Q{index}", s, e, basis, year, index)
    s, _ = basis.month_bounds(year, 1)
    _, e = basis.month_bounds(year, 12)
    return Period("year", f"{year:04d}", s, e, basis, year, None)


def range_period(start: dt.date, end: dt.date, basis: Basis) -> Period:
    return Period("range", f"{start.isoformat()}..{end.isoformat()}", start, end, basis)


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


def parse_period(text: str, basis: Basis | None = None, as_of: dt.date | None = None) -> Period:
    """Parse ``2026-05``, ``2026Q2``, ``2026`` or ``2026-05-01..2026-05-20`` (+ optional as-of)."""
    basis = basis or Basis()
    t = text.strip()
    p: Period
    if (m := re.match(r"^(\d{4})", t)) is not None:
        _checked_year(text, int(m[1]))
    if m := _MONTH.match(t):
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12:
            raise _bad(text)
        p = _make("month", y, mo, basis)
    elif m := _QUARTER.match(t):
        p = _make("quarter", int(m[1]), int(m[2]), basis)
    elif m := _YEAR.match(t):
        p = _make("year", int(m[1]), None, basis)
    elif m := _RANGE.match(t):
        try:
            s, e = dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
        except ValueError:
            raise _bad(text) from None
        if e < s:
            raise _bad(text)
        p = range_period(s, e, basis)
    else:
        raise _bad(text)
    return p.cut(as_of) if as_of is not None else p


def _checked_year(text: str, year: int) -> None:
    # year 0000 (or 10000 after a work-month shift) is no date: a clean error, not a traceback
    if not 1 <= year <= 9998:
        raise _bad(text)


def _bad(text: str) -> ZhuizongError:
    return ZhuizongError(
        f"无法识别的期间 {text!r}: 应为 2026-05, 2026Q2, 2026 或 2026-05-01..2026-05-20",
        f"unrecognised period {text!r}: use 2026-05, 2026Q2, 2026 or 2026-05-01..2026-05-20",
    )
