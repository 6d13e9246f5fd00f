"""Scoped services of the benefit side: run (store, freeze) and list income items; the gain of
the next rank for the pages.

* ``run_income``: users who may run assessments (``admin``, ``assessment``) evaluate the rule
  file's benefits for a period and store every item (tables ``income_runs``, ``income_items``).
  A period whose benefit windows all ended before the as-of date is **closed**: its first run
  freezes the items, later runs return them unchanged unless an admin asks to ``recompute``
  (audited ``income_recompute``). Open periods are recomputed at every run (provisional items).
  Other users who may view assessments read the stored items (nothing is computed for them).
* ``list_income``: the stored items of a period within the actor's scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, delete, func, insert, select

from zhuizong.access.actor import Actor
from zhuizong.access.scope import scope_for
from zhuizong.analytics.calendar import parse_period
from zhuizong.basiclaw import config, engine, income
from zhuizong.basiclaw.service import load_law, rules_path
from zhuizong.common.cells import safe_cell
from zhuizong.errors import NotFound, ZhuizongError
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

ITEM_ZH = {k: zh for k, (zh, _en) in config.BENEFIT_KINDS.items()}


@dataclass
class IncomeRun:
    run_id: int | None
    period: str
    as_of: dt.date
    closed: bool
    frozen: bool  # the stored items were returned, nothing was computed
    rules_name: str
    rules_changed: bool = False
    items: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "period": self.period, "as_of": self.as_of.isoformat(),
                "closed": self.closed, "frozen": self.frozen, "rules": self.rules_name,
                "rules_changed": self.rules_changed, "items": self.items}


def _label(ws: Workspace, period: str) -> str:
    return parse_period(period, engine.basis(ws)).label


def closed(law: config.BasicLaw, ws: Workspace, period: str, as_of: dt.date) -> bool:
    per = parse_period(period, engine.basis(ws))
    return all(engine.window_for(b, per).end < as_of for b in law.benefits.values())


def _latest_run(conn: Connection, label: str, *, closed_only: bool) -> Any:
    runs = table("income_runs")
    q = select(runs).where(runs.c.period == label)
    if closed_only:
        q = q.where(runs.c.closed.is_(True))
    return conn.execute(q.order_by(runs.c.id.desc()).limit(1)).first()


def _n_items(conn: Connection, label: str) -> int:
    it = table("income_items")
    return int(conn.execute(select(func.count()).select_from(it).where(
        it.c.period == label)).scalar_one())


def run_income(ws: Workspace, actor: Actor, period: str, *, as_of: dt.date | None = None,
               rules: Path | str | None = None, recompute: bool = False) -> IncomeRun:
    """Evaluate and store (or return the stored items of) ``period``; see the module doc."""
    actor.require("view_assessment")
    if recompute:
        actor.require("recompute_assessment")
    as_of = as_of or dt.date.today()
    label = _label(ws, period)
    eng = ws.require_ready()
    if not actor.can("run_assessment"):
        with eng.connect() as conn:
            run = _latest_run(conn, label, closed_only=False)
            if run is None:
                raise NotFound(f"{label} 的收入明细尚未计算 (请考核人员运行 zhuizong assess income)",
                               f"the income items of {label} have not been computed yet (ask "
                               "assessment staff to run zhuizong assess income)")
            return IncomeRun(run.id, label, run.as_of, run.closed, True, run.rules_name,
                             items=_n_items(conn, label))
    law = load_law(ws, rules)
    if not law.benefits:
        raise ZhuizongError(f"{law.source} 没有利益规则 ([benefits.*]; 见 docs/basic-law.md)",
                            f"{law.source} has no benefit rules ([benefits.*]; see "
                            "docs/basic-law.md)")
    is_closed = closed(law, ws, label, as_of)
    if is_closed and not recompute:
        with eng.connect() as conn:
            run = _latest_run(conn, label, closed_only=True)
            if run is not None:
                return IncomeRun(run.id, label, run.as_of, True, True, run.rules_name,
                                 run.rules_sha256 != law.sha256, _n_items(conn, label))
    items = income.evaluate_income(ws, law, label, as_of)
    runs, it = table("income_runs"), table("income_items")
    with atomic(eng) as conn:
        if is_closed and not recompute:
            run = _latest_run(conn, label, closed_only=True)  # a concurrent run froze it first
            if run is not None:
                return IncomeRun(run.id, label, run.as_of, True, True, run.rules_name,
                                 run.rules_sha256 != law.sha256, _n_items(conn, label))
        pk = conn.execute(insert(runs).values(
            period=label, as_of=as_of, closed=is_closed, rules_name=law.name[:200],
            rules_sha256=law.sha256, actor=actor.username, recompute=recompute,
            created_at=audit.now())).inserted_primary_key
        assert pk is not None
        run_id = int(pk[0])
        conn.execute(delete(it).where(it.c.period == label))
        rows = [_db_row(r, label, run_id) for r in items.to_dict("records")]
        for i in range(0, len(rows), 20_000):
            conn.execute(insert(it), rows[i:i + 20_000])
        audit.record(conn, actor=actor.username,
                     action="income_recompute" if recompute else "income_run",
                     object_type="income", object_id=label,
                     detail={"run_id": run_id, "as_of": as_of, "closed": is_closed,
                             "rules_sha256": law.sha256, "items": len(rows)})
    return IncomeRun(run_id, label, as_of, is_closed, False, law.name, False, len(rows))


def _text(v: Any) -> str | None:
    return None if v is None or (isinstance(v, float) and v != v) else str(v)


def _db_row(r: dict[str, Any], label: str, run_id: int) -> dict[str, Any]:
    out = {k: r[k] for k in income.ITEM_COLUMNS}
    for k in ("basis", "basis_to_date", "rate", "amount", "amount_to_date", "next_amount",
              "next_gap"):
        out[k] = _text(r[k])
    out.update(period=label, run_id=run_id)
    return out


def _num(v: str | None) -> float | int | None:
    """Exact decimal text as a JSON number (money to the fen, rates as written)."""
    if v is None:
        return None
    d = Decimal(v)
    return int(d) if d == d.to_integral_value() and abs(d) < 10 ** 15 else float(d)


def list_income(ws: Workspace, actor: Actor, period: str, *, agent: str | None = None,
                item: str | None = None) -> list[dict[str, Any]]:
    """Stored items of ``period`` within the actor's scope."""
    actor.require("view_assessment")
    label = _label(ws, period)
    it, agents = table("income_items"), table("agents")
    with ws.require_ready().connect() as conn:
        scope = scope_for(conn, actor)
        stmt = (select(it, agents.c.agent_name).join(agents, agents.c.agent_code == it.c.agent_code)
                .where(it.c.period == label, scope.agent_filter(it.c.agent_code)))
        if agent:
            stmt = stmt.where(it.c.agent_code == agent)
        if item:
            stmt = stmt.where(it.c.item == item)
        rows = conn.execute(stmt.order_by(it.c.org_code, it.c.agent_code, it.c.item,
                                          it.c.source)).mappings().all()
    if agent and not rows:
        raise NotFound(f"找不到工号 {agent} 在 {label} 的收入明细",
                       f"no income items of {agent} for {label}")
    return [{
        "agent_code": r["agent_code"], "agent_name": r["agent_name"], "org_code": r["org_code"],
        "rank_code": r["rank_code"], "item": r["item"], "kind": r["kind"],
        "kind_zh": ITEM_ZH.get(r["kind"], r["kind"]), "source": r["source"] or None,
        "window": {"start": r["window_start"].isoformat(), "end": r["window_end"].isoformat()},
        "as_of": r["as_of"].isoformat(), "status": r["status"],
        "basis": _num(r["basis"]), "basis_to_date": _num(r["basis_to_date"]),
        "rate": _num(r["rate"]), "amount": _num(r["amount"]),
        "amount_to_date": _num(r["amount_to_date"]), "next_amount": _num(r["next_amount"]),
        "next_gap": _num(r["next_gap"]), "note_zh": r["note_zh"], "note_en": r["note_en"],
    } for r in rows]


def write_xlsx(rows: list[dict[str, Any]], path: Path) -> None:
    """The items as an Excel workbook (text cells defused with ``safe_cell``)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws1 = wb.add_worksheet("收入明细 income")
    bold = wb.add_format({"bold": True})
    money = wb.add_format({"num_format": "#,##0.00"})
    rate = wb.add_format({"num_format": "0.00%"})
    head = ["工号 agent", "姓名 name", "机构 org", "职级 rank", "项目 item", "类别 kind",
            "来源 source", "状态 status", "基数 basis", "比例 rate", "金额 amount (元)",
            "至今 to date (元)", "说明", "note"]
    ws1.write_row(0, 0, head, bold)
    for i, r in enumerate(rows, start=1):
        ws1.write_row(i, 0, [safe_cell(v or "") for v in (
            r["agent_code"], r["agent_name"], r["org_code"], r["rank_code"], r["item"],
            r["kind_zh"], r["source"], r["status"])])
        for j, k, f in ((8, "basis", money), (9, "rate", rate), (10, "amount", money),
                        (11, "amount_to_date", money)):
            if r[k] is not None:
                ws1.write_number(i, j, r[k], f)
        ws1.write_string(i, 12, safe_cell(r["note_zh"]))
        ws1.write_string(i, 13, safe_cell(r["note_en"]))
    ws1.freeze_panes(1, 2)
    ws1.autofilter(0, 0, max(len(rows), 1), len(head) - 1)
    wb.close()


def rank_gains(ws: Workspace, actor: Actor, as_of: dt.date | None = None,
               agents: set[str] | None = None) -> pd.DataFrame:
    """The gain of the next rank this month for the agents in the actor's scope (``agents``:
    only these), computed live; empty without a rule file or benefit rules."""
    actor.require("view_assessment")
    as_of = as_of or dt.date.today()
    from_path = rules_path(ws)
    cols = ["agent_code", "rank_code", "next_rank", "current", "at_next", "gain"]
    if not from_path.exists():
        return pd.DataFrame(columns=cols)
    law = load_law(ws)
    y, m = engine.basis(ws).month_of(as_of)
    a = table("agents")
    with ws.require_ready().connect() as conn:
        scope = scope_for(conn, actor)
        q = select(a.c.agent_code).where(scope.agent_filter(a.c.agent_code))
        if agents is not None:
            q = q.where(a.c.agent_code.in_(sorted(agents)))
        keep: set[str] = set(conn.execute(q).scalars())
    if not keep:
        return pd.DataFrame(columns=cols)
    # a few agents (a page's list, one's home): their items only, not the whole force's
    g = income.rank_gain(ws, law, f"{y:04d}-{m:02d}", as_of,
                         agents=keep if agents is not None else None)
    return g[g.agent_code.isin(keep)].reset_index(drop=True)


def agent_benefits(ws: Workspace, actor: Actor, code: str,
                   as_of: dt.date | None = None) -> dict[str, Any] | None:
    """One agent's benefits of the month containing ``as_of``, computed live for that agent only:
    ``benefits`` (item, titles, amount at the current pace, status, notes) and the gain of the next
    rank (``next_rank``, ``gain``; None at the top of the ladder). None without benefit rules or
    when the agent is outside the actor's scope (one answer for both: nothing is named)."""
    actor.require("view_assessment")
    as_of = as_of or dt.date.today()
    if not rules_path(ws).exists():
        return None
    law = load_law(ws)
    if not law.benefits:
        return None
    a = table("agents")
    with ws.require_ready().connect() as conn:
        scope = scope_for(conn, actor)
        seen = conn.execute(select(a.c.agent_code).where(
            a.c.agent_code == code, scope.agent_filter(a.c.agent_code))).scalar_one_or_none()
    if seen is None:
        return None
    y, m = engine.basis(ws).month_of(as_of)
    period = f"{y:04d}-{m:02d}"
    envs: income.Envs = {}
    items = income.evaluate_income(ws, law, period, as_of, envs=envs, agents={code})
    gain = income.rank_gain(ws, law, period, as_of, current=items, agents={code}, envs=envs)
    out: list[dict[str, Any]] = []
    for r in items.itertuples(index=False):
        b = law.benefits[r.item]
        kz, ke = config.BENEFIT_KINDS[b.kind]
        out.append({"item": r.item, "kind": r.kind, "source": r.source or None,
                    "title_zh": b.title or kz, "title_en": b.title_en or ke,
                    "amount": r.amount, "status": r.status,
                    "note_zh": r.note_zh, "note_en": r.note_en})
    row = gain.iloc[0] if not gain.empty else None
    return {"period": period, "benefits": out,
            "next_rank": None if row is None else row.next_rank,
            "gain": None if row is None else row.gain}


__all__ = ["IncomeRun", "agent_benefits", "closed", "list_income", "rank_gains", "run_income",
           "write_xlsx"]
