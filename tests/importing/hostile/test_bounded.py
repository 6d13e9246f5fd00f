"""Bounded cost of hostile XLSX files (issue 19, item 4): the absurd ones are refused BEFORE the
expensive work starts — no cell is read. Shown by replacing the cell reader
(:func:`zhuizong.importing.reader._read_sheet`) by one that records the call: for a refused file
it is never called and the refusal names what was declared or found; for the same workbook
without the hostile part it is called (so the check could fail). Through ``zhuizong import`` as
well: exit 6, nothing stored, the cell reader never called.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.importing.hostile.cases import Case
from tests.importing.hostile.test_corpus import counts, load_base, snapshot
from tests.importing.hostile.test_files import (
    AGENT_ROWS,
    _agents_sheet,
    _append_rows,
    _cells,
    _dimension,
    _with_shared_strings,
)
from tests.kpi_cli.builders import run_cli
from zhuizong.importing import reader
from zhuizong.importing.kinds import KINDS
from zhuizong.settings import ImportSettings
from zhuizong.workspace import Workspace

#: name → (the sheet's XML change, words of the refusal)
HOSTILE = {
    "declared_a1_xfd1048576": (_dimension(b"A1:XFD1048576"),
                               "declares the range A1:XFD1048576 (16,384 columns × 1,048,576 rows)"),
    "declared_rows_beyond_excel": (_dimension(b"A1:E2000000"), "declares the range A1:E2000000"),
    "row_900_billion": (_append_rows(_cells(b"A", 900_000_000_000, 1)),
                        "a row numbered 900,000,000,000"),
    "cell_in_column_xfd": (_append_rows(_cells(b"XFD", 3, 1)), "a cell XFD3 in column 16,384"),
    "20000_rows_to_column_all": (_append_rows(_cells(b"ALL", 3, 20_000)),
                                 "walk more than 16,000,000 cells"),
}


@pytest.fixture
def cells_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = reader._read_sheet

    def spy(path: Path, ws: Any, *a: Any, **k: Any) -> Any:
        calls.append(ws.title)
        return real(path, ws, *a, **k)

    monkeypatch.setattr(reader, "_read_sheet", spy)
    return calls


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_refused_before_a_cell_is_read(tmp_path: Path, cells_read: list[str], name: str) -> None:
    change, words = HOSTILE[name]
    path = tmp_path / f"{name}.xlsx"
    path.write_bytes(_agents_sheet(change))
    with pytest.raises(reader.ReadRejected) as exc:
        reader.read_file(path, KINDS["agents"], ImportSettings())
    assert [e.row for e in exc.value.errors] == [0]
    assert words in exc.value.errors[0].reason_en
    assert cells_read == []


def test_the_same_workbook_is_read_without_the_hostile_part(tmp_path: Path,
                                                            cells_read: list[str]) -> None:
    path = tmp_path / "plain.xlsx"
    path.write_bytes(_agents_sheet(_dimension(b"A1:E2")))
    raw = reader.read_file(path, KINDS["agents"], ImportSettings())
    assert cells_read == ["agents"] and len(raw) == 1
    assert raw.columns[1].to_pylist() == [AGENT_ROWS[1][1]]


def test_shared_strings_refused_before_the_workbook_is_opened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    opened: list[Path] = []
    real = openpyxl.load_workbook
    monkeypatch.setattr(openpyxl, "load_workbook",
                        lambda p, *a, **k: opened.append(p) or real(p, *a, **k))
    path = tmp_path / "strings.xlsx"
    path.write_bytes(_with_shared_strings(_agents_sheet(lambda x: x), 50_000))
    with pytest.raises(reader.ReadRejected) as exc:
        reader.read_file(path, KINDS["agents"], ImportSettings())
    assert "holds 50,000 strings for 10 cells" in exc.value.errors[0].reason_en
    assert opened == []
    # at the limit (two strings a cell + the slack) the workbook is opened and read
    path.write_bytes(_with_shared_strings(_agents_sheet(lambda x: x), 2 * 10 + 10_000))
    assert len(reader.read_file(path, KINDS["agents"], ImportSettings())) == 1
    assert opened == [path]


@pytest.mark.parametrize("name", ["declared_a1_xfd1048576", "row_900_billion"])
def test_cli_refuses_before_reading_and_stores_nothing(home: Path, tmp_path: Path,
                                                       cells_read: list[str], name: str) -> None:
    load_base(tmp_path, Case(name, "names", "agents", ""))
    change, words = HOSTILE[name]
    path = tmp_path / f"{name}.xlsx"
    path.write_bytes(_agents_sheet(change))
    ws = Workspace.open(home)
    try:
        before, sizes = snapshot(ws), counts(ws)
        code, out, err = run_cli("import", "agents", str(path), "--format", "json")
        assert "Traceback" not in out + err
        result = json.loads(out)
        assert code == 6 and result["status"] == "rejected"
        assert words in result["errors"][0]["reason_en"]
        assert cells_read == []
        assert counts(ws) == sizes and snapshot(ws) == before
    finally:
        ws.engine.dispose()
