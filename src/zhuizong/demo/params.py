"""Parameters of the demo agency (演示机构). Every field is documented in ``docs/demo.md``.

The defaults are calibrated so that the 3,000-agent, 3-year demo shows the textbook shape of an
agency force: a January–March 开门红 recruiting and sales peak, 3-month retention of about 65 %,
13-month retention of about 30 %, 3–5 % free-look cancellations, about 80 % morning-meeting
attendance and about 60 % tool (work log) usage. ``tests/demo/test_generator.py`` asserts those
numbers, so a change here that breaks the calibration fails the tests.
"""

from __future__ import annotations

import calendar
import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, model_validator


def default_end_date(today: dt.date | None = None) -> dt.date:
    """Yesterday: the demo's data runs up to the last complete day, as a live system's would
    (yesterday's premiums, attendance and work logs arrive overnight), so today's tracking and the
    month to date are meaningful. The monthly report shows the last closed month."""
    today = today or dt.date.today()
    return today - dt.timedelta(days=1)


def last_closed_month(d: dt.date) -> str:
    """``YYYY-MM`` of the last month fully covered by data ending on ``d``."""
    if d == month_end(d):
        return f"{d.year:04d}-{d.month:02d}"
    prev = d.replace(day=1) - dt.timedelta(days=1)
    return f"{prev.year:04d}-{prev.month:02d}"


def month_end(d: dt.date) -> dt.date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


class DemoParams(BaseModel):
    """Size, seed, calendar and dynamics of the generated agency. Frozen: hashable, comparable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- size, seed, calendar -------------------------------------------------------------
    agents: int = Field(3000, ge=30, le=1_000_000, description="force size at the end date")
    years: int = Field(3, ge=1, le=10, description="whole years of history ending at end_date")
    seed: int = Field(20260501, ge=0)
    end_date: dt.date = Field(default_factory=default_end_date)

    # --- organisation ---------------------------------------------------------------------
    branches: int = Field(1, ge=1, le=99, description="分公司 (roots of the org tree)")
    group_size: float = Field(10.5, gt=2, description="mean members per 营业组, head excluded")
    groups_per_department: tuple[int, int] = (4, 8)
    departments_per_sub_branch: tuple[int, int] = (3, 7)

    # --- recruiting and attrition ---------------------------------------------------------
    #: relative hires per calendar month Jan..Dec (开门红 peak in Q1), normalised to mean 1
    hire_seasonality: tuple[float, ...] = (
        1.9,
        1.5,
        1.6,
        0.9,
        0.8,
        0.8,
        0.8,
        0.75,
        0.85,
        0.75,
        0.7,
        0.65,
    )
    #: growth of the force per year (recruiting grows by this factor; 0 = steady state)
    annual_growth: float = Field(0.05, ge=-0.5, le=1.0)
    #: monthly leaving probability by tenure month: (first tenure month it applies to, q)
    attrition: tuple[tuple[int, float], ...] = (
        (0, 0.13),
        (1, 0.13),
        (2, 0.11),
        (3, 0.10),
        (6, 0.075),
        (12, 0.035),
        (24, 0.02),
    )
    #: share of leavers who come back (二次入司) after rehire_gap_days
    rehire_share: float = Field(0.06, ge=0, le=1)
    rehire_gap_days: tuple[int, int] = (60, 540)

    # --- careers ----------------------------------------------------------------------------
    convert_share: float = Field(0.7, ge=0, le=1, description="probationary agents who convert")
    #: from day 45: some convert within three work months and earn the new-agent allowance
    convert_window_days: tuple[int, int] = (45, 180)
    #: (share, min days, max days) of each further promotion A1→A2, A2→A3, A3→D1
    promotions: tuple[tuple[float, int, int], ...] = (
        (0.5, 180, 540),
        (0.45, 270, 720),
        (0.3, 180, 720),
    )
    demote_share: float = Field(0.08, ge=0, le=1, description="of agents promoted at least once")
    demote_after_days: tuple[int, int] = (180, 540)
    transfer_rate: float = Field(0.04, ge=0, le=1, description="transfers per agent-year")
    transfer_same_department: float = Field(0.6, ge=0, le=1)

    # --- production -------------------------------------------------------------------------
    #: probability of any sale in a month, by rank T, A1, A2, A3, D1, D2, D3
    activity_by_rank: tuple[float, ...] = (0.4, 0.5, 0.55, 0.6, 0.55, 0.5, 0.45)
    #: mean new main policies in a month of an active agent, by rank
    cases_by_rank: tuple[float, ...] = (1.4, 1.7, 2.0, 2.3, 2.0, 1.8, 1.6)
    #: relative production per calendar month Jan..Dec
    sales_seasonality: tuple[float, ...] = (
        1.8,
        1.3,
        1.5,
        0.85,
        0.85,
        0.95,
        0.8,
        0.75,
        0.85,
        0.8,
        0.8,
        0.95,
    )
    talent_sigma: float = Field(0.35, ge=0, description="log-sd of an agent's productivity")
    amount_sigma: float = Field(0.7, ge=0, description="log-sd of a policy's premium")
    rider_share: float = Field(0.3, ge=0, le=1, description="regular main policies with a rider")
    quarterly_share: float = Field(
        0.10, ge=0, le=1, description="regular policies paying quarterly"
    )
    monthly_share: float = Field(0.05, ge=0, le=1, description="regular policies paying monthly")
    free_look_share: float = Field(0.04, ge=0, le=1, description="main policies cancelled (契撤)")
    free_look_days: tuple[int, int] = (2, 15)
    surrender_share: float = Field(0.01, ge=0, le=1, description="first-year full surrenders")
    renewal_rate_year2: float = Field(0.89, ge=0, le=1, description="second-year premium paid")
    renewal_rate_later: float = Field(0.94, ge=0, le=1, description="later years, if paid before")
    renewal_on_time: float = Field(0.95, ge=0, le=1, description="paid within the grace period")

    # --- plans ------------------------------------------------------------------------------
    plan_growth: float = Field(0.10, ge=-0.5, le=2, description="plan = last year's FYP × (1+g)")
    plan_noise: float = Field(0.08, ge=0, le=1)

    # --- tools: attendance and work logs ------------------------------------------------------
    activity_months: int = Field(6, ge=0, le=120, description="months of attendance/work logs")
    attendance_mean: float = Field(0.84, ge=0, le=1, description="mean share present or late")
    late_share: float = Field(0.1, ge=0, le=1, description="of attended meetings")
    leave_share: float = Field(0.45, ge=0, le=1, description="of missed meetings (rest absent)")
    absence_run_share: float = Field(0.5, ge=0, le=1, description="leavers absent before leaving")
    absence_run_days: tuple[int, int] = (3, 10)
    tool_usage_mean: float = Field(0.62, ge=0, le=1, description="mean share of days with a log")

    @model_validator(mode="after")
    def _check(self) -> DemoParams:
        for name in ("hire_seasonality", "sales_seasonality"):
            v = getattr(self, name)
            if len(v) != 12 or min(v) <= 0:
                raise ValueError(f"{name} needs 12 positive numbers (Jan..Dec)")
        for name in ("activity_by_rank", "cases_by_rank"):
            if len(getattr(self, name)) != 7:
                raise ValueError(f"{name} needs 7 numbers (T, A1, A2, A3, D1, D2, D3)")
        if not self.attrition or self.attrition[0][0] != 0:
            raise ValueError("attrition must start at tenure month 0")
        months = [m for m, _ in self.attrition]
        if months != sorted(set(months)) or any(not 0 <= q < 1 for _, q in self.attrition):
            raise ValueError("attrition: increasing tenure months, probabilities in [0, 1)")
        if len(self.promotions) != 3:
            raise ValueError("promotions needs 3 steps (A1→A2, A2→A3, A3→D1)")
        for name in (
            "groups_per_department",
            "departments_per_sub_branch",
            "rehire_gap_days",
            "convert_window_days",
            "demote_after_days",
            "free_look_days",
            "absence_run_days",
        ):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name}: need 0 < min <= max")
        if self.quarterly_share + self.monthly_share > 1:
            raise ValueError("quarterly_share + monthly_share must not exceed 1")
        return self

    @property
    def start_date(self) -> dt.date:
        """First day of the first month of the history (``years`` × 12 months up to end_date)."""
        y, m = self.end_date.year, self.end_date.month
        idx = y * 12 + (m - 1) - (12 * self.years - 1)
        return dt.date(idx // 12, idx % 12 + 1, 1)
