"""Streamed imports (issue 18, item 4): a CSV file larger than one chunk is read, validated and
staged chunk by chunk in one transaction, with the result of the whole-file import.

The chunk size is made tiny here (``chunk_chars``) so that small files span many chunks:

- every CSV file of the adversarial corpus of a streamed kind gets the same answer (status, counts,
  every error with its row, column, value and reasons) streamed and whole;
- a generated premiums file of many chunks stores exactly the rows the whole-file import stores,
  first into an empty table and then as an update of half of them;
- an error in the last chunk, and a key repeated across chunks, reject the whole file with the
  right rows and store nothing; a GBK row deep in a UTF-8 file is refused with its line;
- SIGKILL in the middle of a streamed import leaves no row and no batch behind.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from tests.importing.test_bad_corpus import BAD, EXPECTED, load_base
from zhuizong.importing import service as svc
from zhuizong.importing.kinds import KINDS
from zhuizong.store.models import table
from zhuizong.workspace import DB_FILE, Workspace

TINY = 64  # characters per chunk: a row or two
PREM_H = "txn_id,policy_no,agent_code,product_code,txn_date,txn_type,amount,issue_date,policy_year,fyc"
#: agents and products of tests/fixtures/good
AGENTS = ("A001", "A002", "A003", "A004", "000777")


def _errors(res: svc.ImportResult) -> list[tuple[Any, ...]]:
    return [(e.row, e.column, e.value, e.reason_zh, e.reason_en) for e in res.errors]


def _answer(res: svc.ImportResult) -> tuple[Any, ...]:
    return (res.status, res.rows_total, res.inserted, res.updated, res.unchanged, _errors(res))


def _streamed_cases() -> list[str]:
    return sorted(name for name, case in EXPECTED.items()
                  if name.endswith(".csv") and case["kind"] not in svc.WHOLE_FILE_KINDS)


def test_streamed_kinds() -> None:
    """Premiums stream; the kinds whose checks need every row at once do not."""
    assert "premiums" not in svc.WHOLE_FILE_KINDS
    assert {"org_units", "agents", "agent_events"} <= svc.WHOLE_FILE_KINDS
    assert len(_streamed_cases()) >= 20


def test_corpus_streamed_as_whole(workspace: Workspace) -> None:
    load_base(workspace)
    for name in _streamed_cases():
        kind = EXPECTED[name]["kind"]
        path = BAD / name
        whole = svc.import_file(workspace, kind, path, dry_run=True)
        assert not svc.streams(KINDS[kind], path, svc.reader.CHUNK_CHARS)
        if path.stat().st_size > TINY:
            assert svc.streams(KINDS[kind], path, TINY), name
        streamed = svc.import_file(workspace, kind, path, dry_run=True, chunk_chars=TINY)
        assert _answer(streamed) == _answer(whole), name


def _premiums(path: Path, n: int, *, offset: int = 0, amount_base: int = 100,
              extra: list[str] | None = None, policy: str = "SP") -> Path:
    lines = [PREM_H]
    for i in range(1 + offset, n + 1 + offset):
        day = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"
        lines.append(f"S{i:06d},{policy}{i // 3:06d},{AGENTS[i % 5]},{('P01', 'P02')[i % 2]},{day},"
                     f"{('new', 'renewal', 'fy_renewal')[i % 3]},{amount_base + i}.{i % 100:02d},"
                     f"{day},{1 + i % 3},{i % 50}.00")
    lines += extra or []
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _stored(ws: Workspace) -> list[tuple[Any, ...]]:
    t = table("premiums")
    cols = [c for c in t.c if c.name != "batch_id"]
    with ws.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*cols).order_by(t.c.txn_id))]


def _reset(ws: Workspace) -> None:
    with ws.engine.begin() as conn:
        conn.execute(text("DELETE FROM premiums WHERE txn_id LIKE 'S%'"))
        conn.execute(text("DELETE FROM import_batches WHERE file_name LIKE 'stream_%'"))


def test_many_chunks_store_what_the_whole_file_stores(workspace: Workspace, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(svc, "MERGE_ROWS", 400)  # PostgreSQL merges slice by slice
    load_base(workspace)
    a = _premiums(tmp_path / "stream_a.csv", 1500)
    # b: the last 750 rows of a with other amounts, and 750 new ones
    b = _premiums(tmp_path / "stream_b.csv", 1500, offset=750, amount_base=900)
    answers: dict[bool, list[tuple[Any, ...]]] = {}
    states: dict[bool, list[list[tuple[Any, ...]]]] = {}
    for chunked in (True, False):
        chunk = 2048 if chunked else svc.reader.CHUNK_CHARS
        answers[chunked], states[chunked] = [], []
        for path in (a, b):
            assert svc.streams(KINDS["premiums"], path, chunk) is chunked
            res = svc.import_file(workspace, "premiums", path, chunk_chars=chunk)
            assert res.status == "committed", res.errors[:3]
            answers[chunked].append(_answer(res))
            states[chunked].append(_stored(workspace))
        again = svc.import_file(workspace, "premiums", b, chunk_chars=chunk)
        assert again.status == "already_imported"
        _reset(workspace)
    assert answers[True] == answers[False]
    assert answers[True][0][:5] == ("committed", 1500, 1500, 0, 0)
    assert answers[True][1][:5] == ("committed", 1500, 750, 750, 0)
    assert states[True] == states[False]
    assert len(states[True][1]) == 3 + 2250  # the base file's 3 premiums and ours


def test_error_in_last_chunk_rejects_everything(workspace: Workspace, tmp_path: Path) -> None:
    load_base(workspace)
    before = _stored(workspace)
    bad = [
        "S900001,SP1,A001,P01,2026-05-01,new,12.345,2026-05-01,1,1.00",  # three decimals
        "S000002,SP2,A002,P02,2026-05-02,new,10.00,2026-05-02,1,1.00",  # the key of row 3
    ]
    path = _premiums(tmp_path / "stream_bad.csv", 2000, extra=bad)
    streamed = svc.import_file(workspace, "premiums", path, chunk_chars=1024)
    assert streamed.status == "rejected"
    assert [(e.row, e.column) for e in streamed.errors] == [(2002, "amount"),
                                                            (2003, "txn_id")]
    assert "same as row 3" in streamed.errors[1].reason_en
    assert _answer(streamed) == _answer(svc.import_file(workspace, "premiums", path))
    assert _stored(workspace) == before
    with workspace.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM import_batches "
                                 "WHERE file_name = 'stream_bad.csv'")).scalar_one() == 0


def test_mixed_encoding_deep_in_the_file(workspace: Workspace, tmp_path: Path) -> None:
    load_base(workspace)
    before = _stored(workspace)
    path = _premiums(tmp_path / "stream_enc.csv", 3000, policy="保单")
    data = path.read_bytes().rstrip(b"\n")
    gbk = "S999999,保单9,A001,P01,2026-05-01,new,10.00,2026-05-01,1,1.00".encode("gbk")
    lines = data.split(b"\n")
    lines.insert(2900, gbk)
    path.write_bytes(b"\n".join(lines) + b"\n")
    streamed = svc.import_file(workspace, "premiums", path, chunk_chars=1024)
    assert streamed.status == "rejected"
    assert streamed.errors[0].row == 2901
    assert "GB18030" in streamed.errors[0].reason_en
    assert _answer(streamed) == _answer(svc.import_file(workspace, "premiums", path))
    assert _stored(workspace) == before


_KILLED = textwrap.dedent("""
    import sys
    from pathlib import Path
    from zhuizong.importing.service import import_file
    from zhuizong.workspace import Workspace

    def progress(done, total):
        print("rows", done, flush=True)

    ws = Workspace.open(Path(sys.argv[1]))
    import_file(ws, "premiums", Path(sys.argv[2]), chunk_chars=int(sys.argv[3]),
                progress=progress)
    print("committed", flush=True)
""")


def _counts(ws: Workspace) -> tuple[int, int]:
    with ws.engine.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM premiums WHERE txn_id LIKE 'S%'")).scalar_one()
        b = conn.execute(text("SELECT COUNT(*) FROM import_batches "
                              "WHERE file_name = 'stream_kill.csv'")).scalar_one()
    return int(n), int(b)


@pytest.mark.timeout(300)
def test_sigkill_mid_stream_leaves_nothing(workspace: Workspace, home: Path,
                                           tmp_path: Path) -> None:
    load_base(workspace)
    path = _premiums(tmp_path / "stream_kill.csv", 20_000)
    script = tmp_path / "killed.py"
    script.write_text(_KILLED, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(home), str(path), "65536"],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    assert proc.stdout is not None
    seen = 0
    for line in proc.stdout:  # killed after the third chunk is staged, long before the end
        if line.startswith("rows"):
            seen += 1
            if seen == 3:
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL and seen == 3
    if workspace.engine.dialect.name == "sqlite":
        con = sqlite3.connect(home / DB_FILE, timeout=30)
        try:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            con.close()
    workspace.engine.dispose()
    assert _counts(workspace) == (0, 0)
    res = svc.import_file(workspace, "premiums", path, chunk_chars=65536)
    assert res.status == "committed" and res.inserted == 20_000
    assert _counts(workspace) == (20_000, 1)
