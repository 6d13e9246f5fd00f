"""Hostile files (issue 19, second part): encodings decided with evidence, re-import by rows,
hidden sheets, absurd or corrupt XLSX, paths that are no files — through ``zhuizong import``.

On SQLite and PostgreSQL (the ``home`` fixture): a refused file exits 6 with exactly the stated
(row, column) pairs, each with its words in the English reason, a Chinese reason, no traceback,
and nothing stored; a committed file stores the values stated.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.importing.hostile.cases import AGENT, PREM, Case
from tests.importing.hostile.test_corpus import counts, load_base, snapshot, stored_row
from tests.kpi_cli.builders import cli_ok, run_cli
from zhuizong.workspace import Workspace

Err = tuple[int, str, str]


def _xlsx(sheets: list[tuple[str, list[list[Any]], str]]) -> bytes:
    """A workbook of (title, rows, state) sheets; state is visible | hidden | veryHidden."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows, state in sheets:
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
        ws.sheet_state = state
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _patch_sheet(data: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """Rewrite the XML of the first worksheet of an XLSX (as a hostile tool would)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = change(body)
            dst.writestr(info.filename, body)
    return out.getvalue()


AGENT_ROWS = [["agent_code", "agent_name", "hire_date", "org_code", "rank_code"],
              ["N001", "可见表", "2026-01-05", "T011", "AG"]]
HIDDEN_ROWS = [["agent_code", "agent_name", "hire_date", "org_code", "rank_code"],
               ["N001", "隐藏表", "2026-01-05", "T011", "AG"]]
BIG5_NAMES = ["張偉", "陳小明", "黃志強", "劉德華", "高雄營業處"]
SJIS_NAMES = ["山田太郎", "田中さん", "佐藤花子"]


def _agents(names: list[str], first: int = 1) -> str:
    return AGENT + "".join(f"N{first + i:03d},{n},2026-01-05,T011,AG,A002\n"
                           for i, n in enumerate(names))


def _utf8_with_gbk_row() -> bytes:
    return (_agents(["张伟", "李娜"]).encode("utf-8")
            + "N003,王芳,2026-01-05,T011,AG,A002\n".encode("gbk")
            + "N004,赵强,2026-01-05,T011,AG,A002\n".encode())


def _gbk_with_utf8_row() -> bytes:
    return (_agents(["张伟", "李娜", "刘洋"]).encode("gbk")
            + "N004,赵强,2026-01-05,T011,AG,A002\n".encode())


def _dimension(ref: bytes) -> Callable[[bytes], bytes]:
    def change(xml: bytes) -> bytes:
        if b"<dimension" in xml:
            head, rest = xml.split(b"<dimension", 1)
            return head + b'<dimension ref="' + ref + b'"/>' + rest.split(b"/>", 1)[1]
        return xml.replace(b"<sheetData", b'<dimension ref="' + ref + b'"/><sheetData', 1)
    return change


def _truncate(xml: bytes) -> bytes:
    return xml[: len(xml) // 2]


def _append_rows(rows: bytes) -> Callable[[bytes], bytes]:
    """Rows added at the end of the sheet data, behind the modest ``<dimension>`` openpyxl wrote."""
    def change(xml: bytes) -> bytes:
        return xml.replace(b"</sheetData>", rows + b"</sheetData>", 1)
    return change


def _cells(col: bytes, first: int, n: int) -> bytes:
    """``n`` rows from ``first`` on, each with one number in column ``col``."""
    return b"".join(b'<row r="%d"><c r="%s%d" t="n"><v>1</v></c></row>' % (i, col, i)
                    for i in range(first, first + n))


def _agents_sheet(change: Callable[[bytes], bytes]) -> bytes:
    return _patch_sheet(_xlsx([("agents", AGENT_ROWS, "visible")]), change)


def _with_shared_strings(data: bytes, n: int, sheet_rows: bytes = b"") -> bytes:
    """``data`` (an XLSX) with a shared-string table of ``n`` strings (none used unless
    ``sheet_rows`` use them) and ``sheet_rows`` added to its first sheet."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/_rels/workbook.xml.rels":
                body = body.replace(b"</Relationships>", (
                    b'<Relationship Id="rIdSST" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/sharedStrings" '
                    b'Target="sharedStrings.xml"/></Relationships>'))
            elif info.filename == "[Content_Types].xml":
                body = body.replace(b"</Types>", (
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))
            elif info.filename == "xl/worksheets/sheet1.xml" and sheet_rows:
                body = body.replace(b"</sheetData>", sheet_rows + b"</sheetData>", 1)
            dst.writestr(info.filename, body)
        dst.writestr("xl/sharedStrings.xml", (
            b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (n, n)
            + b"".join(b"<si><t>%07d</t></si>" % k for k in range(n)) + b"</sst>"))
    return out.getvalue()


@dataclass(frozen=True)
class FileCase:
    name: str
    kind: str
    data: bytes
    errors: tuple[Err, ...] = ()
    args: tuple[str, ...] = ()
    suffix: str = ".csv"
    #: committed: (table, key, values)
    stored: tuple[tuple[str, dict[str, Any], dict[str, Any]], ...] = ()
    counts: tuple[int, int, int] | None = None
    exit_code: int = 6


ENC = "encoding"

FILE_CASES: tuple[FileCase, ...] = (
    # --- encodings ---------------------------------------------------------------------------
    FileCase("utf8_file_with_one_gbk_row", "agents", _utf8_with_gbk_row(),
             errors=((4, "", "GB18030/GBK"),)),
    FileCase("gbk_file_with_one_utf8_row", "agents", _gbk_with_utf8_row(),
             errors=((5, "", "UTF-8"),)),
    FileCase("big5_file_refused", "agents", _agents(BIG5_NAMES).encode("big5"),
             errors=((0, "", "--encoding big5"), *((r, "", "Big5") for r in (2, 3, 4, 5, 6)))),
    FileCase("big5_file_with_encoding_option", "agents", _agents(BIG5_NAMES).encode("big5"),
             args=("--encoding", "big5"), counts=(5, 0, 0),
             stored=(("agents", {"agent_code": "N001"}, {"agent_name": "張偉"}),
                     ("agents", {"agent_code": "N005"}, {"agent_name": "高雄營業處"}))),
    FileCase("shift_jis_file_refused", "agents", _agents(SJIS_NAMES).encode("shift_jis"),
             errors=((0, "", "--encoding shift_jis"), *((r, "", "Shift-JIS") for r in (2, 3, 4)))),
    FileCase("shift_jis_file_with_encoding_option", "agents",
             _agents(SJIS_NAMES).encode("shift_jis"), args=("--encoding", "shift_jis"),
             counts=(3, 0, 0),
             stored=(("agents", {"agent_code": "N002"}, {"agent_name": "田中さん"}),)),
    FileCase("gb18030_file_with_rare_name_characters", "agents",
             _agents(["张喆", "王堃", "陈犇", "欧阳娜娜"]).encode("gb18030"), counts=(4, 0, 0),
             stored=(("agents", {"agent_code": "N001"}, {"agent_name": "张喆"}),
                     ("agents", {"agent_code": "N003"}, {"agent_name": "陈犇"}))),
    FileCase("gb18030_four_byte_character", "agents",
             _agents(["李𠀾"]).encode("gb18030"), counts=(1, 0, 0),
             stored=(("agents", {"agent_code": "N001"}, {"agent_name": "李𠀾"}),)),
    FileCase("utf16_with_bom", "agents", _agents(["张伟"]).encode("utf-16"), counts=(1, 0, 0),
             stored=(("agents", {"agent_code": "N001"}, {"agent_name": "张伟"}),)),
    FileCase("utf8_forced_on_a_gbk_file", "agents", _agents(["张伟", "李娜"]).encode("gbk"),
             args=("--encoding", "utf-8"),
             errors=((2, "", "cannot be decoded as utf-8"), (3, "", "cannot be decoded as utf-8"))),
    FileCase("unknown_encoding_option", "agents", _agents(["张伟"]).encode("utf-8"),
             args=("--encoding", "klingon-8"), errors=((0, ENC, "unknown encoding"),)),
    FileCase("latin1_file_refused", "agents", _agents(["José Müller"]).encode("latin-1"),
             errors=((0, "", "cannot be decided"), (2, "", "accepted encodings"))),
    FileCase("gbk_forced_utf8_bom_file_still_reads", "agents",
             b"\xef\xbb\xbf" + _agents(["张伟"]).encode("utf-8"), args=("--encoding", "utf-8-sig"),
             counts=(1, 0, 0), stored=(("agents", {"agent_code": "N001"}, {"agent_name": "张伟"}),)),
    # --- XLSX: hidden sheets, absurd ranges, corrupt XML -------------------------------------
    FileCase("hidden_sheet_first_visible_imported", "agents",
             _xlsx([("agents", HIDDEN_ROWS, "hidden"), ("Sheet2", AGENT_ROWS, "visible")]),
             suffix=".xlsx", counts=(1, 0, 0),
             stored=(("agents", {"agent_code": "N001"}, {"agent_name": "可见表"}),)),
    FileCase("very_hidden_sheet_named_after_kind_ignored", "agents",
             _xlsx([("Sheet1", AGENT_ROWS, "visible"), ("人员", HIDDEN_ROWS, "veryHidden")]),
             suffix=".xlsx", counts=(1, 0, 0),
             stored=(("agents", {"agent_code": "N001"}, {"agent_name": "可见表"}),)),
    FileCase("visible_sheet_named_after_kind_wins", "agents",
             _xlsx([("说明", [["read me"]], "visible"), ("人员", AGENT_ROWS, "visible")]),
             suffix=".xlsx", counts=(1, 0, 0),
             stored=(("agents", {"agent_code": "N001"}, {"agent_name": "可见表"}),)),
    FileCase("declared_range_a1_xfd1048576", "agents",
             _patch_sheet(_xlsx([("agents", AGENT_ROWS, "visible")]), _dimension(b"A1:XFD1048576")),
             suffix=".xlsx", errors=((0, "", "absurd"),)),
    FileCase("declared_range_beyond_excel_rows", "agents",
             _patch_sheet(_xlsx([("agents", AGENT_ROWS, "visible")]), _dimension(b"A1:E2000000")),
             suffix=".xlsx", errors=((0, "", "absurd"),)),
    FileCase("second_dimension_declares_the_bomb", "agents",
             _patch_sheet(_xlsx([("agents", AGENT_ROWS, "visible")]),
                          lambda x: x.replace(b"<sheetData", b'<dimension ref="A1:XFD1048576"/>'
                                              b"<sheetData", 1)),
             suffix=".xlsx", errors=((0, "", "declares the range A1:XFD1048576"),)),
    FileCase("declared_range_too_tall_but_real_rows_few", "agents",
             _patch_sheet(_xlsx([("agents", AGENT_ROWS, "visible")]), _dimension(b"A1:E1048576")),
             suffix=".xlsx", counts=(1, 0, 0),
             stored=(("agents", {"agent_code": "N001"}, {"agent_name": "可见表"}),)),
    # real rows and cells behind a modest declared range: one streamed pass refuses them
    FileCase("row_numbered_beyond_excel", "agents",
             _agents_sheet(_append_rows(_cells(b"A", 900_000_000_000, 1))), suffix=".xlsx",
             errors=((0, "", "row numbered 900,000,000,000, beyond Excel's 1,048,576 rows"),)),
    FileCase("cell_in_column_xfd", "agents", _agents_sheet(_append_rows(_cells(b"XFD", 3, 1))),
             suffix=".xlsx", errors=((0, "", "a cell XFD3 in column 16,384"),)),
    FileCase("rows_padded_past_the_cell_budget", "agents",
             _agents_sheet(_append_rows(_cells(b"ALL", 3, 20_000))), suffix=".xlsx",
             errors=((0, "", "walk more than 16,000,000 cells"),)),
    FileCase("value_past_column_z_is_a_row_error", "agents",
             _agents_sheet(_append_rows(_cells(b"AB", 3, 1))), suffix=".xlsx",
             errors=((3, "AB", "column without header"),)),
    FileCase("empty_styled_cell_far_right_is_ignored", "agents",
             _agents_sheet(lambda x: x.replace(b"</row></sheetData>",
                                               b'<c r="AMJ2" s="0"/></row></sheetData>', 1)),
             suffix=".xlsx", counts=(1, 0, 0),
             stored=(("agents", {"agent_code": "N001"}, {"agent_name": "可见表"}),)),
    FileCase("shared_strings_far_beyond_the_cells", "agents",
             _with_shared_strings(_xlsx([("agents", AGENT_ROWS, "visible")]), 200_000),
             suffix=".xlsx", errors=((0, "", "holds 200,000 strings for 10 cells"),)),
    FileCase("shared_strings_used_by_the_cells", "agents",
             _with_shared_strings(_xlsx([("agents", AGENT_ROWS, "visible")]), 3,
                                  b'<row r="3"><c r="A3" t="s"><v>0</v></c><c r="B3" t="s"><v>1</v>'
                                  b'</c><c r="C3"><v>46027</v></c><c r="D3" t="inlineStr"><is><t>'
                                  b'T011</t></is></c><c r="E3" t="inlineStr"><is><t>AG</t></is>'
                                  b'</c></row>'),
             suffix=".xlsx", counts=(2, 0, 0),
             stored=(("agents", {"agent_code": "0000000"}, {"agent_name": "0000001",
                                                            "hire_date": dt.date(2026, 1, 5)}),)),
    FileCase("truncated_sheet_xml", "agents",
             _patch_sheet(_xlsx([("agents", AGENT_ROWS, "visible")]), _truncate),
             suffix=".xlsx", errors=((0, "", "corrupt"),)),
    FileCase("sheet_xml_not_xml", "agents",
             _patch_sheet(_xlsx([("agents", AGENT_ROWS, "visible")]), lambda x: b"\x00garbage<<"),
             suffix=".xlsx", errors=((0, "", "cannot"),)),
    FileCase("sheet_row_number_not_a_number", "agents",
             _patch_sheet(_xlsx([("agents", AGENT_ROWS, "visible")]),
                          lambda x: x.replace(b'<row r="2"', b'<row r="two"', 1)),
             suffix=".xlsx", errors=((0, "", "corrupt"),)),
)


def _run(tmp_path: Path, case: FileCase) -> tuple[int, dict[str, Any], str]:
    path = tmp_path / f"{case.name}{case.suffix}"
    path.write_bytes(case.data)
    code, out, err = run_cli("import", case.kind, str(path), "--format", "json", *case.args)
    assert "Traceback" not in out + err, err
    return code, json.loads(out), err


@pytest.mark.parametrize("case", FILE_CASES, ids=[c.name for c in FILE_CASES])
def test_hostile_file(home: Path, tmp_path: Path, case: FileCase) -> None:
    load_base(tmp_path, Case(case.name, "names", case.kind, ""))
    ws = Workspace.open(home)
    try:
        before, sizes = snapshot(ws), counts(ws)
        code, result, err = _run(tmp_path, case)
        errors = result["errors"]
        shown = "\n".join(f"  {e['row']} {e['column']!r} {e['reason_en']}" for e in errors)
        if case.errors:
            assert code == 6, (code, shown, err)
            assert result["status"] == "rejected"
            assert sorted({(e["row"], e["column"]) for e in errors}) == \
                sorted({(r, c) for r, c, _ in case.errors}), shown
            for row, col, words in case.errors:
                hit = [e for e in errors if (e["row"], e["column"]) == (row, col)]
                assert any(words in e["reason_en"] for e in hit), f"{words!r} not in\n{shown}"
            for e in errors:
                assert any("\u4e00" <= ch <= "\u9fff" for ch in e["reason_zh"]), e
            assert counts(ws) == sizes and snapshot(ws) == before
        else:
            assert code == 0, (code, shown, err)
            assert result["status"] == "committed"
            if case.counts is not None:
                assert (result["inserted"], result["updated"], result["unchanged"]) == case.counts
            for table, key, values in case.stored:
                row = stored_row(ws, table, key)
                assert {k: row[k] for k in values} == values
    finally:
        ws.engine.dispose()


# --- re-import: a file's rows are applied again -----------------------------------------------


def _prem(amount: str) -> str:
    return PREM + f"T0001,PL0001,A002,P01,2026-05-06,new,{amount},10\n"


def _amount_fen(ws: Workspace) -> int:
    return int(stored_row(ws, "premiums", {"txn_id": "T0001"})["amount_fen"])


def test_reimport_after_correction_restores_the_file(home: Path, tmp_path: Path) -> None:
    load_base(tmp_path, Case("reimport", "codes", "premiums", ""))
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(_prem("100"), encoding="utf-8")
    b.write_text(_prem("200"), encoding="utf-8")
    ws = Workspace.open(home)
    try:
        first = json.loads(cli_ok("import", "premiums", str(a), "--format", "json"))
        assert _amount_fen(ws) == 10000 and first["status"] == "committed"
        # the same file again while it is the latest: a no-op, nothing recorded
        n_batches = counts(ws)["import_batches"]
        again = json.loads(cli_ok("import", "premiums", str(a), "--format", "json"))
        assert again["status"] == "already_imported" and again["batch_id"] == first["batch_id"]
        assert counts(ws)["import_batches"] == n_batches
        cli_ok("import", "premiums", str(b))
        assert _amount_fen(ws) == 20000
        # A after the correction B: A's rows are applied again (a dry run says so first)
        dry = json.loads(cli_ok("import", "premiums", str(a), "--dry-run", "--format", "json"))
        assert (dry["status"], dry["updated"]) == ("dry_run", 1) and _amount_fen(ws) == 20000
        restored = json.loads(cli_ok("import", "premiums", str(a), "--format", "json"))
        assert (restored["status"], restored["updated"]) == ("committed", 1)
        assert _amount_fen(ws) == 10000
        assert restored["batch_id"] != first["batch_id"]
        assert counts(ws)["import_batches"] == n_batches + 2
        # and B again after that restores B
        cli_ok("import", "premiums", str(b))
        assert _amount_fen(ws) == 20000
    finally:
        ws.engine.dispose()


def test_reimport_of_a_refused_file_is_refused_again(home: Path, tmp_path: Path) -> None:
    load_base(tmp_path, Case("reimport_refused", "codes", "premiums", ""))
    bad = tmp_path / "bad.csv"
    bad.write_text(_prem("-5"), encoding="utf-8")
    for _ in range(2):
        code, out, _err = run_cli("import", "premiums", str(bad), "--format", "json")
        assert code == 6 and json.loads(out)["status"] == "rejected"


# --- paths that are no import files -----------------------------------------------------------

PATH_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "directory": (lambda t: t, "is a folder"),
    "dev_zero": (lambda t: Path("/dev/zero"), "not a regular file"),
    "fifo": (lambda t: _fifo(t / "pipe.csv"), "not a regular file"),
    "missing": (lambda t: t / "nope.csv", "cannot read the file"),
}


def _fifo(p: Path) -> Path:
    os.mkfifo(p)
    return p


@pytest.mark.parametrize("which", sorted(PATH_CASES))
def test_import_path_that_is_no_file(home: Path, tmp_path: Path, which: str) -> None:
    cli_ok("init")
    make, words = PATH_CASES[which]
    path = make(tmp_path)
    code, out, err = run_cli("import", "premiums", str(path), "--format", "json")
    assert "Traceback" not in out + err
    result = json.loads(out)
    assert code == 6 and result["status"] == "rejected"
    assert [e["row"] for e in result["errors"]] == [0]
    assert words in result["errors"][0]["reason_en"]
