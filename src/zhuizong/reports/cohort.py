"""Cohort tables (批次留存): retention and conversion by hire month × months since hire.

Rows are the hire months ``from_month`` .. ``to_month`` (months of the workspace's month basis),
columns are the months since hire t = 0 .. N (N = months from ``from_month`` to ``to_month``), and
cell (h, t) is the share of the cohort hired in month h that is still in force at the end of month
h + t; cells with h + t after ``to_month`` stay empty (the triangle). The second matrix is the share
converted: in force at the end of h + t **and** of formal or director rank then.

Semantics are the engine's (``docs/kpi-engine.md`` point 13), so the cell (m − t, t) equals the
engine's ``retention_{t}m`` / ``conversion_{t}m`` of month m: the cohort is the employment spells
that started in the month, attributed to the org unit of the hire (placement on the hire day, in
the requested unit's subtree); a spell is retained when its ``leave_day`` is after the month end.
The engine's registry only has t = 3, 6, 12, so the matrix queries the same Parquet snapshot
(``spells``, ``placements``, ``org_ancestors``) directly with DuckDB, in one grouped query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from zhuizong.access.actor import Actor
from zhuizong.analytics import snapshot
from zhuizong.analytics.calendar import Basis, day_num, parse_period
from zhuizong.common.cache import LruCache
from zhuizong.common.cells import safe_cell
from zhuizong.errors import ZhuizongError
from zhuizong.kpi.engine import KpiRequest
from zhuizong.kpi.results import data_version
from zhuizong.kpi.service import kpi_report
from zhuizong.settings import SETTINGS
from zhuizong.workspace import Workspace

OPEN_DAY = 10_000_000
Kind = Literal["retention", "conversion"]


@dataclass
class CohortTable:
    org_code: str
    org_name: str
    months: list[str]  # hire months, "YYYY-MM", from_month .. to_month
    month_bounds: list[tuple[dt.date, dt.date]]
    size: list[int]
    #: [hire month][months since hire]: counts, None beyond to_month
    retained: list[list[int | None]]
    converted: list[list[int | None]]
    settings: dict[str, Any] = field(default_factory=dict)
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))

    @property
    def max_t(self) -> int:
        return len(self.months) - 1

    def shares(self, kind: Kind) -> list[list[float | None]]:
        """Shares of the cohort; None beyond to_month and for empty cohorts."""
        counts = self.retained if kind == "retention" else self.converted
        out = []
        for n, row in zip(self.size, counts, strict=True):
            out.append([None if c is None or n == 0 else c / n for c in row])
        return out


def _basis(ws: Workspace) -> Basis:
    cal = ws.settings.calendar
    return Basis(cal.month_basis, cal.cutoff_day)


def _month(text: str, basis: Basis, what: str) -> tuple[int, int]:
    p = parse_period(text, basis)
    if p.kind != "month" or p.year is None or p.index is None:
        raise ZhuizongError(f"{what} 应为月份 (如 2025-01): {text}", f"{what} must be a month such as 2025-01: {text}")
    return p.year, p.index


def _sql_path(path: str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _query(ws: Workspace, org: str, hires: pd.DataFrame, evals: pd.DataFrame) -> pd.DataFrame:
    import duckdb

    paths = snapshot.tables(ws)
    sp, pl, anc = (_sql_path(paths[k]) for k in ("spells", "placements", "org_ancestors"))
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")  # nothing on the web server's stderr
        con.register("hire_months", hires)
        con.register("evals", evals)
        sql = f"""
        WITH pl0 AS (
            SELECT agent_code, from_day, to_day, org_code, category,
                   min(from_day) OVER (PARTITION BY agent_code) AS first_from
            FROM read_parquet({pl})),
        pl AS (  -- the earliest placement extends backwards (docs/kpi-engine.md point 1)
            SELECT agent_code, org_code, category, to_day,
                   CASE WHEN from_day = first_from THEN -{OPEN_DAY} ELSE from_day END AS from_day
            FROM pl0),
        sub AS (SELECT org_code FROM read_parquet({anc}) WHERE ancestor_code = $org),
        cohort AS (
            SELECT s.agent_code, s.hire_day, s.leave_day, m.h
            FROM read_parquet({sp}) s
            JOIN hire_months m ON s.hire_day >= m.c_start AND s.hire_day <= m.c_end
            JOIN pl ON pl.agent_code = s.agent_code AND pl.from_day <= s.hire_day
                   AND s.hire_day < pl.to_day
            WHERE pl.org_code IN (SELECT org_code FROM sub))
        SELECT c.h, e.t, count(*) AS size,
               sum(CASE WHEN c.leave_day > e.eval_day THEN 1 ELSE 0 END) AS retained,
               sum(CASE WHEN c.leave_day > e.eval_day AND p.category IN ('formal', 'director')
                        THEN 1 ELSE 0 END) AS converted
        FROM cohort c
        JOIN evals e ON e.h = c.h
        LEFT JOIN pl p ON p.agent_code = c.agent_code AND p.from_day <= e.eval_day
                      AND e.eval_day < p.to_day
        GROUP BY c.h, e.t
        """
        return con.execute(sql, {"org": org}).df()
    finally:
        con.close()


#: cohort counts per (snapshot, data version, unit, months, calendar)
_KEPT = LruCache(128)


def cohort_table(ws: Workspace, actor: Actor, from_month: str, to_month: str,
                 org: str | None = None) -> CohortTable:
    """Retention and conversion counts of the hire months ``from_month`` .. ``to_month``."""
    basis = _basis(ws)
    fy, fm = _month(from_month, basis, "--from")
    ty, tm = _month(to_month, basis, "--to")
    first, last = fy * 12 + fm - 1, ty * 12 + tm - 1
    if last < first:
        raise ZhuizongError(f"起始月份 {from_month} 晚于截止月份 {to_month}",
                            f"--from {from_month} is after --to {to_month}")
    # scope check and org resolution through the scoped KPI service (also refreshes the snapshot)
    check = kpi_report(ws, actor, KpiRequest(period=f"{ty:04d}-{tm:02d}", org=org,
                                             metrics=("retention_3m",)))
    org_code = check.org_code
    org_name = next((r.org_name for r in check.rows if r.org_code == org_code), org_code)
    labels, bounds, hire_rows, eval_rows = [], [], [], []
    for h, idx in enumerate(range(first, last + 1)):
        y, m = idx // 12, idx % 12 + 1
        s, e = basis.month_bounds(y, m)
        labels.append(f"{y:04d}-{m:02d}")
        bounds.append((s, e))
        hire_rows.append((h, day_num(s), day_num(e)))
        for t in range(0, last - idx + 1):
            j = idx + t
            eval_rows.append((h, t, day_num(basis.month_bounds(j // 12, j % 12 + 1)[1])))
    hires = pd.DataFrame(hire_rows, columns=["h", "c_start", "c_end"]).astype("int64")
    evals = pd.DataFrame(eval_rows, columns=["h", "t", "eval_day"]).astype("int64")
    # the counts of a unit and range are kept per data version (the dashboard's heat map asks
    # for the same ones on every view)
    key = (str(ws.analytics_dir), data_version(ws), org_code, first, last, repr(basis))
    df = _KEPT.get(key, lambda: _query(ws, org_code, hires, evals))
    n = len(labels)
    size = [0] * n
    retained: list[list[int | None]] = [[0 if h + t < n else None for t in range(n)] for h in range(n)]
    converted: list[list[int | None]] = [list(r) for r in retained]
    for h, t, sz, ret, conv in zip(df["h"], df["t"], df["size"], df["retained"], df["converted"],
                                   strict=True):
        h, t = int(h), int(t)
        size[h] = int(sz)
        retained[h][t] = int(ret)
        converted[h][t] = int(conv)
    return CohortTable(org_code=org_code, org_name=org_name, months=labels, month_bounds=bounds,
                       size=size, retained=retained, converted=converted,
                       settings=dict(check.settings))


# --- XLSX ---------------------------------------------------------------------------------------

FIRST_ROW = 4  # header rows 2..3, data from row 4 (0-based)


def write_cohort_xlsx(table: CohortTable, out: Path) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(out), {"strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False})
    font = {"font_name": "等线", "font_size": 10}
    f_title = wb.add_format({**font, "bold": True, "font_size": 14})
    f_sub = wb.add_format({**font, "font_color": "#595959"})
    f_head = wb.add_format({**font, "bold": True, "align": "center", "valign": "vcenter", "border": 1,
                            "bg_color": "#D9D9D9", "text_wrap": True})
    f_month = wb.add_format({**font, "border": 1, "bold": True})
    f_int = wb.add_format({**font, "border": 1, "num_format": "#,##0"})
    f_pct = wb.add_format({**font, "border": 1, "num_format": "0.00%"})
    f_null = wb.add_format({**font, "border": 1, "align": "center", "font_color": "#808080"})
    n = len(table.months)
    sheets: list[tuple[str, str, Kind | None, list[list[int | None]] | None]] = [
        ("留存率", "批次留存率 retention: 入司后第 t 月末仍在职人数 / 批次人数", "retention", None),
        ("转正率", "批次转正率 conversion: 入司后第 t 月末在职且为正式及以上人数 / 批次人数",
         "conversion", None),
        ("留存人数", "入司后第 t 月末仍在职人数 retained agents (counts)", None, table.retained),
        ("转正人数", "入司后第 t 月末在职且为正式及以上人数 converted agents (counts)", None,
         table.converted),
    ]
    title = f"{table.org_name} 批次留存分析 {table.months[0]} 至 {table.months[-1]}"
    for name, subtitle, kind, counts in sheets:
        sh = wb.add_worksheet(name)
        sh.write_string(0, 0, safe_cell(title), f_title)
        sh.write_string(1, 0, safe_cell(f"{subtitle} · 机构 {table.org_code} · 生成于 "
                                        f"{table.generated_at.isoformat(sep=' ')} · 口径见「定义」"), f_sub)
        sh.merge_range(2, 0, 3, 0, "入司月份 hire month", f_head)
        sh.merge_range(2, 1, 3, 1, "批次人数 cohort size", f_head)
        if n > 1:
            sh.merge_range(2, 2, 2, 2 + n - 1, "入司后月数 months since hire (t)", f_head)
        else:
            sh.write_string(2, 2, "入司后月数 months since hire (t)", f_head)
        for t in range(n):
            sh.write_number(3, 2 + t, t, f_head)
        values: list[list[Any]] = table.shares(kind) if kind else counts  # type: ignore[assignment]
        for h in range(n):
            r = FIRST_ROW + h
            sh.write_string(r, 0, table.months[h], f_month)
            sh.write_number(r, 1, table.size[h], f_int)
            for t in range(n):
                v = values[h][t]
                if h + t >= n:
                    continue  # beyond to_month: empty (the triangle)
                if v is None:
                    sh.write_string(r, 2 + t, "—", f_null)
                else:
                    sh.write_number(r, 2 + t, v, f_pct if kind else f_int)
        if kind:
            sh.conditional_format(FIRST_ROW, 2, FIRST_ROW + n - 1, 2 + n - 1, {
                "type": "3_color_scale", "min_type": "num", "min_value": 0, "min_color": "#F8696B",
                "mid_type": "num", "mid_value": 0.5, "mid_color": "#FFEB84",
                "max_type": "num", "max_value": 1, "max_color": "#63BE7B"})
        sh.set_column(0, 0, 12)
        sh.set_column(1, 1, 10)
        sh.set_column(2, 2 + n - 1, 8)
        sh.freeze_panes(FIRST_ROW, 2)
        sh.set_landscape()
        sh.fit_to_pages(1, 0)
    _write_definitions(wb, table, font)
    wb.close()
    return out


def _write_definitions(wb: Any, table: CohortTable, font: dict[str, Any]) -> None:
    sh = wb.add_worksheet("定义")
    f_title = wb.add_format({**font, "bold": True, "font_size": 13})
    f_head = wb.add_format({**font, "bold": True, "bg_color": "#D9D9D9", "border": 1})
    f_cell = wb.add_format({**font, "border": 1, "text_wrap": True, "valign": "top"})
    sh.set_column(0, 0, 28)
    sh.set_column(1, 1, 60)
    sh.set_column(2, 2, 70)
    rows = [
        ("机构 org unit", f"{table.org_code} {table.org_name}", ""),
        ("入司月份 hire months", f"{table.months[0]} 至 {table.months[-1]}",
         f"{table.month_bounds[0][0].isoformat()} .. {table.month_bounds[-1][1].isoformat()}"),
        ("批次 cohort", "当月入司的任职记录 (二次入司另计), 按入司日所在机构归属 (含下级机构)",
         "employment spells that started in the hire month (a rehire is a new spell), attributed to "
         "the org unit of the hire, subtree included"),
        ("留存率 retention (h, t)", "入司月 h 的批次中, 第 h+t 月末仍在职的人数 / 批次人数 (含已离司者)",
         "cohort spells still in force at the end of month h+t / cohort size (leavers included)"),
        ("转正率 conversion (h, t)",
         "入司月 h 的批次中, 第 h+t 月末在职且职级类别为正式或主任以上的人数 / 批次人数",
         "cohort spells in force at the end of month h+t and of formal or director rank then / cohort size"),
        ("空白 empty cells", "h+t 晚于截止月份的单元格为空; — 表示批次人数为 0",
         "cells with h+t after the last month are empty; — means an empty cohort"),
        ("与指标一致 consistency", "单元格 (m−t, t) 等于第 m 月的 t个月留存率 retention_tm / 转正率 conversion_tm",
         "cell (m−t, t) equals the metric retention_{t}m / conversion_{t}m of month m"),
        ("生成时间 generated at", table.generated_at.isoformat(sep=" "), ""),
    ]
    sh.write_string(0, 0, "定义与口径 Definitions", f_title)
    for i, h in enumerate(("项目 item", "中文", "English")):
        sh.write_string(2, i, h, f_head)
    r = 3
    for row in rows:
        for i, v in enumerate(row):
            sh.write_string(r, i, safe_cell(v), f_cell)
        r += 1
    r += 1
    sh.write_string(r, 0, "口径设置 Settings used", f_title)
    r += 1
    for k, v in table.settings.items():
        info = SETTINGS.get(k)
        sh.write_string(r, 0, safe_cell(f"{k} = {v}"), f_cell)
        sh.write_string(r, 1, safe_cell(info.zh if info else ""), f_cell)
        sh.write_string(r, 2, safe_cell(info.en if info else ""), f_cell)
        r += 1


# --- heat map -----------------------------------------------------------------------------------


def write_heatmap(table: CohortTable, out: Path, kind: Kind = "retention") -> Path:
    """A PNG heat map of the shares (matplotlib, Agg; numeric/English labels, no CJK font needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import numpy as np

    shares = table.shares(kind)
    n = len(table.months)
    grid = np.full((n, n), np.nan)
    for h in range(n):
        for t in range(n):
            v = shares[h][t]
            if v is not None:
                grid[h, t] = v * 100
    masked = np.ma.masked_invalid(grid)
    cell = 0.42 if n > 12 else 0.6
    fig_w = max(6.0, 2.2 + n * cell)
    fig_h = max(4.0, 1.6 + n * cell * 0.8)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), dpi=110)
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#FFFFFF")
    im = ax.imshow(masked, cmap=cmap, vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(n))
    ax.set_xticklabels([str(t) for t in range(n)], fontsize=7)
    ax.set_yticks(range(n))
    ax.set_yticklabels([f"{m} (n={s})" for m, s in zip(table.months, table.size, strict=True)],
                       fontsize=7)
    ax.set_xlabel("months since hire")
    ax.set_ylabel("hire month (cohort size)")
    what = "Retention" if kind == "retention" else "Conversion (in force and formal or above)"
    org = table.org_code if table.org_code.isascii() else ""
    ax.set_title(f"{what} by hire month, % of cohort - {org} {table.months[0]}..{table.months[-1]}".replace("  ", " "),
                 fontsize=9)
    if n <= 24:
        for h in range(n):
            for t in range(n):
                if not np.isnan(grid[h, t]):
                    v = grid[h, t]
                    ax.text(t, h, f"{v:.0f}", ha="center", va="center", fontsize=6,
                            color="white" if v < 15 or v > 85 else "black")
    cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    cb.set_label("% of cohort")
    fig.tight_layout()
    fig.savefig(str(out), format="png")
    plt.close(fig)
    return out


# --- entry points -------------------------------------------------------------------------------


def build_cohort(ws: Workspace, actor: Actor, from_month: str, to_month: str, org: str | None,
                 out: Path) -> Path:
    """Write the cohort workbook (留存率, 转正率, counts, 定义) for hire months from..to."""
    out = Path(out)
    table = cohort_table(ws, actor, from_month, to_month, org)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_cohort_xlsx(table, out)


def cohort_heatmap_png(ws: Workspace, actor: Actor, from_month: str, to_month: str, org: str | None,
                       out: Path, kind: Kind = "retention") -> Path:
    """Write the heat map of retention (or ``kind="conversion"``) as a PNG."""
    if kind not in ("retention", "conversion"):
        raise ZhuizongError(f"热力图类型应为 retention 或 conversion: {kind}",
                            f"heat map kind must be retention or conversion: {kind}")
    out = Path(out)
    table = cohort_table(ws, actor, from_month, to_month, org)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_heatmap(table, out, kind)


__all__ = ["CohortTable", "build_cohort", "cohort_heatmap_png", "cohort_table", "write_cohort_xlsx",
           "write_heatmap"]
