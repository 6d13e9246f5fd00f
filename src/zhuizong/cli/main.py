"""``zhuizong`` — the command line. Each command parses options, calls one service, prints.

Global options ``--home DIR`` (workspace) and ``--as USER`` (act within that user's roles and
scope; without it the local operator acts as the system) may be given anywhere on the line.

Imports (docs/architecture.md, "Layers"): the CLI is the top layer. Commands import the services
they call inside the command function, so that ``zhuizong --help`` and light commands start
without loading pandas, Ibis or the web app; such lazy imports are allowed in ``zhuizong.cli``
only, and only downward (never from ``zhuizong.cli`` itself: the command groups get the
workspace and actor from :mod:`zhuizong.cli.state`). ``tests/test_layers.py`` checks both.
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zhuizong import __version__
from zhuizong.cli import output
from zhuizong.cli.assess import assess_app
from zhuizong.cli.campaign import campaign_app
from zhuizong.cli.state import _actor, _ws, state
from zhuizong.cli.track import track_app
from zhuizong.errors import ZhuizongError

if TYPE_CHECKING:  # loaded by the commands that need it: ``zhuizong --help`` stays light
    from zhuizong.workspace import Workspace

app = typer.Typer(
    name="zhuizong",
    help="zhuizong (追踪): agency sales-force KPIs and daily tracking. 代理人渠道 KPI 与每日追踪.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Read and change settings (zhuizong.toml). 读取/修改设置.", no_args_is_help=True)
users_app = typer.Typer(help="Users, roles and scopes. 用户、角色与数据范围.", no_args_is_help=True)
agents_app = typer.Typer(help="Agents within your scope. 人员查询.", no_args_is_help=True)
orgs_app = typer.Typer(help="Org units within your scope. 机构查询.", no_args_is_help=True)
report_app = typer.Typer(help="Standard reports (xlsx, pdf, png). 标准报表.", no_args_is_help=True)
analytics_app = typer.Typer(help="The analytic snapshot (Parquet). 分析快照.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(users_app, name="users")
app.add_typer(agents_app, name="agents")
app.add_typer(orgs_app, name="orgs")
app.add_typer(report_app, name="report")
app.add_typer(analytics_app, name="analytics")

FormatOpt = Annotated[str, output.format_option("table", "json")]


@app.callback()
def _root(
    home: Annotated[str | None, typer.Option("--home", help="workspace folder (else $ZHUIZONG_HOME, else ./zhuizong_data)")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="act as this user (roles and scope)")] = None,
    version: Annotated[bool, typer.Option("--version", help="print the version")] = False,
    lang: Annotated[str, typer.Option("--lang", help="output language: zh (default) | en")] = "zh",
) -> None:
    if version:
        output.console.print(f"zhuizong {__version__}")
        raise typer.Exit()
    if lang not in ("zh", "en"):
        raise ZhuizongError(f"不支持的语言 {lang}; 可用: zh, en", f"unknown language {lang}; use zh or en")
    output.LANG = lang
    state.home = home
    state.as_user = as_user


# --- workspace ---------------------------------------------------------------------------------


@app.command()
def init() -> None:
    """Create the workspace and its database schema (runs migrations; safe to repeat). 初始化工作区."""
    ws = _ws()
    changed = ws.init()
    done = output.tr("已初始化", "initialised") if changed else output.tr("已是最新", "up to date")
    output.console.print(f"{done}: {ws.home}  ({ws.db_display})", highlight=False)


@app.command()
def status(fmt: FormatOpt = "table") -> None:
    """Database in use, row counts and last imports. 工作区状态."""
    from zhuizong.services.status import workspace_status

    ws = _ws()
    st = workspace_status(ws, _actor(ws))
    if fmt == "json":
        output.print_json(st.__dict__)
        return
    c, tr = output.console, output.tr
    c.print(tr(f"工作区: {st.home}", f"workspace: {st.home}"), highlight=False)
    c.print(tr(f"数据库: {st.database} ({st.dialect}, 结构版本 {st.schema_revision})",
               f"database: {st.database} ({st.dialect}, schema {st.schema_revision})"), highlight=False)
    # table names and import kinds are the codes of the system of record (docs/configuration.md)
    c.print(output.table(tr("行数", "row counts"), [tr("数据表", "table"), tr("行数", "rows")],
                         [[k, f"{v:,}"] for k, v in st.row_counts.items()]))
    c.print(output.table(
        tr("最近导入", "last imports"),
        ["ID", tr("类型", "kind"), tr("文件", "file"), tr("行数", "rows"), tr("新增", "inserted"),
         tr("更新", "updated"), tr("未变", "unchanged"), tr("操作人", "by"), tr("时间", "at")],
        [[b["id"], b["kind"], b["file_name"], b["rows_total"], b["rows_inserted"], b["rows_updated"],
          b["rows_unchanged"], b["actor"], b["finished_at"].strftime("%Y-%m-%d %H:%M:%S")]
         for b in st.last_imports]))


# --- config ------------------------------------------------------------------------------------


@config_app.command("get")
def config_get(key: Annotated[str | None, typer.Argument(help="e.g. kpi.premium_basis")] = None) -> None:
    """Print one setting, or all of them. 查看设置."""
    from zhuizong.settings import SETTINGS

    ws = _ws()
    if key:
        output.console.print(str(ws.settings.get(key)), highlight=False)
        return
    for k in SETTINGS:
        output.console.print(f"{k} = {ws.settings.get(k)!r}", highlight=False)


@config_app.command("set")
def config_set(key: str, value: str) -> None:
    """Validate and store a setting in zhuizong.toml. 修改设置."""
    from zhuizong.settings import set_setting

    ws = _ws()
    ws.home.mkdir(parents=True, exist_ok=True)
    typed = set_setting(ws.home, key, value)
    output.console.print(f"{key} = {typed!r}", highlight=False)


# --- import ------------------------------------------------------------------------------------


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=output.err_console, transient=True, disable=not output.err_console.is_terminal,
    )


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help="org_units | ranks | agents | agent_events | products | premiums | plans | attendance | work_logs")],
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8, GB18030/GBK, UTF-16) or XLSX")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate and count, commit nothing")] = False,
    errors: Annotated[Path | None, typer.Option("--errors", help="write the error report (.xlsx or .csv)")] = None,
    fmt: FormatOpt = "table",
    encoding: Annotated[str | None, typer.Option("--encoding", help="CSV encoding when it cannot be detected: utf-8, gb18030, big5, shift_jis, utf-16 …")] = None,
) -> None:
    """Import a file, all or nothing. 导入数据文件 (全部成功或全部不导入)."""
    from zhuizong.importing.kinds import KINDS
    from zhuizong.importing.report import check_report_path, write_error_report
    from zhuizong.importing.service import ImportInterrupted, import_file, last_batch_id

    if kind not in KINDS:
        raise ZhuizongError(f"未知导入类型 {kind}; 可用: {', '.join(KINDS)}",
                            f"unknown import kind {kind}; allowed: {', '.join(KINDS)}")
    if errors is not None:
        check_report_path(errors)
    ws = _ws()
    ws.require_ready()
    actor = _actor(ws)
    actor.require("import")
    before = last_batch_id(ws)
    try:
        with _progress() as prog:
            task = prog.add_task(output.tr(f"导入 {kind}", f"importing {kind}"), total=None)
            result = import_file(ws, kind, file, dry_run=dry_run, actor=actor.username,
                                 progress=lambda done, total: prog.update(task, completed=done, total=total),
                                 encoding=encoding)
    except KeyboardInterrupt:
        # Ctrl-C: the transaction was rolled back as the interruption unwound it
        raise ImportInterrupted(ws, kind, before) from None
    if errors is not None and result.errors:
        write_error_report(result, errors)
    if fmt == "json":
        data = dict(result.__dict__)
        data["errors"] = [e.__dict__ for e in result.errors]
        output.print_json(data)
    else:
        _print_import(result, errors)
    if result.status == "rejected":
        raise typer.Exit(6)


_STATUS_TEXT = {
    "committed": ("已导入", "committed"),
    "dry_run": ("试运行, 未提交", "dry run, nothing committed"),
    "rejected": ("已拒绝, 未导入任何行", "rejected, nothing imported"),
    "already_imported": ("该文件已导入过, 未重复导入", "file already imported, not applied again"),
}


def _column_label(kind: str, code: str) -> str:
    """An import column's header in the output language (its code is the English header)."""
    from zhuizong.importing.kinds import KINDS

    spec = KINDS.get(kind)
    label = next((c.zh for c in spec.columns if c.code == code), code) if spec else code
    return output.tr(label, code)


def _print_import(result: Any, errors_path: Path | None) -> None:
    c, tr = output.console, output.tr
    c.print(f"{result.kind} ← {result.file_name}: {tr(*_STATUS_TEXT[result.status])}", highlight=False)
    if result.status != "rejected":
        c.print(tr(f"  行数 {result.rows_total:,} · 新增 {result.inserted:,} · 更新 {result.updated:,} · "
                   f"未变 {result.unchanged:,} · {result.duration_s:.2f} 秒",
                   f"  rows {result.rows_total:,} · inserted {result.inserted:,} · "
                   f"updated {result.updated:,} · unchanged {result.unchanged:,} · "
                   f"{result.duration_s:.2f}s"), highlight=False)
        if result.source:
            c.print(tr(f"  读取方式: {result.source}", f"  read as: {result.source}"), highlight=False)
        if result.preview:
            # the names as they would be stored: mojibake shows here, before a commit
            cols = [k for k in result.preview[0] if k != "row"]
            c.print(output.table(tr("名称预览", "preview of names"),
                                 [tr("行", "row"), *(_column_label(result.kind, k) for k in cols)],
                                 [[p["row"], *(p[k] for k in cols)] for p in result.preview]))
        return
    shown = result.errors[:50]
    output.err_console.print(output.table(
        f"错误 / errors ({len(result.errors):,})", ["行 row", "列 column", "值 value", "原因", "reason"],
        [[e.row or "-", e.column, e.value, e.reason_zh, e.reason_en] for e in shown]))
    if len(result.errors) > len(shown):
        output.err_console.print(f"… 另有 {len(result.errors) - len(shown):,} 条 / more errors: "
                                 "use --errors FILE.xlsx for the full report", highlight=False)
    if errors_path:
        output.err_console.print(f"错误报告 error report: {errors_path}", highlight=False)


# --- KPIs --------------------------------------------------------------------------------------


KPI_FORMATS = ("table", "json", "csv", "xlsx")


@app.command()
def kpi(
    period: Annotated[str | None, typer.Option("--period", "-p", help="2026-05, 2026Q2, 2026 or 2026-05-01..2026-05-20")] = None,
    org: Annotated[str | None, typer.Option("--org", help="org unit (default: the root)")] = None,
    by: Annotated[str | None, typer.Option("--by", help="children | level:NAME | subtree | agent")] = None,
    segment: Annotated[str, typer.Option("--segment", help="none | rank_category | rank | tenure, or parts joined by + (all+rank_category: totals and categories in one call)")] = "none",
    metrics: Annotated[str | None, typer.Option("--metrics", help="comma-separated metric codes")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="to-date period ending on this date (YYYY-MM-DD)")] = None,
    fmt: Annotated[str, output.format_option("table", "json", "csv", "xlsx")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="write to this file")] = None,
    list_: Annotated[bool, typer.Option("--list", help="list the metrics and their formulas")] = False,
    engine: Annotated[str, typer.Option("--engine", help="duckdb (default) | spark: compute live on Spark")] = "duckdb",
    master: Annotated[str | None, typer.Option("--master", help="Spark master URL (default local[*])")] = None,
) -> None:
    """KPIs of an org unit for a period, exactly per the 口径. 指标查询."""
    import datetime as dt

    from zhuizong.importing.normalize import normalize_code
    from zhuizong.kpi.engine import KpiRequest
    from zhuizong.kpi.registry import METRICS
    from zhuizong.kpi.service import format_value, kpi_report, to_csv, write_xlsx

    if list_:
        # the code is what --metrics takes; name and formula in the output language
        tr = output.tr
        output.console.print(output.table(
            tr("指标", "metrics"), [tr("代码", "code"), tr("指标", "metric"), tr("公式", "formula")],
            [[m.code, tr(m.zh, m.en), tr(m.formula_zh, m.formula_en)] for m in METRICS.values()]))
        return
    if fmt not in KPI_FORMATS:
        raise ZhuizongError(f"不支持的格式 {fmt!r}; 可用: {', '.join(KPI_FORMATS)}",
                            f"unknown format {fmt!r}; use one of {', '.join(KPI_FORMATS)}")
    if not period:
        raise ZhuizongError("请给出 --period", "give --period (e.g. 2026-05)")
    try:
        as_of_date = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise ZhuizongError(f"日期格式应为 YYYY-MM-DD: {as_of}", f"--as-of must be YYYY-MM-DD: {as_of}") from None
    req = KpiRequest(period=period, org=normalize_code(org) if org else None, by=by, segment=segment,
                     metrics=tuple(m.strip() for m in metrics.split(",") if m.strip()) if metrics else None,
                     as_of=as_of_date)
    ws = _ws()
    result = kpi_report(ws, _actor(ws), req, engine=_engine(engine), master=master)
    if fmt == "json":
        import json

        text = json.dumps(result.as_json(), ensure_ascii=False)
        if out:
            out.write_text(text, encoding="utf-8")
        else:
            print(text)
    elif fmt == "csv":
        text = to_csv(result)
        if out:
            out.write_text(text, encoding="utf-8-sig")
        else:
            print(text, end="")
    elif fmt == "xlsx":
        if not out:
            raise ZhuizongError("xlsx 需要 --out 文件", "--format xlsx needs --out FILE")
        write_xlsx(result, out)
        output.console.print(output.tr(f"已写入: {out}", f"written: {out}"), highlight=False)
    else:
        p = result.period
        title = (f"{result.org_code} · {p.label} ({p.start} … {p.end})\n"
                 + ", ".join(f"{k}={v}" for k, v in result.settings.items()))
        output.console.print(_kpi_table(result, title, format_value))


def _units_table(result: Any, title: str, format_value: Any) -> Any:
    """One row per org unit, one column per metric (short Chinese labels): fits a terminal."""
    from zhuizong.kpi.registry import METRICS

    metrics = list(dict.fromkeys(r.metric for r in result.rows))
    units: dict[str, str] = {}
    cells: dict[tuple[str, str], str] = {}
    for r in result.rows:
        units.setdefault(r.org_code, r.org_name)
        cells[(r.org_code, r.metric)] = format_value(r.metric, r.value)
    return output.table(title, [output.tr("机构", "unit"),
                                *(output.tr(METRICS[m].zh, METRICS[m].en) for m in metrics)],
                        [[name, *(cells.get((code, m), "") for m in metrics)]
                         for code, name in units.items()])


def _kpi_table(result: Any, title: str, format_value: Any) -> Any:
    """Metrics down, one column per org unit / agent and segment (numerator/denominator if one)."""
    from zhuizong.kpi.registry import METRICS

    cols: list[tuple[str, str]] = []
    cells: dict[tuple[str, tuple[str, str]], Any] = {}
    for r in result.rows:
        col = (r.agent_code or r.org_code, r.segment)
        if col not in cols:
            cols.append(col)
        cells[(r.metric, col)] = r
    metrics = list(dict.fromkeys(r.metric for r in result.rows))
    single = len(cols) == 1
    tr = output.tr
    # the metric's name in the output language; its code (for --metrics) is in `kpi --list`
    heads = [tr("指标", "metric")] + ([tr("值", "value"), tr("分子", "numerator"),
                                       tr("分母", "denominator")] if single else
                                      [f"{u}" + ("" if s == "all" else f" {s}") for u, s in cols])
    rows = []
    for m in metrics:
        line = [tr(METRICS[m].zh, METRICS[m].en)]
        for col in cols:
            r = cells.get((m, col))
            line.append("" if r is None else format_value(m, r.value))
            if single and r is not None:
                line += ["" if r.numerator is None else f"{r.numerator:,.2f}",
                         "" if r.denominator is None else f"{r.denominator:,.2f}"]
        rows.append(line)
    return output.table(title, heads, rows)


@report_app.command("monthly")
def report_monthly(
    period: Annotated[str, typer.Option("--period", "-p", help="2026-05, 2026Q2, 2026")],
    out: Annotated[Path, typer.Option("--out", help="report.xlsx or report.pdf")],
    org: Annotated[str | None, typer.Option("--org", help="org unit (default: the root)")] = None,
    fmt: Annotated[str | None, output.format_option("xlsx", "pdf", help="xlsx | pdf (default: from --out)")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="to-date report ending on this date")] = None,
    money: Annotated[str | None, typer.Option("--money", help="yuan | wan (万元)")] = None,
    pdf_font: Annotated[Path | None, typer.Option("--pdf-font", help="TrueType font to embed in the PDF")] = None,
) -> None:
    """The monthly KPI report: one row per child unit + total, plan/达成率/同比/环比. 月度报表."""
    import datetime as dt

    from zhuizong.reports.export import build_monthly

    kind = fmt or (out.suffix.lstrip(".").lower() or "xlsx")
    ws = _ws()
    path = build_monthly(ws, _actor(ws), period, org, out, kind,  # type: ignore[arg-type]
                         as_of=dt.date.fromisoformat(as_of) if as_of else None,
                         money=money, pdf_font=pdf_font)  # type: ignore[arg-type]
    output.console.print(output.tr(f"已写入: {path}", f"written: {path}"), highlight=False)


@report_app.command("cohort")
def report_cohort(
    from_month: Annotated[str, typer.Option("--from", help="first hire month, e.g. 2025-01")],
    to_month: Annotated[str, typer.Option("--to", help="last month, e.g. 2026-05")],
    out: Annotated[Path, typer.Option("--out", help="cohort.xlsx")],
    org: Annotated[str | None, typer.Option("--org", help="org unit (default: the root)")] = None,
    heatmap: Annotated[Path | None, typer.Option("--heatmap", help="also write a heat-map PNG")] = None,
    kind: Annotated[str, typer.Option("--kind", help="heat map of retention | conversion")] = "retention",
) -> None:
    """Retention/conversion cohort table (hire month × months since hire). 批次留存表."""
    from zhuizong.reports.cohort import build_cohort, cohort_heatmap_png

    ws = _ws()
    actor = _actor(ws)
    path = build_cohort(ws, actor, from_month, to_month, org, out)
    output.console.print(output.tr(f"已写入: {path}", f"written: {path}"), highlight=False)
    if heatmap:
        png = cohort_heatmap_png(ws, actor, from_month, to_month, org, heatmap, kind=kind)  # type: ignore[arg-type]
        output.console.print(output.tr(f"已写入: {png}", f"written: {png}"), highlight=False)


@analytics_app.command("rebuild")
def analytics_rebuild() -> None:
    """Rebuild the analytic snapshot from the system of record. 重建分析快照."""
    from zhuizong.analytics import snapshot

    ws = _ws()
    ws.require_ready()
    _actor(ws).require("import")
    with _progress() as prog:
        tasks: dict[str, Any] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = prog.add_task(phase, total=total or None)
            prog.update(tasks[phase], completed=done, total=total or None)

        info = snapshot.rebuild(ws, progress=report)
    output.console.print(output.tr(f"分析快照已重建: {info.path} ({info.seconds:.1f} 秒)",
                                   f"snapshot rebuilt: {info.path} ({info.seconds:.1f}s)"),
                         highlight=False)


def _engine(name: str) -> str:
    """``--engine``, checked before any work starts."""
    from zhuizong.kpi.backends import check_engine

    return check_engine(name)


def _build_store(ws: Workspace, date: str | None = None, force: bool = False,
                 engine: str = "duckdb", master: str | None = None) -> None:
    """Build the results store (:func:`zhuizong.kpi.results.build`) with a progress bar."""
    import datetime as dt

    from zhuizong.kpi import results

    try:
        through = dt.date.fromisoformat(date) if date else None
    except ValueError:
        raise ZhuizongError(f"日期格式应为 YYYY-MM-DD: {date}", f"--date must be YYYY-MM-DD: {date}") from None
    tr = output.tr
    with _progress() as prog:
        task = prog.add_task(tr("指标结果", "results"), total=None)
        info = results.build(ws, through=through, force=force, engine=engine, master=master,
                             progress=lambda done, total, label:
                             prog.update(task, completed=done, total=total,
                                         description=tr(f"指标结果 {label}", f"results {label}")))
    v = info.version[:12]
    if info.built:
        output.console.print(tr(f"指标结果已生成: {info.periods} 个期间, {info.rows:,} 行 "
                                f"({info.seconds:.1f} 秒), 版本 {v}",
                                f"results built: {info.periods} periods, {info.rows:,} rows "
                                f"({info.seconds:.1f}s), version {v}"), highlight=False)
    else:
        output.console.print(tr(f"指标结果已是最新: 版本 {v} ({info.rows:,} 行)",
                                f"results current: version {v} ({info.rows:,} rows)"), highlight=False)


@analytics_app.command("build")
def analytics_build(
    date: Annotated[str | None, typer.Option(help="the data's last day (default: latest premium, at most yesterday)")] = None,
    force: Annotated[bool, typer.Option("--force", help="rebuild even when the current version is complete")] = False,
    engine: Annotated[str, typer.Option("--engine", help="duckdb (default) | spark (pip install 'zhuizong[spark]')")] = "duckdb",
    master: Annotated[str | None, typer.Option("--master", help="Spark master URL (default local[*])")] = None,
) -> None:
    """Build (or bring up to date) the versioned KPI results every page, report and rule reads; run after imports. 生成指标结果."""
    ws = _ws()
    ws.require_ready()
    _actor(ws).require("import")
    _build_store(ws, date, force, _engine(engine), master)


@analytics_app.command("warm", hidden=True)
def analytics_warm(
    date: Annotated[str | None, typer.Option(help="the data's last day")] = None,
) -> None:
    """The same as `analytics build` (kept for existing nightly jobs)."""
    analytics_build(date=date, force=False, engine="duckdb", master=None)


# --- demo --------------------------------------------------------------------------------------


@app.command()
def demo(
    agents: Annotated[int, typer.Option(help="agents in force at the end")] = 3000,
    years: Annotated[int, typer.Option(help="years of history")] = 3,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same agency)")] = 20260501,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="do not start the web app")] = False,
) -> None:
    """Build a realistic demo agency in the workspace and show it. 生成演示机构."""
    from zhuizong.demo.params import DemoParams
    from zhuizong.demo.service import build_demo

    ws = _ws()
    ws.init()
    params = DemoParams(agents=agents, years=years, seed=seed)
    with _progress() as prog:
        tasks: dict[str, Any] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = prog.add_task(phase, total=total or None)
            prog.update(tasks[phase], completed=done, total=total or None)

        summary = build_demo(ws, params, progress=report)
    from zhuizong.demo.showcase import showcase

    with output.console.status(output.tr("生成月报与今日追踪 …", "monthly report and today's tracking …")):
        show = showcase(ws, params)
    _print_demo(ws, summary, show)
    if no_serve:
        output.console.print(output.tr("生成指标结果: zhuizong analytics build",
                                       "to build the results store: zhuizong analytics build"), highlight=False)
    else:
        _build_in_background(ws)
        output.console.print(output.tr("网页端: http://127.0.0.1:8000/  (Ctrl+C 停止)",
                                       "web app: http://127.0.0.1:8000/  (Ctrl+C to stop)"), highlight=False)
    _print_logins(summary)  # last: what the reader needs next
    if not no_serve:
        _serve(ws, "127.0.0.1", 8000, 1, announce=False)


def _build_in_background(ws: Workspace) -> None:
    """Start ``zhuizong analytics build`` as a child process (log: ``analytics/build.log``): the
    web app serves at once, computing live until the results store's version is published."""
    import subprocess
    import sys

    ws.analytics_dir.mkdir(parents=True, exist_ok=True)
    log = open(ws.analytics_dir / "build.log", "ab")  # the child keeps it
    subprocess.Popen([sys.executable, "-m", "zhuizong", "--home", str(ws.home), "analytics",
                      "build"], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                     start_new_session=True)
    log.close()
    output.console.print(output.tr(f"指标结果后台生成中 (日志: {ws.analytics_dir / 'build.log'})",
                                   f"results store building in the background "
                                   f"(log: {ws.analytics_dir / 'build.log'})"), highlight=False)


def _serve(ws: Workspace, host: str, port: int, workers: int, announce: bool = True) -> None:
    import os

    import uvicorn

    ws.require_ready()
    os.environ["ZHUIZONG_HOME"] = str(ws.home)
    if announce:
        output.console.print(output.tr(f"网页端: http://{host}:{port}/  (Ctrl+C 停止)",
                                       f"web app: http://{host}:{port}/  (Ctrl+C to stop)"), highlight=False)
    uvicorn.run("zhuizong.web.app:create_app_from_env", factory=True, host=host, port=port,
                workers=workers, proxy_headers=True, log_level="warning",
                # idle keep-alive connections stay open as long as nginx keeps them (75 s): at
                # uvicorn's 5 s a browser's next click races the server closing its connection
                timeout_keep_alive=75)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes (use PostgreSQL for more than one)")] = 1,
) -> None:
    """Serve the web app and the REST API. 启动网页端."""
    _serve(_ws(), host, port, workers)


def _print_demo(ws: Workspace, summary: Any, show: Any) -> None:
    """What the demo built and what to try, in the output language (logins: :func:`_print_logins`)."""
    from zhuizong.demo.summary import demo_lines
    from zhuizong.kpi.service import format_value

    c = output.console
    lines = demo_lines(ws, summary, show, output.LANG)
    c.print(lines.headline, highlight=False)
    c.print(output.table(lines.data_title, lines.data_columns, lines.data_rows))
    c.print(_units_table(show.kpis, lines.kpi_title, format_value))
    for line in lines.next_steps:
        c.print(line, highlight=False)


def _print_logins(summary: Any) -> None:
    from zhuizong.demo.summary import login_rows
    from zhuizong.web.i18n import t

    if summary.users:
        title, columns, rows = login_rows(summary, output.LANG, lambda key: t(key, output.LANG))
        output.console.print(output.table(title, columns, rows))


# --- users -------------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    username: str,
    name: Annotated[str, typer.Option("--name", help="display name")],
    role: Annotated[list[str], typer.Option("--role", help="admin, executive, assessment, campaign, training, trainer, supervisor, agent (repeatable)")],
    agent: Annotated[str | None, typer.Option("--agent", help="the user's own agent code")] = None,
    password: Annotated[str | None, typer.Option("--password", envvar="ZHUIZONG_NEW_PASSWORD", help="initial password (or $ZHUIZONG_NEW_PASSWORD)")] = None,
) -> None:
    """Create a user. 新建用户."""
    from zhuizong.access import users
    from zhuizong.store.db import atomic

    ws = _ws()
    actor = _actor(ws)
    actor.require("manage_users")
    with atomic(ws.require_ready()) as conn:
        users.create_user(conn, username, name, roles=role, agent_code=agent, password=password, actor=actor.username)
    output.console.print(output.tr(f"已创建用户: {username}", f"user created: {username}"), highlight=False)


@users_app.command("grant")
def users_grant(
    username: str,
    org: Annotated[str | None, typer.Option("--org", help="see this org unit and everything below")] = None,
    line: Annotated[str | None, typer.Option("--line", help="see this agent's reporting line")] = None,
    self_: Annotated[str | None, typer.Option("--self", help="see only this agent")] = None,
) -> None:
    """Grant a data scope. 授予数据范围."""
    from zhuizong.access import users
    from zhuizong.importing.normalize import normalize_code
    from zhuizong.store.db import atomic

    given = [(t, normalize_code(v) or v) for t, v in
             (("org_subtree", org), ("reporting_line", line), ("self", self_)) if v]
    if len(given) != 1:
        raise ZhuizongError("请给出且只给出 --org / --line / --self 之一",
                            "give exactly one of --org, --line, --self")
    scope_type, value = given[0]
    ws = _ws()
    actor = _actor(ws)
    actor.require("manage_users")
    with atomic(ws.require_ready()) as conn:
        g = users.grant_scope(conn, username, scope_type,
                              org_code=value if scope_type == "org_subtree" else None,
                              agent_code=None if scope_type == "org_subtree" else value,
                              actor=actor.username)
    output.console.print(f"{username}: {_scope_text(g)}", highlight=False)


@users_app.command("roles")
def users_roles(username: str, roles: Annotated[str, typer.Argument(help="comma-separated roles")]) -> None:
    """Replace a user's roles. 设置角色."""
    from zhuizong.access import users
    from zhuizong.store.db import atomic

    ws = _ws()
    actor = _actor(ws)
    actor.require("manage_users")
    given = [r.strip() for r in roles.split(",") if r.strip()]
    with atomic(ws.require_ready()) as conn:
        users.set_roles(conn, username, given, actor=actor.username)
    output.console.print(f"{username}: {_roles_text(given)}", highlight=False)


def _roles_text(roles: Any) -> str:
    """Role names in the output language (the web's words: ``role.supervisor`` → 主管)."""
    from zhuizong.web.i18n import t

    return output.tr("、", ", ").join(t(f"role.{r}", output.LANG) for r in roles)


def _scope_text(g: Any) -> str:
    """A data scope in the output language: 机构及下属 B01 / Org unit and below B01."""
    from zhuizong.web.i18n import t

    return f"{t(f'scope.{g.scope_type}', output.LANG)} {g.org_code or g.agent_code}"


@users_app.command("list")
def users_list(fmt: FormatOpt = "table") -> None:
    """List users with roles and scopes. 用户列表."""
    from zhuizong.access import users

    ws = _ws()
    actor = _actor(ws)
    actor.require("manage_users")
    with ws.require_ready().connect() as conn:
        infos = users.list_users(conn)
    if fmt == "json":
        output.print_json([{**u.__dict__, "grants": [str(g) for g in u.grants]} for u in infos])
        return
    tr = output.tr
    output.console.print(output.table(
        tr("用户", "users"),
        [tr("用户名", "username"), tr("姓名", "name"), tr("工号", "agent"), tr("角色", "roles"),
         tr("数据范围", "scopes"), tr("启用", "active")],
        [[u.username, u.display_name, u.agent_code, _roles_text(u.roles),
          ", ".join(_scope_text(g) for g in u.grants),
          tr("是", "yes") if u.is_active else tr("否", "no")] for u in infos]))


# --- scoped reads ------------------------------------------------------------------------------


@agents_app.command("list")
def agents_list(
    org: Annotated[str | None, typer.Option("--org", help="only agents currently in this org unit")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Agents you may see. 可见人员."""
    from zhuizong.services.directory import list_agents

    ws = _ws()
    actor = _actor(ws)
    with ws.require_ready().connect() as conn:
        rows = list_agents(conn, actor, org_code=org)
    if fmt == "json":
        output.print_json({"agents": [r.__dict__ for r in rows]})
        return
    tr = output.tr
    output.console.print(output.table(
        tr(f"人员 ({len(rows):,})", f"agents ({len(rows):,})"),
        [tr("工号", "code"), tr("姓名", "name"), tr("机构", "org"), tr("职级", "rank"),
         tr("主管", "supervisor"), tr("入司", "hired"), tr("离司", "left")],
        [[r.agent_code, r.agent_name, r.org_code, r.rank_code, r.supervisor_code, r.hire_date, r.leave_date]
         for r in rows]))


@agents_app.command("show")
def agents_show(code: str, fmt: FormatOpt = "table") -> None:
    """One agent with spells and dated history (404 outside your scope). 人员详情."""
    from zhuizong.importing.normalize import normalize_code
    from zhuizong.services.directory import get_agent

    ws = _ws()
    actor = _actor(ws)
    with ws.require_ready().connect() as conn:
        d = get_agent(conn, actor, normalize_code(code) or code)
    if fmt == "json":
        output.print_json({"agent": d.agent.__dict__, "spells": d.spells, "history": d.history})
        return
    a, tr = d.agent, output.tr
    output.console.print(f"{a.agent_code} {a.agent_name} · {a.org_code} · {a.rank_code} · "
                         f"{tr('主管', 'supervisor')} {a.supervisor_code or '-'}", highlight=False)
    output.console.print(output.table(tr("在职期间", "spells"), [tr("入司", "hired"), tr("离司", "left")],
                                      [list(s) for s in d.spells]))
    output.console.print(output.table(tr("履历", "history"),
                                      [tr("起", "from"), tr("止", "to"), tr("职级", "rank"),
                                       tr("机构", "org"), tr("主管", "supervisor")],
                                      [list(h) for h in d.history]))


@orgs_app.command("list")
def orgs_list(fmt: FormatOpt = "table") -> None:
    """Org units you may see. 可见机构."""
    from zhuizong.services.directory import list_orgs

    ws = _ws()
    actor = _actor(ws)
    with ws.require_ready().connect() as conn:
        rows = list_orgs(conn, actor)
    if fmt == "json":
        output.print_json({"org_units": [r.__dict__ for r in rows]})
        return
    tr = output.tr
    output.console.print(output.table(tr(f"机构 ({len(rows):,})", f"org units ({len(rows):,})"),
                                      [tr("代码", "code"), tr("名称", "name"), tr("上级", "parent"),
                                       tr("层级", "level")],
                                      [[r.org_code, r.org_name, r.parent_code, r.level] for r in rows]))


# --- tracking, assessments, campaigns (zhuizong.cli.track, .assess, .campaign) ------------------

app.add_typer(track_app, name="track")
app.add_typer(assess_app, name="assess")
app.add_typer(campaign_app, name="campaign")


# --- entry point -------------------------------------------------------------------------------

_GLOBAL_OPTS = ("--home", "--as", "--lang")


def _hoist_global_options(argv: list[str]) -> list[str]:
    """Allow ``--home``/``--as`` anywhere on the line by moving them before the command."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name = arg.split("=", 1)[0]
        if name in _GLOBAL_OPTS:
            if "=" in arg:
                front.append(arg)
            elif i + 1 < len(argv):
                front += [arg, argv[i + 1]]
                i += 1
            else:
                rest.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


EXIT_OS_ERROR = 7

_DISK_FULL_WORDS = ("database or disk is full", "no space left on device", "disk full",
                    "could not extend file")
#: a database that cannot be written: a read-only SQLite file or folder, a PostgreSQL standby or
#: default_transaction_read_only
_READ_ONLY_WORDS = ("attempt to write a readonly database", "read-only transaction",
                    "read-only file system", "readonly database")


def _os_error_text(exc: OSError) -> tuple[str, str]:
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return (f"磁盘已满{where}: 请释放空间后重试", f"the disk is full{where}: free some space and try again")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"无法写入{where}: 只读或没有权限", f"cannot write{where}: read-only or permission denied")
    reason = exc.strerror or type(exc).__name__
    return (f"文件系统错误{where}: {reason}", f"file system error{where}: {reason}")


def _disk_full(exc: BaseException, words: tuple[str, ...] = _DISK_FULL_WORDS) -> bool:
    """A database error that means the disk (or the database file) cannot take more writes."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        text = str(e).lower()
        if any(w in text for w in words):
            return True
        e = e.__cause__ or e.__context__ or getattr(e, "orig", None)
    return False


def main(argv: list[str] | None = None) -> None:
    args = _hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    try:
        rc = app(args=args, prog_name="zhuizong", standalone_mode=False)
    except ZhuizongError as exc:
        output.error(exc.zh, exc.en)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        output.error("已中止", "aborted")
        sys.exit(1)
    except OSError as exc:
        # a full disk, a read-only workspace, a missing folder: a clear error, not a traceback
        zh, en = _os_error_text(exc)
        output.error(zh, en)
        sys.exit(EXIT_OS_ERROR)
    except Exception as exc:
        if _disk_full(exc, _READ_ONLY_WORDS):
            output.error("数据库只读, 无法写入 (未保存任何更改)",
                         "the database is read-only: nothing was saved")
            sys.exit(EXIT_OS_ERROR)
        if _disk_full(exc):
            output.error("磁盘已满或数据库无法写入: 请释放空间后重试 (未保存任何更改)",
                         "the disk is full or the database cannot be written: free some space "
                         "and try again (nothing was saved)")
            sys.exit(EXIT_OS_ERROR)
        # Usage errors (click's ClickException; vendored inside newer Typer): duck-typed so that
        # every supported Typer version prints the usage message instead of a traceback.
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        raise
    # Without standalone mode, click returns the code of a typer.Exit instead of raising it.
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
