"""The typed IR of metric definitions (MetricFlow-style: validated declarations, no SQL).

Leaves are *base measures* — aggregations the compiler turns into grouped Ibis expressions over
the analytic snapshot, each giving one number per (grain unit, segment). Inner nodes combine the
aggregated numbers at the final grain, so every ratio keeps its numerator and denominator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: production sums attributed on the premium's attribution day (kpi-spec §3)
ProductionMeasure = Literal["fyp", "fyc", "std_premium", "cases"]
#: people flows and snapshots (kpi-spec §2)
PeopleMeasure = Literal[
    "headcount_open",
    "headcount_close",
    "headcount_avg",  # average headcount of the period (setting kpi.average_headcount)
    "sum_monthly_open",  # Σ monthly openings (multi-month recruitment-rate denominator)
    "sum_monthly_avg",  # Σ monthly averages (multi-month attrition-rate denominator)
    "new_hires",
    "leavers",
    "conversions",
]
#: what a derived node compares with
Offset = Literal["previous", "last_year", "year_to_date"]


@dataclass(frozen=True)
class Production:
    measure: ProductionMeasure
    offset: Offset | None = None


@dataclass(frozen=True)
class Active:
    """Distinct agents whose attributed production in the period meets ``kpi.active_rule``."""

    category: Literal["probationary", "formal", "director"] | None = None


@dataclass(frozen=True)
class People:
    measure: PeopleMeasure


@dataclass(frozen=True)
class Cohort:
    """Cohort hired t months before each month of the period (kpi-spec §6)."""

    months: int
    kind: Literal["retained", "converted", "size"]


@dataclass(frozen=True)
class Persistency:
    """Regular-pay policies issued ``months`` + 1 basis months before each month of the period
    (13 → issue month m−14, 25 → m−26) and what of their later premium was received in time
    (kpi-spec §6; docs/kpi-engine.md point 17). ``kind``: ``due`` = the cohort's first-year
    premium, ``paid`` = its policy-year-(n+1) renewal premium received by the anniversary + the
    grace days, ``policies`` = cohort size, ``paid_policies`` = policies with such a premium."""

    months: Literal[13, 25]
    kind: Literal["due", "paid", "policies", "paid_policies"]


@dataclass(frozen=True)
class Meetings:
    kind: Literal["attended", "scheduled"]


@dataclass(frozen=True)
class ToolUse:
    kind: Literal["filled", "in_force"]


@dataclass(frozen=True)
class Plan:
    """The plan of the unit for the period (or, with ``year``, for the year containing its end)."""

    metric: str
    year: bool = False


Leaf = Production | Active | People | Cohort | Persistency | Meetings | ToolUse | Plan


@dataclass(frozen=True)
class Ratio:
    numerator: Node
    denominator: Node


@dataclass(frozen=True)
class Difference:
    """``left − right`` (e.g. FYP − FYP of the previous period, closing − opening)."""

    left: Node
    right: Node


Node = Leaf | Ratio | Difference


def leaves(node: Node) -> list[Leaf]:
    """Every base measure a node needs, in a stable order."""
    if isinstance(node, Ratio):
        return leaves(node.numerator) + leaves(node.denominator)
    if isinstance(node, Difference):
        return leaves(node.left) + leaves(node.right)
    return [node]
