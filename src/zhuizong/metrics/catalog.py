"""The metric codes of kpi-spec.md §5: stable identifiers used by the CLI, API, exports, plans.

Only codes and labels live here for now; formulas are compiled by the KPI engine.
"""

from __future__ import annotations

METRICS: dict[str, tuple[str, str]] = {
    "fyp": ("首年保费", "FYP"),
    "fyp_mom": ("FYP 环比增长率", "FYP month-on-month growth"),
    "fyp_yoy": ("FYP 同比增长率", "FYP year-on-year growth"),
    "fyp_plan_rate": ("FYP 计划达成率", "FYP plan attainment"),
    "fyp_year_progress": ("FYP 年计划进度", "FYP annual plan progress"),
    "fyc": ("FYC", "FYC"),
    "std_premium": ("标准保费", "standard premium"),
    "cases": ("新契约件数", "new cases"),
    "headcount_open": ("期初人力", "opening headcount"),
    "headcount_close": ("期末人力", "closing headcount"),
    "headcount_avg": ("平均人力", "average headcount"),
    "active": ("实动人力", "active agents"),
    "active_probationary": ("试用实动人力", "active probationary agents"),
    "active_formal": ("正式实动人力", "active formal agents"),
    "active_director": ("主任以上实动人力", "active directors and above"),
    "activity_rate": ("活动率", "activity rate"),
    "fyp_per_capita": ("人均FYP", "FYP per capita"),
    "fyp_per_active": ("人均产能", "FYP per active agent"),
    "premium_per_case": ("件均保费", "premium per case"),
    "cases_per_capita": ("人均件数", "cases per capita"),
    "cases_per_active": ("有效人均件数", "cases per active agent"),
    "fyc_per_capita": ("人均FYC", "FYC per capita"),
    "new_hires": ("新进人数", "new hires"),
    "recruitment_rate": ("增员率", "recruitment rate"),
    "conversions": ("转正人数", "conversions"),
    "effective_recruitment_rate": ("有效增员率", "effective recruitment rate"),
    "leavers": ("脱落人数", "leavers"),
    "attrition_rate": ("脱落率", "attrition rate"),
    "net_growth_rate": ("净增长率", "net growth rate"),
    "retention_3m": ("3个月留存率", "3-month retention"),
    "retention_6m": ("6个月留存率", "6-month retention"),
    "retention_12m": ("12个月留存率", "12-month retention"),
    "conversion_3m": ("3个月转正率", "3-month conversion"),
    "conversion_6m": ("6个月转正率", "6-month conversion"),
    "persistency_13m": ("13个月继续率", "13-month persistency"),
    "persistency_13m_cases": ("13个月件数继续率", "13-month persistency (cases)"),
    "persistency_25m": ("25个月继续率", "25-month persistency"),
    "persistency_25m_cases": ("25个月件数继续率", "25-month persistency (cases)"),
    "attendance_rate": ("出勤率", "attendance rate"),
    "tool_usage_rate": ("工具使用率", "tool usage rate"),
}
