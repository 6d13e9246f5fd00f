"""Compute KPIs for a period, an org unit and a grain, exactly as kpi-spec.md defines them.

``compute`` refreshes the analytic snapshot if the system of record changed, compiles the base
measures the requested metrics need into grouped Ibis expressions over the snapshot
(:mod:`zhuizong.kpi.compiler`), runs them on DuckDB and divides numerators by denominators at the
final grain. Semantics where the spec leaves room are fixed in ``docs/kpi-engine.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ibis
import numpy as np
import pandas as pd

from zhuizong.analytics.calendar import Basis, Period, parse_period
from zhuizong.errors import NotFound, ZhuizongError
from zhuizong.kpi import compiler, evaluate, runners
from zhuizong.kpi.ir import Leaf, leaves
from zhuizong.kpi.registry import METRICS
from zhuizong.workspace import Workspace

SEGMENTS = ("none", "rank_category", "rank", "tenure")
#: a split together with its totals in one computation: ``all+rank_category`` gives the rows of
#: ``none`` (segment ``all``) and of ``rank_category`` from the same queries
COMBINED = tuple(f"all+{s}" for s in SEGMENTS[1:])


def split_segment(segment: str) -> tuple[str, bool]:
    """``segment`` → (the split the compiler groups by, whether the totals come too)."""
    if segment in COMBINED:
        return segment.removeprefix("all+"), True
    return segment, False
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


#: the columns of :meth:`KpiResult.frame`, in :class:`KpiRow` field order
COLUMNS = ("org_code", "org_name", "agent_code", "segment", "metric", "value", "numerator",
           "denominator")


class KpiResult:
    """The rows of a KPI request, held column-wise.

    ``frame()`` is the table (one row per output key × metric, the columns of :class:`KpiRow`,
    numbers as ``Decimal`` or None); ``rows`` is the same as a list of :class:`KpiRow`, built from
    the table the first time it is asked for (a whole-tree report has hundreds of thousands of
    rows: callers that only store or filter it use the table). Assigning ``rows`` replaces the
    content (the table follows)."""

    def __init__(self, period: Period, settings: dict[str, Any], org_code: str = "",
                 rows: list[KpiRow] | None = None, *, table: dict[str, Any] | None = None) -> None:
        self.period = period
        self.settings = settings
        self.org_code = org_code  # the org unit the request resolved to
        #: by-agent results just computed: per row, whether the agent has a value of one of the
        #: metric's base measures (:func:`compute`); None otherwise
        self.agent_present: np.ndarray | None = None
        self._rows: list[KpiRow] | None = None
        self._table: dict[str, Any] | None = None
        if table is not None:
            self._table = {c: table[c] for c in COLUMNS}
        else:
            self._rows = list(rows or [])

    @property
    def rows(self) -> list[KpiRow]:
        if self._rows is None:
            t = self._table or {c: [] for c in COLUMNS}
            self._rows = list(map(KpiRow, *(t[c] for c in COLUMNS)))
            self._table = None  # the list is the content from now on (callers may change it)
        return self._rows

    @rows.setter
    def rows(self, rows: list[KpiRow]) -> None:
        self._rows = list(rows)
        self._table = None

    def keep(self, column: str, allowed: Any) -> None:
        """Keep only the rows whose ``column`` value is in ``allowed`` (column-wise when the
        rows have not been built: a whole-company by-agent result stays a table)."""
        if self._rows is not None:
            self._rows = [r for r in self._rows if getattr(r, column) in allowed]
            return
        if self._table is None:
            return
        mask = [v in allowed for v in self._table[column]]
        if all(mask):
            return
        import itertools

        self._table = {c: list(itertools.compress(v, mask)) for c, v in self._table.items()}

    def __len__(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        return len(self._table["metric"]) if self._table else 0

    def columns(self) -> dict[str, list[Any]]:
        """The table as plain columns (lists, or NumPy object arrays), :data:`COLUMNS` order."""
        if self._rows is not None:
            rows = self._rows
            return {c: [getattr(r, c) for r in rows] for c in COLUMNS}
        assert self._table is not None
        return dict(self._table)

    @classmethod
    def concat(cls, pieces: list[KpiResult]) -> KpiResult:
        """The rows of ``pieces`` one after the other, as one result (period of the first)."""
        cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
        for piece in pieces:
            for c, v in piece.columns().items():
                cols[c].extend(v)
        first = pieces[0]
        return cls(first.period, first.settings, first.org_code, table=cols)

    def split_totals(self) -> tuple[KpiResult, KpiResult]:
        """A combined result (segment ``all+…``) as (its ``all`` rows, its split's rows), each
        in the order a request for that segment alone gives."""
        cols = self.columns()
        is_all = np.array([s == "all" for s in cols["segment"]], dtype=bool)
        parts = []
        for mask in (is_all, ~is_all):
            table = {c: np.asarray(cols[c], dtype=object)[mask] for c in COLUMNS}
            parts.append(KpiResult(self.period, self.settings, self.org_code, table=table))
        return parts[0], parts[1]

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame (object columns; numbers are ``Decimal`` or None)."""
        cols = self.columns()
        return pd.DataFrame({c: pd.Series(cols[c], dtype=object) for c in COLUMNS})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KpiResult):
            return NotImplemented
        return ((self.period, self.settings, self.org_code) ==
                (other.period, other.settings, other.org_code) and self.rows == other.rows)

    def __repr__(self) -> str:
        return (f"KpiResult(period={self.period!r}, org_code={self.org_code!r}, "
                f"rows={len(self)})")

    def as_json(self) -> dict[str, Any]:
        def num(v: Decimal | None) -> float | int | None:
            if v is None:
                return None
            return int(v) if v == v.to_integral_value() else float(v)

        rows = []
        c = self.columns()
        for org_code, org_name, agent_code, segment, metric, value, numerator, denominator in zip(
                *(c[k] for k in COLUMNS), strict=True):
            d: dict[str, Any] = {"org_code": org_code, "org_name": org_name}
            if agent_code is not None:
                d["agent_code"] = agent_code
            d.update(segment=segment, metric=metric, value=num(value),
                     numerator=num(numerator), denominator=num(denominator))
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


def resolve_units(orgs: pd.DataFrame, anc: pd.DataFrame, org: str | None,
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
    if req.segment not in SEGMENTS + COMBINED or (req.segment in COMBINED and req.by == "agent"):
        raise ZhuizongError(f"无法识别的分组 {req.segment}",
                            f"unknown segment {req.segment}; use {', '.join(SEGMENTS)}")
    segment, with_all = split_segment(req.segment)
    codes = list(req.metrics) if req.metrics else list(METRICS)
    unknown = [c for c in codes if c not in METRICS]
    if unknown:
        raise ZhuizongError(f"未知指标 {', '.join(unknown)}",
                            f"unknown metric(s) {', '.join(unknown)}; see `zhuizong kpi --list`")
    period = parse_period(req.period, _basis(ws), req.as_of)
    snap = snap or compiler.Snapshot.open(ws)
    orgs, anc = snap.orgs_df, snap.anc_df
    org, units = resolve_units(orgs, anc, req.org, req.by)
    grain = compiler.Grain(units=units, agent_of=org if req.by == "agent" else None)
    ctx = compiler.Context(snap=snap, period=period, settings=settings, grain=grain,
                           segment=segment, with_all=with_all)
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
    return {c: runners.expressions(ctx, leaves(METRICS[c].node)) for c in codes}


def compute(ws: Workspace, req: KpiRequest, snap: compiler.Snapshot | None = None) -> KpiResult:
    """KPIs for ``req``. ``snap``: an already opened snapshot, to share one between several
    requests of one job (it must be fresh: open it with ``Snapshot.open(ws)`` in the same job)."""
    ctx, org, units, codes, needed = _prepare(ws, req, snap)
    snap, period, settings = ctx.snap, ctx.period, ctx.settings
    orgs = snap.orgs_df
    base = runners.evaluate_values(ctx, needed)

    # keys of the output: grain units × segment values
    if req.by == "agent":
        agents: set[Any] = set()
        for vals in base.values():
            if isinstance(vals, compiler.Values):
                agents.update(u for u, v in zip(vals.unit, vals.values, strict=True)
                              if v is not None)
            else:
                agents.update(k[0] for k in vals)
        unit_keys = sorted(agents)
    else:
        unit_keys = units
    segs = (["all"] if ctx.with_all else []) + segment_values(
        ctx.segment, lambda: snap.ranks_df.rank_code.tolist())
    names = dict(zip(orgs.org_code, orgs.org_name, strict=True))
    agent_org = snap.agent_org_at(period.end, unit_keys) if req.by == "agent" else {}

    # every leaf as one column over the keys (unit-major, segment-minor), then every metric's
    # value / numerator / denominator column-wise, exactly as the evaluator does per key
    n_units, n_segs, n_codes = len(unit_keys), len(segs), len(codes)
    n_keys = n_units * n_segs
    cols = _align(base, unit_keys, segs)
    value = np.empty((n_keys, n_codes), dtype=object)
    numer = np.full((n_keys, n_codes), None, dtype=object)
    denom = np.full((n_keys, n_codes), None, dtype=object)
    for i, c in enumerate(codes):
        v, n, d = evaluate.metric_columns(METRICS[c].node, cols, n_keys)
        value[:, i] = v
        if n is not None:
            numer[:, i], denom[:, i] = n, d
    if req.by == "agent":
        org_of = [agent_org.get(u, org) for u in unit_keys]
    else:
        org_of = list(unit_keys)
    per_unit = n_segs * n_codes
    org_col = np.repeat(np.array(org_of, dtype=object), per_unit)
    name_col = np.repeat(np.array([names.get(o, "") for o in org_of], dtype=object), per_unit)
    if req.by == "agent":
        agent_col = np.repeat(np.array(unit_keys, dtype=object), per_unit)
    else:
        agent_col = np.full(n_keys * n_codes, None, dtype=object)
    seg_col = np.tile(np.repeat(np.array(segs, dtype=object), n_codes), n_units)
    metric_col = np.tile(np.array(codes, dtype=object), n_keys)
    table = {"org_code": org_col, "org_name": name_col, "agent_code": agent_col,
             "segment": seg_col, "metric": metric_col, "value": value.ravel(),
             "numerator": numer.ravel(), "denominator": denom.ravel()}
    result = KpiResult(period=period, settings=settings.kpi_settings_used(), org_code=org,
                       table=table)
    if req.by == "agent":
        # per row: whether the agent has a value of one of the metric's base measures (not just
        # the default 0). A request for fewer metrics lists the agents present in one of them:
        # what lets a unit's by-agent rows be read from a whole-company result (materialized)
        leaf_agents: dict[Leaf, set[Any]] = {}
        for leaf, vals in base.items():
            if isinstance(vals, compiler.Values):
                leaf_agents[leaf] = {u for u, v in zip(vals.unit, vals.values, strict=True)
                                     if v is not None}
            else:
                leaf_agents[leaf] = {k[0] for k in vals}
        present = np.zeros((n_units, n_codes), dtype=bool)
        for i, c in enumerate(codes):
            who = set().union(*(leaf_agents.get(lf, set()) for lf in leaves(METRICS[c].node)))
            present[:, i] = [u in who for u in unit_keys]
        result.agent_present = np.repeat(present, n_segs, axis=0).ravel()
    return result


def segment_values(segment: str, rank_codes: Callable[[], Iterable[str]]) -> list[str]:
    """The segment values of a split, in the order rows are given (the store reads them in this
    order too). ``rank_codes``: the ranks' codes, asked for only for the ``rank`` split."""
    if segment == "none":
        return ["all"]
    if segment == "rank_category":
        return list(CATEGORIES)
    if segment == "tenure":
        return list(compiler.TENURE_SEGMENTS)
    return sorted(rank_codes())


def _align(base: dict[Leaf, Any], unit_keys: list[str], segs: list[str]) -> dict[Leaf, np.ndarray]:
    """Each leaf's values as one object column over the keys (unit i, segment j) → i·S + j:
    a missing key is ``Decimal(0)``, or None for a nullable leaf (:func:`evaluate.default`)."""
    n_segs = len(segs)
    n_keys = len(unit_keys) * n_segs
    unit_pos = {u: i for i, u in enumerate(unit_keys)}
    seg_pos = {s: j for j, s in enumerate(segs)}
    positions: dict[tuple[int, int], np.ndarray] = {}  # leaves of one query share their keys
    keep: list[compiler.Values] = []
    out: dict[Leaf, np.ndarray] = {}
    for leaf, vals in base.items():
        if not isinstance(vals, compiler.Values):
            vals = compiler.Values.from_dict(vals)
            keep.append(vals)  # alive until the end: its lists' ids key ``positions``
        col = np.full(n_keys, None if compiler.is_nullable(leaf) else Decimal(0), dtype=object)
        if vals.values:
            ident = (id(vals.unit), id(vals.seg))
            if ident not in positions:
                positions[ident] = np.array(
                    [-1 if (i := unit_pos.get(u)) is None or (j := seg_pos.get(s)) is None
                     else i * n_segs + j for u, s in zip(vals.unit, vals.seg, strict=True)],
                    dtype=np.int64)
            pos = positions[ident]
            v = np.empty(len(vals.values), dtype=object)
            v[:] = vals.values
            ok = pos >= 0
            if not compiler.is_nullable(leaf):  # a null value reads as the default, like a gap
                ok &= evaluate.not_none(v)
            col[pos[ok]] = v[ok]
        out[leaf] = col
    return out


__all__ = ["COMBINED", "KpiRequest", "KpiResult", "KpiRow", "compute", "expressions", "ibis"]
