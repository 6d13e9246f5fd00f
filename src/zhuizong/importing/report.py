"""The error report of an import, as XLSX (XlsxWriter) or CSV (UTF-8 with BOM, opens in Excel).

Every text cell is protected against formula injection (:func:`zhuizong.common.cells.safe_cell`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError

from zhuizong.common.cells import safe_cell
from zhuizong.errors import ZhuizongError

if TYPE_CHECKING:
    from zhuizong.importing.service import ImportResult

HEADERS = ("行号/row", "列/column", "值/value", "原因/reason", "reason")


def _rows(result: ImportResult) -> list[tuple[int, str, str, str, str]]:
    return [
        (e.row, safe_cell(e.column), safe_cell(e.value), safe_cell(e.reason_zh),
         safe_cell(e.reason_en))
        for e in result.errors
    ]


def check_report_path(path: Path) -> None:
    """Refuse a report path that cannot be written (wrong suffix, missing folder) *before* the
    import runs, so a long import does not end in a traceback."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise ZhuizongError(
            f"错误报告只能写成 .xlsx 或 .csv, 不支持 {path.name!r}",
            f"the error report must be .xlsx or .csv, not {path.name!r}",
        )
    if not path.parent.is_dir():
        raise ZhuizongError(f"错误报告的文件夹不存在: {path.parent}",
                            f"the folder of the error report does not exist: {path.parent}")
    if path.is_dir():
        raise ZhuizongError(f"错误报告路径是一个文件夹: {path}",
                            f"the error report path is a folder: {path}")


def write_error_report(result: ImportResult, path: Path) -> None:
    """Write ``result.errors`` to ``path`` (.xlsx or .csv, by suffix)."""
    path = Path(path)
    check_report_path(path)
    try:
        _write(result, path)
    except OSError as exc:
        raise ZhuizongError(f"无法写入错误报告 {path}: {exc.strerror}",
                            f"cannot write the error report {path}: {exc.strerror}") from None


def _write(result: ImportResult, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(HEADERS)
            w.writerows(_rows(result))
        return
    if suffix == ".xlsx":

        wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                             "strings_to_urls": False,
                                             "strings_to_numbers": False})
        try:
            ws = wb.add_worksheet("errors")
            bold = wb.add_format({"bold": True})
            for j, h in enumerate(HEADERS):
                ws.write_string(0, j, h, bold)
            for i, (row, col, val, zh, en) in enumerate(_rows(result), start=1):
                ws.write_number(i, 0, row)
                ws.write_string(i, 1, col)
                ws.write_string(i, 2, val)
                ws.write_string(i, 3, zh)
                ws.write_string(i, 4, en)
            ws.set_column(0, 0, 10)
            ws.set_column(1, 2, 20)
            ws.set_column(3, 4, 50)
            ws.freeze_panes(1, 0)
        finally:
            try:
                wb.close()
            except FileCreateError as exc:
                raise ZhuizongError(f"无法写入错误报告 {path}: {exc}",
                                    f"cannot write the error report {path}: {exc}") from None
        return
    raise ZhuizongError(
        f"错误报告只能写成 .xlsx 或 .csv, 不支持 {path.name!r}",
        f"the error report must be .xlsx or .csv, not {path.name!r}",
    )
