"""Scoped campaign services: define, list, standings, close (freeze) and the files out.

The CLI (``zhuizong campaign …``), the web app and the API call these functions; they hold every
rule. Reads go through the one scope function (:func:`zhuizong.access.scope.scope_for`):

* a campaign is *visible* to an actor whose scope holds at least one agent currently placed under
  the campaign's eligible org units (anywhere, when the campaign names none); otherwise it answers
  "not found", exactly like a campaign that does not exist;
* with ``visibility = "scope"`` (default) the standings show only the agents in the actor's scope,
  with their campaign-wide positions, and the teams that are in the actor's org scope or hold one
  of the actor's agents; with ``visibility = "campaign"`` (a public leaderboard) a visible campaign
  shows every row.

Closing is idempotent and protected by the row's state: ``UPDATE … SET status='closed' WHERE
status='open'`` in the same transaction as the result rows, so two concurrent closes write the
results once, and a closed campaign's standings are read back from ``campaign_results`` — later
imports cannot change them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, insert, select, update

from zhuizong.access.actor import Actor
from zhuizong.access.scope import Scope, _org_subtree, request_scope_key, scope_for
from zhuizong.analytics.calendar import Basis
from zhuizong.campaigns import engine
from zhuizong.campaigns.config import MEASURES, Campaign, from_json, load_file
from zhuizong.common.cache import LruCache, SharedViews
from zhuizong.common.cells import safe_cell
from zhuizong.errors import ConfigError, NotFound, ZhuizongError
from zhuizong.kpi import compiler
from zhuizong.kpi.results import data_version
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.models import table
from zhuizong.store.versions import imports_version
from zhuizong.workspace import Workspace

STATUS_ZH = {"upcoming": "未开始", "running": "进行中", "grace": "犹豫期观察中", "closable": "待结案",
             "closed": "已结案"}


def _basis(ws: Workspace) -> Basis:
    cal = ws.settings.calendar
    return Basis(cal.month_basis, cal.cutoff_day)


def _issued(ws: Workspace) -> bool:
    return ws.settings.kpi.premium_basis == "issued"


def _today() -> dt.date:
    return dt.date.today()


# --- define --------------------------------------------------------------------------------------


def _check_against_workspace(conn: Connection, c: Campaign, source: str) -> None:
    """Org units and ranks named in the eligibility exist (errors name file, campaign and key)."""
    o, r = table("org_units"), table("ranks")
    if c.eligibility.orgs:
        known: set[str] = set(conn.execute(
            select(o.c.org_code).where(o.c.org_code.in_(c.eligibility.orgs))).scalars())
        bad = [x for x in c.eligibility.orgs if x not in known]
        if bad:
            raise ConfigError(f"{source}: 方案 {c.id} 的 eligibility.orgs: 未知机构 {', '.join(bad)}",
                              f"{source}: campaign {c.id}, key eligibility.orgs: unknown org unit(s) "
                              f"{', '.join(bad)}")
    if c.eligibility.ranks:
        known = set(conn.execute(select(r.c.rank_code).where(r.c.rank_code.in_(c.eligibility.ranks)))
                    .scalars())
        bad = [x for x in c.eligibility.ranks if x not in known]
        if bad:
            raise ConfigError(f"{source}: 方案 {c.id} 的 eligibility.ranks: 未知职级 {', '.join(bad)}",
                              f"{source}: campaign {c.id}, key eligibility.ranks: unknown rank(s) "
                              f"{', '.join(bad)}")


def define(ws: Workspace, actor: Actor, campaigns: list[Campaign], source: str) -> list[dict[str, str]]:
    """Store validated definitions, all or nothing → [{"id", "status": created|updated|unchanged}].

    A closed campaign cannot be redefined (its results are frozen); defining the same definition
    again changes nothing."""
    actor.require("manage_campaigns")
    t = table("campaigns")
    out: list[dict[str, str]] = []
    now = audit.now()
    with atomic(ws.require_ready()) as conn:
        for c in campaigns:
            _check_against_workspace(conn, c, source)
            row = conn.execute(select(t).where(t.c.campaign_id == c.id)).mappings().first()
            sha = c.sha256()
            values = dict(name=c.name, measure=c.measure, start_date=c.start, end_date=c.end,
                          grace_days=c.grace_days, definition=json.dumps(c.canonical(), ensure_ascii=False),
                          definition_sha256=sha, source=source[:500], updated_at=now)
            if row is None:
                conn.execute(insert(t).values(campaign_id=c.id, status="open", created_at=now,
                                              created_by=actor.username, **values))
                status = "created"
            elif row["definition_sha256"] == sha:
                status = "unchanged"
            elif row["status"] == "closed":
                raise ZhuizongError(
                    f"方案 {c.id} 已于 {row['closed_on']} 结案, 定义不能再修改",
                    f"campaign {c.id} was closed on {row['closed_on']}; its definition can no longer change")
            else:
                conn.execute(update(t).where(t.c.campaign_id == c.id).values(**values))
                status = "updated"
            if status != "unchanged":
                audit.record(conn, actor=actor.username, action=f"campaign.{status[:-1]}",
                             object_type="campaign", object_id=c.id, detail={"source": source, "sha256": sha})
            out.append({"id": c.id, "status": status})
    return out


def define_file(ws: Workspace, actor: Actor, path: Path | str) -> list[dict[str, str]]:
    return define(ws, actor, load_file(path), str(path))


# --- read ----------------------------------------------------------------------------------------


@dataclass
class CampaignRow:
    campaign: Campaign
    status: str  # open | closed (stored)
    closed_on: dt.date | None
    results_as_of: dt.date | None
    source: str | None

    def phase(self, on: dt.date) -> str:
        c = self.campaign
        if self.status == "closed":
            return "closed"
        if on < c.start:
            return "upcoming"
        if on <= c.end:
            return "running"
        if on < c.close_from:
            return "grace"
        return "closable"


def _load(conn: Connection, campaign_id: str) -> CampaignRow | None:
    t = table("campaigns")
    row = conn.execute(select(t).where(t.c.campaign_id == campaign_id)).mappings().first()
    if row is None:
        return None
    return CampaignRow(from_json(row["definition"]), row["status"], row["closed_on"],
                       row["results_as_of"], row["source"])


_SCOPE_SETS = LruCache(32)


def _scope_agents(conn: Connection, scope: Scope) -> set[str]:
    a = table("agents")
    return set(conn.execute(select(a.c.agent_code).where(scope.agent_filter(a.c.agent_code))).scalars())


def _scope_orgs(conn: Connection, scope: Scope) -> set[str]:
    o = table("org_units")
    return set(conn.execute(select(o.c.org_code).where(scope.org_filter(o.c.org_code))).scalars())


def _is_visible(conn: Connection, actor: Actor, scope: Scope, c: Campaign) -> bool:
    if actor.is_system:
        return True
    a = table("agents")
    stmt = select(a.c.agent_code).where(scope.agent_filter(a.c.agent_code))
    if c.eligibility.orgs:
        units: list[str] = list(conn.execute(_org_subtree(list(c.eligibility.orgs))).scalars())
        stmt = stmt.where(a.c.org_code.in_(units))
    return conn.execute(stmt.limit(1)).first() is not None


def _visible_row(conn: Connection, actor: Actor, campaign_id: str) -> tuple[CampaignRow, Scope]:
    actor.require("view_campaigns")
    row = _load(conn, campaign_id)
    scope = scope_for(conn, actor)
    if row is None or not _is_visible(conn, actor, scope, row.campaign):
        raise NotFound(f"找不到方案 {campaign_id}", f"campaign {campaign_id} not found")
    return row, scope


def list_campaigns(ws: Workspace, actor: Actor, on: dt.date | None = None) -> list[dict[str, Any]]:
    """Campaigns visible to ``actor`` with their phase on ``on`` (default today)."""
    actor.require("view_campaigns")
    on = on or _today()
    t = table("campaigns")
    out = []
    with ws.require_ready().connect() as conn:
        scope = scope_for(conn, actor)
        rows: list[str] = list(conn.execute(
            select(t.c.campaign_id).order_by(t.c.start_date.desc(), t.c.campaign_id)).scalars())
        for cid in rows:
            r = _load(conn, cid)
            assert r is not None
            if not _is_visible(conn, actor, scope, r.campaign):
                continue
            c = r.campaign
            phase = r.phase(on)
            out.append({"id": c.id, "name": c.name, "measure": c.measure,
                        "measure_zh": MEASURES[c.measure].zh, "start": c.start.isoformat(),
                        "end": c.end.isoformat(), "grace_days": c.grace_days, "phase": phase,
                        "phase_zh": STATUS_ZH[phase],
                        "days_left": max(0, (c.end - on).days) if phase in ("upcoming", "running") else 0,
                        "close_from": c.close_from.isoformat(),
                        "closed_on": r.closed_on.isoformat() if r.closed_on else None,
                        "tiers": [{"name": x.name, "threshold": float(x.threshold)} for x in c.tiers]})
    return out


def get_definition(ws: Workspace, actor: Actor, campaign_id: str) -> CampaignRow:
    with ws.require_ready().connect() as conn:
        row, _scope = _visible_row(conn, actor, campaign_id)
    return row


def _names(conn: Connection) -> pd.DataFrame:
    """Every agent's name: plain driver tuples (no per-row ``Row`` objects; 50,000 names)."""
    a = table("agents")
    sql = str(select(a.c.agent_code, a.c.agent_name).compile(dialect=conn.dialect))
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql)
        rows = cur.fetchall()
    finally:
        cur.close()
    return pd.DataFrame(rows, columns=["agent_code", "agent_name"])


def _recruits(conn: Connection) -> pd.DataFrame:
    a = table("agents")
    res = conn.execute(select(a.c.agent_code, a.c.recruiter_code).where(a.c.recruiter_code.is_not(None)))
    return pd.DataFrame(res.all(), columns=["agent_code", "recruiter_code"])


def compute_live(ws: Workspace, c: Campaign, as_of: dt.date, conn: Connection,
                 snap: compiler.Snapshot | engine.Facts | None = None) -> engine.Standings:
    """Everyone's live standings (no scope) — used by standings, close and the tracking signals."""
    recruits = _recruits(conn) if c.measure == "new_recruits" else None

    def names_on_own_connection() -> pd.DataFrame:
        with ws.engine.connect() as own:
            return _names(own)

    # the names come from the system of record while DuckDB computes (two cores, both release
    # the GIL in their C code)
    with ThreadPoolExecutor(max_workers=1) as pool:
        names = pool.submit(names_on_own_connection)
        snap = snap or engine.Facts.open(ws)
        return engine.compute(snap, c, as_of, basis=_basis(ws), issued=_issued(ws),
                              names=names.result, recruits=recruits)


def _all_teams(st: engine.Standings, snap: engine.Facts) -> dict[str, pd.DataFrame]:
    return {lv: engine.rank_teams(st.rows, snap, lv) for lv in engine.team_levels(snap)}


def _frozen(conn: Connection, row: CampaignRow) -> engine.Standings:
    c = row.campaign
    r, tt = table("campaign_results"), table("campaign_team_results")
    res = conn.execute(select(r).where(r.c.campaign_id == c.id).order_by(r.c.position)).mappings().all()
    df = pd.DataFrame([dict(x) for x in res], columns=[col.name for col in r.columns])
    for col in ("value", "fyp", "fyc", "std_premium"):
        df[col] = df[col].astype(float)
    df["cases"] = df["cases"].astype("int64")
    df["position"] = df["position"].astype("int64")
    as_of = row.results_as_of or (c.end + dt.timedelta(days=c.grace_days))
    w = engine.Window.of(c, as_of)
    df = engine.add_tiers(c, w, df)
    o = table("org_units")
    org_names: dict[str, str] = dict(conn.execute(select(o.c.org_code, o.c.org_name)).all())
    df["org_name"] = df.org_code.map(org_names)
    teams_res = conn.execute(select(tt).where(tt.c.campaign_id == c.id)
                             .order_by(tt.c.level, tt.c.position)).mappings().all()
    tdf = pd.DataFrame([dict(x) for x in teams_res], columns=[col.name for col in tt.columns])
    teams: dict[str, pd.DataFrame] = {}
    for lv, g in tdf.groupby("level", sort=True):
        g = g.copy()
        g["value"] = g["value"].astype(float)
        g["value_per_member"] = np.round(g["value"] / g["members"].clip(lower=1), 2)
        teams[str(lv)] = g[engine.TEAM_COLUMNS].reset_index(drop=True)
    return engine.Standings(campaign=c, window=w, rows=df[engine.COLUMNS], teams=teams, frozen=True,
                            eligible=len(df))


def _apply_scope(conn: Connection, actor: Actor, scope: Scope, st: engine.Standings) -> engine.Standings:
    if actor.is_system or st.campaign.visibility == "campaign":
        return st
    # a branch scope's 100,000 agents: listed once per scope and imports
    key = (request_scope_key(conn, actor), imports_version(conn))
    agents = _SCOPE_SETS.get(("agents", *key), lambda: frozenset(_scope_agents(conn, scope)))
    orgs = _SCOPE_SETS.get(("orgs", *key), lambda: frozenset(_scope_orgs(conn, scope)))
    rows = st.rows[st.rows.agent_code.isin(agents)].reset_index(drop=True)
    teams = {}
    if st.teams:
        # the teams holding a visible agent: every ancestor of their units
        anc = _ancestors(conn, set(rows.org_code.dropna().unique()))
        for lv, tdf in st.teams.items():
            keep = tdf.org_code.isin(orgs) | tdf.org_code.isin(anc)
            teams[lv] = tdf[keep].reset_index(drop=True)
    return engine.Standings(st.campaign, st.window, rows, teams, st.frozen, st.eligible)


def _ancestors(conn: Connection, codes: set[str]) -> set[str]:
    o = table("org_units")
    parent: dict[str, str | None] = dict(conn.execute(select(o.c.org_code, o.c.parent_code)).all())
    out: set[str] = set()
    c: str | None
    for c in codes:  # walks the (small) org tree, not agents
        seen = 0
        while c is not None and c not in out and seen < 1000:
            out.add(c)
            c = parent.get(c)
            seen += 1
    return out


def standings(ws: Workspace, actor: Actor, campaign_id: str, as_of: dt.date | None = None,
              team: str | None = None) -> engine.Standings:
    """Ranks, tiers, gaps and pace within the actor's view; frozen results once closed.

    ``as_of`` (live campaigns): default today, capped at the end of the grace period. ``team``: an
    org level name (e.g. ``group``) to add that team ranking (``"all"``: every level)."""
    engine_ = ws.require_ready()
    with engine_.connect() as conn:
        row, scope = _visible_row(conn, actor, campaign_id)
        c = row.campaign
        if row.status == "closed":
            key, st = _frozen_kept(ws, conn, row)
            levels = sorted(st.teams)
            if team and team != "all" and team not in st.teams:
                raise ZhuizongError(f"未知层级 {team}; 可用: {', '.join(levels)}",
                                    f"unknown level {team}; known: {', '.join(levels)}")
            if team != "all":
                st.teams = {team: st.teams[team]} if team else {}
        else:
            cap = c.end + dt.timedelta(days=c.grace_days)
            as_of = min(as_of or _today(), cap)
            key, st = _live(ws, c, as_of, conn, team)
        if actor.is_system or c.visibility == "campaign":
            return st
        # the view of a scope, kept with the standings it filters (a branch: 50,000 rows)
        version, skey = key
        scoped = _SCOPED.get(ws, (version, imports_version(conn)),
                             (skey, team, request_scope_key(conn, actor)),
                             lambda: _apply_scope(conn, actor, scope, st))
        return dataclasses.replace(scoped, teams=dict(scoped.teams))  # callers may set .teams


#: everyone's live standings per (campaign definition, day, team levels, KPI settings, data
#: version): computing them reads the whole period's facts (seconds at provincial size); every
#: user's page is a scope filter of the same table. The data version is the analytic snapshot's
#: (any import changes it), so a kept table is never stale.
_LIVE = SharedViews("campaign_live", 16)
#: closed campaigns' frozen standings per campaign, closing and imports (:func:`_frozen_kept`)
_FROZEN = SharedViews("campaign_frozen", 16)
#: a scope's view of kept standings (:func:`_apply_scope`), per standings key, scope and imports
_SCOPED = SharedViews("campaign_scoped", 64)


def _live(ws: Workspace, c: Campaign, as_of: dt.date, conn: Connection,
          team: str | None) -> tuple[tuple[Hashable, Hashable], engine.Standings]:
    """((version, key) the standings are kept under, the standings)."""
    version = (json.dumps(ws.settings.kpi_settings_used(), sort_keys=True, default=str),
               data_version(ws))
    key = (json.dumps(campaign_json(c), sort_keys=True, default=str), as_of, team)

    def build() -> engine.Standings:
        snap = engine.Facts.open(ws)
        st = compute_live(ws, c, as_of, conn, snap)
        if team:
            levels = engine.team_levels(snap)
            wanted = levels if team == "all" else [team]
            if team != "all" and team not in levels:
                raise ZhuizongError(f"未知层级 {team}; 可用: {', '.join(levels)}",
                                    f"unknown level {team}; known: {', '.join(levels)}")
            st.teams = {lv: engine.rank_teams(st.rows, snap, lv) for lv in wanted}
        return st

    return (version, key), dataclasses.replace(_LIVE.get(ws, version, key, build))  # callers may set .teams


def _frozen_kept(ws: Workspace, conn: Connection, row: CampaignRow
                 ) -> tuple[tuple[Hashable, Hashable], engine.Standings]:
    """:func:`_frozen`, kept per campaign, closing and imports (the unit names come from the
    org units, which change through imports only)."""
    version = imports_version(conn)
    key = (row.campaign.id, row.closed_on, row.results_as_of,
           json.dumps(campaign_json(row.campaign), sort_keys=True, default=str))
    st = _FROZEN.get(ws, version, key, lambda: _frozen(conn, row))
    return (version, ("frozen", key)), dataclasses.replace(st, teams=dict(st.teams))  # callers may set .teams


# --- close ---------------------------------------------------------------------------------------


def _dec(v: float) -> Decimal:
    return Decimal(f"{v:.2f}")


def close(ws: Workspace, actor: Actor, campaign_id: str, on: dt.date | None = None
          ) -> tuple[bool, engine.Standings]:
    """Freeze the results (idempotent) → (changed, the frozen standings within the actor's view).

    Refused before the grace period is over (``on`` ≤ end + grace_days): late free-look
    cancellations could still change the results."""
    actor.require("manage_campaigns")
    on = on or _today()
    eng = ws.require_ready()
    with eng.connect() as conn:
        row, _scope = _visible_row(conn, actor, campaign_id)
        c = row.campaign
        if row.status != "closed":
            if on < c.close_from:
                last = c.end + dt.timedelta(days=c.grace_days)
                raise ZhuizongError(
                    f"方案 {c.id} 不能在 {on} 结案: 犹豫期撤单观察期到 {last} 为止 "
                    f"(结束 {c.end} + {c.grace_days} 天), 最早 {c.close_from} 可结案",
                    f"campaign {c.id} cannot be closed on {on}: late free-look cancellations count until "
                    f"{last} (end {c.end} + {c.grace_days} grace days); close on or after {c.close_from}")
            as_of = c.end + dt.timedelta(days=c.grace_days)
            snap = engine.Facts.open(ws)
            live = compute_live(ws, c, as_of, conn, snap)
            teams = _all_teams(live, snap)
    changed = False
    if row.status != "closed":
        t, r, tt = table("campaigns"), table("campaign_results"), table("campaign_team_results")
        with atomic(eng) as conn:
            n = conn.execute(update(t).where(t.c.campaign_id == c.id, t.c.status == "open").values(
                status="closed", closed_on=on, closed_at=audit.now(), closed_by=actor.username,
                results_as_of=as_of)).rowcount
            if n == 1:
                df = live.rows
                recs = [dict(campaign_id=c.id, agent_code=x.agent_code, position=int(x.position),
                             agent_name=x.agent_name or "", org_code=x.org_code, value=_dec(x.value),
                             cases=int(x.cases), fyp=_dec(x.fyp), fyc=_dec(x.fyc),
                             std_premium=_dec(x.std_premium), reached_on=x.reached_on,
                             tier_index=None if x.tier_index < 0 else int(x.tier_index),
                             tier_name=x.tier)
                        for x in df.itertuples(index=False)]
                for i in range(0, len(recs), 2000):
                    conn.execute(insert(r), recs[i:i + 2000])
                trecs = [dict(campaign_id=c.id, level=lv, org_code=x.org_code, position=int(x.position),
                              org_name=x.org_name or "", value=_dec(x.value), members=int(x.members),
                              achievers=int(x.achievers), cases=int(x.cases))
                         for lv, tdf in teams.items() for x in tdf.itertuples(index=False)]
                for i in range(0, len(trecs), 2000):
                    conn.execute(insert(tt), trecs[i:i + 2000])
                winners = int((df.tier_index >= 0).sum())
                audit.record(conn, actor=actor.username, action="campaign.close", object_type="campaign",
                             object_id=c.id, detail={"on": on.isoformat(), "results_as_of": as_of.isoformat(),
                                                     "eligible": len(df), "winners": winners})
                changed = True
    return changed, standings(ws, actor, campaign_id, team="all")


def winners(st: engine.Standings) -> pd.DataFrame:
    """Agents who reached a tier, highest tier first, then by position."""
    w = st.rows[st.rows.tier_index >= 0]
    return w.sort_values(["tier_index", "position"], ascending=[False, True]).reset_index(drop=True)


# --- output --------------------------------------------------------------------------------------


def campaign_json(c: Campaign) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "measure": c.measure, "measure_zh": MEASURES[c.measure].zh,
            "unit": MEASURES[c.measure].unit_zh, "start": c.start.isoformat(), "end": c.end.isoformat(),
            "grace_days": c.grace_days, "visibility": c.visibility,
            "tiers": [{"name": t.name, "threshold": float(t.threshold), "reward": t.reward,
                       "honor": t.honor} for t in c.tiers],
            "tie_breakers": ["value", *c.tie_breakers, "agent_code"]}


def standings_json(st: engine.Standings, limit: int | None = None) -> dict[str, Any]:
    w = st.window
    rows = st.rows if limit is None else st.rows.head(limit)
    return {
        "campaign": campaign_json(st.campaign),
        "as_of": w.as_of.isoformat(), "frozen": st.frozen,
        "elapsed_days": w.elapsed_days, "total_days": w.total_days, "days_left": w.days_left,
        "eligible": st.eligible, "visible": len(st.rows),
        "rows": engine.as_records(rows),
        "teams": {lv: engine.as_records(t) for lv, t in st.teams.items()},
    }


def write_xlsx(st: engine.Standings, path: Path) -> Path:
    """Standings (and team rankings) as XLSX; every text cell protected against formula injection."""
    import xlsxwriter

    c = st.campaign
    unit = MEASURES[c.measure].unit_zh
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    font = {"font_name": "等线", "font_size": 10}
    f_title = wb.add_format({**font, "bold": True, "font_size": 14})
    f_sub = wb.add_format({**font, "font_color": "#595959"})
    f_head = wb.add_format({**font, "bold": True, "bg_color": "#C00000", "font_color": "#FFFFFF",
                            "border": 1, "align": "center", "valign": "vcenter", "text_wrap": True})
    f_text = wb.add_format({**font, "border": 1})
    f_num = wb.add_format({**font, "border": 1, "num_format": "#,##0.00" if MEASURES[c.measure].money else "#,##0"})
    f_money = wb.add_format({**font, "border": 1, "num_format": "#,##0.00"})
    f_int = wb.add_format({**font, "border": 1, "num_format": "#,##0"})
    f_pct = wb.add_format({**font, "border": 1, "num_format": "0.0%"})

    def sheet(name: str, title: str, heads: list[str], rows: list[list[Any]], fmts: list[Any]) -> None:
        ws_ = wb.add_worksheet(name)
        ws_.write_string(0, 0, safe_cell(title), f_title)
        sub = (f"{c.start} 至 {c.end} · 犹豫期撤单观察 {c.grace_days} 天 · 截至 {st.window.as_of}"
               f"{' · 已结案 (冻结)' if st.frozen else ''}")
        ws_.write_string(1, 0, safe_cell(sub), f_sub)
        ws_.write_row(3, 0, heads, f_head)
        for i, r in enumerate(rows, start=4):
            for j, v in enumerate(r):
                if v is None or (isinstance(v, float) and v != v):
                    ws_.write_blank(i, j, None, fmts[j])
                elif isinstance(v, (int, float, np.integer, np.floating)):
                    ws_.write_number(i, j, float(v), fmts[j])
                else:
                    ws_.write_string(i, j, safe_cell(v), fmts[j])
        ws_.freeze_panes(4, 2)
        ws_.set_column(0, 0, 7)
        ws_.set_column(1, len(heads) - 1, 13)
        ws_.autofilter(3, 0, 3 + max(len(rows), 1), len(heads) - 1)

    heads = ["名次", "工号", "姓名", "机构代码", "机构", f"业绩 ({unit})", "件数", "FYP (元)", "达成日",
             "已达档位", "下一档", f"距下一档 ({unit})", "差距占比", f"预计 ({unit})", "预计档位"]
    fmts = [f_int, f_text, f_text, f_text, f_text, f_num, f_int, f_money, f_text, f_text, f_text,
            f_num, f_pct, f_num, f_text]
    rows = [[x.position, x.agent_code, x.agent_name, x.org_code, x.org_name, x.value, x.cases, x.fyp,
             x.reached_on.isoformat() if x.reached_on else None, x.tier, x.next_tier, x.gap,
             x.gap_share, x.projection, x.projected_tier] for x in st.rows.itertuples(index=False)]
    sheet("个人排名", f"{c.name} · 个人排名", heads, rows, fmts)
    for lv, tdf in st.teams.items():
        rows = [[x.position, x.org_code, x.org_name, x.value, x.members, x.achievers, x.cases,
                 x.value_per_member] for x in tdf.itertuples(index=False)]
        sheet(f"团队-{lv}"[:31], f"{c.name} · 团队排名 ({lv})",
              ["名次", "机构代码", "机构", f"业绩 ({unit})", "参与人数", "达档人数", "件数", f"人均 ({unit})"],
              rows, [f_int, f_text, f_text, f_num, f_int, f_int, f_int, f_num])
    info = wb.add_worksheet("方案定义")
    defs = [["方案代码 id", c.id], ["名称 name", c.name], ["指标 measure", MEASURES[c.measure].zh],
            ["期间 period", f"{c.start} .. {c.end}"], ["犹豫期撤单观察天数 grace days", str(c.grace_days)],
            ["排名规则 tie-breakers", " > ".join(["业绩", *c.tie_breakers, "工号"])]]
    defs += [[f"档位 {t.name}", f"≥ {t.threshold} {unit}; {t.reward} {t.honor}".strip()] for t in c.tiers]
    for i, (k, v) in enumerate(defs):
        info.write_string(i, 0, safe_cell(k), f_text)
        info.write_string(i, 1, safe_cell(v), f_text)
    info.set_column(0, 0, 28)
    info.set_column(1, 1, 60)
    wb.close()
    return path


__all__ = ["CampaignRow", "close", "compute_live", "define", "define_file", "get_definition",
           "list_campaigns", "standings", "standings_json", "winners", "write_xlsx"]
