"""Does tracking work? Coverage, timeliness, resolution and outcome lift of tracking items.

For the items opened in a period (within the actor's scope), grouped by owner, rule or org unit:

* **coverage 覆盖率** = items with at least one record / items;
* **timeliness 及时率** = items whose first record came within one day of opening / items;
* **resolution 解决率** = items that ended ``done`` (condition cleared or resolved) / items;
* **outcome lift 效果提升**: among agent items, *tracked* ones (a record within the window after
  opening) against *untracked* ones of the same rule (no record in the window): the share whose
  target KPI moved within ``tracking.lift_window_days`` (default 7) after opening, and the
  difference in points. "Moved" depends on the rule's ``target`` signal: production targets
  (FYP, cases, FYC) move when the agent writes net first-year premium in the window; attendance
  targets when the agent attends a morning meeting; work-log targets when a work log is filled.
  Both groups are measured from the opening date, so they share the same calendar.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
from sqlalchemy import and_, func, or_, select

from zhuizong.access.actor import Actor
from zhuizong.access.scope import scope_for
from zhuizong.analytics.calendar import Basis, day_num, parse_period
from zhuizong.common.cells import safe_cell
from zhuizong.errors import ZhuizongError
from zhuizong.kpi import compiler
from zhuizong.store.models import table
from zhuizong.tracking.raises import raise_stats
from zhuizong.tracking.rules import load_rules
from zhuizong.tracking.service import LINK_ZH, _names, _visible
from zhuizong.workspace import Workspace

BY = ("owner", "rule", "org", "link")
#: target signal -> kind of movement measured in the window
TARGET_KIND = {
    "mtd_fyp": "production", "mtd_cases": "production", "mtd_fyc": "production",
    "spell_fyc": "production", "prev_fyp": "production",
    "absent_streak": "attendance", "attendance_rate_mtd": "attendance", "meetings_mtd": "attendance",
    "worklog_days_mtd": "worklog", "worklog_yesterday": "worklog", "mtd_interviews": "worklog",
    "mtd_visits": "worklog", "mtd_closes": "worklog",
}
COLUMNS = ["key", "name", "items", "recorded", "coverage", "timely", "timeliness", "resolved",
           "resolution", "tracked", "tracked_moved", "tracked_rate", "untracked", "untracked_moved",
           "untracked_rate", "lift_points"]
LABELS_ZH = ["分组", "名称", "事项数", "有记录", "覆盖率", "及时", "及时率", "已解决", "解决率",
             "追踪人数", "追踪后改善", "追踪改善率", "未追踪人数", "未追踪改善", "未追踪改善率", "提升 (百分点)"]


@dataclass(frozen=True)
class EffectRow:
    key: str
    name: str
    items: int
    recorded: int
    timely: int
    resolved: int
    tracked: int
    tracked_moved: int
    untracked: int
    untracked_moved: int

    @staticmethod
    def _rate(n: int, d: int) -> float | None:
        return None if d == 0 else n / d

    def as_dict(self) -> dict[str, Any]:
        tr, ur = self._rate(self.tracked_moved, self.tracked), self._rate(self.untracked_moved, self.untracked)
        return {
            "key": self.key, "name": self.name, "items": self.items, "recorded": self.recorded,
            "coverage": self._rate(self.recorded, self.items), "timely": self.timely,
            "timeliness": self._rate(self.timely, self.items), "resolved": self.resolved,
            "resolution": self._rate(self.resolved, self.items), "tracked": self.tracked,
            "tracked_moved": self.tracked_moved, "tracked_rate": tr, "untracked": self.untracked,
            "untracked_moved": self.untracked_moved, "untracked_rate": ur,
            "lift_points": None if tr is None or ur is None else round((tr - ur) * 100, 4),
        }


def _moved(ws: Workspace, cases: pd.DataFrame) -> pd.Series:
    """For rows (agent_code, start_day, end_day, kind): did the target move in (start, end]?"""
    if cases.empty:
        return pd.Series([], dtype=bool)
    snap = compiler.Snapshot.open(ws)
    t = snap.t
    probe = ibis.memtable(cases[["row", "agent_code", "start_day", "end_day", "kind"]])
    hits: set[int] = set()
    sources = {
        "production": t["premiums"].filter(lambda p: (p.fyp_sign > 0) & p.txn_type.isin(["new", "fy_renewal"]))
        .select(agent_code="agent_code", day="txn_day"),
        "attendance": t["attendance"].filter(lambda a: (a.meeting == "morning") & a.attended)
        .select(agent_code="agent_code", day="day"),
        "worklog": t["work_logs"].select(agent_code="agent_code", day="day"),
    }
    for kind, src in sources.items():
        pk = probe.filter(probe.kind == kind)
        j = pk.join(src, pk.agent_code == src.agent_code).filter(
            lambda x: (x.day > x.start_day) & (x.day <= x.end_day))
        df = snap.con.execute(j.select("row").distinct())
        hits |= set(int(r) for r in df["row"])
    return cases["row"].isin(hits)


def effectiveness(ws: Workspace, actor: Actor, period: str, by: str = "owner") -> dict[str, Any]:
    actor.require("view_tracking")
    if by not in BY:
        raise ZhuizongError(f"无法识别的 --by {by}", f"unknown --by {by}; use {', '.join(BY)}")
    cal = ws.settings.calendar
    p = parse_period(period, Basis(cal.month_basis, cal.cutoff_day))
    window = ws.settings.tracking.lift_window_days
    engine = ws.require_ready()
    i, r, rec = table("track_items"), table("track_reasons"), table("track_records")
    with engine.connect() as conn:
        scope = scope_for(conn, actor)
        items = pd.DataFrame(conn.execute(
            select(i.c.id, i.c.subject_type, i.c.subject_code, i.c.org_code, i.c.opened_on,
                   i.c.owner_code, i.c.link, i.c.status)
            .where(i.c.opened_on >= p.start, i.c.opened_on <= p.end, _visible(scope))
        ).mappings().all(), columns=["id", "subject_type", "subject_code", "org_code", "opened_on",
                                     "owner_code", "link", "status"])
        ids = items["id"].tolist()
        reasons_rows: list[tuple[int, str]] = []
        first_rec: dict[int, Any] = {}  # item id → date of its first record
        for k in range(0, len(ids), 5000):
            chunk = ids[k:k + 5000]
            reasons_rows += conn.execute(
                select(r.c.item_id, r.c.rule).where(r.c.item_id.in_(chunk))).all()
            first_rec.update(conn.execute(select(rec.c.item_id, func.min(rec.c.on_date))
                                          .where(rec.c.item_id.in_(chunk)).group_by(rec.c.item_id)).all())
        names = _group_names(conn, by, items)
    rules = load_rules(ws).by_name()
    items["first_record"] = items["id"].map(first_rec)
    items["recorded"] = items.first_record.notna()
    items["timely"] = [fr is not None and not pd.isna(fr) and (fr - op).days <= 1
                       for fr, op in zip(items.first_record, items.opened_on, strict=True)]
    items["resolved"] = items.status == "done"
    items["tracked"] = [fr is not None and not pd.isna(fr) and (fr - op).days <= window
                        for fr, op in zip(items.first_record, items.opened_on, strict=True)]
    reasons = pd.DataFrame(reasons_rows, columns=["id", "rule"])
    # outcome per (item, rule) for agent items with a measurable target
    rr = reasons.merge(items, on="id")
    rr = rr[rr.subject_type == "agent"].copy()
    rr["kind"] = rr.rule.map(lambda n: TARGET_KIND.get(rules[n].target or "") if n in rules else None)
    rr = rr[rr.kind.notna()].reset_index(drop=True)
    rr["row"] = range(len(rr))
    rr["agent_code"] = rr.subject_code
    rr["start_day"] = rr.opened_on.map(day_num)
    rr["end_day"] = rr.start_day + window
    rr["moved"] = _moved(ws, rr).to_numpy() if len(rr) else []
    # an item counts as moved when any of its measurable reasons moved
    item_moved = rr.groupby("id").moved.any() if len(rr) else pd.Series(dtype=bool)

    def key_of(df: pd.DataFrame) -> pd.Series:
        if by == "owner":
            return df.owner_code.fillna("—")
        if by == "org":
            return df.org_code
        if by == "link":
            return df.link
        return df.rule

    groups: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    base = reasons.merge(items, on="id") if by == "rule" else items
    for key, g in base.groupby(key_of(base)):
        s = groups[str(key)]
        s["items"] = len(g)
        s["recorded"] = int(g.recorded.sum())
        s["timely"] = int(g.timely.sum())
        s["resolved"] = int(g.resolved.sum())
    if len(rr):
        if by == "rule":
            lift_base = rr[["id", "rule", "subject_code", "tracked", "moved"]]
        else:
            lift_base = items[items.id.isin(item_moved.index)].assign(
                moved=lambda d: d.id.map(item_moved).astype(bool))
        for key, g in lift_base.groupby(key_of(lift_base) if by != "rule" else lift_base.rule):
            s = groups[str(key)]
            tr, un = g[g.tracked], g[~g.tracked]
            s["tracked"], s["tracked_moved"] = len(tr), int(tr.moved.sum())
            s["untracked"], s["untracked_moved"] = len(un), int(un.moved.sum())
    rows = [EffectRow(k, names.get(k, ""), v["items"], v["recorded"], v["timely"], v["resolved"],
                      v["tracked"], v["tracked_moved"], v["untracked"], v["untracked_moved"])
            for k, v in sorted(groups.items())]
    tot = EffectRow("total", "合计", *(sum(getattr(x, f) for x in rows) for f in
                                       ("items", "recorded", "timely", "resolved", "tracked",
                                        "tracked_moved", "untracked", "untracked_moved")))
    if by == "rule":  # an item with two rules counts once in the total
        tot = EffectRow("total", "合计", len(items), int(items.recorded.sum()), int(items.timely.sum()),
                        int(items.resolved.sum()), tot.tracked, tot.tracked_moved, tot.untracked,
                        tot.untracked_moved)
    return {"period": {"label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat()},
            "by": by, "window_days": window,
            "rows": [x.as_dict() for x in rows], "total": tot.as_dict(),
            "raises": raise_stats(ws, actor, p.start, p.end)}


# --- care coverage (关怀覆盖率, issue 15 item 3) ---------------------------------------------------

COVERAGE_BY = ("owner", "org")
COVERAGE_WINDOWS = (7, 30)


def coverage(ws: Workspace, actor: Actor, d: dt.date, by: str = "owner") -> dict[str, Any]:
    """Share of the agents in force on ``d`` (within the actor's scope) contacted in the last 7 and
    30 days (``d`` included): a tracking record on an item about the agent, dated in the window,
    whose outcome is not "no answer" (the contact of the ``days_since_contact`` signal). Grouped by
    owner (the agent's direct supervisor on ``d``; "—" without one) or by org unit on ``d``."""
    actor.require("view_tracking")
    if by not in COVERAGE_BY:
        raise ZhuizongError(f"无法识别的 --by {by} (覆盖率可按 owner 或 org)",
                            f"unknown --by {by} for coverage; use {', '.join(COVERAGE_BY)}")
    engine = ws.require_ready()
    sp, h, rec, it = (table("employment_spells"), table("agent_history"), table("track_records"),
                      table("track_items"))
    widest = max(COVERAGE_WINDOWS)
    with engine.connect() as conn:
        scope = scope_for(conn, actor)
        force = conn.execute(
            select(h.c.agent_code, h.c.org_code, h.c.supervisor_code)
            .join(sp, sp.c.agent_code == h.c.agent_code)
            .where(h.c.valid_from <= d, or_(h.c.valid_to.is_(None), h.c.valid_to > d),
                   sp.c.hire_date <= d, or_(sp.c.leave_date.is_(None), sp.c.leave_date > d),
                   scope.agent_filter(h.c.agent_code))).all()
        last: dict[str, dt.date] = dict(conn.execute(
            select(it.c.subject_code, func.max(rec.c.on_date)).join(it, it.c.id == rec.c.item_id)
            .where(it.c.subject_type == "agent", rec.c.outcome != "no_answer", rec.c.on_date <= d,
                   rec.c.on_date > d - dt.timedelta(days=widest))
            .group_by(it.c.subject_code)).all())
        seen: dict[str, tuple[str, str]] = {}
        for a in force:  # one row per agent even if two spells overlap the day
            seen[a.agent_code] = (a.org_code, a.supervisor_code or "—")
        keys = {(org if by == "org" else sup) for org, sup in seen.values()}
        names = _names(conn, keys - {"—"})
    groups: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for code, (org, sup) in seen.items():
        g = groups[org if by == "org" else sup]
        g["agents"] += 1
        when = last.get(code)
        for n in COVERAGE_WINDOWS:
            if when is not None and when > d - dt.timedelta(days=n):
                g[f"contacted_{n}"] += 1

    def row(key: str, name: str, g: dict[str, int]) -> dict[str, Any]:
        out: dict[str, Any] = {"key": key, "name": name, "agents": g["agents"]}
        for n in COVERAGE_WINDOWS:
            out[f"contacted_{n}"] = g[f"contacted_{n}"]
            out[f"share_{n}"] = None if not g["agents"] else round(g[f"contacted_{n}"] / g["agents"], 4)
        return out

    total: dict[str, int] = defaultdict(int)
    for g in groups.values():
        for k, v in g.items():
            total[k] += v
    return {"date": d.isoformat(), "by": by, "windows": list(COVERAGE_WINDOWS),
            "rows": [row(k, names.get(k, "无主管" if k == "—" else ""), g) for k, g in sorted(groups.items())],
            "total": row("total", "合计", total)}


def coverage_card(ws: Workspace, actor: Actor, d: dt.date, org: str | None = None) -> dict[str, Any]:
    """The care coverage of one dashboard card: :func:`coverage`'s total for the actor's scope, or,
    with ``org``, for the agents of that unit's subtree within the scope (the sum of the ``--by
    org`` rows of the units below it). Keys: date, agents, contacted_N and share_N per window."""
    res = coverage(ws, actor, d, "org")
    if org is None:
        return {"date": res["date"], **{k: v for k, v in res["total"].items() if k not in ("key", "name")}}
    o = table("org_units")
    with ws.require_ready().connect() as conn:
        parent_of: dict[str, str | None] = dict(conn.execute(select(o.c.org_code, o.c.parent_code)).all())

    def under(code: str) -> bool:
        seen = 0
        cur: str | None = code
        while cur is not None and seen < 64:
            if cur == org:
                return True
            cur, seen = parent_of.get(cur), seen + 1
        return False

    rows = [r for r in res["rows"] if under(r["key"])]
    agents = sum(r["agents"] for r in rows)
    out: dict[str, Any] = {"date": res["date"], "agents": agents}
    for n in COVERAGE_WINDOWS:
        hit = sum(r[f"contacted_{n}"] for r in rows)
        out[f"contacted_{n}"] = hit
        out[f"share_{n}"] = None if not agents else round(hit / agents, 4)
    return out


def _group_names(conn: Any, by: str, items: pd.DataFrame) -> dict[str, str]:
    if by == "owner":
        a, u = table("agents"), table("users")
        codes = sorted(set(items.owner_code.dropna()))
        out = dict(conn.execute(select(a.c.agent_code, a.c.agent_name).where(a.c.agent_code.in_(codes))).all())
        out.update(conn.execute(select(u.c.username, u.c.display_name).where(u.c.username.in_(codes))).all())
        return out
    if by == "org":
        o = table("org_units")
        return dict(conn.execute(select(o.c.org_code, o.c.org_name).where(
            o.c.org_code.in_(sorted(set(items.org_code))))).all())
    if by == "link":
        return dict(LINK_ZH)
    return {}


def write_xlsx(result: dict[str, Any], path: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    ws = wb.add_worksheet("追踪效果")
    bold = wb.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    pct = wb.add_format({"num_format": "0.0%"})
    ws.write(0, 0, f"追踪效果 tracking effectiveness {result['period']['label']} (按 {result['by']}, "
                   f"观察窗口 {result['window_days']} 天)", bold)
    ws.write_row(1, 0, LABELS_ZH, bold)
    ws.write_row(2, 0, COLUMNS, bold)
    for n, row in enumerate([*result["rows"], result["total"]], start=3):
        for j, c in enumerate(COLUMNS):
            v = row[c]
            if v is None:
                continue
            if isinstance(v, str):
                ws.write_string(n, j, safe_cell(v))
            elif c in ("coverage", "timeliness", "resolution", "tracked_rate", "untracked_rate"):
                ws.write_number(n, j, v, pct)
            else:
                ws.write_number(n, j, v)
    rz = result.get("raises")
    if rz:
        n = len(result["rows"]) + 5
        ws.write_row(n, 0, ["上报", "已回复", "待回复", "回复用时中位数 (小时)"], bold)
        ws.write_row(n + 1, 0, [rz["raised"], rz["answered"], rz["open"]])
        if rz["median_hours_to_answer"] is not None:
            ws.write_number(n + 1, 3, rz["median_hours_to_answer"])
    ws.freeze_panes(3, 2)
    ws.set_column(0, 1, 16)
    ws.set_column(2, len(COLUMNS), 11)
    wb.close()


__all__ = ["BY", "COLUMNS", "COVERAGE_BY", "COVERAGE_WINDOWS", "EffectRow", "and_", "coverage",
           "coverage_card", "effectiveness", "write_xlsx"]
