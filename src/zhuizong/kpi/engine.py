"""Compute KPIs for a period, an org unit and a grain, exactly as kpi-spec.md defines them.

``compute`` refreshes the analytic snapshot if the system of record changed, compiles the base
measures the requested metrics need into grouped Ibis expressions over the snapshot
(:mod:`zhuizong.kpi.compiler`), runs them on DuckDB and divides numerators by denominators at the
final grain. Semantics where the spec leaves room are fixed in ``docs/kpi-engine.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ibis
import pandas as pd

from zhuizong.analytics.calendar import Basis, Period, parse_period
from zhuizong.errors import NotFound, ZhuizongError
from zhuizong.kpi import compiler
from zhuizong.kpi.ir import Difference, Leaf, Node, Ratio, leaves
from zhuizong.kpi.registry import METRICS
from zhuizong.workspace import Workspace

SEGMENTS = ("none", "rank_category", "rank", "tenure")
CATEGORIES = ("probationary", "formal", "director")


@dataclass(frozen=True)
class KpiRequest:
    period: str
    org: str | None = None
    by: str | None = None  # None | "children" | "level:NAME" | "subtree" | "agent"
    segment: str = "none"
    metrics: tuple[str, ...] | None = None
    as_of: dt.date | None = None


@dataclass
class KpiRow:
    org_code: str
    org_name: str
    agent_code: str | None
    segment: str
    metric: str
    value: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None


@dataclass
class KpiResult:
    period: Period
    settings: dict[str, Any]
    org_code: str = ""  # the org unit the request resolved to
    rows: list[KpiRow] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        def num(v: Decimal | None) -> float | int | None:
            if v is None:
                return None
            return int(v) if v == v.to_integral_value() else float(v)

        rows = []
        for r in self.rows:
            d: dict[str, Any] = {"org_code": r.org_code, "org_name": r.org_name}
            if r.agent_code is not None:
                d["agent_code"] = r.agent_code
            d.update(segment=r.segment, metric=r.metric, value=num(r.value),
                     numerator=num(r.numerator), denominator=num(r.denominator))
            rows.append(d)
        return {
            "period": {"label": self.period.label, "start": self.period.start.isoformat(),
                       "end": self.period.end.isoformat()},
            "org_code": self.org_code,
            "settings": self.settings,
            "rows": rows,
        }


def _basis(ws: Workspace) -> Basis:
    cal = ws.settings.calendar
    return Basis(cal.month_basis, cal.cutoff_day)


def _resolve_units(orgs: pd.DataFrame, anc: pd.DataFrame, org: str | None,
                   by: str | None) -> tuple[str, list[str]]:
    if org is None:
        roots = orgs.loc[orgs.parent_code.isna(), "org_code"].tolist()
        if len(roots) != 1:
            raise ZhuizongError(
                f"有多个根机构 ({', '.join(roots) or '无'}): 请用 --org 指定",
                f"there are {len(roots)} root org units ({', '.join(roots)}): give --org",
            )
        org = roots[0]
    if org not in set(orgs.org_code):
        raise NotFound(f"找不到机构 {org}", f"org unit {org} not found")
    if by is None or by == "agent":
        return org, [org]
    if by == "children":
        return org, sorted(orgs.loc[orgs.parent_code == org, "org_code"].tolist())
    if by == "subtree":  # the unit and every unit below it, in one pass
        return org, sorted(anc.loc[anc.ancestor_code == org, "org_code"].tolist())
    if by.startswith("level:"):
        level = by.split(":", 1)[1]
        subtree = set(anc.loc[anc.ancestor_code == org, "org_code"])
        units = orgs[(orgs.level == level) & orgs.org_code.isin(subtree)].org_code.tolist()
        if not units and level not in set(orgs.level.dropna()):
            raise ZhuizongError(
                f"未知层级 {level}; 可用: {', '.join(sorted(orgs.level.dropna().unique()))}",
                f"unknown level {level}; known: {', '.join(sorted(orgs.level.dropna().unique()))}",
            )
        return org, sorted(units)
    raise ZhuizongError(f"无法识别的 --by {by}", f"unknown --by {by}: use children, level:NAME, subtree, agent")


def _prepare(ws: Workspace, req: KpiRequest, snap: compiler.Snapshot | None = None
             ) -> tuple[compiler.Context, str, list[str], list[str], list[Leaf]]:
    """Validate ``req`` and build its compiler context → (ctx, org, units, codes, leaves)."""
    settings = ws.settings
    if req.segment not in SEGMENTS:
        raise ZhuizongError(f"无法识别的分组 {req.segment}",
                            f"unknown segment {req.segment}; use {', '.join(SEGMENTS)}")
    codes = list(req.metrics) if req.metrics else list(METRICS)
    unknown = [c for c in codes if c not in METRICS]
    if unknown:
        raise ZhuizongError(f"未知指标 {', '.join(unknown)}",
                            f"unknown metric(s) {', '.join(unknown)}; see `zhuizong kpi --list`")
    period = parse_period(req.period, _basis(ws), req.as_of)
    snap = snap or compiler.Snapshot.open(ws)
    orgs, anc = snap.orgs_df, snap.anc_df
    org, units = _resolve_units(orgs, anc, req.org, req.by)
    grain = compiler.Grain(units=units, agent_of=org if req.by == "agent" else None)
    ctx = compiler.Context(snap=snap, period=period, settings=settings, grain=grain,
                           segment=req.segment)
    needed: list[Leaf] = []
    for c in codes:
        for leaf in leaves(METRICS[c].node):
            if leaf not in needed:
                needed.append(leaf)
    return ctx, org, units, codes, needed


def expressions(ws: Workspace, req: KpiRequest) -> dict[str, list[ibis.expr.types.Table]]:
    """Per requested metric, the Ibis expressions :func:`compute` would run for it, built but not
    executed (e.g. to check they compile for another engine: ``ibis.to_sql(expr, dialect=...)``).

    One snapshot is opened for all metrics; a metric whose values are looked up rather than
    compiled (a plan) may have none of its own beyond its other leaves."""
    ctx, _org, _units, codes, _needed = _prepare(ws, req)
    return {c: compiler.expressions(ctx, leaves(METRICS[c].node)) for c in codes}


def compute(ws: Workspace, req: KpiRequest, snap: compiler.Snapshot | None = None) -> KpiResult:
    """KPIs for ``req``. ``snap``: an already opened snapshot, to share one between several
    requests of one job (it must be fresh: open it with ``Snapshot.open(ws)`` in the same job)."""
    ctx, org, units, codes, needed = _prepare(ws, req, snap)
    snap, period, settings = ctx.snap, ctx.period, ctx.settings
    orgs = snap.orgs_df
    base = compiler.evaluate_leaves(ctx, needed)

    # keys of the output: grain units × segment values
    if req.by == "agent":
        unit_keys = sorted({k[0] for vals in base.values() for k in vals})
    else:
        unit_keys = units
    if req.segment == "none":
        segs = ["all"]
    elif req.segment == "rank_category":
        segs = list(CATEGORIES)
    elif req.segment == "tenure":
        segs = list(compiler.TENURE_SEGMENTS)
    else:
        segs = sorted(snap.ranks_df.rank_code.tolist())
    names = dict(zip(orgs.org_code, orgs.org_name, strict=True))
    agent_org = snap.agent_org_at(period.end) if req.by == "agent" else {}
    result = KpiResult(period=period, settings=settings.kpi_settings_used(), org_code=org)
    for u in unit_keys:
        org_code = agent_org.get(u, org) if req.by == "agent" else u
        for s in segs:
            for c in codes:
                node = METRICS[c].node
                if isinstance(node, Ratio):
                    n = _eval(node.numerator, base, (u, s))
                    d = _eval(node.denominator, base, (u, s))
                    v = None if n is None or d is None or d == 0 else _clean(n / d)
                    result.rows.append(KpiRow(org_code, names.get(org_code, ""),
                                              u if req.by == "agent" else None, s, c, v, n, d))
                else:
                    v = _eval(node, base, (u, s))
                    result.rows.append(KpiRow(org_code, names.get(org_code, ""),
                                              u if req.by == "agent" else None, s, c, v, None, None))
    return result


def _clean(v: Decimal) -> Decimal:
    """A zero quotient as plain 0 (not 0E+28); other values unchanged."""
    return Decimal(0) if v == 0 else v


def _eval(node: Node, base: dict[Leaf, dict[tuple[str, str], Decimal | None]],
          key: tuple[str, str]) -> Decimal | None:
    if isinstance(node, Ratio):
        n, d = _eval(node.numerator, base, key), _eval(node.denominator, base, key)
        return None if n is None or d is None or d == 0 else n / d
    if isinstance(node, Difference):
        a, b = _eval(node.left, base, key), _eval(node.right, base, key)
        return None if a is None or b is None else a - b
    values = base[node]
    if compiler.is_nullable(node):
        return values.get(key)
    return values.get(key, Decimal(0))


__all__ = ["KpiRequest", "KpiResult", "KpiRow", "compute", "expressions", "ibis"]
