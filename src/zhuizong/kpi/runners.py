"""Every base measure (IR leaf) by its runner: the compiler's (:mod:`zhuizong.kpi.compiler`:
production, active, people, cohorts, meetings, tool use, plans) and persistency's
(:mod:`zhuizong.kpi.persistency`, which builds on the compiler's helpers). The dispatch sits
above both, so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ibis.expr.types as ir

from zhuizong.kpi.compiler import (
    Context,
    Values,
    active,
    cohorts,
    meetings,
    people,
    plans,
    production,
    tool_use,
)
from zhuizong.kpi.ir import (
    Active,
    Cohort,
    Leaf,
    Meetings,
    People,
    Persistency,
    Plan,
    Production,
    ToolUse,
)
from zhuizong.kpi.persistency import persistency


def evaluate_values(ctx: Context, needed: list[Leaf]
                    ) -> dict[Leaf, Values | dict[tuple[str, str], Any]]:
    """Every leaf in ``needed``, as its runner returns it: :class:`Values` (columns) or, from a
    runner written against the dict contract, ``{(unit, seg): Decimal | None}``."""
    groups: dict[type, list[Any]] = {}
    for leaf in needed:
        groups.setdefault(type(leaf), []).append(leaf)
    out: dict[Leaf, Values | dict[tuple[str, str], Any]] = {}
    runners: dict[type, Callable[[Context, list[Any]], Mapping[Leaf, Any]]] = {
        Production: production, Active: active, People: people, Cohort: cohorts,
        Persistency: persistency, Meetings: meetings, ToolUse: tool_use, Plan: plans}
    for kind, group in groups.items():
        out.update(runners[kind](ctx, group))
    return out


def evaluate_leaves(ctx: Context, needed: list[Leaf]) -> dict[Leaf, dict[tuple[str, str], Any]]:
    """Every leaf in ``needed`` as ``{(unit, seg): Decimal}`` (a missing key: no value)."""
    return {leaf: v.to_dict() if isinstance(v, Values) else v
            for leaf, v in evaluate_values(ctx, needed).items()}


def expressions(ctx: Context, needed: list[Leaf]) -> list[ir.Table]:
    """The Ibis expressions ``evaluate_leaves(ctx, needed)`` would run, without running them.

    For portability checks (``ibis.to_sql(expr, dialect="pyspark")``) and plan inspection. The
    context is switched to collect mode for the call; base-measure values are not computed.
    """
    saved = ctx.collected
    ctx.collected = []
    try:
        evaluate_leaves(ctx, needed)
        return list(ctx.collected)
    finally:
        ctx.collected = saved


__all__ = ["evaluate_leaves", "evaluate_values", "expressions"]
