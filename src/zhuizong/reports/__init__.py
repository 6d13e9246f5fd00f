"""Report exports built on the KPI engine: the monthly KPI report (XLSX/PDF) and cohort tables.

* :func:`build_monthly` — one row per child org unit plus the total, multi-level headers,
  plan / 达成率 / 同比 / 环比 of the key metrics, FYP ranking, and a 定义 sheet with every formula
  and the settings used (``docs/reports.md``).
* :func:`build_cohort` / :func:`cohort_heatmap_png` — retention and conversion by hire month ×
  months since hire, as XLSX (colour scale) and as a PNG heat map.

Every number comes from :func:`zhuizong.kpi.service.kpi_report` (scoped to the actor) or, for the
cohort matrix, from the same analytic snapshot with the engine's cohort semantics
(``docs/kpi-engine.md`` point 13). Every text cell is written through
:func:`zhuizong.common.cells.safe_cell`.
"""

from __future__ import annotations

from zhuizong.reports.cohort import CohortTable, build_cohort, cohort_heatmap_png, cohort_table
from zhuizong.reports.export import build_monthly
from zhuizong.reports.monthly import MonthlyReport, monthly_report

__all__ = [
    "CohortTable",
    "MonthlyReport",
    "build_cohort",
    "build_monthly",
    "cohort_heatmap_png",
    "cohort_table",
    "monthly_report",
]
