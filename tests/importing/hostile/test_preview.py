"""The dry run's preview of names (issue 19, item 2): ``zhuizong import KIND FILE --dry-run``
shows how the file was read and the first rows' names as they would be stored, so a file decoded
with the wrong encoding shows its mojibake before anything is committed. On SQLite and
PostgreSQL; nothing is stored by a dry run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.importing.hostile.cases import AGENT, PREM, Case
from tests.importing.hostile.test_corpus import counts, load_base, snapshot
from tests.importing.hostile.test_files import AGENT_ROWS, HIDDEN_ROWS, _xlsx
from tests.kpi_cli.builders import cli_ok
from zhuizong.importing import service
from zhuizong.importing.service import import_file
from zhuizong.workspace import Workspace

NAMES = ["张伟", "李娜", "王芳", "赵强", "刘洋", "陈静", "杨帆"]


def _agents(names: list[str]) -> str:
    return AGENT + "".join(f"N{i:03d},{n},2026-01-05,T011,AG,A002\n" for i, n in enumerate(names))


@pytest.fixture
def ws(home: Path, tmp_path: Path) -> Workspace:
    load_base(tmp_path, Case("preview", "names", "agents", ""))
    return Workspace.open(home)


def _dry(path: Path, kind: str, *args: str) -> dict:
    return json.loads(cli_ok("import", kind, str(path), "--dry-run", "--format", "json", *args))


def test_preview_shows_the_decoded_names(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "agents.csv"
    path.write_bytes(_agents(NAMES).encode("gb18030"))
    before, sizes = snapshot(ws), counts(ws)
    got = _dry(path, "agents")
    assert got["status"] == "dry_run" and got["source"] == "CSV gb18030"
    assert got["preview"] == [{"row": str(i + 2), "agent_code": f"N{i:03d}", "agent_name": n}
                              for i, n in enumerate(NAMES[:5])]
    table = cli_ok("import", "agents", str(path), "--dry-run")
    assert "名称预览" in table and "读取方式: CSV gb18030" in table and "姓名" in table  # the column's name
    assert all(n in table for n in NAMES[:5]) and NAMES[5] not in table
    assert counts(ws) == sizes and snapshot(ws) == before
    ws.engine.dispose()


def test_preview_shows_mojibake_of_a_forced_wrong_encoding(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "agents.csv"
    path.write_bytes(_agents(["张伟", "王芳"]).encode("utf-8"))
    sizes = counts(ws)
    got = _dry(path, "agents", "--encoding", "gb18030")
    garbled = "张伟".encode().decode("gb18030")
    assert garbled != "张伟"
    assert got["source"] == "CSV gb18030"
    assert got["preview"][0]["agent_name"] == garbled
    assert counts(ws) == sizes
    ws.engine.dispose()


def test_preview_of_the_visible_sheet(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "agents.xlsx"
    path.write_bytes(_xlsx([("agents", HIDDEN_ROWS, "hidden"), ("Sheet2", AGENT_ROWS, "visible")]))
    got = _dry(path, "agents")
    assert got["source"] == "XLSX sheet 'Sheet2'"
    assert [p["agent_name"] for p in got["preview"]] == ["可见表"]
    ws.engine.dispose()


def test_kind_without_names_has_no_preview(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "premiums.csv"
    path.write_text(PREM + "T9001,PL9001,A002,P01,2026-05-06,new,1000,350\n", encoding="utf-8")
    got = _dry(path, "premiums")
    assert got["preview"] == [] and got["source"] == "CSV utf-8"
    assert "名称预览" not in cli_ok("import", "premiums", str(path), "--dry-run")
    ws.engine.dispose()


def test_streamed_dry_run_previews_the_first_chunk(ws: Workspace, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    staged: list[int] = []
    real = service.load_stage
    monkeypatch.setattr(service, "load_stage", lambda *a, **k: staged.append(1) or real(*a, **k))
    names = [f"新人{i}号" for i in range(400)]
    path = tmp_path / "training.csv"
    path.write_text("session_code,title,course_kind,session_date,org_code\n" + "".join(
        f"S{i:04d},{n},other,2026-05-06,T011\n" for i, n in enumerate(names)), encoding="utf-8")
    sizes = counts(ws)
    r = import_file(ws, "training_sessions", path, dry_run=True, chunk_chars=2000)
    assert r.status == "dry_run" and r.rows_total == 400
    assert len(staged) > 1  # streamed, chunk by chunk
    assert r.preview == [{"row": str(i + 2), "session_code": f"S{i:04d}", "title": names[i]}
                         for i in range(5)]
    assert counts(ws) == sizes
    # a committed import carries no preview
    assert import_file(ws, "training_sessions", path, chunk_chars=2000).preview == []
    ws.engine.dispose()
