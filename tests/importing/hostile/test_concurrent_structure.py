"""Two imports that each keep the org tree a forest but together close a cycle, run at the same
time (issue 19, item 1, under concurrency): ``X1`` under ``X2`` in one file, ``X2`` under ``X1``
in the other. Each passes the check against the tree as it was; both committing would store the
cycle (write skew on PostgreSQL: the two update different rows). The imports of the org tree and
the reporting lines run one at a time (an advisory lock on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite), so the second one is checked against the first one's tree and refused.

The first import is held inside its transaction, right after its structure check, until the
second one has either reached its own check (the race) or is seen waiting for the first.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.importing.hostile.cases import ORG, Case
from tests.importing.hostile.structure_helpers import parents
from tests.importing.hostile.test_corpus import load_base
from tests.kpi_cli.builders import cli_ok
from zhuizong.importing import service, validate
from zhuizong.importing.structure import forest_cycles
from zhuizong.workspace import Workspace


def test_concurrent_org_imports_cannot_close_a_cycle(home: Path, tmp_path: Path,
                                                     monkeypatch: Any) -> None:
    load_base(tmp_path, Case("concurrent", "org_tree", "org_units", ""))
    roots = tmp_path / "roots.csv"
    roots.write_text(ORG + "X1,甲,HQ\nX2,乙,HQ\n", encoding="utf-8")
    cli_ok("import", "org_units", str(roots))
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(ORG + "X1,甲,X2\n", encoding="utf-8")
    b.write_text(ORG + "X2,乙,X1\n", encoding="utf-8")

    ws = Workspace.open(home)
    a_checked, b_checked, b_started, go = (threading.Event() for _ in range(4))
    real_check = validate.check_structure

    def check(conn: Any, kind: str, *args: Any) -> Any:
        out = real_check(conn, kind, *args)
        if threading.current_thread().name == "A":
            a_checked.set()
            assert go.wait(60)
        else:
            b_checked.set()
        return out

    monkeypatch.setattr(validate, "check_structure", check)
    results: dict[str, service.ImportResult] = {}

    def run(name: str, path: Path) -> None:
        if name == "B":
            b_started.set()
        results[name] = service.import_file(ws, "org_units", path)

    ta = threading.Thread(target=run, args=("A", a), name="A")
    tb = threading.Thread(target=run, args=("B", b), name="B")
    try:
        ta.start()
        assert a_checked.wait(60)
        tb.start()
        assert b_started.wait(60)
        # hold A until B has reached its check (the race) or is seen waiting for A
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not b_checked.is_set():
            if ws.engine.dialect.name == "postgresql":
                with ws.engine.connect() as conn:
                    if conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = "
                                         "'advisory' AND NOT granted")).scalar_one():
                        break
            elif time.monotonic() > deadline - 27:  # SQLite: B waits in BEGIN IMMEDIATE
                break
            time.sleep(0.05)
        go.set()
        ta.join(120)
        tb.join(120)
        assert not ta.is_alive() and not tb.is_alive()
        assert results["A"].status == "committed"
        assert results["B"].status == "rejected"
        assert [(e.row, e.column) for e in results["B"].errors] == [(2, "parent_code")]
        assert "X1 → X2 → X1" in results["B"].errors[0].reason_en
        tree = parents(ws)
        assert forest_cycles(tree) == []
        assert (tree["X1"], tree["X2"]) == ("X2", "HQ")
    finally:
        go.set()
        ws.engine.dispose()
