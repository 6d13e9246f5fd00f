"""Campaign pages (竞赛/方案): the campaigns visible to the user, one campaign's standings and
honor roll (光荣榜), downloads.

Everything comes from :mod:`zhuizong.campaigns.service` (visibility and the scope of the rows are
decided there: a campaign the user may not see answers 404 like a missing one); this module groups
the list by phase, filters the standings by org unit, and builds the honor roll of an ended
campaign from the same standings (frozen once the campaign is closed). Defining and closing stay
CLI actions (``zhuizong campaign define/close``).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

import pandas as pd
from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from zhuizong.access.scope import request_scope_key
from zhuizong.campaigns import engine as ceng
from zhuizong.campaigns import honors
from zhuizong.campaigns import service as cs
from zhuizong.campaigns.config import MEASURES, TIE_BREAKERS
from zhuizong.common.cache import SharedViews
from zhuizong.errors import NotFound, ZhuizongError
from zhuizong.services.dashboard import picker_options
from zhuizong.services.directory import list_orgs
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.versions import imports_version
from zhuizong.web.deps import Ctx, page_ctx
from zhuizong.web.pages.basiclaw import _parents, under
from zhuizong.web.paging import pager

router = APIRouter(include_in_schema=False)
T = TypeVar("T")

#: phase (campaigns.service) → the group a user thinks in: upcoming, running, ended
GROUP = {"upcoming": "upcoming", "running": "running", "grace": "ended", "closable": "ended",
         "closed": "ended"}
PHASE_EN = {"upcoming": "Upcoming", "running": "Running", "grace": "Ended (free-look grace period)",
            "closable": "Ended (to be closed)", "closed": "Closed (final)"}
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "pdf": "application/pdf"}


def grouped(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"running": [], "upcoming": [], "ended": []}
    for x in items:
        out[GROUP[x["phase"]]].append(x)
    return out


def org_options(ctx: Ctx, rows: pd.DataFrame) -> list[tuple[str, str]]:
    """(code, name) of the units to filter by: the user's org scope and the rows' units."""
    with ctx.ws.engine.connect() as conn:
        names = {o.org_code: o.org_name for o in list_orgs(conn, ctx.actor)}
    pairs = rows[["org_code", "org_name"]].drop_duplicates("org_code")
    for code, name in zip(pairs.org_code, pairs.org_name, strict=True):
        if isinstance(code, str) and code not in names:
            names[code] = name if isinstance(name, str) else code
    return sorted(names.items())


#: org filter options per scope, campaign view (live or frozen, as-of day) and imports: the
#: options of a national campaign list 5,000 units
_OPTIONS = SharedViews("campaign_options", 128)


def _kept(ctx: Ctx, st: ceng.Standings, what: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` kept in :data:`_OPTIONS` per imports, scope and campaign view."""
    with ctx.ws.engine.connect() as conn:
        version, scope = imports_version(conn), request_scope_key(conn, ctx.actor)
    key = (what, st.campaign.id, st.frozen, st.window.as_of, len(st.rows), scope)
    return _OPTIONS.get(ctx.ws, version, key, compute)


def _kept_options(ctx: Ctx, st: ceng.Standings) -> list[tuple[str, str]]:
    return _kept(ctx, st, "options", lambda: org_options(ctx, st.rows))


def _picker(ctx: Ctx, st: ceng.Standings, options: list[tuple[str, str]],
            org: str | None) -> list[tuple[str, str]]:
    """The options the page's org filter offers (:func:`picker_options`), kept like them."""
    return _kept(ctx, st, ("picker", org), lambda: picker_options(options, _parents(ctx.ws), org))


def scoped_standings(ctx: Ctx, campaign_id: str, org: str | None, as_of: dt.date | None = None,
                     team: str | None = None) -> tuple[ceng.Standings, list[tuple[str, str]]]:
    """The standings within the user's view (404 outside it), optionally only under ``org``
    (individual rows; team rankings of level ``team`` stay those of the view)."""
    st = cs.standings(ctx.ws, ctx.actor, campaign_id, as_of, team)
    options = _kept_options(ctx, st)
    if org:
        if org not in dict(options):
            raise NotFound(f"找不到机构 {org}", f"org unit {org} not found")
        parents = _parents(ctx.ws)
        keep = [under(parents, c, org) for c in st.rows.org_code]
        st = ceng.Standings(st.campaign, st.window, st.rows[keep].reset_index(drop=True), st.teams,
                            st.frozen, st.eligible)
    return st, options


#: winners named per tier on screen (a national campaign's tier can hold thousands: the PDF and
#: Excel honor rolls name them all)
HONORS_SHOWN = 100


def honor_tiers(st: ceng.Standings) -> list[dict[str, Any]]:
    """Every tier, highest first, with its number of winners in the view and the first
    :data:`HONORS_SHOWN` of them (by position)."""
    w = cs.winners(st)
    out = []
    for i in range(len(st.campaign.tiers) - 1, -1, -1):
        t = st.campaign.tiers[i]
        got = w[w.tier_index == i]
        out.append({"name": t.name, "threshold": float(t.threshold), "reward": t.reward,
                    "honor": t.honor, "count": len(got),
                    "winners": ceng.as_records(got.head(HONORS_SHOWN))})
    return out


def _phase(ctx: Ctx, st: ceng.Standings) -> str:
    if st.frozen:
        return "closed"
    c, today = st.campaign, dt.date.today()
    return "upcoming" if today < c.start else "running" if today <= c.end else \
        "grace" if today < c.close_from else "closable"


def helpers(ctx: Ctx) -> dict[str, Any]:
    en = ctx.lang == "en"

    def measure(code: str) -> str:
        m = MEASURES[code]
        return m.en if en else m.zh

    def val(v: Any, code: str) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return "—"
        m = MEASURES[code]
        f = float(v)
        return f"{f:,.0f}" if m.money or f.is_integer() else f"{f:,.2f}"

    return {"measure": measure, "val": val,
            "unit": lambda code: "" if en and not MEASURES[code].money else MEASURES[code].unit_zh,
            "phase_label": lambda p: PHASE_EN[p] if en else cs.STATUS_ZH[p],
            "name_of": lambda c: (c.get("name_en") or c["name"]) if en else c["name"],
            "pct": lambda v: "—" if v is None or v != v else f"{float(v) * 100:.0f}%",
            "qs": lambda **kw: urlencode({k: v for k, v in kw.items() if v not in (None, "")}),
            "tie_text": lambda tb: TIE_BREAKERS[tb][1 if en else 0]}


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(ctx: Annotated[Ctx, Depends(page_ctx)]) -> Response:
    items = cs.list_campaigns(ctx.ws, ctx.actor)
    return ctx.render("campaigns/list.html", groups=grouped(items), total=len(items), **helpers(ctx))


def _as_of(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ZhuizongError(f"日期格式应为 YYYY-MM-DD: {text[:40]!r}",
                            f"the date must be YYYY-MM-DD: {text[:40]!r}") from None


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(ctx: Annotated[Ctx, Depends(page_ctx)], campaign_id: str, org: str | None = None,
                  as_of: str | None = None, page: int = 1) -> Response:
    org = (org or "").strip() or None
    st, options = scoped_standings(ctx, campaign_id, org, _as_of(as_of))
    phase = _phase(ctx, st)
    pg = pager(len(st.rows), page)
    rows = ceng.as_records(st.rows.iloc[pg.start:pg.end])
    c = st.campaign
    reached = st.rows.tier_index.to_numpy()
    tiers = [{"name": t.name, "threshold": float(t.threshold), "reward": t.reward, "honor": t.honor,
              "count": int((reached == i).sum())} for i, t in enumerate(c.tiers)]
    return ctx.render(
        "campaigns/detail.html", st=st, c=c, cj={"name": c.name, "name_en": c.name_en}, rows=rows,
        pg=pg, href=lambda n: f"/campaigns/{quote(campaign_id)}?" + urlencode(
            {k: v for k, v in (("org", org), ("as_of", as_of), ("page", n)) if v}),
        total=len(st.rows), tiers=tiers, phase=phase, group=GROUP[phase],
        honors=honor_tiers(st) if GROUP[phase] == "ended" else None,
        orgs=_picker(ctx, st, options, org), org=org,
        as_of=as_of, **helpers(ctx))


@router.get("/campaigns/{campaign_id}/download")
def campaign_download(ctx: Annotated[Ctx, Depends(page_ctx)], campaign_id: str,
                      what: str = "standings", format: str = "xlsx", org: str | None = None) -> Response:
    """Standings (xlsx, optionally under ``org``) or the honor roll (xlsx, or the printable PDF
    poster) of the whole view; audited. Every text cell of the workbooks goes through ``safe_cell`` (formula injection)."""
    if (what, format) not in (("standings", "xlsx"), ("honors", "xlsx"), ("honors", "pdf")):
        raise ZhuizongError("下载类型应为 standings (xlsx) 或 honors (xlsx/pdf)",
                            "download standings (xlsx) or honors (xlsx or pdf)")
    org = (org or "").strip() or None
    with tempfile.TemporaryDirectory(prefix="zz-campaign-") as tmp:
        out = Path(tmp) / f"{what}.{format}"
        if what == "standings":
            st, _options = scoped_standings(ctx, campaign_id, org)
            cs.write_xlsx(st, out)
            rows = len(st.rows)
        else:
            roll = honors.honor_roll(ctx.ws, ctx.actor, campaign_id,
                                     max_names=None if format == "xlsx" else honors.MAX_NAMES)
            (honors.write_xlsx if format == "xlsx" else honors.write_pdf)(roll, out)
            rows = sum(t.total for t in roll.tiers)
        data = out.read_bytes()
    with atomic(ctx.ws.engine) as conn:
        audit.record(conn, actor=ctx.actor.username, action="export", object_type="campaign",
                     object_id=campaign_id, detail={"what": what, "format": format, "org": org,
                                                    "rows": rows, "bytes": len(data)})
    name = f"{'方案排名' if what == 'standings' else '光荣榜'}_{campaign_id}.{format}"
    ascii_name = f"campaign_{what}_{campaign_id}.{format}"
    return Response(data, media_type=MEDIA[format], headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"})
