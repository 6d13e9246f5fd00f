"""The monthly KPI report (月度业绩报表): one row per child org unit plus the total, as XLSX or PDF.

Layout (``docs/reports.md``): title and period lines, three header rows (group → metric → 实际 /
计划 / 达成率 / 同比 / 环比 / 排名), a row of metric codes, one data row per child unit (ordered by
org code) and the total row (the org unit itself, computed from the facts, never summed from the
children). A second sheet 定义 states every formula (registry ``formula_zh`` + ``formula_en``), the
settings used (``KpiResult.settings``) and the period bounds.

All numbers come from :func:`zhuizong.kpi.service.kpi_report`, so the report shows exactly what the
actor may see. Comparison periods: FYP 同比/环比/达成率 are the registry metrics ``fyp_yoy``,
``fyp_mom``, ``fyp_plan_rate``; 期末人力 and 活动率 are compared with separate engine calls for
``Period.previous()`` and ``Period.same_last_year()`` (growth rate for headcount, change in
percentage points for the activity rate).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from zhuizong.access.actor import Actor
from zhuizong.analytics import snapshot
from zhuizong.analytics.calendar import Basis, Period, parse_period
from zhuizong.common.cells import safe_cell
from zhuizong.errors import ZhuizongError
from zhuizong.kpi import compiler
from zhuizong.kpi.engine import KpiRequest, KpiResult
from zhuizong.kpi.ir import Plan
from zhuizong.kpi.registry import METRICS
from zhuizong.kpi.service import kpi_report
from zhuizong.settings import SETTINGS
from zhuizong.workspace import Workspace

Money = Literal["yuan", "wan"]
#: how a column's values are shown
Fmt = Literal["text", "money", "count", "avg", "rate", "per2", "pp", "rank"]
WAN = Decimal(10_000)
NULL_TEXT = "—"


@dataclass(frozen=True)
class Column:
    """One column of the report table.

    ``block`` is the metric header (row 2 of the header); ``sub`` the sub-header of a key metric
    (实际, 计划, 达成率, 同比, 环比, 排名) or None for a plain column (its header spans both rows).
    ``key`` is the metric code (a registry code, or a derived code explained on the 定义 sheet).
    """

    key: str
    group: str
    block: str
    sub: str | None
    fmt: Fmt
    zh: str
    en: str
    formula_zh: str
    formula_en: str
    unit: str = ""

    @property
    def registry(self) -> bool:
        return self.key in METRICS


@dataclass
class MonthlyReport:
    org_code: str
    org_name: str
    period: Period
    previous: Period
    last_year: Period
    settings: dict[str, Any]
    money: Money
    actor: str
    columns: list[Column]
    #: one dict per child unit, then the total row; keys: column keys, plus ``_total`` (bool)
    rows: list[dict[str, Any]] = field(default_factory=list)
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))

    @property
    def groups(self) -> list[tuple[str, int, int]]:
        """(group label, first column index, last column index) in column order."""
        out: list[tuple[str, int, int]] = []
        for i, c in enumerate(self.columns):
            if out and out[-1][0] == c.group:
                out[-1] = (c.group, out[-1][1], i)
            else:
                out.append((c.group, i, i))
        return out

    @property
    def blocks(self) -> list[tuple[str, int, int, bool]]:
        """(metric header, first, last column index, has sub-headers) in column order."""
        out: list[tuple[str, int, int, bool]] = []
        for i, c in enumerate(self.columns):
            if c.sub is not None and out and out[-1][0] == c.block and out[-1][3]:
                out[-1] = (c.block, out[-1][1], i, True)
            else:
                out.append((c.block, i, i, c.sub is not None))
        return out

    @property
    def title(self) -> str:
        return f"{self.org_name} 月度业绩报表 {self.period.label}"

    @property
    def subtitle(self) -> str:
        p = self.period
        basis = "工作月" if p.basis.kind == "work" else "自然月"
        prem = "承保" if self.settings.get("kpi.premium_basis") == "issued" else "预收"
        return (f"统计期间 {p.start.isoformat()} 至 {p.end.isoformat()} ({basis}) · 机构 {self.org_name} · "
                f"保费口径 {prem} · 金额单位 {money_unit(self.money)} · 生成于 "
                f"{self.generated_at.isoformat(sep=' ')} · 口径见「定义」")


def money_unit(money: Money) -> str:
    return "万元" if money == "wan" else "元"


# --- the column catalogue ----------------------------------------------------------------------


def _reg(key: str, group: str, block: str | None = None, sub: str | None = None,
         fmt: Fmt | None = None, money: Money = "yuan") -> Column:
    m = METRICS[key]
    if fmt is None:
        by_unit: dict[str, Fmt] = {"yuan": "money", "persons": "count", "cases": "count",
                                   "rate": "rate", "yuan_per_person": "per2",
                                   "yuan_per_case": "per2", "cases_per_person": "per2"}
        fmt = by_unit[m.unit]
    unit = {"money": money_unit(money), "per2": {"yuan_per_person": "元/人", "yuan_per_case": "元/件",
                                                 "cases_per_person": "件/人"}.get(m.unit, ""),
            "rate": "%", "count": "人" if m.unit == "persons" else "件", "avg": "人"}.get(fmt, "")
    label = block or m.zh
    if block is None and unit and fmt in ("money", "per2"):
        label = f"{m.zh} ({unit})"
    return Column(key, group, label, sub, fmt, m.zh, m.en, m.formula_zh, m.formula_en, unit)


def _derived(key: str, group: str, block: str, sub: str | None, fmt: Fmt, zh: str, en: str,
             fzh: str, fen: str, unit: str = "") -> Column:
    return Column(key, group, block, sub, fmt, zh, en, fzh, fen, unit)


PLAN_RULE_ZH = "机构本期计划; 无则各月计划之和; 再无则下级机构计划之和"
PLAN_RULE_EN = ("the plan entered for the unit and period; else the sum of its months' plans; else the "
                "sum of its child units' plans")


def _key_block(code: str, group: str, block: str, money: Money, growth: Literal["rate", "pp"],
               plan: bool, rank: bool = False) -> list[Column]:
    """Actual, plan, 达成率, 同比, 环比 (and 排名) of one key metric."""
    m = METRICS[code]
    actual = _reg(code, group, block, "实际", "avg" if code == "headcount_avg" else None, money)
    cols = [actual]
    if plan:
        if code == "fyp":
            cols.append(_derived("fyp_plan", group, block, "计划", "money", "FYP计划", "FYP plan",
                                 PLAN_RULE_ZH, PLAN_RULE_EN, money_unit(money)))
            cols.append(_reg("fyp_plan_rate", group, block, "达成率"))
        else:
            cols.append(_derived(f"{code}_plan", group, block, "计划", actual.fmt, f"{m.zh}计划",
                                 f"{m.en} plan", PLAN_RULE_ZH, PLAN_RULE_EN, actual.unit))
            cols.append(_derived(f"{code}_plan_rate", group, block, "达成率", "rate",
                                 f"{m.zh}达成率", f"{m.en} plan attainment", f"{m.zh} / {m.zh}计划",
                                 f"{m.en} / plan", "%"))
    if code == "fyp":
        cols.append(_reg("fyp_yoy", group, block, "同比"))
        cols.append(_reg("fyp_mom", group, block, "环比"))
    elif growth == "rate":
        for suffix, sub, zh_p, en_p in (("yoy", "同比", "上年同期", "the same period a year earlier"),
                                        ("mom", "环比", "上期", "the previous period")):
            cols.append(_derived(
                f"{code}_{suffix}", group, block, sub, "rate", f"{m.zh}{sub}增长率",
                f"{m.en} growth vs {en_p}", f"(本期{m.zh} − {zh_p}{m.zh}) / {zh_p}{m.zh}",
                f"({m.en} − {m.en} of {en_p}) / {m.en} of {en_p}", "%"))
    else:
        for suffix, sub, zh_p, en_p in (("yoy", "同比", "上年同期", "the same period a year earlier"),
                                        ("mom", "环比", "上期", "the previous period")):
            cols.append(_derived(
                f"{code}_{suffix}_pp", group, block, f"{sub}(百分点)", "pp", f"{m.zh}{sub}增减",
                f"{m.en} change vs {en_p} (percentage points)",
                f"(本期{m.zh} − {zh_p}{m.zh}) × 100, 单位百分点",
                f"({m.en} − {m.en} of {en_p}) × 100, in percentage points", "百分点"))
    if rank:
        cols.append(_derived("fyp_rank", group, block, "排名", "rank", "FYP排名", "FYP rank",
                             "下级机构按本期FYP从高到低排名 (并列同名次, 合计行不排名)",
                             "rank of the child units by FYP, highest first (ties share a rank; "
                             "none for the total)"))
    return cols


def build_columns(money: Money, plans: set[str]) -> list[Column]:
    """The report's columns; ``plans``: metrics (besides FYP) that have plans to show."""
    g1, g2, g3, g4, g5 = "业绩 Production", "人力 Manpower", "活动 Activity", "增员与脱落 Recruiting", \
        "留存 Cohorts"
    cols = [
        _derived("org_code", "机构", "机构代码", None, "text", "机构代码", "org unit code",
                 "下级机构; 最后一行为本机构合计", "child org units; the last row is the unit itself"),
        _derived("org_name", "机构", "机构名称", None, "text", "机构名称", "org unit name", "", ""),
    ]
    cols += _key_block("fyp", g1, f"首年保费 FYP ({money_unit(money)})", money, "rate", True, rank=True)
    cols += [_reg("fyc", g1, money=money), _reg("std_premium", g1, money=money),
             _reg("cases", g1, "件数"), _reg("premium_per_case", g1)]
    cols += [_reg("headcount_open", g2, "期初人力")]
    cols += _key_block("headcount_close", g2, "期末人力", money, "rate", "headcount_close" in plans)
    cols += [_reg("headcount_avg", g2, "平均人力", fmt="avg"), _reg("new_hires", g2, "新进"),
             _reg("leavers", g2, "脱落"), _reg("conversions", g2, "转正")]
    cols += [_reg("active", g3, "实动人力")]
    cols += _key_block("activity_rate", g3, "活动率", money, "pp", "activity_rate" in plans)
    cols += [_reg("fyp_per_capita", g3, "人均FYP (元/人)"), _reg("fyp_per_active", g3, "人均产能 (元/人)"),
             _reg("cases_per_capita", g3, "人均件数 (件/人)")]
    cols += [_reg(c, g4) for c in ("recruitment_rate", "effective_recruitment_rate", "attrition_rate",
                                   "net_growth_rate")]
    cols += [_reg(c, g5) for c in ("retention_3m", "retention_6m", "retention_12m", "conversion_3m",
                                   "conversion_6m", "persistency_13m", "persistency_25m")]
    return cols


# --- computing ----------------------------------------------------------------------------------


def _basis(ws: Workspace) -> Basis:
    cal = ws.settings.calendar
    return Basis(cal.month_basis, cal.cutoff_day)


def _request_args(p: Period) -> tuple[str, dt.date | None]:
    """(period text, as_of) that ``parse_period`` turns back into ``p``."""
    if p.kind == "range":
        return p.label, None
    return p.uncut().label, (p.end if p.as_of is not None else None)


def _values(result: KpiResult) -> dict[str, dict[str, Any]]:
    """org_code → metric → row (segment 'all')."""
    out: dict[str, dict[str, Any]] = {}
    for r in result.rows:
        if r.segment == "all":
            out.setdefault(r.org_code, {})[r.metric] = r
    return out


def _growth(cur: Decimal | None, base: Decimal | None) -> Decimal | None:
    if cur is None or base is None or base == 0:
        return None
    return (cur - base) / base


def _pp(cur: Decimal | None, base: Decimal | None) -> Decimal | None:
    if cur is None or base is None:
        return None
    return (cur - base) * 100


def _plans_available(ws: Workspace) -> set[str]:
    """Metric codes that have at least one plan row in the snapshot."""
    try:
        import pyarrow.parquet as pq

        path = snapshot.tables(ws).get("plans")
        if not path or not Path(path).exists():
            return set()
        return {str(m) for m in pq.read_table(path, columns=["metric"]).column("metric").to_pylist()}
    except Exception:  # a report without the optional plan columns is still correct
        return set()


def _other_plans(ws: Workspace, period: Period, units: list[str], metric: str) -> dict[str, Decimal | None]:
    """Plans of ``metric`` for ``units`` with the engine's plan rules (kpi-spec §5 Plans)."""
    snap = compiler.Snapshot.open(ws)
    ctx = compiler.Context(snap=snap, period=period, settings=ws.settings,
                           grain=compiler.Grain(units=units), segment="none")
    leaf = Plan(metric)
    vals = compiler.plans(ctx, [leaf])[leaf]
    return {u: v for (u, _s), v in vals.items()}


def monthly_view(ws: Workspace, actor: Actor, period: str, org: str | None,
                 money: Money = "wan") -> tuple[MonthlyReport, list[list[str]]]:
    """The report of ``org`` (visible to ``actor``) for ``period`` and its cells as text (the
    page's table, in 万元 as on the dashboard and in the PDF; the numbers read from the results
    store)."""
    actor.require("view_agents")
    r = monthly_report(ws, actor, period, org, money=money)  # NotFound outside the scope
    return r, [[cell_text(c, row.get(c.key), r.money) for c in r.columns] for row in r.rows]


def monthly_report(ws: Workspace, actor: Actor, period: str, org: str | None = None, *,
                   as_of: dt.date | None = None, money: Money = "yuan") -> MonthlyReport:
    """Compute the monthly report's table (what :func:`zhuizong.reports.export.build_monthly`
    writes)."""
    if money not in ("yuan", "wan"):
        raise ZhuizongError(f"金额单位应为 yuan 或 wan: {money}", f"money must be yuan or wan: {money}")
    p = parse_period(period, _basis(ws), as_of)
    prev, ly = p.previous(), p.same_last_year()
    main_codes = [c for c in dict.fromkeys(
        ["fyp", "fyp_plan_rate", "fyp_yoy", "fyp_mom", "fyc", "std_premium", "cases",
         "premium_per_case", "headcount_open", "headcount_close", "headcount_avg", "new_hires",
         "leavers", "conversions", "active", "activity_rate", "fyp_per_capita", "fyp_per_active",
         "cases_per_capita", "recruitment_rate", "effective_recruitment_rate", "attrition_rate",
         "net_growth_rate", "retention_3m", "retention_6m", "retention_12m", "conversion_3m",
         "conversion_6m", "persistency_13m", "persistency_25m"])]
    cmp_codes = ("headcount_close", "activity_rate")

    def run(per: Period, by: str | None, codes: tuple[str, ...], org_code: str | None) -> KpiResult:
        text, cut = _request_args(per)
        return kpi_report(ws, actor, KpiRequest(period=text, org=org_code, by=by, metrics=codes,
                                                as_of=cut))

    total = run(p, None, tuple(main_codes), org)
    org_code = total.org_code
    children = run(p, "children", tuple(main_codes), org_code)
    prev_t, prev_c = run(prev, None, cmp_codes, org_code), run(prev, "children", cmp_codes, org_code)
    ly_t, ly_c = run(ly, None, cmp_codes, org_code), run(ly, "children", cmp_codes, org_code)

    cur = _values(children) | _values(total)
    prev_v = _values(prev_c) | _values(prev_t)
    ly_v = _values(ly_c) | _values(ly_t)
    child_codes = list(dict.fromkeys(r.org_code for r in children.rows))
    units = [*child_codes, org_code]

    available = _plans_available(ws) & {"headcount_close", "activity_rate"}
    other_plans = {m: _other_plans(ws, total.period, units, m) for m in sorted(available)}
    plans = {m for m, vals in other_plans.items() if any(v is not None for v in vals.values())}
    columns = build_columns(money, plans)

    name_of = {r.org_code: r.org_name for r in [*children.rows, *total.rows]}
    rows: list[dict[str, Any]] = []
    for u in units:
        vals = cur.get(u, {})
        row: dict[str, Any] = {"org_code": u, "org_name": name_of.get(u, ""), "_total": u == org_code
                               and u not in child_codes}
        if row["_total"]:
            row["org_name"] = f"合计 {row['org_name']}"
        for c in main_codes:
            row[c] = vals[c].value if c in vals else None
        plan_row = vals.get("fyp_plan_rate")
        row["fyp_plan"] = plan_row.denominator if plan_row is not None else None
        for m in cmp_codes:
            now = row.get(m)
            pv = prev_v.get(u, {}).get(m)
            lv = ly_v.get(u, {}).get(m)
            pv_val, lv_val = (pv.value if pv else None), (lv.value if lv else None)
            if m == "activity_rate":
                row[f"{m}_yoy_pp"], row[f"{m}_mom_pp"] = _pp(now, lv_val), _pp(now, pv_val)
            else:
                row[f"{m}_yoy"], row[f"{m}_mom"] = _growth(now, lv_val), _growth(now, pv_val)
            if m in plans:
                plan = other_plans[m].get(u)
                row[f"{m}_plan"] = plan
                row[f"{m}_plan_rate"] = None if plan is None or plan == 0 or now is None else now / plan
        rows.append(row)
    # FYP rank among the child units (competition ranking: ties share the best rank)
    fyps = [r["fyp"] or Decimal(0) for r in rows if not r["_total"]]
    for r in rows:
        if not r["_total"]:
            v = r["fyp"] or Decimal(0)
            r["fyp_rank"] = 1 + sum(1 for x in fyps if x > v)
        else:
            r["fyp_rank"] = None
    org_name = name_of.get(org_code, org_code)
    return MonthlyReport(org_code=org_code, org_name=org_name, period=total.period, previous=prev,
                         last_year=ly, settings=dict(total.settings), money=money,
                         actor=actor.username, columns=columns, rows=rows)


# --- formatting (shared by XLSX and PDF) --------------------------------------------------------

#: XlsxWriter number formats
NUM_FORMATS: dict[str, str] = {
    "money": "#,##0.00",
    "count": "#,##0",
    "avg": "#,##0.0#",
    "rate": "0.00%;[Red]-0.00%",
    "per2": "#,##0.00",
    "pp": "+0.00;[Red]-0.00;0.00",
    "rank": "0",
}


def cell_number(col: Column, value: Any, money: Money) -> float | None:
    """The number written into the sheet (万元 scaled), or None for an empty cell."""
    if value is None:
        return None
    d = Decimal(value)
    if col.fmt == "money" and money == "wan":
        d = d / WAN
    return float(d)


def cell_text(col: Column, value: Any, money: Money) -> str:
    """The value as displayed (PDF and plain text)."""
    if col.fmt == "text":
        return "" if value is None else str(value)
    n = cell_number(col, value, money)
    if n is None:
        return NULL_TEXT
    if col.fmt in ("money", "per2"):
        return f"{n:,.2f}"
    if col.fmt == "count":
        return f"{n:,.0f}" if n == int(n) else f"{n:,.1f}"
    if col.fmt == "avg":
        s = f"{n:,.2f}"
        return s[:-1] if s.endswith("0") else s
    if col.fmt == "rate":
        return f"{n * 100:.2f}%"
    if col.fmt == "pp":
        return f"{n:+.2f}"
    if col.fmt == "rank":
        return f"{int(n)}"
    return str(value)


def definition_rows(report: MonthlyReport) -> list[tuple[str, str, str, str, str, str]]:
    """(code, 指标, metric, unit, 公式, formula) of every column shown (org columns excluded)."""
    seen: dict[str, tuple[str, str, str, str, str, str]] = {}
    for c in report.columns:
        if c.fmt == "text" or c.key in seen:
            continue
        seen[c.key] = (c.key, c.zh, c.en, c.unit, c.formula_zh, c.formula_en)
    return list(seen.values())


def info_rows(report: MonthlyReport) -> list[tuple[str, str]]:
    p, pv, ly = report.period, report.previous, report.last_year
    return [
        ("机构 org unit", f"{report.org_code} {report.org_name}"),
        ("期间 period", p.label),
        ("开始日期 start", p.start.isoformat()),
        ("结束日期 end", p.end.isoformat()),
        ("月份口径 month basis", "工作月 work months" if p.basis.kind == "work" else "自然月 natural months"),
        ("环比期间 previous period", f"{pv.label} ({pv.start.isoformat()} 至 {pv.end.isoformat()})"),
        ("同比期间 same period last year", f"{ly.label} ({ly.start.isoformat()} 至 {ly.end.isoformat()})"),
        ("金额单位 money unit", f"{money_unit(report.money)} (人均/件均: 元)"),
        ("生成时间 generated at", report.generated_at.isoformat(sep=" ")),
        ("生成人 generated by", report.actor),
        ("说明 notes", "合计行按本机构全部事实直接计算, 不是下级机构之和 (实动等去重人数) / the total row is "
                       "computed from the facts of the whole unit, not summed from the rows above"),
    ]


def settings_rows(report: MonthlyReport) -> list[tuple[str, str, str, str]]:
    out = []
    for k, v in report.settings.items():
        info = SETTINGS.get(k)
        out.append((k, str(v), info.zh if info else "", info.en if info else ""))
    return out


# --- XLSX ---------------------------------------------------------------------------------------

HEADER_ROWS = 4  # group, metric, sub-header, metric code
FIRST_HEADER_ROW = 3
FIRST_DATA_ROW = FIRST_HEADER_ROW + HEADER_ROWS
GROUP_COLORS = {"机构": "#D9D9D9", "业绩 Production": "#DDEBF7", "人力 Manpower": "#E2EFDA",
                "活动 Activity": "#FFF2CC", "增员与脱落 Recruiting": "#FCE4D6", "留存 Cohorts": "#EDE4F5"}
_WIDTHS = {"text": 12, "money": 16, "count": 9, "avg": 10, "rate": 10, "per2": 12, "pp": 10,
           "rank": 7}


def write_xlsx(report: MonthlyReport, out: Path) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(out), {"strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False})
    sh = wb.add_worksheet("月报")
    font = {"font_name": "等线", "font_size": 10}
    f_title = wb.add_format({**font, "bold": True, "font_size": 14})
    f_sub = wb.add_format({**font, "font_color": "#595959"})
    f_code = wb.add_format({**font, "font_size": 8, "font_color": "#808080", "align": "center",
                            "border": 1, "bg_color": "#F2F2F2"})
    head_formats: dict[str, Any] = {}
    for g, color in GROUP_COLORS.items():
        head_formats[g] = wb.add_format({**font, "bold": True, "align": "center", "valign": "vcenter",
                                         "text_wrap": True, "border": 1, "bg_color": color})
    default_head = wb.add_format({**font, "bold": True, "align": "center", "valign": "vcenter",
                                  "text_wrap": True, "border": 1})
    body: dict[tuple[str, bool], Any] = {}
    for fmt in ("text", *NUM_FORMATS):
        for total in (False, True):
            spec: dict[str, Any] = {**font, "border": 1, "border_color": "#BFBFBF"}
            if fmt != "text":
                spec["num_format"] = NUM_FORMATS[fmt]
            if total:
                spec.update(bold=True, bg_color="#F2F2F2", top=2, top_color="#000000")
            body[(fmt, total)] = wb.add_format(spec)
    f_null = {t: wb.add_format({**font, "border": 1, "border_color": "#BFBFBF", "align": "center",
                                "font_color": "#808080", "bold": t,
                                **({"bg_color": "#F2F2F2", "top": 2} if t else {})})
              for t in (False, True)}

    cols = report.columns
    last_col = len(cols) - 1
    sh.merge_range(0, 0, 0, min(last_col, 12), safe_cell(report.title), f_title)
    sh.merge_range(1, 0, 1, min(last_col, 24), safe_cell(report.subtitle), f_sub)
    r_group, r_block, r_sub, r_code = range(FIRST_HEADER_ROW, FIRST_HEADER_ROW + HEADER_ROWS)

    def head_fmt(i: int) -> Any:
        return head_formats.get(cols[i].group, default_head)

    for g, a, b in report.groups:
        if g == "机构":
            continue  # the org columns' headers span the three header rows
        if a == b:
            sh.write_string(r_group, a, safe_cell(g), head_fmt(a))
        else:
            sh.merge_range(r_group, a, r_group, b, safe_cell(g), head_fmt(a))
    for label, a, b, has_sub in report.blocks:
        if cols[a].group == "机构":
            sh.merge_range(r_group, a, r_sub, a, safe_cell(label), head_fmt(a))
        elif has_sub:
            if a == b:
                sh.write_string(r_block, a, safe_cell(label), head_fmt(a))
            else:
                sh.merge_range(r_block, a, r_block, b, safe_cell(label), head_fmt(a))
            for i in range(a, b + 1):
                sh.write_string(r_sub, i, safe_cell(cols[i].sub or ""), head_fmt(i))
        else:
            sh.merge_range(r_block, a, r_sub, a, safe_cell(label), head_fmt(a))
    for i, c in enumerate(cols):
        sh.write_string(r_code, i, safe_cell("指标代码 code" if i == 0 else "" if c.fmt == "text" else c.key),
                        f_code)
    sh.set_row(r_block, 30)
    sh.set_row(r_sub, 18)

    for n, row in enumerate(report.rows):
        r = FIRST_DATA_ROW + n
        total = bool(row.get("_total"))
        for i, c in enumerate(cols):
            v = row.get(c.key)
            if c.fmt == "text":
                sh.write_string(r, i, safe_cell(v), body[("text", total)])
                continue
            num = cell_number(c, v, report.money)
            if num is None:
                sh.write_string(r, i, NULL_TEXT, f_null[total])
            else:
                sh.write_number(r, i, num, body[(c.fmt, total)])
    for i, c in enumerate(cols):
        width = _WIDTHS[c.fmt]
        if c.key == "org_name":
            width = max(14, min(30, max((len(str(r.get("org_name", ""))) * 2 for r in report.rows),
                                        default=14)))
        elif c.fmt == "money" and report.money == "wan":
            width = 12
        sh.set_column(i, i, width)
    last_row = FIRST_DATA_ROW + len(report.rows) - 1
    note = last_row + 2
    sh.write_string(note, 0, safe_cell("注: 合计行按本机构全部事实直接计算 (去重), 不是上面各行之和; "
                                       "空值 (—) 表示分母为 0 或无计划。指标公式与口径设置见「定义」工作表。"), f_sub)
    sh.write_string(note + 1, 0, safe_cell(
        "Note: the total row is computed from all facts of the unit (distinct counts), not summed from the "
        "rows above; — means a zero denominator or no plan. Formulas and settings: sheet 定义."), f_sub)
    sh.freeze_panes(FIRST_DATA_ROW, 2)
    sh.set_landscape()
    sh.set_paper(8)  # A3
    sh.fit_to_pages(1, 0)
    sh.repeat_rows(FIRST_HEADER_ROW, r_code)
    sh.repeat_columns(0, 1)
    sh.set_zoom(90)
    _write_definitions(wb, report, font)  # the second sheet
    _write_chart(wb, report, sh.name, last_row)
    wb.close()
    return out


def _write_chart(wb: Any, report: MonthlyReport, sheet: str, last_row: int) -> None:
    """A native Excel chart: FYP by child unit with the plan attainment on a second axis."""
    n_children = sum(1 for r in report.rows if not r.get("_total"))
    if n_children == 0:
        return
    keys = [c.key for c in report.columns]
    i_name, i_fyp, i_rate = keys.index("org_name"), keys.index("fyp"), keys.index("fyp_plan_rate")
    first, last = FIRST_DATA_ROW, FIRST_DATA_ROW + n_children - 1
    cs = wb.add_chartsheet("图表")
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"name": f"FYP ({money_unit(report.money)})",
                      "categories": [sheet, first, i_name, last, i_name],
                      "values": [sheet, first, i_fyp, last, i_fyp]})
    line = wb.add_chart({"type": "line"})
    line.add_series({"name": "FYP 计划达成率", "categories": [sheet, first, i_name, last, i_name],
                     "values": [sheet, first, i_rate, last, i_rate], "y2_axis": True,
                     "marker": {"type": "circle"}})
    chart.combine(line)
    chart.set_title({"name": safe_cell(f"{report.org_name} {report.period.label} FYP 与计划达成率")})
    chart.set_y_axis({"name": f"FYP ({money_unit(report.money)})", "num_format": "#,##0"})
    line.set_y2_axis({"name": "达成率", "num_format": "0%"})
    chart.set_legend({"position": "bottom"})
    cs.set_chart(chart)


def _write_definitions(wb: Any, report: MonthlyReport, font: dict[str, Any]) -> None:
    sh = wb.add_worksheet("定义")
    f_title = wb.add_format({**font, "bold": True, "font_size": 13})
    f_head = wb.add_format({**font, "bold": True, "bg_color": "#D9D9D9", "border": 1})
    f_cell = wb.add_format({**font, "border": 1, "text_wrap": True, "valign": "top"})
    sh.set_column(0, 0, 30)
    sh.set_column(1, 2, 26)
    sh.set_column(3, 3, 10)
    sh.set_column(4, 5, 60)
    r = 0
    sh.write_string(r, 0, safe_cell(f"定义与口径 Definitions — {report.title}"), f_title)
    r += 2
    sh.write_string(r, 0, "报表 Report", f_title)
    r += 1
    for k, v in info_rows(report):
        sh.write_string(r, 0, safe_cell(k), f_head)
        sh.merge_range(r, 1, r, 5, safe_cell(v), f_cell)
        r += 1
    r += 1
    sh.write_string(r, 0, "口径设置 Settings used", f_title)
    r += 1
    sh.write_string(r, 0, "设置 setting", f_head)
    sh.write_string(r, 1, "值 value", f_head)
    sh.merge_range(r, 2, r, 4, "说明", f_head)
    sh.write_string(r, 5, "description", f_head)
    r += 1
    for key, value, zh, en in settings_rows(report):
        sh.write_string(r, 0, safe_cell(key), f_cell)
        sh.write_string(r, 1, safe_cell(value), f_cell)
        sh.merge_range(r, 2, r, 4, safe_cell(zh), f_cell)
        sh.write_string(r, 5, safe_cell(en), f_cell)
        r += 1
    r += 1
    sh.write_string(r, 0, "指标 Metrics", f_title)
    r += 1
    for i, h in enumerate(("代码 code", "指标", "metric", "单位 unit", "公式", "formula")):
        sh.write_string(r, i, h, f_head)
    r += 1
    for row in definition_rows(report):
        for i, v in enumerate(row):
            sh.write_string(r, i, safe_cell(v), f_cell)
        r += 1
    sh.freeze_panes(1, 0)


# The entry point that writes XLSX or PDF (reports.pdf builds on this module) is
# zhuizong.reports.export.build_monthly.

__all__ = ["Column", "MonthlyReport", "build_columns", "cell_number", "cell_text",
           "monthly_report", "write_xlsx"]
