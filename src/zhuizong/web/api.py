"""REST API ``/api/v1``: a thin JSON adapter over the same services as the pages and the CLI.

Authentication is the session cookie from ``/login`` (401 without); state changes (POST) need the
session's CSRF token in ``X-CSRF-Token`` and a same-origin ``Origin``/``Referer`` (403 otherwise;
enforced by the app-wide ``csrf_guard``). ``GET /api/v1/me`` returns the token for API clients.

Every read goes through the services, hence through the one scope function: an id outside the
caller's scope answers 404, exactly like one that does not exist. Errors are JSON
``{"detail": en, "detail_zh": zh}``: 400 bad input (service validation), 401 no session, 403 role
not allowed or CSRF, 404 not found / out of scope, 422 malformed request (types, JSON body).

Every route declares a pydantic response model so ``/api/openapi.json`` describes the answers
precisely (schemathesis checks the responses against it).
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from zhuizong.access.actor import PERMISSIONS
from zhuizong.campaigns.service import list_campaigns, standings_json
from zhuizong.errors import NotFound, ZhuizongError
from zhuizong.importing.normalize import normalize_code
from zhuizong.kpi.engine import KpiRequest
from zhuizong.kpi.service import kpi_report, to_csv, write_xlsx
from zhuizong.services.activity import recent_activity
from zhuizong.services.directory import get_agent, list_agents, list_orgs
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.models import TRACK_LINKS, TRACK_METHODS, TRACK_OUTCOMES
from zhuizong.tracking.effectiveness import effectiveness
from zhuizong.tracking.service import ListQuery, RecordInput, close, list_items, record, show_item
from zhuizong.web.deps import Ctx, api_ctx
from zhuizong.web.pages import basiclaw as basiclaw_page
from zhuizong.web.pages import campaigns as campaigns_page

API = Annotated[Ctx, Depends(api_ctx)]


# --- errors ----------------------------------------------------------------------------------


class ErrorOut(BaseModel):
    """Every error answer: an English and a Chinese message (422 adds the field errors)."""

    detail: str = Field(description="English message")
    detail_zh: str = Field(description="中文说明")
    errors: list[dict[str, Any]] | None = Field(None, description="field errors (422 only)")


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "bad input 输入有误"},
    401: {"model": ErrorOut, "description": "login required 请先登录"},
    403: {"model": ErrorOut, "description": "not allowed, or CSRF check failed 无权限/CSRF"},
    404: {"model": ErrorOut, "description": "not found or outside your scope 不存在或无权查看"},
    422: {"model": ErrorOut, "description": "malformed request 请求格式错误"},
}


def _validation_message(errors: list[dict[str, Any]]) -> tuple[str, str]:
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path"))
        parts.append(f"{loc or 'request'}: {e.get('msg', 'invalid')}")
    en = "invalid request: " + "; ".join(parts)
    zh = "请求参数有误: " + "; ".join(parts)
    return zh, en


class ApiRoute(APIRoute):
    """Answers request validation errors as bilingual JSON (422) instead of FastAPI's default."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = jsonable_encoder(exc.errors(), custom_encoder={Exception: str})
                errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors]
                zh, en = _validation_message(errors)
                return JSONResponse({"detail": en, "detail_zh": zh, "errors": errors}, status_code=422)

        return route


router = APIRouter(prefix="/api/v1", route_class=ApiRoute, responses=ERRORS)


# --- models ----------------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MeOut(_Out):
    username: str
    display_name: str
    agent_code: str | None
    roles: list[str]
    permissions: list[str] = Field(description="actions this user may perform")
    lang: str
    csrf_token: str = Field(description="send as X-CSRF-Token on POST")


class OrgOut(_Out):
    org_code: str
    org_name: str
    parent_code: str | None
    level: str | None


class OrgsOut(_Out):
    org_units: list[OrgOut]


class AgentOut(_Out):
    agent_code: str
    agent_name: str
    org_code: str
    rank_code: str
    supervisor_code: str | None
    hire_date: dt.date
    leave_date: dt.date | None


class AgentsOut(_Out):
    agents: list[AgentOut]
    total: int = Field(description="matching agents before the limit")


class SpellOut(_Out):
    hire_date: dt.date
    leave_date: dt.date | None


class PlacementOut(_Out):
    valid_from: dt.date
    valid_to: dt.date | None
    rank_code: str
    org_code: str
    supervisor_code: str | None


class AgentDetailOut(_Out):
    agent: AgentOut
    spells: list[SpellOut]
    history: list[PlacementOut]


class AttendanceOut(_Out):
    date: dt.date
    meeting: str
    status: str


class WorkLogOut(_Out):
    date: dt.date
    calls: int | None
    visits: int | None
    interviews: int | None
    proposals: int | None
    closes: int | None
    referrals: int | None
    recruit_talks: int | None
    note: str | None


class PremiumOut(_Out):
    txn_id: str
    policy_no: str
    product_code: str
    txn_date: dt.date
    txn_type: str
    amount: float = Field(description="元")


class ActivityOut(_Out):
    agent: AgentOut
    on: dt.date
    days: int
    attendance: list[AttendanceOut]
    work_logs: list[WorkLogOut]
    production: dict[str, float | None] = Field(description="month-to-date fyp, fyc, cases")
    premiums: list[PremiumOut] = Field(description="this month's premiums up to the date")


class PeriodOut(_Out):
    label: str
    start: dt.date
    end: dt.date


class KpiRowOut(_Out):
    org_code: str
    org_name: str
    agent_code: str | None = Field(None, description="present only with by=agent")
    segment: str
    metric: str
    value: int | float | None = Field(description="base units (元, persons, a fraction for rates)")
    numerator: int | float | None
    denominator: int | float | None


class KpiOut(_Out):
    period: PeriodOut
    org_code: str
    settings: dict[str, Any]
    rows: list[KpiRowOut]


class ReasonOut(_Out):
    rule: str
    link: str
    message: str
    message_en: str
    facts: dict[str, Any]
    active: bool
    first_seen: dt.date
    last_seen: dt.date
    owner_role: str | None = Field(None, description="the role of the reason's link (issue 15)")
    owner_code: str | None = Field(None, description="the user who owns the reason's link")
    owner_name: str | None = None
    copied: list[str] = Field(default_factory=list, description="users copied (copy_roles)")
    copied_names: list[str] = Field(default_factory=list)


class RecordOut(_Out):
    id: int
    at: dt.datetime
    date: dt.date
    author: str
    author_name: str
    method: str
    outcome: str
    finding: str | None
    note: str | None
    next_date: dt.date | None
    corrects: int | None


class ItemOut(_Out):
    id: int
    date: dt.date = Field(description="opened on")
    last_seen: dt.date
    subject_type: Literal["agent", "org"]
    subject_code: str
    subject_name: str
    org_code: str | None
    link: str
    priority: int
    owner_role: str | None
    owner_code: str | None
    owner_name: str
    escalated_to: str | None
    escalation_level: int
    status: str
    due_date: dt.date
    overdue: bool
    closed_on: dt.date | None
    close_reason: str | None
    mine: bool
    tracked_by: str | None
    reasons: list[ReasonOut]
    # issue 15: the coordinated item (one per agent and day) and who owns what
    lead_owner: str | None = Field(None, description="the lead contact (the item's owner)")
    lead_name: str = ""
    lead_record: RecordOut | None = Field(None, description="the lead's last record")
    copied: list[str] = Field(default_factory=list, description="other owners and copied users")
    owns_reason: bool = Field(False, description="the caller owns at least one reason")
    my_reasons: list[str] = Field(default_factory=list, description="rules the caller owns")


class ItemsOut(_Out):
    items: list[ItemOut]


class EventOut(_Out):
    date: dt.date
    event: str
    actor: str | None
    detail: dict[str, Any] | None


class ItemDetailOut(ItemOut):
    records: list[RecordOut]
    events: list[EventOut]


class RecordIn(BaseModel):
    """A follow-up (跟进记录). ``resolved`` closes the item as done."""

    model_config = ConfigDict(extra="forbid")
    method: str = Field(json_schema_extra={"enum": list(TRACK_METHODS)},
                        description="phone 电话, wechat 微信, face_to_face 面谈, accompany 陪访, other")
    outcome: str = Field(json_schema_extra={"enum": list(TRACK_OUTCOMES)},
                         description="contacted, committed, resolved, no_answer, refused, other")
    finding: str | None = Field(None, max_length=2000)
    note: str | None = Field(None, max_length=2000)
    next_date: dt.date | None = Field(None, description="next follow-up, not before today")


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, description="why the item is closed")


class EffectRowOut(_Out):
    key: str
    name: str
    items: int
    recorded: int
    coverage: float | None
    timely: int
    timeliness: float | None
    resolved: int
    resolution: float | None
    tracked: int
    tracked_moved: int
    tracked_rate: float | None
    untracked: int
    untracked_moved: int
    untracked_rate: float | None
    lift_points: float | None


class RaiseStatsOut(_Out):
    raised: int
    answered: int
    open: int
    median_hours_to_answer: float | None


class RaisesOut(RaiseStatsOut):
    """Report up (上报, issue 15): raises made in the period on items in scope."""

    by_category: dict[str, RaiseStatsOut] = Field(default_factory=dict)


class EffectivenessOut(_Out):
    period: PeriodOut
    by: str
    window_days: int
    rows: list[EffectRowOut]
    total: EffectRowOut
    raises: RaisesOut | None = None


# --- helpers ---------------------------------------------------------------------------------


def _agent_out(a: Any) -> AgentOut:
    return AgentOut(**a.__dict__)


def _audit_export(ctx: Ctx, what: str, fmt: str, detail: dict[str, Any]) -> None:
    with atomic(ctx.ws.engine) as conn:
        audit.record(conn, actor=ctx.actor.username, action="export", object_type=what,
                     object_id=fmt, detail=detail)


def _filename(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(p for p in parts if p)).strip("._") or "export"


def _check_params(**values: Any) -> None:
    """Refuse query strings the services would not understand (bilingual 400)."""
    for name, v in values.items():
        if isinstance(v, str) and ("\x00" in v or len(v) > 200):
            raise ZhuizongError(f"参数 {name} 无效", f"invalid parameter {name}")


# --- routes: who am I, organisation ----------------------------------------------------------


@router.get("/me", response_model=MeOut, summary="The logged-in user 当前用户")
def me(ctx: API) -> MeOut:
    return MeOut(username=ctx.actor.username, display_name=ctx.display_name,
                 agent_code=ctx.actor.agent_code, roles=sorted(ctx.actor.roles),
                 permissions=sorted(a for a in PERMISSIONS if ctx.actor.can(a)), lang=ctx.lang,
                 csrf_token=ctx.session.csrf_token)


@router.get("/orgs", response_model=OrgsOut, summary="Org units in scope 机构")
def orgs(ctx: API) -> Response:
    with ctx.ws.engine.connect() as conn:
        rows = list_orgs(conn, ctx.actor)
    # a province's 5,000 units: written as they are read (the fields of OrgOut, strings from the
    # database), not validated one by one on the way out
    return JSONResponse({"org_units": [{"org_code": r.org_code, "org_name": r.org_name,
                                        "parent_code": r.parent_code, "level": r.level} for r in rows]})


@router.get("/agents", response_model=AgentsOut, summary="Agents in scope 人员")
def agents(ctx: API,
           org: Annotated[str | None, Query(max_length=64, description="agents placed in this org unit")] = None,
           q: Annotated[str | None, Query(max_length=64, description="code or name contains")] = None,
           limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> AgentsOut:
    _check_params(org=org, q=q)
    with ctx.ws.engine.connect() as conn:
        rows = list_agents(conn, ctx.actor, org_code=org or None)
    if q:
        needle = q.strip().casefold()
        rows = [r for r in rows if needle in r.agent_code.casefold() or needle in r.agent_name.casefold()]
    return AgentsOut(agents=[_agent_out(r) for r in rows[:limit]], total=len(rows))


@router.get("/agents/{code}", response_model=AgentDetailOut, summary="One agent with history 人员详情")
def agent(ctx: API, code: str) -> AgentDetailOut:
    _check_params(code=code)
    with ctx.ws.engine.connect() as conn:
        d = get_agent(conn, ctx.actor, code)
    return AgentDetailOut(
        agent=_agent_out(d.agent),
        spells=[SpellOut(hire_date=h, leave_date=lv) for h, lv in d.spells],
        history=[PlacementOut(valid_from=a, valid_to=b, rank_code=r, org_code=o, supervisor_code=s)
                 for a, b, r, o, s in d.history])


@router.get("/agents/{code}/activity", response_model=ActivityOut,
            summary="An agent's recent attendance, work logs and production 近期活动")
def agent_activity(ctx: API, code: str,
                   on: Annotated[dt.date | None, Query(description="as of this day (default today)")] = None,
                   days: Annotated[int, Query(ge=1, le=92)] = 14) -> ActivityOut:
    _check_params(code=code)
    day = on or dt.date.today()
    a = recent_activity(ctx.ws, ctx.actor, code, on=day, days=days)
    return ActivityOut(agent=_agent_out(a.agent.agent), on=day, days=days,
                       attendance=[AttendanceOut(**x) for x in a.attendance],
                       work_logs=[WorkLogOut(**x) for x in a.work_logs],
                       production=a.production,
                       premiums=[PremiumOut(**x) for x in a.premiums])


# --- routes: KPIs ----------------------------------------------------------------------------


def _kpi_request(period: str, org: str | None, by: str | None, segment: str, metrics: str | None,
                 as_of: dt.date | None) -> Any:
    _check_params(period=period, org=org, by=by, segment=segment, metrics=metrics)
    ms = tuple(m.strip() for m in metrics.split(",") if m.strip()) if metrics else None
    return KpiRequest(period=period.strip(), org=org or None, by=by or None, segment=segment,
                      metrics=ms or None, as_of=as_of)


class KpiQuery(BaseModel):
    period: str
    org: str | None = None
    by: str | None = None
    segment: str = "none"
    metrics: str | None = None
    as_of: dt.date | None = None


def kpi_query(
    period: Annotated[str, Query(min_length=1, max_length=40,
                                 description="2026-05, 2026Q2, 2026 or 2026-05-01..2026-05-20")],
    org: Annotated[str | None, Query(max_length=64, description="org unit (default: the root)")] = None,
    by: Annotated[str | None, Query(max_length=64, description="children | level:NAME | subtree | agent")] = None,
    segment: Annotated[str, Query(max_length=32, description="none | rank_category | rank | tenure")] = "none",
    metrics: Annotated[str | None, Query(max_length=1000, description="comma-separated metric codes")] = None,
    as_of: Annotated[dt.date | None, Query(description="to-date period ending on this day")] = None,
) -> KpiQuery:
    return KpiQuery(period=period, org=org, by=by, segment=segment, metrics=metrics, as_of=as_of)


KQ = Annotated[KpiQuery, Depends(kpi_query)]


def _default_org(ctx: Ctx) -> str | None:
    """Without ``org``: the top of what the user sees (the root for a user who sees everything).
    Several tops: a 400 naming only the user's own units; none (a scope of people only): the
    engine's default with out-of-scope codes kept out of its errors (:func:`_kpi`)."""
    if ctx.actor.is_system:
        return None
    with ctx.ws.engine.connect() as conn:
        rows = list_orgs(conn, ctx.actor)
    if not rows:
        return None
    visible = {r.org_code for r in rows}
    tops = sorted(r.org_code for r in rows if r.parent_code not in visible)
    if len(tops) == 1:
        return tops[0]
    shown = ", ".join(tops[:20]) + (" …" if len(tops) > 20 else "")
    raise ZhuizongError(f"您可查看多个机构, 请用 org 参数指定: {shown}",
                        f"you see several org units; give org: {shown}")


def _kpi(ctx: Ctx, q: KpiQuery) -> Any:
    org = normalize_code(q.org) if q.org else None
    if org:
        return kpi_report(ctx.ws, ctx.actor, _kpi_request(q.period, org, q.by, q.segment,
                                                          q.metrics, q.as_of))
    default = _default_org(ctx)
    try:
        return kpi_report(ctx.ws, ctx.actor, _kpi_request(q.period, default, q.by, q.segment,
                                                          q.metrics, q.as_of))
    except NotFound:
        if default is not None:
            raise
        # the engine's default unit is outside this user's scope: do not name it
        raise NotFound("您的范围内没有可查看的机构指标", "no org unit KPIs within your scope") from None
    except ZhuizongError as exc:
        if default is not None or ctx.actor.is_system or "root" not in exc.en:
            raise
        raise ZhuizongError("请用 org 参数指定机构", "give org (an org unit code)") from None


@router.get("/kpi", response_model=KpiOut, response_model_exclude_unset=True,
            summary="KPIs (same JSON as `zhuizong kpi --format json`) 指标")
def kpi(ctx: API, q: KQ) -> Response:
    # written as the CLI writes it (a province's children × every metric: 10,000 rows), not
    # validated row by row on the way out; tests check it against KpiOut
    return JSONResponse(_kpi(ctx, q).as_json())


def _export_detail(q: KpiQuery, result: Any) -> dict[str, Any]:
    return {"period": result.period.label, "org": result.org_code, "by": q.by, "segment": q.segment,
            "metrics": q.metrics, "as_of": q.as_of, "rows": len(result.rows)}


@router.get("/kpi.csv", response_class=Response, summary="KPIs as CSV (UTF-8 with BOM) 导出CSV",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "CSV, every text cell defused against formula injection"}})
def kpi_csv(ctx: API, q: KQ) -> Response:
    result = _kpi(ctx, q)
    body = ("\ufeff" + to_csv(result)).encode("utf-8")
    _audit_export(ctx, "kpi", "csv", _export_detail(q, result))
    name = _filename("kpi", result.org_code, result.period.label) + ".csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/kpi.xlsx", response_class=Response, summary="KPIs as Excel 导出Excel",
            responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
                             "description": "XLSX, every text cell defused against formula injection"}})
def kpi_xlsx(ctx: API, q: KQ) -> Response:
    result = _kpi(ctx, q)
    with tempfile.TemporaryDirectory(prefix="zz-export-") as tmp:
        path = Path(tmp) / "kpi.xlsx"
        write_xlsx(result, path)
        body = path.read_bytes()
    _audit_export(ctx, "kpi", "xlsx", _export_detail(q, result))
    name = _filename("kpi", result.org_code, result.period.label) + ".xlsx"
    return Response(body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- routes: tracking ------------------------------------------------------------------------

Status = Literal["open", "done", "escalated", "all"]
Link = Literal[TRACK_LINKS]  # type: ignore[valid-type]


@router.get("/tracking/items", response_model=ItemsOut, summary="Tracking items in scope 追踪清单")
def tracking_items(
    ctx: API,
    status: Status = "open",
    owner: Annotated[str | None, Query(max_length=64, description="owner code, username, or `me`")] = None,
    link: Annotated[Link | None, Query(description="tracking link 追踪环节")] = None,
    date: Annotated[dt.date | None, Query(description="items live on this day")] = None,
    subject: Annotated[str | None, Query(max_length=64, description="subject agent or org code")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> ItemsOut:
    _check_params(owner=owner, subject=subject)
    items = list_items(ctx.ws, ctx.actor, ListQuery(date=date, owner=owner or None, status=status,
                                                    link=link, subject=subject or None, limit=limit))
    return ItemsOut.model_validate({"items": items})


@router.get("/tracking/items/{item_id}", response_model=ItemDetailOut,
            summary="One tracking item with records and events 追踪事项")
def tracking_item(ctx: API, item_id: int) -> ItemDetailOut:
    return ItemDetailOut.model_validate(show_item(ctx.ws, ctx.actor, _item_id(item_id)))


def _item_id(item_id: int) -> int:
    if not 0 < item_id < 2**62:
        raise NotFound(f"找不到追踪事项 {item_id}", f"tracking item {item_id} not found")
    return item_id


@router.post("/tracking/items/{item_id}/records", response_model=ItemDetailOut, status_code=201,
             summary="Record a follow-up 记录跟进")
def tracking_record(ctx: API, item_id: int, body: Annotated[RecordIn, Body()]) -> ItemDetailOut:
    def clean(s: str | None) -> str | None:
        return (s or "").strip() or None

    out = record(ctx.ws, ctx.actor, _item_id(item_id), RecordInput(
        method=body.method, outcome=body.outcome, finding=clean(body.finding), note=clean(body.note),
        next_date=body.next_date))
    return ItemDetailOut.model_validate(out)


@router.post("/tracking/items/{item_id}/close", response_model=ItemDetailOut,
             summary="Close an item with a reason 关闭事项")
def tracking_close(ctx: API, item_id: int, body: Annotated[CloseIn, Body()]) -> ItemDetailOut:
    return ItemDetailOut.model_validate(close(ctx.ws, ctx.actor, _item_id(item_id), body.reason))


@router.get("/tracking/effectiveness", response_model=EffectivenessOut,
            summary="Does tracking work? coverage, timeliness, resolution, lift 追踪效果")
def tracking_effectiveness(
    ctx: API,
    period: Annotated[str, Query(min_length=1, max_length=40, description="2026-05, 2026Q2, 2026 …")],
    by: Literal["owner", "rule", "org", "link"] = "owner",
) -> EffectivenessOut:
    _check_params(period=period)
    return EffectivenessOut.model_validate(effectiveness(ctx.ws, ctx.actor, period.strip(), by))


# --- routes: basic law (基本法) and campaigns (方案) ---------------------------------------------


class CriterionOut(_Out):
    criterion: str = Field(description="label of the criterion")
    metric: str
    scope: str = Field(description="personal | line | recruits")
    mandatory: bool
    unit: str = Field(description="money (元) | count | rate (a fraction)")
    threshold_q: float | None = Field(None, description="threshold in Q units, when set in Q")
    met: bool
    actual: float | None
    threshold: float | None
    gap: float | None = Field(description="threshold − actual for an unmet criterion, else 0")
    projection: float | None = Field(description="projected to the end of an open window")
    projected_met: bool
    gap_zh: str | None = None
    gap_en: str | None = None


class WindowOut(_Out):
    start: dt.date
    end: dt.date


class AssessResultOut(_Out):
    agent_code: str
    agent_name: str
    org_code: str
    rank_code: str
    rule: str
    kind: Literal["convert", "promote", "maintain"]
    window: WindowOut
    as_of: dt.date
    status: Literal["final", "provisional"]
    outcome: str = Field(description="convert, promote, maintain, extra_period, demote, contract_end, "
                                     "not_met, on_track, at_risk, not_eligible")
    outcome_zh: str
    target_rank: str | None
    fail_streak: int
    met_count: int
    required_count: int
    passed: bool
    projected_passed: bool
    gap_zh: str
    gap_en: str
    criteria: list[CriterionOut]
    applied: bool
    applied_note: str | None
    shortfall: float | None = Field(description="Σ gap/threshold of the criteria still needed; 0 = passed")


class BasicLawResultsOut(_Out):
    period: str | None = Field(description="the period listed (default: the latest assessed); "
                                           "null when nothing was assessed yet")
    periods: list[str] = Field(description="assessed periods, latest first")
    results: list[AssessResultOut] = Field(description="one row per agent × rule, in scope")


@router.get("/basic-law/results", response_model=BasicLawResultsOut,
            summary="Basic-law assessment results in scope 基本法考核结果")
def basic_law_results(
    ctx: API,
    period: Annotated[str | None, Query(max_length=40, description="2026Q2, 2026-06 … (default: latest assessed)")] = None,
    outcome: Annotated[str | None, Query(max_length=200, description="an outcome or a comma list")] = None,
    org: Annotated[str | None, Query(max_length=64, description="only agents placed under this org unit")] = None,
    view: Annotated[Literal["all", "promotion", "risk"], Query(
        description="all; promotion = unmet promotion rules, closest first; risk = failed or "
                    "at-risk conversion/maintenance rules, most severe first")] = "all",
) -> BasicLawResultsOut:
    _check_params(period=period, outcome=outcome, org=org)
    label, periods = basiclaw_page.resolve_period(ctx, period)
    if label is None:
        return BasicLawResultsOut(period=None, periods=periods, results=[])
    rows, _options = basiclaw_page.load(ctx, label, (outcome or "").strip() or None, (org or "").strip() or None,
                               options=False)
    if view == "promotion":
        rows = basiclaw_page.promotion_list(rows)
    elif view == "risk":
        rows = basiclaw_page.risk_list(rows)
    return BasicLawResultsOut.model_validate({"period": label, "periods": periods, "results": rows})


class TierOut(_Out):
    name: str
    threshold: float


class CampaignItemOut(_Out):
    id: str
    name: str
    measure: str
    measure_zh: str
    start: dt.date
    end: dt.date
    grace_days: int
    phase: Literal["upcoming", "running", "grace", "closable", "closed"]
    phase_zh: str
    days_left: int
    close_from: dt.date
    closed_on: dt.date | None
    tiers: list[TierOut]


class CampaignsOut(_Out):
    campaigns: list[CampaignItemOut]


class TierDefOut(TierOut):
    reward: str
    honor: str


class CampaignDefOut(_Out):
    id: str
    name: str
    measure: str
    measure_zh: str
    unit: str
    start: dt.date
    end: dt.date
    grace_days: int
    visibility: Literal["scope", "campaign"]
    tiers: list[TierDefOut]
    tie_breakers: list[str]


class StandingRowOut(_Out):
    position: int = Field(description="campaign-wide position")
    agent_code: str
    agent_name: str | None
    org_code: str | None
    org_name: str | None
    value: float
    cases: int
    fyp: float
    fyc: float
    std_premium: float
    reached_on: dt.date | None
    tier_index: int = Field(description="index of the tier reached, −1 for none")
    tier: str | None
    next_tier: str | None
    gap: float | None = Field(description="to the next tier (none at the top tier)")
    gap_share: float | None
    projection: float | None
    projected_tier: str | None


class TeamRowOut(_Out):
    position: int
    org_code: str
    org_name: str | None
    level: str
    value: float
    members: int
    achievers: int
    cases: int
    value_per_member: float | None


class StandingsOut(_Out):
    campaign: CampaignDefOut
    as_of: dt.date
    frozen: bool
    elapsed_days: int
    total_days: int
    days_left: int
    eligible: int = Field(description="agents taking part in the whole campaign")
    visible: int = Field(description="rows in the caller's view (after the org filter)")
    rows: list[StandingRowOut]
    teams: dict[str, list[TeamRowOut]]


@router.get("/campaigns", response_model=CampaignsOut, summary="Campaigns visible to the caller 方案")
def campaigns(ctx: API,
              on: Annotated[dt.date | None, Query(description="phase on this day (default today)")] = None
              ) -> CampaignsOut:
    return CampaignsOut.model_validate({"campaigns": list_campaigns(ctx.ws, ctx.actor, on)})


@router.get("/campaigns/{campaign_id}/standings", response_model=StandingsOut,
            summary="A campaign's standings in the caller's view 方案排名")
def campaign_standings(
    ctx: API, campaign_id: str,
    as_of: Annotated[dt.date | None, Query(description="live campaigns: default today, capped at the end of the grace period")] = None,
    org: Annotated[str | None, Query(max_length=64, description="only agents placed under this org unit")] = None,
    team: Annotated[str | None, Query(max_length=64, description="add the team ranking of this org level (or `all`)")] = None,
    limit: Annotated[int | None, Query(ge=1, le=100000)] = None,
) -> StandingsOut:
    _check_params(campaign_id=campaign_id, org=org, team=team)
    st, _options = campaigns_page.scoped_standings(ctx, campaign_id, (org or "").strip() or None, as_of,
                                         (team or "").strip() or None)
    return StandingsOut.model_validate(standings_json(st, limit))
