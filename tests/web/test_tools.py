"""Tools pages: the agent's work log and the trainer's meeting attendance sheet (web forms that
write through the import pipeline: validated, scoped, all or nothing, audited)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.web.conftest import login_with_csrf, small_demo
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

TODAY = dt.date.today()
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    yield from small_demo(tmp_path_factory, "tools")


def login(ws: Workspace, username: str) -> tuple[TestClient, str]:
    return login_with_csrf(ws, username)


def csrf(c: TestClient, path: str) -> str:
    m = _CSRF.search(c.get(path).text)
    assert m
    return m.group(1)


def agent_code_of(ws: Workspace, username: str) -> str:
    u = table("users")
    with ws.engine.connect() as conn:
        return str(conn.execute(select(u.c.agent_code).where(u.c.username == username)).scalar_one())


def rows(ws: Workspace, name: str, **where: Any) -> list[dict[str, Any]]:
    t = table(name)
    q = select(t)
    for k, v in where.items():
        q = q.where(t.c[k] == v)
    with ws.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


@pytest.fixture(scope="module")
def agent(ws: Workspace) -> tuple[TestClient, str]:
    return login(ws, "agent")


@pytest.fixture(scope="module")
def trainer(ws: Workspace) -> tuple[TestClient, str]:
    return login(ws, "trainer")


# --- work log ---------------------------------------------------------------------------------


def test_tools_menu_per_role(agent: tuple[TestClient, str], trainer: tuple[TestClient, str]) -> None:
    r = agent[0].get("/tools")
    assert r.status_code == 200
    assert 'data-tool="worklog"' in r.text and 'data-tool="attendance"' not in r.text
    r = trainer[0].get("/tools")
    assert 'data-tool="attendance"' in r.text and 'data-tool="worklog"' not in r.text


def test_agent_saves_work_log(ws: Workspace, agent: tuple[TestClient, str]) -> None:
    c, token = agent
    code = agent_code_of(ws, "agent")
    page = c.get("/tools/worklog")
    assert page.status_code == 200 and 'id="worklog-form"' in page.text
    form = {"csrf_token": token, "date": TODAY.isoformat(), "calls": "12", "visits": "3",
            "interviews": "2", "proposals": "1", "closes": "1", "referrals": "0",
            "recruit_talks": "1", "note": "明天拜访王先生"}
    r = c.post("/tools/worklog", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    saved = rows(ws, "work_logs", agent_code=code, date=TODAY)
    assert len(saved) == 1
    w = saved[0]
    assert (w["calls"], w["visits"], w["interviews"], w["proposals"], w["closes"], w["referrals"],
            w["recruit_talks"], w["note"]) == (12, 3, 2, 1, 1, 0, 1, "明天拜访王先生")
    batch = rows(ws, "import_batches", id=w["batch_id"])[0]
    assert batch["kind"] == "work_logs" and batch["actor"] == "agent"
    assert rows(ws, "audit_log", action="import", actor="agent")
    # the page shows it among the last 7 days
    page = c.get(r.headers["location"])
    assert "saved" in page.text and f'data-date="{TODAY.isoformat()}"' in page.text

    # upsert: a changed value, then back to the first values (must not be "already imported")
    c.post("/tools/worklog", data={**form, "calls": "5"})
    assert rows(ws, "work_logs", agent_code=code, date=TODAY)[0]["calls"] == 5
    c.post("/tools/worklog", data=form)
    assert rows(ws, "work_logs", agent_code=code, date=TODAY)[0]["calls"] == 12


def test_work_log_invalid_value_writes_nothing(ws: Workspace, agent: tuple[TestClient, str]) -> None:
    c, token = agent
    code = agent_code_of(ws, "agent")
    day = TODAY - dt.timedelta(days=2)
    r = c.post("/tools/worklog", data={"csrf_token": token, "date": day.isoformat(), "calls": "-3",
                                       "visits": "abc"})
    assert r.status_code == 400
    assert 'id="form-error"' in r.text
    assert rows(ws, "work_logs", agent_code=code, date=day) == []
    # outside the 7-day window
    old = TODAY - dt.timedelta(days=10)
    r = c.post("/tools/worklog", data={"csrf_token": token, "date": old.isoformat(), "calls": "1"})
    assert r.status_code == 400
    assert rows(ws, "work_logs", agent_code=code, date=old) == []


def test_agent_cannot_write_another_agents_log(ws: Workspace, agent: tuple[TestClient, str]) -> None:
    c, token = agent
    other = agent_code_of(ws, "supervisor")
    day = TODAY - dt.timedelta(days=1)
    r = c.post("/tools/worklog", data={"csrf_token": token, "date": day.isoformat(), "calls": "7",
                                       "agent_code": other})
    assert r.status_code in (403, 404)
    assert rows(ws, "work_logs", agent_code=other, date=day) == []
    assert rows(ws, "work_logs", agent_code=agent_code_of(ws, "agent"), date=day) == []


def test_worklog_needs_an_agent_code(trainer: tuple[TestClient, str]) -> None:
    assert trainer[0].get("/tools/worklog").status_code == 403


def test_csrf_token_required(ws: Workspace, agent: tuple[TestClient, str]) -> None:
    c, _ = agent
    r = c.post("/tools/worklog", data={"date": TODAY.isoformat(), "calls": "99"})
    assert r.status_code == 403
    assert rows(ws, "work_logs", agent_code=agent_code_of(ws, "agent"), date=TODAY)[0]["calls"] != 99


# --- attendance -------------------------------------------------------------------------------


def _sheet(c: TestClient, day: dt.date) -> dict[str, list[str]]:
    """group code -> agent codes shown on the sheet."""
    page = c.get(f"/tools/attendance?date={day.isoformat()}&meeting=morning")
    assert page.status_code == 200, page.text
    groups: dict[str, list[str]] = {}
    for chunk in page.text.split('data-group="')[1:]:
        code = chunk.split('"', 1)[0]
        groups[code] = re.findall(r'data-agent="([^"]+)"', chunk)
    return groups


def test_trainer_marks_group_present_with_one_exception(ws: Workspace,
                                                        trainer: tuple[TestClient, str]) -> None:
    c, token = trainer
    day = TODAY - dt.timedelta(days=1)
    groups = _sheet(c, day)
    assert groups, "the trainer's sheet lists groups"
    group, members = next((g, m) for g, m in groups.items() if len(m) >= 3)
    # no JavaScript: "全部出席" posts the sheet back with the group filled in, saving nothing
    r = c.post("/tools/attendance", data={"csrf_token": token, "date": day.isoformat(),
                                          "meeting": "morning", "fill_group": group})
    assert r.status_code == 200
    assert r.text.count('value="present" checked') >= len(members)
    assert rows(ws, "attendance", date=day, meeting="morning") == []

    late = members[1]
    form = {"csrf_token": token, "date": day.isoformat(), "meeting": "morning", "save": "1"}
    form |= {f"st_{m}": "present" for m in members}
    form[f"st_{late}"] = "late"
    r = c.post("/tools/attendance", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    got = {(x["agent_code"], x["status"]) for x in rows(ws, "attendance", date=day, meeting="morning")}
    assert got == {(m, "late" if m == late else "present") for m in members}
    assert not rows(ws, "attendance", date=day, meeting="evening")
    page = c.get(r.headers["location"])
    assert 'id="saved"' in page.text


def test_out_of_scope_agent_refuses_the_whole_sheet(ws: Workspace,
                                                    trainer: tuple[TestClient, str]) -> None:
    c, token = trainer
    day = TODAY - dt.timedelta(days=3)
    groups = _sheet(c, day)
    visible = {a for m in groups.values() for a in m}
    a = table("agents")
    with ws.engine.connect() as conn:
        everyone = set(conn.execute(select(a.c.agent_code).where(a.c.leave_date.is_(None))).scalars())
    outsider = sorted(everyone - visible)[0]
    insider = sorted(visible)[0]
    before = len(rows(ws, "import_batches"))
    r = c.post("/tools/attendance", data={"csrf_token": token, "date": day.isoformat(),
                                          "meeting": "morning", f"st_{insider}": "present",
                                          f"st_{outsider}": "absent"})
    assert r.status_code == 404
    assert rows(ws, "attendance", date=day) == []
    assert len(rows(ws, "import_batches")) == before


def test_invalid_status_and_agent_role(ws: Workspace, trainer: tuple[TestClient, str],
                                       agent: tuple[TestClient, str]) -> None:
    c, token = trainer
    day = TODAY - dt.timedelta(days=4)
    insider = sorted(a for m in _sheet(c, day).values() for a in m)[0]
    r = c.post("/tools/attendance", data={"csrf_token": token, "date": day.isoformat(),
                                          "meeting": "morning", f"st_{insider}": "sleeping"})
    assert r.status_code == 400 and 'id="form-error"' in r.text
    assert rows(ws, "attendance", date=day) == []
    # a future date is refused
    r = c.post("/tools/attendance", data={"csrf_token": token, "meeting": "morning",
                                          "date": (TODAY + dt.timedelta(days=1)).isoformat(),
                                          f"st_{insider}": "present"})
    assert r.status_code == 400
    # an agent may not mark attendance at all
    ac, atoken = agent
    assert ac.get("/tools/attendance").status_code == 403
    r = ac.post("/tools/attendance", data={"csrf_token": atoken, "date": day.isoformat(),
                                           "meeting": "morning", f"st_{insider}": "present"})
    assert r.status_code == 403
    with ws.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table("attendance"))
                            .where(table("attendance").c.date == day)).scalar_one() == 0


def test_training_is_not_an_agents_tool(agent: tuple[TestClient, str],
                                        trainer: tuple[TestClient, str]) -> None:
    """Training sessions (tests/web/test_training_pages.py) are for staff: an agent is refused and
    has no menu entry; a trainer has both."""
    assert agent[0].get("/tools/training").status_code == 403
    assert 'data-tool="training"' not in agent[0].get("/tools").text
    assert trainer[0].get("/tools/training").status_code == 200
    assert 'data-tool="training"' in trainer[0].get("/tools").text


def test_large_scope_picks_a_group(monkeypatch: pytest.MonkeyPatch,
                                   trainer: tuple[TestClient, str]) -> None:
    from zhuizong.services import tools as svc

    c, _ = trainer
    monkeypatch.setattr(svc, "SHEET_MAX_AGENTS", 3)
    page = c.get("/tools/attendance")
    assert page.status_code == 200 and 'id="attendance-form"' not in page.text
    group = re.search(r'group=([^"&]+)"', page.text)
    assert group
    page = c.get(f"/tools/attendance?group={group.group(1)}")
    assert 'id="attendance-form"' in page.text and page.text.count("data-group=") == 1
    assert c.get("/tools/attendance?group=NOT-MINE").status_code == 404


def test_tools_in_english(agent: tuple[TestClient, str]) -> None:
    c, _ = agent
    c.get("/lang/en", follow_redirects=False)
    try:
        page = c.get("/tools/worklog").text
        assert "Work log" in page and "Calls" in page and "Recruit talks" in page
    finally:
        c.get("/lang/zh", follow_redirects=False)
