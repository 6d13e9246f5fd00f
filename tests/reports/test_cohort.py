"""Cohort tables: hire-month rows, the triangle, agreement with the engine, heat map."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tests.reports import PERIOD, build_small_demo
from zhuizong.access.actor import SYSTEM, Actor
from zhuizong.errors import NotFound, ZhuizongError
from zhuizong.kpi.engine import KpiRequest, compute
from zhuizong.reports import build_cohort, cohort_heatmap_png, cohort_table
from zhuizong.reports.cohort import FIRST_ROW
from zhuizong.workspace import Workspace

FROM = "2025-01"
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 6)]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def demo_ws(workspace: Workspace) -> Workspace:
    build_small_demo(workspace)
    return workspace


def test_cohort_xlsx(demo_ws: Workspace, tmp_path: Path) -> None:
    out = build_cohort(demo_ws, SYSTEM, FROM, PERIOD, None, tmp_path / "cohort.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[:2] == ["留存率", "转正率"]
    assert "定义" in wb.sheetnames
    n = len(MONTHS)
    for name in ("留存率", "转正率"):
        sh = wb[name]
        assert sh.freeze_panes == f"C{FIRST_ROW + 1}"
        assert [sh.cell(FIRST_ROW, 3 + t).value for t in range(n)] == list(range(n))
        assert [sh.cell(FIRST_ROW + 1 + h, 1).value for h in range(n)] == MONTHS
        assert sh.cell(FIRST_ROW + 1 + n, 1).value is None
        for h in range(n):
            size = sh.cell(FIRST_ROW + 1 + h, 2).value
            assert isinstance(size, int) and size >= 0
            for t in range(n + 1):
                v = sh.cell(FIRST_ROW + 1 + h, 3 + t).value
                if h + t >= n:
                    assert v is None, f"{name} {MONTHS[h]} t={t} is beyond {PERIOD}"
                elif size:
                    assert isinstance(v, float | int) and 0 <= v <= 1
                    assert sh.cell(FIRST_ROW + 1 + h, 3 + t).number_format == "0.00%"
                else:
                    assert v == "—"
        rng = [str(r.sqref) for r in sh.conditional_formatting]
        assert rng and rng[0].startswith(f"C{FIRST_ROW + 1}:")
    # conversion never exceeds retention; retention never rises with time
    ret, conv = wb["留存率"], wb["转正率"]
    for h in range(n):
        prev = 1.0
        for t in range(n - h):
            r = ret.cell(FIRST_ROW + 1 + h, 3 + t).value
            c = conv.cell(FIRST_ROW + 1 + h, 3 + t).value
            if isinstance(r, float | int):
                assert c <= r + 1e-12
                assert r <= prev + 1e-12
                prev = r
    # safety: no formulas, no text that a spreadsheet would run
    for sh in wb.worksheets:
        for row in sh.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@"))


def test_cohort_agrees_with_engine(demo_ws: Workspace) -> None:
    table = cohort_table(demo_ws, SYSTEM, FROM, PERIOD, None)
    assert table.months == MONTHS
    assert sum(table.size) > 0
    res = compute(demo_ws, KpiRequest(period=PERIOD, metrics=(
        "retention_3m", "retention_6m", "retention_12m", "conversion_3m", "conversion_6m")))
    rows = {r.metric: r for r in res.rows}
    last = len(MONTHS) - 1
    for t in (3, 6, 12):
        h = last - t
        r = rows[f"retention_{t}m"]
        assert r.denominator == table.size[h]
        assert r.numerator == table.retained[h][t]
        if t in (3, 6):
            c = rows[f"conversion_{t}m"]
            assert c.numerator == table.converted[h][t]
    # the new hires of each month are the cohort sizes
    for m, size in zip(MONTHS[-3:], table.size[-3:], strict=True):
        hires = compute(demo_ws, KpiRequest(period=m, metrics=("new_hires",))).rows[0].value
        assert hires == size


def test_cohort_heatmap_png(demo_ws: Workspace, tmp_path: Path) -> None:
    for kind in ("retention", "conversion"):
        out = cohort_heatmap_png(demo_ws, SYSTEM, FROM, PERIOD, None, tmp_path / f"{kind}.png", kind=kind)
        data = out.read_bytes()
        assert data.startswith(PNG)
        from PIL import Image

        with Image.open(out) as im:
            im.verify()
        with Image.open(out) as im:
            assert im.format == "PNG" and im.size[0] > 200 and im.size[1] > 200


def test_cohort_errors(demo_ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ZhuizongError):
        build_cohort(demo_ws, SYSTEM, PERIOD, FROM, None, tmp_path / "c.xlsx")  # from after to
    with pytest.raises(ZhuizongError):
        build_cohort(demo_ws, SYSTEM, "2025Q1", PERIOD, None, tmp_path / "c.xlsx")
    with pytest.raises(NotFound):
        build_cohort(demo_ws, Actor("nobody", frozenset({"executive"})), FROM, PERIOD, None,
                     tmp_path / "c.xlsx")
