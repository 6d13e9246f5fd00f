"""Scoped KPI queries and their file formats (the entry point for the CLI, web and API)."""

from __future__ import annotations

import csv
import dataclasses
import io
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from zhuizong.access.actor import Actor
from zhuizong.access.scope import scope_for
from zhuizong.common.cache import per_request
from zhuizong.common.cells import safe_cell
from zhuizong.errors import NotFound, ZhuizongError
from zhuizong.kpi import results
from zhuizong.kpi.engine import COMBINED, KpiRequest, KpiResult
from zhuizong.kpi.registry import METRICS
from zhuizong.store.models import table
from zhuizong.workspace import Workspace


def kpi_report(ws: Workspace, actor: Actor, req: KpiRequest, *, engine: str = "duckdb",
               master: str | None = None) -> KpiResult:
    """KPIs for ``req`` (:func:`_kpi_report`). A combined segment such as ``all+rank_category``
    gives the rows of each part in one result, in the order named (``all`` = no split).
    ``engine``: ``spark`` computes the request live on Spark at ``master``
    (:func:`zhuizong.kpi.results.get`)."""
    if "+" not in req.segment or req.segment in COMBINED:
        return _kpi_report(ws, actor, req, engine, master)  # a total with one split: one call
    parts = [("none" if p.strip() == "all" else p.strip()) for p in req.segment.split("+")]
    if len(set(parts)) != len(parts) or not all(parts):
        raise ZhuizongError(f"无法识别的分组 {req.segment}",
                            f"unknown segment {req.segment}; combine with +, e.g. all+rank_category")
    pieces = [_kpi_report(ws, actor, dataclasses.replace(req, segment=p), engine, master)
              for p in parts]
    return KpiResult.concat(pieces)


def _kpi_report(ws: Workspace, actor: Actor, req: KpiRequest, engine_name: str = "duckdb",
                master: str | None = None) -> KpiResult:
    """KPIs for ``req``, refused (as not found) when the org unit is outside the actor's scope.

    Read from the results store (:mod:`zhuizong.kpi.results`) with the actor's scope applied in
    SQL when the store holds the request; else computed live by the engine and filtered here."""
    actor.require("view_agents")
    engine = ws.require_ready()
    if actor.is_system:
        return results.get(ws, req, engine=engine_name, master=master)
    with engine.connect() as conn:
        scope = scope_for(conn, actor)
        o = table("org_units")
        # the scope's units, once per web request (a page makes a dozen KPI reads)
        visible_orgs: frozenset[str] = per_request(
            ("visible_org_codes", ws.db_url, actor.username),
            lambda: frozenset(conn.execute(
                select(o.c.org_code).where(scope.org_filter(o.c.org_code))).scalars()))
        has_orgs = bool(visible_orgs)
        # rows of units: the scope's filter in the store's query; per-agent rows of a scope of
        # people are filtered by agent below
        result = results.get(ws, req, org_filter=scope.org_filter
                             if has_orgs and req.by != "agent" else None,
                             engine=engine_name, master=master)
        visible_agents: set[str] = set()
        if req.by == "agent" and not has_orgs:
            a = table("agents")
            qa = select(a.c.agent_code).where(scope.agent_filter(a.c.agent_code))
            listed = {c for c in result.columns()["agent_code"] if c is not None}
            if len(listed) <= 2000:  # which of the listed agents are visible
                qa = qa.where(a.c.agent_code.in_(sorted(listed)))
            visible_agents = set(conn.execute(qa).scalars())
    not_found = NotFound(f"找不到机构 {result.org_code}", f"org unit {result.org_code} not found")
    if req.by == "agent" and not has_orgs:
        # a scope of people only (a supervisor's reporting line, an agent's self) holds no org
        # unit: per-agent rows need only the agents, so such a user gets their own people's rows
        # under any unit holding some of them, and nothing else; a unit with none of them stays
        # "not found" (fail closed). A user with org grants asks within them, as for totals.
        result.keep("agent_code", visible_agents)
        if not len(result):
            raise not_found
        return result
    if result.org_code not in visible_orgs:
        raise not_found
    result.keep("org_code", visible_orgs)
    return result


def format_value(metric: str, value: Decimal | None) -> str:
    if value is None:
        return "—"
    unit = METRICS[metric].unit
    if unit == "rate":
        return f"{value * 100:,.2f}%"
    if unit == "yuan":
        return f"{value:,.2f}"
    if unit == "persons" or unit == "cases":
        return f"{value:,.1f}" if value != value.to_integral_value() else f"{int(value):,}"
    return f"{value:,.2f}"


COLUMNS = ["org_code", "org_name", "agent_code", "segment", "metric", "label", "value",
           "numerator", "denominator"]


def _records(result: KpiResult) -> list[list[object]]:
    return [[r.org_code, r.org_name, r.agent_code, r.segment, r.metric, METRICS[r.metric].zh,
             r.value, r.numerator, r.denominator] for r in result.rows]


def to_csv(result: KpiResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for rec in _records(result):
        w.writerow(["" if v is None else safe_cell(v) if isinstance(v, str) else v for v in rec])
    return buf.getvalue()


def write_xlsx(result: KpiResult, path: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    ws = wb.add_worksheet("KPI")
    bold = wb.add_format({"bold": True})
    ws.write_row(0, 0, COLUMNS, bold)
    for i, rec in enumerate(_records(result), start=1):
        for j, v in enumerate(rec):
            if v is None:
                continue
            if isinstance(v, Decimal):
                ws.write_number(i, j, float(v))
            else:
                ws.write_string(i, j, safe_cell(v))
    info = wb.add_worksheet("settings")
    info.write_row(0, 0, ["period", safe_cell(result.period.label), str(result.period.start),
                          str(result.period.end)])
    for i, (k, v) in enumerate(result.settings.items(), start=1):
        info.write_row(i, 0, [safe_cell(str(k)), safe_cell(str(v))])
    ws.freeze_panes(1, 0)
    wb.close()
