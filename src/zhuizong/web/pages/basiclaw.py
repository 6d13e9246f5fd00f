"""Basic law page (基本法考核): the stored assessment results of a period within the user's scope.

Results come from :func:`zhuizong.basiclaw.service.list_results` (the one scope function decides
who is listed); this module groups them per agent, filters by outcome and org unit, and builds the
two gap lists an agency manager works from: *closest to promotion* (unmet promotion rules, the
smallest :func:`~zhuizong.basiclaw.service.shortfall` first) and *demotion risk* (failed or at-risk
conversion/maintenance rules, the most severe outcome and the largest shortfall first). Running
and applying an assessment stay CLI actions (``zhuizong assess run/apply``); the xlsx download is
:func:`~zhuizong.basiclaw.service.write_xlsx` (every text cell through ``safe_cell``), audited.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from zhuizong.access.scope import request_scope_key
from zhuizong.basiclaw import service as bl
from zhuizong.basiclaw.config import METRICS
from zhuizong.basiclaw.engine import _num as engine_number
from zhuizong.basiclaw.income_service import rank_gains
from zhuizong.common.cache import LruCache, SharedViews
from zhuizong.errors import NotFound, ZhuizongError
from zhuizong.services.dashboard import picker_options
from zhuizong.services.directory import list_orgs
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.models import table
from zhuizong.store.versions import imports_version
from zhuizong.web.deps import Ctx, page_ctx
from zhuizong.web.paging import pager
from zhuizong.workspace import Workspace

router = APIRouter(include_in_schema=False)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
VIEWS = ("all", "promotion", "risk")
#: rows of each list shown on the page (the xlsx download has all)
MAX_ROWS = 500
KEEP_KINDS = ("convert", "maintain")
#: outcomes of a conversion/maintenance rule that put the rank at risk, most severe first
RISK_ORDER = ("contract_end", "demote", "extra_period", "at_risk")
OUTCOME_EN = {"convert": "Convert", "promote": "Promote", "maintain": "Maintain",
              "extra_period": "Extra period", "demote": "Demote", "contract_end": "Contract end",
              "not_met": "Not met", "on_track": "On track", "at_risk": "At risk",
              "not_eligible": "Not eligible"}
KIND_ZH = {"convert": "转正", "maintain": "维持", "promote": "晋升"}
KIND_EN = {"convert": "Conversion", "maintain": "Maintenance", "promote": "Promotion"}
#: badge colour per outcome (app.css .bl-*)
TONE = {"convert": "ok", "promote": "ok", "maintain": "ok", "on_track": "ok", "not_met": "muted",
        "not_eligible": "muted", "at_risk": "warn", "extra_period": "warn", "demote": "bad",
        "contract_end": "bad"}


@dataclass
class AgentResults:
    """One agent's results of the period: conversion/maintenance rules and promotion rules."""

    agent_code: str
    agent_name: str
    org_code: str
    rank_code: str
    keep: list[dict[str, Any]] = field(default_factory=list)
    promote: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [*self.keep, *self.promote]


#: the org tree per database and imports (org units change through imports only)
_TREES = LruCache(8)


def _parents(ws: Workspace) -> dict[str, str | None]:
    """The org tree (codes only) to test "under unit X"; rows are already scoped. Kept per
    imports (a province's tree is 5,000 rows); callers do not change it."""
    o = table("org_units")
    with ws.engine.connect() as conn:
        return _TREES.get((ws.db_url, imports_version(conn)), lambda: dict(  # type: ignore[arg-type]
            conn.execute(select(o.c.org_code, o.c.parent_code)).all()))


def under(parents: dict[str, str | None], code: str | None, root: str) -> bool:
    seen = 0
    while code is not None and seen < 100:
        if code == root:
            return True
        code = parents.get(code)
        seen += 1
    return False


def org_options(ws: Workspace, ctx_actor: Any, codes: set[str]) -> list[tuple[str, str]]:
    """(code, name) of the org units one may filter by: the units of the user's org scope, plus
    the units ``codes`` the listed agents are placed in (a supervisor's line has no org scope)."""
    with ws.engine.connect() as conn:
        visible = list_orgs(conn, ctx_actor)
        names = {o.org_code: o.org_name for o in visible}
        own = set(codes) - set(names)
        if own:
            o = table("org_units")
            names.update(dict(conn.execute(select(o.c.org_code, o.c.org_name)
                                           .where(o.c.org_code.in_(sorted(own)))).all()))
    return sorted(names.items())


def resolve_period(ctx: Ctx, period: str | None) -> tuple[str | None, list[str]]:
    """(period label or None when nothing was assessed yet, the assessed periods)."""
    periods = bl.assessed_periods(ctx.ws, ctx.actor)
    period = (period or "").strip() or None
    if period is None:
        return (periods[0] if periods else None), periods
    return bl._period_label(ctx.ws, period), periods  # bilingual error on a malformed period


def _org_allowed(ctx: Ctx, period: str, org: str) -> bool:
    """Whether ``org`` is one of the org filter options (:func:`org_options` of the period's
    results), without listing them: a unit of the org scope, or one holding a visible result."""
    with ctx.ws.engine.connect() as conn:
        if org in {o.org_code for o in list_orgs(conn, ctx.actor)}:
            return True
    return bool(bl.result_orgs(ctx.ws, ctx.actor, period, only=org))


def load(ctx: Ctx, period: str, outcome: str | None = None, org: str | None = None, *,
         options: bool = True) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The period's results in scope (each with its ``shortfall``), filtered by ``outcome`` and
    org unit ``org``; and (with ``options``) the org filter options. An org unit not among the
    options is 404."""
    if org:
        # only the results under ``org`` are read (by the database); the options are the
        # units of the user's org scope and those of all the period's results in scope
        if not options:
            if not _org_allowed(ctx, period, org):
                raise NotFound(f"找不到机构 {org}", f"org unit {org} not found")
            opts: list[tuple[str, str]] = []
        else:
            opts = org_options(ctx.ws, ctx.actor, bl.result_orgs(ctx.ws, ctx.actor, period))
            if org not in dict(opts):
                raise NotFound(f"找不到机构 {org}", f"org unit {org} not found")
        rows = bl.list_results(ctx.ws, ctx.actor, bl.ListQuery(period=period, under=org))
    else:
        rows = bl.list_results(ctx.ws, ctx.actor, bl.ListQuery(period=period))
        opts = org_options(ctx.ws, ctx.actor, {r["org_code"] for r in rows}) if options else []
    if outcome:
        wanted = set(bl._outcomes(outcome) or ())
        rows = [r for r in rows if r["outcome"] in wanted]
    for r in rows:
        r["shortfall"] = bl.shortfall(r)
    return rows, opts


def by_agent(rows: list[dict[str, Any]]) -> list[AgentResults]:
    out: dict[str, AgentResults] = {}
    for r in rows:
        a = out.get(r["agent_code"])
        if a is None:
            a = out[r["agent_code"]] = AgentResults(r["agent_code"], r["agent_name"], r["org_code"],
                                                    r["rank_code"])
        (a.promote if r["kind"] == "promote" else a.keep).append(r)
    return sorted(out.values(), key=lambda a: (a.org_code, a.agent_code))


def promotion_list(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unmet promotion rules of eligible agents, the closest first (smallest shortfall, then
    those on track at the current pace, then the agent code)."""
    cand = [r for r in rows if r["kind"] == "promote" and not r["passed"]
            and r["outcome"] != "not_eligible"]
    return sorted(cand, key=lambda r: (r["shortfall"] if r["shortfall"] is not None else 9.0,
                                       not r["projected_passed"], r["agent_code"], r["rule"]))


def risk_list(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Conversion/maintenance rules failed or at risk: the most severe outcome first, then the
    largest shortfall (furthest from keeping the rank), the longest failure streak, the code."""
    cand = [r for r in rows if r["kind"] in KEEP_KINDS and r["outcome"] in RISK_ORDER]
    return sorted(cand, key=lambda r: (RISK_ORDER.index(r["outcome"]),
                                       -(r["shortfall"] or 0.0), -r["fail_streak"],
                                       r["agent_code"], r["rule"]))


def outcome_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r["outcome"]] = out.get(r["outcome"], 0) + 1
    return {o: out[o] for o in bl.OUTCOMES if o in out}


def _num(v: float | None, unit: str) -> str:
    """A criterion's number as the engine writes it in its gap text (one rounding rule: the
    差距 column and "差 678.60 元" agree)."""
    return "—" if v is None else engine_number(v, unit)


def helpers(ctx: Ctx) -> dict[str, Any]:
    en = ctx.lang == "en"

    def crit_label(c: dict[str, Any]) -> str:
        m = METRICS.get(c["metric"])
        return m.en if (en and m is not None) else c["criterion"]

    return {
        "outcome_label": lambda o: OUTCOME_EN.get(o, o) if en else bl.OUTCOME_ZH.get(o, o),
        "kind_label": lambda k: (KIND_EN if en else KIND_ZH).get(k, k),
        "tone": lambda o: TONE.get(o, "muted"),
        "crit_label": crit_label,
        "cnum": lambda c, k: _num(c.get(k), c.get("unit", "money")),
        "gap_text": lambda r: r["gap_en"] if en else r["gap_zh"],
        "share": lambda v: "—" if v is None else f"{v * 100:.1f}%",
    }


def _qs(**kw: Any) -> str:
    from urllib.parse import urlencode

    return urlencode({k: v for k, v in kw.items() if v is not None and v != ""})


@router.get("/basic-law", response_class=HTMLResponse)
def basic_law_page(ctx: Annotated[Ctx, Depends(page_ctx)], period: str | None = None,
                   outcome: str | None = None, org: str | None = None,
                   view: str = "all", page: int = 1) -> Response:
    ctx.actor.require("view_assessment")
    view = view if view in VIEWS else "all"
    outcome = (outcome or "").strip() or None
    org = (org or "").strip() or None
    label, periods = resolve_period(ctx, period)
    common = {"periods": periods, "period": label, "outcome": outcome, "org": org, "view": view,
              "outcomes": bl.OUTCOMES, "qs": _qs, **helpers(ctx)}
    if label is None:
        return ctx.render("basiclaw/index.html", rows=None, **common)
    summary = dict(page_summary(ctx, label, outcome, org))
    # the view's list (its first MAX_ROWS kept) in pages of PAGE_ROWS
    key = "agents" if view == "all" else view
    pg = pager(len(summary[key]), page)
    summary[key] = summary[key][pg.start:pg.end]
    return ctx.render("basiclaw/index.html", **summary, max_rows=MAX_ROWS, pg=pg,
                      href=lambda n: "/basic-law?" + _qs(period=label, outcome=outcome, org=org,
                                                         view=view, page=n), **common)


#: page summaries per (scope, period, filters, data version): a province's 80,000 results take
#: seconds to load, decode and sort; the summary is what the page shows of them
_SUMMARIES = SharedViews("basic_law", 64)


def _version(ctx: Ctx, label: str) -> tuple[Any, ...]:
    """Changes whenever the page's data may: an import (agents, org units, rank events of an
    applied assessment), an assessment run, an application of the period's results (each sets
    ``applied_at`` to its own later time: the latest is one index seek)."""
    runs, res = table("assess_runs"), table("assess_results")
    with ctx.ws.engine.connect() as conn:
        return (imports_version(conn),
                *conn.execute(select(func.max(runs.c.id), func.count())).one(),
                conn.execute(select(func.max(res.c.applied_at))
                             .where(res.c.period == label)).scalar())


def page_summary(ctx: Ctx, label: str, outcome: str | None, org: str | None) -> dict[str, Any]:
    """What the page shows of the period's results in scope: the first :data:`MAX_ROWS` of each
    list (a province's 80,000 results would be an 80 MB page), the counts over all rows (the
    xlsx download has them all), the org filter options. Kept per scope, filters and data
    version (:data:`_SUMMARIES`)."""
    def build() -> dict[str, Any]:
        rows, options = load(ctx, label, outcome, org)
        window = None
        if rows:
            starts = sorted({(r["window"]["start"], r["window"]["end"]) for r in rows})
            window = (starts[0][0], max(e for _s, e in starts))
        status = {r["status"] for r in rows}
        agents, promotion, risk = by_agent(rows), promotion_list(rows), risk_list(rows)
        # 晋升后每月多 X 元: the gain of the next rank (benefit rules, issue 17), for the list shown
        shown = {r["agent_code"] for r in promotion[:MAX_ROWS]}
        as_of = max((r["as_of"] for r in rows), default=None)
        if shown and as_of is not None:
            gains = rank_gains(ctx.ws, ctx.actor, dt.date.fromisoformat(as_of), shown)
            gain = {a: float(g) for a, g in zip(gains.agent_code, gains.gain, strict=True)}
            promotion = [{**r, "gain": gain.get(r["agent_code"])} for r in promotion]
        return {"rows": bool(rows), "agents": agents[:MAX_ROWS],
                "promotion": promotion[:MAX_ROWS], "risk": risk[:MAX_ROWS],
                "totals": {"all": len(agents), "promotion": len(promotion), "risk": len(risk)},
                "counts": outcome_counts(rows),
                "orgs": picker_options(options, _parents(ctx.ws), org), "window": window,
                "provisional": "provisional" in status,
                "as_of": max((r["as_of"] for r in rows), default=None)}

    with ctx.ws.engine.connect() as conn:
        scope = request_scope_key(conn, ctx.actor)
    return _SUMMARIES.get(ctx.ws, _version(ctx, label), (scope, label, outcome, org), build)


@router.get("/basic-law/download")
def basic_law_download(ctx: Annotated[Ctx, Depends(page_ctx)], period: str | None = None,
                       outcome: str | None = None, org: str | None = None) -> Response:
    """The listed results as xlsx (:func:`zhuizong.basiclaw.service.write_xlsx`), audited."""
    ctx.actor.require("view_assessment")
    label, _periods = resolve_period(ctx, period)
    if label is None:
        raise ZhuizongError("还没有考核结果", "no assessment results yet")
    rows, _options = load(ctx, label, (outcome or "").strip() or None, (org or "").strip() or None,
                         options=False)
    with tempfile.TemporaryDirectory(prefix="zz-assess-") as tmp:
        out = Path(tmp) / "assessment.xlsx"
        bl.write_xlsx(rows, out)
        data = out.read_bytes()
    with atomic(ctx.ws.engine) as conn:
        audit.record(conn, actor=ctx.actor.username, action="export", object_type="assessment",
                     object_id=label, detail={"format": "xlsx", "period": label, "outcome": outcome,
                                              "org": org, "rows": len(rows), "bytes": len(data)})
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in label)
    name, ascii_name = f"基本法考核_{safe}.xlsx", f"assessment_{safe}.xlsx"
    return Response(data, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"})
