"""Scoped services of the basic law: run (store, freeze), list, export, apply.

* ``run_assessment``: evaluates the rule file for a period and stores every result. A period whose
  windows all ended before the as-of date is **closed**: its first run freezes the results, and
  later runs return the stored results unchanged (even when data or the rule file changed), unless
  an admin asks to ``recompute`` (audited). Open periods are recomputed at every run and marked
  provisional.
* ``list_results``: the stored results within the actor's scope (:func:`scope_for`); results of
  agents outside the scope do not exist for the actor.
* ``apply_assessment``: turns approved final outcomes into dated rank events written through the
  import path (``import_frame("agent_events", …)``), so history, KPIs and scopes follow; dry run
  first, audited, idempotent (applied results are marked; the same frame is never imported twice).

The workspace's rule file is ``<workspace>/basic_law.toml`` (:data:`RULES_FILE`);
``install_demo_basic_law`` puts the demo-compatible example there.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, delete, insert, select, update

from zhuizong.access.actor import Actor
from zhuizong.access.scope import scope_for
from zhuizong.analytics.calendar import parse_period
from zhuizong.basiclaw import config, engine
from zhuizong.common.cells import safe_cell
from zhuizong.errors import NotFound, ZhuizongError
from zhuizong.importing.service import import_frame
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

RULES_FILE = "basic_law.toml"
OUTCOMES = ("convert", "promote", "maintain", "extra_period", "demote", "contract_end", "not_met",
            "on_track", "at_risk", "not_eligible")
OUTCOME_ZH = {"convert": "转正", "promote": "晋升", "maintain": "维持", "extra_period": "延长考核",
              "demote": "降级", "contract_end": "解约", "not_met": "未达成", "on_track": "进度达标",
              "at_risk": "有风险", "not_eligible": "未满考核条件"}
_BATCH = 500


def rules_path(ws: Workspace) -> Path:
    """The workspace's rule file: setting ``basic_law.rules_file`` when it exists, else
    ``<workspace>/basic_law.toml``."""
    section = getattr(ws.settings, "basic_law", None)
    name = getattr(section, "rules_file", None) or RULES_FILE
    return ws.home / name


def load_law(ws: Workspace, rules: Path | str | None = None) -> config.BasicLaw:
    path = Path(rules) if rules is not None else rules_path(ws)
    if rules is None and not path.exists():
        raise ZhuizongError(
            f"没有配置基本法: 请创建 {path} (示例见 docs/basic-law.md) 或用 --rules 指定文件",
            f"no basic law configured: create {path} (examples in docs/basic-law.md) "
            "or pass --rules FILE")
    return config.load(path)


def install_demo_basic_law(ws: Workspace) -> Path:
    """Configure the demo-compatible example (``examples/ladder.toml``, the demo's rank codes
    T…D3) as the workspace's basic law; returns the file written (overwrites)."""
    path = rules_path(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config.example_text(config.DEMO_EXAMPLE), encoding="utf-8")
    return path


# --- run -----------------------------------------------------------------------------------------


@dataclass
class RunResult:
    run_id: int
    period: str
    as_of: dt.date
    closed: bool
    frozen: bool  # True: the stored results were returned, nothing was computed
    rules_name: str
    rules_sha256: str
    rules_changed: bool = False  # frozen results computed with another version of the rule file
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "period": self.period, "as_of": self.as_of.isoformat(),
                "closed": self.closed, "frozen": self.frozen, "rules": self.rules_name,
                "rules_sha256": self.rules_sha256, "rules_changed": self.rules_changed,
                "counts": self.counts, "seconds": round(self.seconds, 3)}


def _period_label(ws: Workspace, period: str) -> str:
    return parse_period(period, engine.basis(ws)).label


def _closed(law: config.BasicLaw, ws: Workspace, period: str, as_of: dt.date) -> bool:
    per = parse_period(period, engine.basis(ws))
    return all(engine.window_for(r, per).end < as_of for r in law.rules.values())


def previous_results(conn: Connection, law: config.BasicLaw, start: dt.date) -> pd.DataFrame:
    """Stored final results the failure ladder may need for a period starting on ``start``: at
    most the ladder's length of earlier windows per rule (rule, agent_code, window_end, outcome)."""
    months = {"month": 1, "quarter": 3}
    back = max([len(r.on_fail) * (months.get(r.window) or r.months or 1)
                for r in law.rules.values()] + [1]) + 1
    y, m = start.year, start.month - back
    since = dt.date(y + (m - 1) // 12, (m - 1) % 12 + 1, 1)
    r = table("assess_results")
    rows = conn.execute(select(r.c.rule, r.c.agent_code, r.c.window_end, r.c.outcome).where(
        r.c.status == "final", r.c.rule.in_(list(law.rules)), r.c.window_end >= since,
        r.c.outcome.in_(list(engine.FAIL_STEPS) + ["convert", "promote", "maintain",
                                                   "not_met"]))).all()
    return pd.DataFrame(rows, columns=["rule", "agent_code", "window_end", "outcome"])


def _counts(rows: pd.DataFrame) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    if rows.empty:
        return out
    for (rule, outcome), n in rows.groupby(["rule", "outcome"]).size().items():
        out.setdefault(str(rule), {})[str(outcome)] = int(n)
    return out


def run_assessment(ws: Workspace, actor: Actor, period: str, *, as_of: dt.date | None = None,
                   rules: Path | str | None = None, recompute: bool = False) -> RunResult:
    """Evaluate and store (or return the frozen results of) ``period``; see the module doc."""
    import time

    t0 = time.perf_counter()
    actor.require("run_assessment")
    if recompute:
        actor.require("recompute_assessment")
    as_of = as_of or dt.date.today()
    law = load_law(ws, rules)
    label = _period_label(ws, period)
    closed = _closed(law, ws, label, as_of)
    runs, res = table("assess_runs"), table("assess_results")
    engine_ = ws.require_ready()
    if closed and not recompute:
        with engine_.connect() as conn:
            frozen = _frozen_run(conn, label)
            if frozen is not None:
                rows = pd.DataFrame(conn.execute(select(res.c.rule, res.c.outcome).where(
                    res.c.period == label)).all(), columns=["rule", "outcome"])
                return RunResult(frozen.id, label, frozen.as_of, True, True, frozen.rules_name,
                                 frozen.rules_sha256, frozen.rules_sha256 != law.sha256,
                                 _counts(rows), time.perf_counter() - t0)
    with engine_.connect() as conn:
        previous = previous_results(conn, law, parse_period(label, engine.basis(ws)).start)
        applied = conn.execute(select(res.c.agent_code).where(
            res.c.period == label, res.c.applied_at.is_not(None)).limit(1)).first()
    if recompute and applied is not None:
        raise ZhuizongError(f"{label} 的考核结果已执行 (assess apply), 不能重算",
                            f"results of {label} were applied (assess apply); they cannot be "
                            "recomputed")
    # (results of this very period are never "previous": the ladder looks at earlier windows)
    results = engine.evaluate(ws, law, label, as_of, previous=previous)
    now = audit.now()
    with atomic(engine_) as conn:
        if closed and not recompute:
            frozen = _frozen_run(conn, label)  # a concurrent run froze it first
            if frozen is not None:
                rows = pd.DataFrame(conn.execute(select(res.c.rule, res.c.outcome).where(
                    res.c.period == label)).all(), columns=["rule", "outcome"])
                return RunResult(frozen.id, label, frozen.as_of, True, True, frozen.rules_name,
                                 frozen.rules_sha256, frozen.rules_sha256 != law.sha256,
                                 _counts(rows), time.perf_counter() - t0)
        counts = _counts(results)
        pk = conn.execute(insert(runs).values(
            period=label, as_of=as_of, closed=closed, rules_name=law.name[:200],
            rules_source=law.source[-500:], rules_sha256=law.sha256, actor=actor.username,
            recompute=recompute, created_at=now,
            summary=json.dumps(counts, ensure_ascii=False))).inserted_primary_key
        assert pk is not None  # typed optional; a single-row INSERT without RETURNING has it
        run_id = pk[0]
        conn.execute(delete(res).where(res.c.period == label))
        _insert_results(conn, results, label, int(run_id))
        if recompute:
            audit.record(conn, actor=actor.username, action="assess_recompute",
                         object_type="assessment", object_id=label,
                         detail={"run_id": int(run_id), "as_of": as_of, "rules": law.source,
                                 "rules_sha256": law.sha256, "counts": counts})
        else:
            audit.record(conn, actor=actor.username, action="assess_run",
                         object_type="assessment", object_id=label,
                         detail={"run_id": int(run_id), "as_of": as_of, "closed": closed,
                                 "rules_sha256": law.sha256})
    return RunResult(int(run_id), label, as_of, closed, False, law.name, law.sha256, False, counts,
                     time.perf_counter() - t0)


def _frozen_run(conn: Connection, label: str) -> Any:
    runs = table("assess_runs")
    return conn.execute(select(runs).where(runs.c.period == label, runs.c.closed.is_(True))
                        .order_by(runs.c.id.desc()).limit(1)).first()


def _insert_results(conn: Connection, results: pd.DataFrame, label: str, run_id: int) -> None:
    if results.empty:
        return
    cols = ["period", "run_id", *engine.RESULT_COLUMNS]
    n = len(results)
    series = {"period": [label] * n, "run_id": [run_id] * n}
    for c in engine.RESULT_COLUMNS:
        v = results[c]
        if c in ("passed", "projected_passed"):
            series[c] = v.astype(bool).tolist()
        elif c in ("fail_streak", "met_count", "required_count"):
            series[c] = v.astype(int).tolist()
        else:
            series[c] = v.astype(object).where(v.notna(), None).tolist()
    rows = [dict(zip(cols, r, strict=True)) for r in zip(*(series[c] for c in cols), strict=True)]
    res = table("assess_results")
    for i in range(0, len(rows), 20_000):  # executemany (batched by the driver)
        conn.execute(insert(res), rows[i:i + 20_000])


# --- list ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    period: str
    outcome: str | None = None  # an outcome, or a comma list; "at-risk" = at_risk
    rule: str | None = None
    agent: str | None = None
    limit: int | None = None
    under: str | None = None  # only results whose org unit is this unit or below it


def _outcomes(text: str | None) -> list[str] | None:
    if not text:
        return None
    out = []
    for part in text.split(","):
        o = part.strip().replace("-", "_")
        if o not in OUTCOMES:
            raise ZhuizongError(f"未知的考核结果 {part}; 可用: {', '.join(OUTCOMES)}",
                                f"unknown outcome {part}; use {', '.join(OUTCOMES)}")
        out.append(o)
    return out


def list_results(ws: Workspace, actor: Actor, q: ListQuery) -> list[dict[str, Any]]:
    """Stored results of ``q.period`` within the actor's scope."""
    actor.require("view_assessment")
    label = _period_label(ws, q.period)
    res, agents = table("assess_results"), table("agents")
    with ws.require_ready().connect() as conn:
        scope = scope_for(conn, actor)
        stmt = (select(res, agents.c.agent_name).join(agents, agents.c.agent_code == res.c.agent_code)
                .where(res.c.period == label, scope.agent_filter(res.c.agent_code)))
        outs = _outcomes(q.outcome)
        if outs:
            stmt = stmt.where(res.c.outcome.in_(outs))
        if q.rule:
            stmt = stmt.where(res.c.rule == q.rule)
        if q.agent:
            stmt = stmt.where(res.c.agent_code == q.agent)
        if q.under:
            o = table("org_units")
            tree = select(o.c.org_code.label("code")).where(o.c.org_code == q.under).cte(
                "bl_under", recursive=True)
            child = o.alias("bl_child")
            tree = tree.union(select(child.c.org_code).where(child.c.parent_code == tree.c.code))
            stmt = stmt.where(res.c.org_code.in_(select(tree.c.code)))
        stmt = stmt.order_by(res.c.org_code, res.c.agent_code, res.c.rule)
        if q.limit:
            stmt = stmt.limit(q.limit)
        rows = conn.execute(stmt).mappings().all()
    if q.agent and not rows:
        raise NotFound(f"找不到工号 {q.agent} 在 {label} 的考核结果",
                       f"no assessment result of {q.agent} for {label}")
    return [_row_dict(r) for r in rows]


def result_orgs(ws: Workspace, actor: Actor, period: str, only: str | None = None) -> set[str]:
    """The org units of ``period``'s stored results within the actor's scope (``only``: that
    unit, when it holds one)."""
    actor.require("view_assessment")
    label = _period_label(ws, period)
    res = table("assess_results")
    with ws.require_ready().connect() as conn:
        scope = scope_for(conn, actor)
        q = select(res.c.org_code).distinct().where(
            res.c.period == label, scope.agent_filter(res.c.agent_code))
        if only is not None:
            q = q.where(res.c.org_code == only).limit(1)
        return set(conn.execute(q).scalars())


def _row_dict(r: Any) -> dict[str, Any]:
    return {
        "agent_code": r["agent_code"], "agent_name": r["agent_name"], "org_code": r["org_code"],
        "rank_code": r["rank_code"], "rule": r["rule"], "kind": r["kind"],
        "window": {"start": r["window_start"].isoformat(), "end": r["window_end"].isoformat()},
        "as_of": r["as_of"].isoformat(), "status": r["status"], "outcome": r["outcome"],
        "outcome_zh": OUTCOME_ZH.get(r["outcome"], r["outcome"]),
        "target_rank": r["target_rank"], "fail_streak": r["fail_streak"],
        "met_count": r["met_count"], "required_count": r["required_count"],
        "passed": bool(r["passed"]), "projected_passed": bool(r["projected_passed"]),
        "gap_zh": r["gap_zh"], "gap_en": r["gap_en"], "criteria": json.loads(r["criteria"]),
        "applied": r["applied_at"] is not None, "applied_note": r["applied_note"],
    }


def write_xlsx(rows: list[dict[str, Any]], path: Path) -> None:
    """Results (one row per agent × rule) and their criteria (one row each), formula-safe."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    money = wb.add_format({"num_format": "#,##0.00"})
    ws1 = wb.add_worksheet("考核结果 results")
    head = ["工号 agent", "姓名 name", "机构 org", "职级 rank", "规则 rule", "窗口 window",
            "状态 status", "结果 outcome", "目标职级 target", "达成项 met", "需达成 required",
            "差距 gap", "gap (en)"]
    ws1.write_row(0, 0, head, bold)
    for i, r in enumerate(rows, start=1):
        ws1.write_row(i, 0, [safe_cell(v) for v in (
            r["agent_code"], r["agent_name"], r["org_code"], r["rank_code"], r["rule"],
            f"{r['window']['start']}..{r['window']['end']}", r["status"],
            f"{r['outcome_zh']} {r['outcome']}", r["target_rank"] or "")])
        ws1.write_number(i, 9, r["met_count"])
        ws1.write_number(i, 10, r["required_count"])
        ws1.write_string(i, 11, safe_cell(r["gap_zh"]))
        ws1.write_string(i, 12, safe_cell(r["gap_en"]))
    ws1.freeze_panes(1, 2)
    ws1.autofilter(0, 0, max(len(rows), 1), len(head) - 1)
    ws2 = wb.add_worksheet("考核指标 criteria")
    head2 = ["工号 agent", "规则 rule", "条件 criterion", "达成 met", "实际 actual",
             "标准 threshold", "差距 gap", "期末预计 projection", "预计达成 projected met"]
    ws2.write_row(0, 0, head2, bold)
    n = 1
    for r in rows:
        for c in r["criteria"]:
            ws2.write_row(n, 0, [safe_cell(v) for v in (r["agent_code"], r["rule"],
                                                         c["criterion"])])
            ws2.write_string(n, 3, "是" if c["met"] else "否")
            for j, k in enumerate(("actual", "threshold", "gap", "projection"), start=4):
                if c[k] is not None:
                    ws2.write_number(n, j, c[k], money)
            ws2.write_string(n, 8, "是" if c["projected_met"] else "否")
            n += 1
    ws2.freeze_panes(1, 2)
    wb.close()


# --- apply -------------------------------------------------------------------------------------


@dataclass
class ApplyResult:
    period: str
    dry_run: bool
    changes: list[dict[str, Any]]
    status: str  # "nothing" | "dry_run" | "committed" | "already_imported"
    batch_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"period": self.period, "dry_run": self.dry_run, "status": self.status,
                "batch_id": self.batch_id, "changes": self.changes}


def apply_assessment(ws: Workspace, actor: Actor, period: str, *, dry_run: bool = False,
                     outcomes: str | None = None, agents: list[str] | None = None) -> ApplyResult:
    """Apply the final convert/promote/demote/contract-end outcomes of ``period`` (within the
    actor's scope; optionally only some outcomes or agents) as ``agent_events`` dated the day
    after the window. Applying twice does nothing new."""
    actor.require("apply_assessment")
    label = _period_label(ws, period)
    res = table("assess_results")
    wanted = _outcomes(outcomes) or list(engine.ACTIONS)
    with ws.require_ready().connect() as conn:
        scope = scope_for(conn, actor)
        stmt = select(res.c.agent_code, res.c.rule, res.c.rank_code, res.c.status, res.c.outcome,
                      res.c.target_rank, res.c.window_end).where(
            res.c.period == label, res.c.applied_at.is_(None), res.c.status == "final",
            res.c.outcome.in_(list(engine.ACTIONS)), scope.agent_filter(res.c.agent_code))
        if agents:
            stmt = stmt.where(res.c.agent_code.in_(agents))
        rows = pd.DataFrame(conn.execute(stmt).all(),
                            columns=["agent_code", "rule", "rank_code", "status", "outcome",
                                     "target_rank", "window_end"])
        provisional = conn.execute(select(res.c.agent_code).where(
            res.c.period == label, res.c.status == "provisional").limit(1)).first()
    if provisional is not None and rows.empty:
        raise ZhuizongError(f"{label} 的考核窗口尚未结束, 结果是临时的, 不能执行",
                            f"the windows of {label} are still open: results are provisional "
                            "and cannot be applied")
    acts = engine.actions(rows)
    acts = acts[acts.outcome.isin(wanted)]
    changes = [{"agent_code": a.agent_code, "rule": a.rule, "outcome": a.outcome,
                "outcome_zh": OUTCOME_ZH[a.outcome], "from_rank": a.rank_code,
                "to_rank": a.target_rank if a.event_type != "leave" else None,
                "event_type": a.event_type, "event_date": a.event_date.isoformat()}
               for a in acts.itertuples(index=False)]
    if not changes:
        return ApplyResult(label, dry_run, [], "nothing")
    frame = pd.DataFrame({
        "agent_code": acts.agent_code, "event_date": [d.isoformat() for d in acts.event_date],
        "event_type": acts.event_type,
        "rank_code": [t if e != "leave" and t is not None else None
                      for t, e in zip(acts.target_rank, acts.event_type, strict=True)],
    })
    result = import_frame(ws, "agent_events", frame, source_name=f"assess-apply-{label}",
                          dry_run=dry_run, actor=actor.username)
    if not result.ok:
        msgs = "; ".join(f"{e.value} {e.reason_en}" for e in result.errors[:5])
        raise ZhuizongError(f"执行考核结果时导入被拒绝: {msgs}",
                            f"the import of the rank events was rejected: {msgs}")
    if dry_run:
        return ApplyResult(label, True, changes, "dry_run")
    now = audit.now()
    chosen = {(a.agent_code, a.rule): a.outcome for a in acts.itertuples(index=False)}
    touched = sorted(set(acts.agent_code))
    with atomic(ws.engine) as conn:
        for i in range(0, len(touched), _BATCH):
            part = touched[i:i + _BATCH]
            conn.execute(update(res).where(
                res.c.period == label, res.c.agent_code.in_(part), res.c.applied_at.is_(None),
                res.c.outcome.in_(list(engine.ACTIONS))).values(
                applied_at=now, applied_by=actor.username, applied_note="superseded"))
        for (agent, rule), outcome in chosen.items():
            conn.execute(update(res).where(res.c.period == label, res.c.agent_code == agent,
                                           res.c.rule == rule).values(
                applied_note=f"{outcome} (batch {result.batch_id})"[:200]))
        audit.record(conn, actor=actor.username, action="assess_apply",
                     object_type="assessment", object_id=label,
                     detail={"batch_id": result.batch_id, "import_status": result.status,
                             "changes": len(changes),
                             "by_outcome": acts.outcome.value_counts().to_dict()})
    return ApplyResult(label, False, changes, result.status, result.batch_id)


# --- for the pages: assessed periods, how far a result is from passing -------------------------


def assessed_periods(ws: Workspace, actor: Actor) -> list[str]:
    """Periods with stored results, latest window end first (period labels are not scoped)."""
    actor.require("view_assessment")
    runs = table("assess_runs")
    with ws.require_ready().connect() as conn:
        labels: set[str] = set(conn.execute(select(runs.c.period).distinct()).scalars())
    b = engine.basis(ws)

    def key(label: str) -> tuple[dt.date, dt.date, str]:
        try:
            p = parse_period(label, b)
        except ZhuizongError:
            return dt.date.min, dt.date.min, label
        return p.end, p.start, label

    return sorted(labels, key=key, reverse=True)


def missing_criteria(row: dict[str, Any]) -> int:
    """How many more criteria a result must meet to pass (0 when it passed): the unmet mandatory
    criteria, at least ``required_count − met_count``."""
    if row["passed"]:
        return 0
    unmet_mand = sum(1 for c in row["criteria"] if c["mandatory"] and not c["met"])
    return max(unmet_mand, row["required_count"] - row["met_count"], 1 if row["criteria"] else 0)


def shortfall(row: dict[str, Any]) -> float | None:
    """How far a stored result (a :func:`list_results` row) is from passing, as a share of the
    thresholds: the relative gaps ``gap / threshold`` of the unmet criteria it still needs (every
    unmet mandatory one, then the smallest optional ones), summed. 0 = passed; 0.1 = one criterion
    10 % short; None for a result without criteria. Comparable across rules and units, so it sorts
    "closest to promotion" and "furthest from maintaining"."""
    crits = row["criteria"]
    if not crits:
        return None
    if row["passed"]:
        return 0.0

    def rel(c: dict[str, Any]) -> float:
        t, g = c.get("threshold"), c.get("gap")
        if not t or t <= 0 or g is None:
            return 1.0
        return min(max(float(g) / float(t), 0.0), 1.0)

    unmet = [c for c in crits if not c["met"]]
    mand = [rel(c) for c in unmet if c["mandatory"]]
    opt = sorted(rel(c) for c in unmet if not c["mandatory"])
    need_opt = max(missing_criteria(row) - len(mand), 0)
    return round(sum(mand) + sum(opt[:need_opt]), 6)


__all__ = ["OUTCOMES", "OUTCOME_ZH", "RULES_FILE", "ApplyResult", "ListQuery", "RunResult",
           "apply_assessment", "assessed_periods", "install_demo_basic_law", "list_results",
           "load_law", "missing_criteria", "result_orgs", "rules_path", "run_assessment", "shortfall",
           "write_xlsx"]
