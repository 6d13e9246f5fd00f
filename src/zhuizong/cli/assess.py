"""``zhuizong assess …``: basic-law (基本法) assessments: run, list, apply."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from zhuizong.cli import output
from zhuizong.cli.state import _actor, _ws
from zhuizong.errors import ZhuizongError

assess_app = typer.Typer(help="Basic-law assessments (基本法考核). 考核.", no_args_is_help=True)

PeriodOpt = Annotated[str, typer.Option("--period", help="2026Q2, 2026-06, … (windows end with "
                                                         "the month containing its end)")]
DateOpt = Annotated[str | None, typer.Option("--date", help="as-of date YYYY-MM-DD (default: today)")]
RulesOpt = Annotated[Path | None, typer.Option("--rules", help="rule file (default: "
                                                               "<workspace>/basic_law.toml)")]


def _ctx() -> tuple[Any, Any]:
    ws = _ws()
    return ws, _actor(ws)


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ZhuizongError(f"无法识别的日期 {text!r} (应为 YYYY-MM-DD)",
                            f"bad date {text!r}; use YYYY-MM-DD") from None


def _print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    from zhuizong.basiclaw.config import METRICS

    def crit(c: dict[str, Any]) -> str:
        mark = "✓" if c["met"] else "✗"
        m = METRICS.get(c.get("metric", ""))
        name = m.en if (output.LANG == "en" and m is not None) else c["criterion"]
        proj = "" if c["projection"] == c["actual"] else f" →{c['projection']:,.0f}"
        return f"{mark}{name} {c['actual']:,.2f}/{c['threshold']:,.2f}{proj}" \
            if c["actual"] is not None and c["threshold"] is not None else f"{mark}{name}"

    en, tr = output.LANG == "en", output.tr
    table = [[f"{r['agent_name']} {r['agent_code']}", r["org_code"], r["rank_code"], r["rule"],
              (r["outcome"].replace("_", " ") if en else r["outcome_zh"])
              + ("" if r["status"] == "final" else " *"),
              r["target_rank"] or "", "; ".join(crit(c) for c in r["criteria"]),
              (r.get("gap_en") or "") if en else r["gap_zh"]]
             for r in rows]
    output.console.print(output.table(title, [tr("人员", "agent"), tr("机构", "org"),
                                              tr("职级", "rank"), tr("规则", "rule"),
                                              tr("结果", "outcome"), tr("目标", "target"),
                                              tr("指标", "criteria"), tr("差距", "gap")], table))
    if any(r["status"] != "final" for r in rows):
        output.console.print(tr("* 考核窗口未结束: 结果为临时结果, 预计值 (→) 按当前进度线性推算",
                                "* window still open: provisional, → = projection at the current "
                                "pace"), highlight=False)


@assess_app.command("run")
def assess_run(
    period: PeriodOpt,
    date: DateOpt = None,
    rules: RulesOpt = None,
    recompute: Annotated[bool, typer.Option("--recompute", help="admin: recompute a closed "
                                                                "(frozen) period (audited)")] = False,
    limit: Annotated[int, typer.Option("--limit", help="rows to print (table format)")] = 30,
    fmt: Annotated[str, output.format_option("table", "json")] = "table",
) -> None:
    """Assess every agent under the rules of their rank; store (closed windows: freeze). 运行考核."""
    from zhuizong.basiclaw.service import OUTCOME_ZH, ListQuery, list_results, run_assessment

    ws, actor = _ctx()
    res = run_assessment(ws, actor, period, as_of=_date(date), rules=rules, recompute=recompute)
    rows = list_results(ws, actor, ListQuery(period=res.period, limit=None if fmt == "json"
                                             else limit)) if actor.can("view_assessment") else []
    if fmt == "json":
        output.print_json({"run": res.as_dict(), "results": rows})
        return
    tr = output.tr
    state = (tr("已冻结, 返回已存结果", "frozen: stored results returned") if res.frozen else
             tr("窗口已结束, 结果已冻结", "closed: results frozen") if res.closed else
             tr("窗口未结束, 临时结果", "open: provisional results"))
    output.console.print(tr(f"考核 {res.period} (截至 {res.as_of}, 第 {res.run_id} 次运行, "
                            f"{res.rules_name}): {state}; {res.seconds:.1f} 秒",
                            f"assessment {res.period} (as of {res.as_of}, run #{res.run_id}, "
                            f"{res.rules_name}): {state}; {res.seconds:.1f} s"), highlight=False)
    if res.rules_changed:
        output.console.print(tr("注意: 规则文件在冻结后已修改; 需重算请由管理员使用 --recompute",
                                "note: the rule file changed since the results were frozen; an "
                                "administrator may --recompute"), highlight=False)
    def word(k: str) -> str:
        return k.replace("_", " ") if output.LANG == "en" else OUTCOME_ZH.get(k, k)

    summary = [[rule, ", ".join(f"{word(k)} {v}" for k, v in sorted(c.items()))]
               for rule, c in sorted(res.counts.items())]
    output.console.print(output.table(tr("结果汇总", "outcomes"), [tr("规则", "rule"),
                                                                tr("人数", "agents")], summary))
    if rows and limit:
        _print_rows(tr(f"考核结果 (前 {len(rows)} 条)", f"results (first {len(rows)})"), rows)


@assess_app.command("list")
def assess_list(
    period: PeriodOpt,
    outcome: Annotated[str | None, typer.Option(
        "--outcome", help="promote | demote | at-risk | convert | maintain | extra_period | "
                          "contract_end | not_met | on_track | not_eligible (comma list)")] = None,
    rule: Annotated[str | None, typer.Option("--rule")] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="工号")] = None,
    limit: Annotated[int | None, typer.Option("--limit")] = None,
    fmt: Annotated[str, output.format_option("table", "json", "xlsx")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="file for --format xlsx")] = None,
) -> None:
    """Stored results within your scope, with per-criterion gaps. 考核结果清单."""
    from zhuizong.basiclaw.service import ListQuery, list_results, write_xlsx

    ws, actor = _ctx()
    rows = list_results(ws, actor, ListQuery(period=period, outcome=outcome, rule=rule,
                                             agent=agent, limit=limit))
    if fmt == "json":
        output.print_json({"period": period, "results": rows})
        return
    if fmt == "xlsx":
        path = out or Path(f"assessment-{period}.xlsx")
        write_xlsx(rows, path)
        output.console.print(output.tr(f"已写入 {path} ({len(rows)} 条)",
                                       f"written: {path} ({len(rows)})"), highlight=False)
        return
    _print_rows(output.tr(f"考核结果 {period} ({len(rows)} 条)", f"results {period} ({len(rows)})"),
                rows)


@assess_app.command("apply")
def assess_apply(
    period: PeriodOpt,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would change, change "
                                                            "nothing")] = False,
    outcome: Annotated[str | None, typer.Option(
        "--outcome", help="only these outcomes: convert, promote, demote, contract_end")] = None,
    agent: Annotated[list[str] | None, typer.Option("--agent", help="only these agents "
                                                                    "(repeatable)")] = None,
    fmt: Annotated[str, output.format_option("table", "json")] = "table",
) -> None:
    """Apply final outcomes as dated rank events (import path; audited; idempotent). 执行考核结果."""
    from zhuizong.basiclaw.service import apply_assessment

    ws, actor = _ctx()
    res = apply_assessment(ws, actor, period, dry_run=dry_run, outcomes=outcome, agents=agent)
    if fmt == "json":
        output.print_json(res.as_dict())
        return
    en, tr = output.LANG == "en", output.tr
    rows = [[c["agent_code"], c["rule"],
             c["outcome"].replace("_", " ") if en else c["outcome_zh"], c["from_rank"],
             c["to_rank"] or "—", c["event_type"], c["event_date"]] for c in res.changes]
    verb = {"dry_run": tr("预演, 未写入", "dry run, nothing written"),
            "committed": tr(f"已写入人员异动 (批次 {res.batch_id})",
                            f"written as agent_events (batch {res.batch_id})"),
            "already_imported": tr("已执行过", "already applied"),
            "nothing": tr("没有待执行的结果", "nothing to apply")}[res.status]
    output.console.print(output.table(
        tr(f"考核执行 {res.period}: {verb}", f"apply {res.period}: {verb}"),
        [tr("工号", "agent"), tr("规则", "rule"), tr("结果", "outcome"), tr("原职级", "from"),
         tr("新职级", "to"), tr("异动", "event"), tr("生效日", "date")], rows))


@assess_app.command("income")
def assess_income(
    period: PeriodOpt,
    date: DateOpt = None,
    rules: RulesOpt = None,
    recompute: Annotated[bool, typer.Option("--recompute", help="admin: recompute a closed "
                                                                "(frozen) period (audited)")] = False,
    agent: Annotated[str | None, typer.Option("--agent", help="工号")] = None,
    item: Annotated[str | None, typer.Option("--item", help="benefit name in the rule file")] = None,
    fmt: Annotated[str, output.format_option("table", "json", "xlsx")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="file for --format xlsx")] = None,
) -> None:
    """Benefit items (新人津贴, 底薪, 管理津贴, 育成奖) per agent, with the projection of open
    windows; stored and frozen like results; within your scope. 收入明细."""
    from zhuizong.basiclaw.income_service import list_income, run_income, write_xlsx

    if fmt not in ("table", "json", "xlsx"):
        raise ZhuizongError(f"未知格式 {fmt} (可用: table, json, xlsx)",
                            f"unknown format {fmt} (use table, json or xlsx)")
    ws, actor = _ctx()
    res = run_income(ws, actor, period, as_of=_date(date), rules=rules, recompute=recompute)
    rows = list_income(ws, actor, res.period, agent=agent, item=item)
    if fmt == "json":
        output.print_json({"run": res.as_dict(), "items": [
            {"agent_code": r["agent_code"], "item": r["item"], "basis": r["basis"],
             "rate": r["rate"], "amount": r["amount"], "status": r["status"],
             "kind": r["kind"], "source": r["source"], "agent_name": r["agent_name"],
             "rank_code": r["rank_code"], "amount_to_date": r["amount_to_date"],
             "basis_to_date": r["basis_to_date"], "next_amount": r["next_amount"],
             "next_gap": r["next_gap"], "note_zh": r["note_zh"], "note_en": r["note_en"]}
            for r in rows]})
        return
    if fmt == "xlsx":
        path = out or Path(f"income-{res.period}.xlsx")
        write_xlsx(rows, path)
        output.console.print(output.tr(f"已写入 {path} ({len(rows)} 项)",
                                       f"written: {path} ({len(rows)} items)"), highlight=False)
        return
    tr = output.tr
    state = (tr("已冻结, 返回已存结果", "frozen: stored items returned") if res.frozen and res.closed
             else tr("已存结果", "stored items") if res.frozen else
             tr("窗口已结束, 已冻结", "closed: items frozen") if res.closed else
             tr("窗口未结束, 按当前进度预计", "open: projected at the current pace"))
    output.console.print(tr(f"收入 {res.period} (截至 {res.as_of}, {res.rules_name}): {state}",
                            f"income {res.period} (as of {res.as_of}, {res.rules_name}): {state}"),
                         highlight=False)
    if res.rules_changed:
        output.console.print(tr("注意: 规则文件在冻结后已修改; 需重算请由管理员使用 --recompute",
                                "note: the rule file changed since the items were frozen; an "
                                "administrator may --recompute"), highlight=False)

    def amt(v: Any) -> str:
        return "" if v is None else f"{v:,.2f}"

    en = output.LANG == "en"
    table = [[f"{r['agent_name']} {r['agent_code']}", r["rank_code"],
              (r["kind"].replace("_", " ") if en else r["kind_zh"]) + f" {r['item']}"
              + (f" ← {r['source']}" if r["source"] else ""),
              amt(r["basis"]), "" if r["rate"] is None else f"{r['rate'] * 100:g}%",
              amt(r["amount"]) + ("" if r["status"] == "final" else " *"),
              r["note_en"] if en else r["note_zh"]]
             for r in rows]
    output.console.print(output.table(
        tr(f"收入明细 {res.period} ({len(rows)} 项)", f"income items {res.period} ({len(rows)})"),
        [tr("人员", "agent"), tr("职级", "rank"), tr("项目", "item"), tr("基数", "basis"),
         tr("比例", "rate"), tr("金额 (元)", "amount (yuan)"), tr("说明", "note")], table))
    if any(r["status"] != "final" for r in rows):
        output.console.print(tr("* 窗口未结束: 金额按当前进度预计",
                                "* window still open: amounts projected at the current pace"),
                             highlight=False)
