"""Reader: encodings, BOMs, XLSX (dates, code cells, formulas, merged headers, zip bombs), limits."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest

from zhuizong.importing.kinds import KINDS
from zhuizong.importing.reader import ReadRejected, read_file
from zhuizong.settings import ImportSettings

SETTINGS = ImportSettings()
AGENTS = KINDS["agents"]
CSV_TEXT = "工号,姓名,入司日期\n0007,张三,2024-01-05\nA002,李四,2024-03-01\n"


def _cols(t):  # type: ignore[no-untyped-def]
    return {h: c.to_pylist() for h, c in zip(t.headers, t.columns, strict=True)}


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("gb18030", b""), ("gbk", b""),
     ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")],
)
def test_csv_encodings(tmp_path: Path, encoding: str, bom: bytes) -> None:
    p = tmp_path / "a.csv"
    p.write_bytes(bom + CSV_TEXT.encode(encoding))
    t = read_file(p, AGENTS, SETTINGS)
    assert t.headers == ["工号", "姓名", "入司日期"]
    assert _cols(t)["姓名"] == ["张三", "李四"]
    assert _cols(t)["工号"] == ["0007", "A002"]  # zero padding kept
    assert t.rows.tolist() == [2, 3]


def test_undecodable_file_names_accepted_encodings(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_bytes(b"agent_code\n\xff\xff\xff\x80\n")
    with pytest.raises(ReadRejected) as exc:
        read_file(p, AGENTS, SETTINGS)
    # row-level (issue 19): the line that no accepted encoding explains, and the encodings
    e = next(e for e in exc.value.errors if e.row == 2)
    assert "GB18030" in e.reason_en and "UTF-8" in e.reason_zh


def test_empty_file_rejected(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_bytes(b"\xef\xbb\xbf \r\n")
    with pytest.raises(ReadRejected) as exc:
        read_file(p, AGENTS, SETTINGS)
    assert "empty" in exc.value.errors[0].reason_en


def test_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text("工号,姓名\nA1,x\n\n,\nA2,y\n\n", encoding="utf-8")
    t = read_file(p, AGENTS, SETTINGS)
    assert t.rows.tolist() == [2, 5]
    assert _cols(t)["工号"] == ["A1", "A2"]


def test_ragged_row_is_reported_with_its_line(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text("工号,姓名\nA1,x\nA2,y,z\n", encoding="utf-8")
    with pytest.raises(ReadRejected) as exc:
        read_file(p, AGENTS, SETTINGS)
    assert exc.value.errors[0].row == 3


def test_size_limit_checked_before_reading(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_bytes(b"x" * (1024 * 1024 + 10))
    with pytest.raises(ReadRejected) as exc:
        read_file(p, AGENTS, ImportSettings(max_file_mb=1), max_bytes=1024 * 1024)
    assert "import.max_file_mb" in exc.value.errors[0].reason_en


def _xlsx(path: Path, rows: list[list[object]], title: str = "Sheet1", extra: str | None = None,
          number_formats: dict[str, str] | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    for ref, fmt in (number_formats or {}).items():
        ws[ref].number_format = fmt
    if extra:
        wb.create_sheet(extra).append(["nothing"])
    wb.save(path)
    return path


def test_xlsx_dates_and_code_cells(tmp_path: Path) -> None:
    p = _xlsx(
        tmp_path / "a.xlsx",
        [["agent_code", "agent_name", "hire_date", "org_code"],
         [1001, "张三", dt.datetime(2024, 1, 5), "0012"],
         [1002.0, "李四", 45352, 12.5]],
    )
    t = read_file(p, AGENTS, SETTINGS)
    c = _cols(t)
    assert c["agent_code"] == ["1001", "1002"]  # no ".0"
    assert c["hire_date"] == ["2024-01-05", "2024-03-01"]  # datetime cell and serial number
    assert c["org_code"] == ["0012", "12.5"]  # text stays text
    assert t.rows.tolist() == [2, 3]


def test_xlsx_sheet_named_after_kind_is_used(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["read me"])
    wb.create_sheet("人员").append(["agent_code"])
    wb["人员"].append(["A1"])
    wb.save(tmp_path / "a.xlsx")
    t = read_file(tmp_path / "a.xlsx", AGENTS, SETTINGS)
    assert t.sheet == "人员" and _cols(t)["agent_code"] == ["A1"]


def test_xlsx_formula_cell_rejected(tmp_path: Path) -> None:
    p = _xlsx(tmp_path / "a.xlsx", [["agent_code", "agent_name"], ["A1", "=1+1"], ["A2", "ok"]])
    with pytest.raises(ReadRejected) as exc:
        read_file(p, AGENTS, SETTINGS)
    [e] = exc.value.errors
    assert (e.row, e.column, e.value) == (2, "agent_name", "=1+1")
    assert "formula" in e.reason_en and "公式" in e.reason_zh


def test_xlsx_merged_header_rejected(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["agent_code", None, "agent_name"])
    ws.append(["A1", "x", "y"])
    ws.merge_cells("A1:B1")
    wb.save(tmp_path / "a.xlsx")
    with pytest.raises(ReadRejected) as exc:
        read_file(tmp_path / "a.xlsx", AGENTS, SETTINGS)
    assert any(e.column == "A1:B1" and "merged" in e.reason_en for e in exc.value.errors)


def test_xlsx_zip_bomb_rejected_before_opening(tmp_path: Path) -> None:
    p = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<x/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(ReadRejected) as exc:
        read_file(p, AGENTS, SETTINGS)
    assert "zip bomb" in exc.value.errors[0].reason_en
    with pytest.raises(ReadRejected) as exc:
        read_file(p, AGENTS, ImportSettings(max_xlsx_uncompressed_mb=10))
    assert "import.max_xlsx_uncompressed_mb" in exc.value.errors[0].reason_en


def test_corrupt_xlsx_is_a_clean_rejection(tmp_path: Path) -> None:
    p = tmp_path / "a.xlsx"
    p.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(ReadRejected) as exc:
        read_file(p, AGENTS, SETTINGS)
    assert exc.value.errors[0].row == 0
