"""What ``zhuizong demo`` shows after building the agency: the month's KPIs, the Excel monthly
report and today's tracking items — each produced by the same services a user calls."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from zhuizong.access.actor import SYSTEM
from zhuizong.basiclaw.income_service import list_income, run_income
from zhuizong.basiclaw.service import install_demo_basic_law, run_assessment
from zhuizong.campaigns.signals import install_demo_campaigns
from zhuizong.demo.params import DemoParams, last_closed_month
from zhuizong.kpi.engine import KpiRequest, KpiResult
from zhuizong.kpi.service import kpi_report
from zhuizong.reports.export import build_monthly
from zhuizong.tracking.generate import RunSummary, run
from zhuizong.workspace import Workspace

SUMMARY_METRICS = ("fyp", "fyp_plan_rate", "cases", "headcount_close", "active", "activity_rate",
                   "new_hires", "attrition_rate")


@dataclass
class Showcase:
    period: str
    kpis: KpiResult
    report_path: Path
    track_date: dt.date
    tracking: RunSummary
    basic_law: Path | None = None
    assessment: object | None = None  # basiclaw RunResult of the current quarter
    campaigns: list[str] | None = None
    #: the running month's benefits (利益) at the current pace: period, amount by kind in 元
    income_period: str | None = None
    income: dict[str, Decimal] | None = None


def showcase(ws: Workspace, params: DemoParams) -> Showcase:
    period = last_closed_month(params.end_date)
    kpis = kpi_report(ws, SYSTEM, KpiRequest(period=period, by="children", metrics=SUMMARY_METRICS))
    out = ws.home / "reports" / f"monthly-{period}.xlsx"
    out.parent.mkdir(parents=True, exist_ok=True)
    path = build_monthly(ws, SYSTEM, period, None, out, "xlsx")
    # the first example basic law and the demo campaigns, so gaps, standings and honors show
    law = install_demo_basic_law(ws)
    end = params.end_date
    quarter = f"{end.year}Q{(end.month - 1) // 3 + 1}"
    assessment = run_assessment(ws, SYSTEM, quarter, as_of=end)
    month = f"{end.year:04d}-{end.month:02d}"
    run_income(ws, SYSTEM, month, as_of=end)
    income: dict[str, Decimal] = {}
    for item in list_income(ws, SYSTEM, month):
        income[item["kind"]] = income.get(item["kind"], Decimal(0)) + Decimal(str(item["amount"]))
    campaigns = install_demo_campaigns(ws, end)
    today = end + dt.timedelta(days=1)
    tracking = run(ws, today, SYSTEM)
    return Showcase(period, kpis, Path(path), today, tracking, law, assessment, campaigns,
                    month, income)
