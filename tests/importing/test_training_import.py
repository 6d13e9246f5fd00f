"""Import kinds ``training_sessions`` (培训班次) and ``training_attendance`` (培训签到) on real
databases (SQLite and PostgreSQL): Chinese and English headers, all or nothing with a row-level
error report, re-runs harmless, an empty status = on the roster without a mark."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from zhuizong.importing.report import write_error_report
from zhuizong.importing.service import import_file
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

SESSIONS_ZH = ("班次代码,班次名称,课程类别,培训日期,机构代码,应训新人司龄上限天数,地点\n"
               "TR1,新人岗前培训,新人岗前,2026-05-12,B01,60,三楼\n"
               "TP1,绩优精英班,绩优,2026/05/14,HQ,,\n"
               "QD1,准主任研修班,准主任,20260520,HQ,,会议室\n")
SESSIONS_EN = ("session_code,title,course_kind,session_date,org_code,max_tenure_days,location\n"
               "TR1,新人岗前培训,new_hire,2026-05-12,B01,60,三楼\n"
               "TP1,绩优精英班,top_performer,2026-05-14,HQ,,\n"
               "QD1,准主任研修班,quasi_director,2026-05-20,HQ,,会议室\n")


def _write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    files = {
        "org_units": "org_code,org_name,parent_code\nB01,一分,HQ\nHQ,总公司,\n",
        "ranks": "rank_code,rank_name,category,level\nR1,业务员,formal,1\n",
        "agents": "agent_code,agent_name,hire_date,org_code,rank_code\n"
                  "A1,张三,2024-01-05,B01,R1\nA2,李四,2026-04-01,B01,R1\nA3,王五,2026-04-20,HQ,R1\n",
    }
    for kind, text in files.items():
        r = import_file(workspace, kind, _write(tmp_path, f"{kind}.csv", text))
        assert r.status == "committed", r.errors
    return workspace


def _rows(ws: Workspace, name: str) -> list[dict[str, object]]:
    t = table(name)
    with ws.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]


def _count(ws: Workspace, name: str) -> int:
    with ws.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())


def test_sessions_chinese_headers_and_labels(ws: Workspace, tmp_path: Path) -> None:
    r = import_file(ws, "培训班次", _write(tmp_path, "s.zh.csv", "\ufeff" + SESSIONS_ZH))
    assert r.status == "committed", r.errors
    assert (r.rows_total, r.inserted) == (3, 3)
    rows = {x["session_code"]: x for x in _rows(ws, "training_sessions")}
    assert rows["TR1"]["course_kind"] == "new_hire" and rows["TR1"]["max_tenure_days"] == 60
    assert rows["TP1"]["course_kind"] == "top_performer" and rows["TP1"]["max_tenure_days"] is None
    assert rows["QD1"]["course_kind"] == "quasi_director"
    assert str(rows["TP1"]["session_date"]) == "2026-05-14" and str(rows["QD1"]["session_date"]) == "2026-05-20"
    assert rows["TR1"]["batch_id"] == r.batch_id
    # the same rows with English headers and codes: recognised as unchanged, nothing rewritten
    again = import_file(ws, "training_sessions", _write(tmp_path, "s.csv", SESSIONS_EN))
    assert again.status == "committed"
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert {x["batch_id"] for x in _rows(ws, "training_sessions")} == {r.batch_id}
    # the very same file again: already imported
    assert import_file(ws, "training_sessions", _write(tmp_path, "s.csv", SESSIONS_EN)).status == "already_imported"


def test_attendance_statuses_and_invitations(ws: Workspace, tmp_path: Path) -> None:
    assert import_file(ws, "training_sessions", _write(tmp_path, "s.csv", SESSIONS_EN)).status == "committed"
    text = "班次代码,工号,状态\nTR1,A2,出席\nTR1,A3,缺席\nTP1,A1,请假\nTP1,A2,\n"
    r = import_file(ws, "training_attendance", _write(tmp_path, "a.csv", text))
    assert r.status == "committed", r.errors
    got = {(x["session_code"], x["agent_code"]): x["status"] for x in _rows(ws, "training_attendance")}
    assert got == {("TR1", "A2"): "present", ("TR1", "A3"): "absent", ("TP1", "A1"): "leave",
                   ("TP1", "A2"): None}
    # correcting one mark updates that row only
    r2 = import_file(ws, "training_attendance",
                     _write(tmp_path, "a2.csv", "session_code,agent_code,status\nTR1,A3,late\nTR1,A2,present\n"))
    assert (r2.inserted, r2.updated, r2.unchanged) == (0, 1, 1)
    assert {(x["session_code"], x["agent_code"]): x["status"]
            for x in _rows(ws, "training_attendance")}[("TR1", "A3")] == "late"


def test_bad_sessions_rejected_whole_with_row_errors(ws: Workspace, tmp_path: Path) -> None:
    text = ("session_code,title,course_kind,session_date,org_code,max_tenure_days\n"
            "OK1,好的一行,new_hire,2026-05-12,B01,30\n"   # row 2: fine, but the file is refused
            "BAD1,坏类别,bootcamp,2026-05-12,B01,\n"       # row 3: unknown course kind
            "BAD2,坏日期,other,2026-02-30,B01,\n"          # row 4: impossible date
            "BAD3,负天数,new_hire,2026-05-12,B01,-5\n"     # row 5: negative tenure limit
            "BAD4,未知机构,other,2026-05-12,NOPE,\n"       # row 6: unknown org unit
            ",无代码,other,2026-05-12,B01,\n"              # row 7: key missing
            "OK1,重复,other,2026-05-13,B01,\n")            # row 8: duplicate key
    r = import_file(ws, "training_sessions", _write(tmp_path, "bad.csv", text))
    assert r.status == "rejected"
    found = {(e.row, e.column) for e in r.errors}
    assert {(3, "course_kind"), (4, "session_date"), (5, "max_tenure_days"), (6, "org_code"),
            (7, "session_code"), (8, "session_code")} <= found
    assert not any(e.row == 2 for e in r.errors)
    assert _count(ws, "training_sessions") == 0
    # the error report names every row
    report = tmp_path / "errors.csv"
    write_error_report(r, report)
    with report.open(encoding="utf-8-sig", newline="") as f:
        lines = list(csv.reader(f))
    assert {ln[0] for ln in lines[1:]} >= {"3", "4", "5", "6", "7", "8"}


def test_bad_attendance_rejected_whole_and_marks_kept(ws: Workspace, tmp_path: Path) -> None:
    assert import_file(ws, "training_sessions", _write(tmp_path, "s.csv", SESSIONS_EN)).status == "committed"
    assert import_file(ws, "training_attendance", _write(
        tmp_path, "a.csv", "session_code,agent_code,status\nTR1,A2,present\n")).status == "committed"
    text = ("session_code,agent_code,status\n"
            "TR1,A2,absent\n"      # row 2: a valid change — must not be applied
            "NOPE,A1,present\n"    # row 3: unknown session
            "TR1,ZZ,present\n"     # row 4: unknown agent
            "TR1,A3,sleeping\n"    # row 5: unknown status
            "TR1,A2,late\n")       # row 6: duplicate key
    r = import_file(ws, "training_attendance", _write(tmp_path, "bad.csv", text))
    assert r.status == "rejected"
    found = {(e.row, e.column) for e in r.errors}
    assert {(3, "session_code"), (4, "agent_code"), (5, "status")} <= found
    assert any(e.row == 6 and "session_code" in e.column for e in r.errors)
    assert [(x["agent_code"], x["status"]) for x in _rows(ws, "training_attendance")] == [("A2", "present")]


def test_attendance_needs_its_session(ws: Workspace, tmp_path: Path) -> None:
    """The database itself refuses a mark for a session that does not exist (foreign key), even
    written outside the importer."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), ws.engine.begin() as conn:
        conn.execute(insert(table("training_attendance")).values(
            session_code="GHOST", agent_code="A1", status="present"))
    assert _count(ws, "training_attendance") == 0
