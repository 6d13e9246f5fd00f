"""import_file / import_frame on real databases: commit, dry run, idempotence, upsert counts,
all-or-nothing, error reports."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import func, select

from zhuizong.errors import ZhuizongError
from zhuizong.importing.report import write_error_report
from zhuizong.importing.service import ImportResult, RowError, import_file, import_frame
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

PREMIUM_HEADER = "流水号,保单号,工号,产品代码,交易日期,类型,金额,FYC\n"


def _base(ws: Workspace, tmp: Path) -> None:
    files = {
        "org_units": "org_code,org_name,parent_code\nB01,一分,HQ\nHQ,总公司,\n",
        "ranks": "rank_code,rank_name,category,level\nR1,业务员,formal,1\n",
        "products": "product_code,product_name,is_main,pay_mode\nP1,寿险,1,regular\n",
        "agents": "agent_code,agent_name,hire_date,org_code,rank_code,supervisor_code\n"
                  "A2,李四,2024-03-01,B01,R1,A1\nA1,张三,2024-01-05,B01,R1,\n",
    }
    for kind, text in files.items():
        p = tmp / f"{kind}.csv"
        p.write_text(text, encoding="utf-8")
        r = import_file(ws, kind, p)
        assert r.status == "committed", r.errors


def _count(ws: Workspace, name: str) -> int:
    with ws.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table(name))).scalar_one()


def _premiums(tmp: Path, name: str, rows: list[str]) -> Path:
    p = tmp / name
    p.write_text(PREMIUM_HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


ROWS = [
    "T1,PL1,A1,P1,2026-05-01,新契约,\"1,000.00\",100",
    "T2,PL2,A2,P1,2026/05/03,new,200.5,",
    "T3,PL3,A1,P1,20260502,renewal,３００,",
]


def test_commit_dry_run_idempotence_and_upsert(workspace: Workspace, tmp_path: Path) -> None:
    _base(workspace, tmp_path)
    assert _count(workspace, "agent_history") == 2  # history rebuilt for the imported agents
    f = _premiums(tmp_path, "p1.csv", ROWS)

    dry = import_file(workspace, "premiums", f, dry_run=True)
    assert (dry.status, dry.inserted, dry.batch_id) == ("dry_run", 3, None)
    assert _count(workspace, "premiums") == 0 and _count(workspace, "import_batches") == 4

    seen: list[tuple[int, int]] = []
    r = import_file(workspace, "premiums", f, actor="tester", progress=lambda d, t: seen.append((d, t)))
    assert (r.status, r.rows_total, r.inserted, r.updated, r.unchanged) == ("committed", 3, 3, 0, 0)
    assert r.ok and seen and seen[-1] == (3, 3)
    prem = table("premiums")
    b = table("import_batches")
    with workspace.engine.connect() as conn:
        amounts = dict(conn.execute(select(prem.c.txn_id, prem.c.amount_fen)).all())
        batch = conn.execute(select(b).where(b.c.id == r.batch_id)).mappings().one()
        audit = conn.execute(select(table("audit_log")).where(
            table("audit_log").c.object_type == "premiums")).mappings().all()
    assert amounts == {"T1": 100000, "T2": 20050, "T3": 30000}
    assert str(batch["min_date"]) == "2026-05-01" and str(batch["max_date"]) == "2026-05-03"
    assert batch["actor"] == "tester" and batch["rows_inserted"] == 3
    assert len(audit) == 1 and audit[0]["actor"] == "tester" and audit[0]["object_id"] == "p1.csv"

    again = import_file(workspace, "premiums", f)
    assert (again.status, again.batch_id) == ("already_imported", r.batch_id)
    assert _count(workspace, "import_batches") == 5

    # same rows, different file (order and spelling differ): all unchanged, nothing rewritten
    g = _premiums(tmp_path, "p2.csv", [ROWS[2], ROWS[0].replace("新契约", "NEW"), ROWS[1]])
    r2 = import_file(workspace, "premiums", g)
    assert (r2.status, r2.inserted, r2.updated, r2.unchanged) == ("committed", 0, 0, 3)
    with workspace.engine.connect() as conn:
        batches = set(conn.execute(select(prem.c.batch_id)).scalars())
    assert batches == {r.batch_id}

    # corrected file: one amount changed, one new row
    h = _premiums(tmp_path, "p3.csv", [ROWS[0], ROWS[1].replace("200.5", "250"), ROWS[2],
                                       "T4,PL4,A2,P1,2026-05-04,surrender,1,"])
    r3 = import_file(workspace, "premiums", h)
    assert (r3.status, r3.inserted, r3.updated, r3.unchanged) == ("committed", 1, 1, 2)
    with workspace.engine.connect() as conn:
        rows = dict(conn.execute(select(prem.c.txn_id, prem.c.batch_id)).all())
        t2 = conn.execute(select(prem.c.amount_fen).where(prem.c.txn_id == "T2")).scalar_one()
    assert t2 == 25000
    assert rows == {"T1": r.batch_id, "T2": r3.batch_id, "T3": r.batch_id, "T4": r3.batch_id}


def test_one_bad_row_commits_nothing(workspace: Workspace, tmp_path: Path) -> None:
    _base(workspace, tmp_path)
    bad = _premiums(tmp_path, "bad.csv", ROWS + ["T9,PL9,NOBODY,P1,2026-05-01,new,1,",
                                                 "T10,PL9,A1,P1,2026-05-01,new,-1,"])
    r = import_file(workspace, "premiums", bad)
    assert r.status == "rejected" and not r.ok and r.batch_id is None
    # every problem at once: the unknown reference is reported beside the type error
    assert [(e.row, e.column) for e in r.errors] == [(5, "agent_code"), (6, "amount")]
    bad = _premiums(tmp_path, "bad2.csv", ROWS + ["T9,PL9,NOBODY,P1,2026-05-01,new,1,"])
    r = import_file(workspace, "premiums", bad)
    assert [(e.row, e.column, e.value, e.reason_en) for e in r.errors] == [
        (5, "agent_code", "NOBODY", "unknown agent_code")]
    assert _count(workspace, "premiums") == 0
    assert _count(workspace, "import_batches") == 4


def test_file_level_problems_are_rejections(workspace: Workspace, tmp_path: Path) -> None:
    p = tmp_path / "h.csv"
    p.write_text("org_code,org_nmae\nB1,x\n", encoding="utf-8")
    r = import_file(workspace, "org_units", p)
    assert r.status == "rejected" and {e.row for e in r.errors} == {0}
    assert any("org_nmae" in e.reason_en for e in r.errors)
    assert any("missing required column org_name" in e.reason_en for e in r.errors)
    p.write_text("org_code,org_name\n", encoding="utf-8")
    r = import_file(workspace, "org_units", p)
    assert r.status == "rejected" and "no data rows" in r.errors[0].reason_en


def test_history_problem_rolls_back(workspace: Workspace, tmp_path: Path) -> None:
    _base(workspace, tmp_path)
    p = tmp_path / "ev.csv"
    # a leave before any hire, then a second leave: not an alternating history
    p.write_text("agent_code,event_date,event_type\nA1,2023-01-01,leave\nA1,2023-02-01,leave\n",
                 encoding="utf-8")
    r = import_file(workspace, "agent_events", p)
    assert r.status == "rejected" and r.errors
    assert all(e.row in (0, 2, 3) for e in r.errors)
    assert _count(workspace, "agent_events") == 0


def test_import_frame_typed_and_hash(workspace: Workspace, tmp_path: Path) -> None:
    _base(workspace, tmp_path)
    frame = pd.DataFrame({
        "txn_id": ["F1", "F2"], "policy_no": ["X", "Y"], "agent_code": ["A1", "A2"],
        "product_code": ["P1", "P1"], "txn_date": pd.to_datetime(["2026-01-01", "2026-01-02"]),
        "txn_type": ["new", "new"], "amount": [10.5, 20.0], "policy_year": [1, 1],
    })
    r = import_frame(workspace, "premiums", frame, source_name="demo")
    assert (r.status, r.inserted) == ("committed", 2) and len(r.sha256) == 64
    assert import_frame(workspace, "premiums", frame.copy(), source_name="demo").status == \
        "already_imported"
    with workspace.engine.connect() as conn:
        assert sorted(conn.execute(select(table("premiums").c.amount_fen)).scalars()) == [1050, 2000]


def _result() -> ImportResult:
    return ImportResult("premiums", "x.csv", "0" * 64, "rejected", 2, 0, 0, 0, [
        RowError(0, "", "", "文件为空", "the file is empty"),
        RowError(3, "policy_no", "=HYPERLINK(\"http://evil\")", "原因", "reason"),
        RowError(4, "amount", "-1+2", "应大于 0", "must be positive"),
        RowError(5, "note", "@SUM(A1)", "x", "y"),
    ], None, 0.1)


def test_error_report_csv_and_xlsx(tmp_path: Path) -> None:
    res = _result()
    write_error_report(res, tmp_path / "e.csv")
    raw = (tmp_path / "e.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert rows[0] == ["行号/row", "列/column", "值/value", "原因/reason", "reason"]
    assert rows[2] == ["3", "policy_no", "'=HYPERLINK(\"http://evil\")", "原因", "reason"]
    assert rows[3][2] == "'-1+2" and rows[4][2] == "'@SUM(A1)"
    write_error_report(res, tmp_path / "e.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "e.xlsx")
    ws = wb.active
    values = [[c.value for c in r] for r in ws.iter_rows()]
    assert values[1][0] == 0 and values[2][0] == 3
    assert values[2][2] == "'=HYPERLINK(\"http://evil\")"
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)
    assert len(values) == 5
    with pytest.raises(ZhuizongError):
        write_error_report(res, tmp_path / "e.txt")


def test_xlsx_import_end_to_end(workspace: Workspace, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["机构代码", "机构名称", "上级机构代码"])
    ws.append([1, "总公司", None])
    ws.append([2.0, "分公司", 1])
    wb.save(tmp_path / "org.xlsx")
    r = import_file(workspace, "org_units", tmp_path / "org.xlsx")
    assert (r.status, r.inserted) == ("committed", 2), r.errors
    with workspace.engine.connect() as conn:
        got = dict(conn.execute(select(table("org_units").c.org_code,
                                       table("org_units").c.parent_code)).all())
    assert got == {"1": None, "2": "1"}
