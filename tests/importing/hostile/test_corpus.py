"""The hostile corpus through the public interface: ``zhuizong import KIND FILE --format json``.

For each case of :mod:`tests.importing.hostile.cases`, on SQLite and PostgreSQL:

- refused: exit code 6, status ``rejected``, exactly the (row, column) pairs stated, each with the
  stated words in its English reason and a Chinese reason, no traceback; every table (except
  ``audit_log``) row for row as before and the row counts unchanged;
- committed: exit code 0, the stated (inserted, updated, unchanged), the stored values and table
  sizes.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tests.importing.hostile.cases import BASE_ROWS, CASES, GROUPS, Case
from tests.kpi_cli.builders import cli_ok, run_cli
from zhuizong.store import models as m
from zhuizong.workspace import Workspace

GOOD = Path(__file__).resolve().parents[2] / "fixtures" / "good"
COMPARED = [t for t in m.Base.metadata.sorted_tables if t.name != "audit_log"]


def load_base(tmp: Path, case: Case) -> None:
    cli_ok("init")
    for kind in BASE_ROWS:
        cli_ok("import", kind, str(GOOD / f"{kind}.csv"))
    for i, (kind, content) in enumerate(case.before):
        path = tmp / f"before_{i}.csv"
        path.write_text(content, encoding="utf-8")
        cli_ok("import", kind, str(path))


def snapshot(ws: Workspace) -> dict[str, list[tuple[Any, ...]]]:
    with ws.engine.connect() as conn:
        return {t.name: sorted((tuple(r) for r in conn.execute(select(t)).all()), key=repr)
                for t in COMPARED}


def counts(ws: Workspace) -> dict[str, int]:
    with ws.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in COMPARED}


def stored_row(ws: Workspace, table: str, key: dict[str, Any]) -> dict[str, Any]:
    t = m.table(table)
    cond = [t.c[k] == (dt.date.fromisoformat(v) if t.c[k].type.python_type is dt.date else v)
            for k, v in key.items()]
    with ws.engine.connect() as conn:
        rows = conn.execute(select(t).where(*cond)).mappings().all()
    assert len(rows) == 1, f"{table} {key}: {rows}"
    return dict(rows[0])


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, dt.date) else v


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(home: Path, tmp_path: Path, case: Case) -> None:
    load_base(tmp_path, case)
    ws = Workspace.open(home)
    try:
        if case.sql:
            with ws.engine.begin() as conn:
                for stmt in case.sql:
                    conn.execute(text(stmt))
        before, sizes = snapshot(ws), counts(ws)
        path = tmp_path / f"{case.name}.csv"
        path.write_bytes(case.data if isinstance(case.data, bytes) else case.data.encode("utf-8"))
        code, out, err = run_cli("import", case.kind, str(path), "--format", "json")
        assert "Traceback" not in out + err, err
        result = json.loads(out)
        errors = result["errors"]
        shown = "\n".join(f"  {e['row']} {e['column']} {e['value']!r} {e['reason_en']}"
                          for e in errors)
        if case.refused:
            assert code == 6, (code, out, err)
            assert result["status"] == "rejected"
            got = sorted({(e["row"], e["column"]) for e in errors})
            want = sorted({(r, c) for r, c, _ in case.errors})
            assert got == want, f"{case.name}: errors\n{shown}"
            for row, col, words in case.errors:
                hit = [e for e in errors if (e["row"], e["column"]) == (row, col)]
                assert any(words in e["reason_en"] for e in hit), f"{words!r} not in\n{shown}"
            for e in errors:
                assert any("\u4e00" <= ch <= "\u9fff" for ch in e["reason_zh"]), e
            assert counts(ws) == sizes, f"{case.name}: row counts changed"
            assert snapshot(ws) == before, f"{case.name}: a refused import stored something"
        else:
            assert code == 0, f"{case.name}: exit {code}\n{shown}\n{err}"
            assert result["status"] == "committed"
            assert (result["inserted"], result["updated"], result["unchanged"]) == case.counts
            for table, key, values in case.stored:
                row = stored_row(ws, table, key)
                assert {k: _plain(row[k]) for k in values} == values, (table, key, row)
            after = counts(ws)
            for table, n in case.rows.items():
                assert after[table] == n, (table, after[table])
            assert after["import_batches"] == sizes["import_batches"] + 1
    finally:
        ws.engine.dispose()


def test_corpus_size_and_classes() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert len(CASES) >= 40
    by_group = {g: [c for c in CASES if c.group == g] for g in GROUPS}
    assert {c.group for c in CASES} == set(GROUPS)
    for g, cs in by_group.items():
        assert any(c.refused for c in cs) and any(not c.refused for c in cs), g
    for c in CASES:
        assert c.refused != (c.counts is not None), c.name
