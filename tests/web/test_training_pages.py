"""Training pages (/tools/training): create a session, mark its whole roster in one post, see the
completion; scope (a trainer of one unit never sees another unit's sessions; no scope, nothing);
forms refused whole (nothing written); CSRF; English.

A 60-agent demo workspace of its own (SQLite); the authorization matrix runs the session routes on
PostgreSQL too. Two disjoint groups of the demo, ``A`` and ``B``, get users of their own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import or_, select

from tests.web.conftest import DEMO_END, login_with_csrf, small_demo
from zhuizong.store.db import atomic
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

PASSWORD = "training-pages-9"
DAY = DEMO_END - dt.timedelta(days=3)
SESSION_RE = re.compile(r'data-session="([^"]+)"')
ROW_RE = re.compile(r'data-agent="([^"]+)" data-outcome="([^"]+)"')


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from zhuizong.access import users
    from zhuizong.importing.service import import_frame

    for ws in small_demo(tmp_path_factory, "training-pages"):
        o = table("org_units")
        with ws.engine.connect() as conn:
            groups = [r.org_code for r in conn.execute(
                select(o.c.org_code).where(o.c.level == "group").order_by(o.c.org_code))]
        a, b = groups[0], groups[-1]
        assert a != b
        with atomic(ws.engine) as conn:
            for name, roles, org in (("trainer_a", ["trainer"], a), ("trainer_b", ["trainer"], b),
                                     ("staff_a", ["training"], a), ("staff_none", ["training"], None)):
                users.create_user(conn, name, name, roles=roles, password=PASSWORD)
                if org:
                    users.grant_scope(conn, name, "org_subtree", org_code=org)
        sessions = pd.DataFrame([
            {"session_code": "PA", "title": "A 组绩优班", "course_kind": "top_performer",
             "session_date": DAY.isoformat(), "org_code": a},
            {"session_code": "PB", "title": "B 组绩优班", "course_kind": "top_performer",
             "session_date": DAY.isoformat(), "org_code": b}], dtype=object)
        assert import_frame(ws, "training_sessions", sessions, source_name="t").status == "committed"
        listed = pd.DataFrame({"session_code": ["PA", "PB"],
                               "agent_code": [placed(ws, a, DAY)[0], placed(ws, b, DAY)[0]],
                               "status": [None, None]}, dtype=object)
        assert import_frame(ws, "training_attendance", listed, source_name="t").status == "committed"
        yield {"ws": ws, "A": a, "B": b}


def placed(ws: Workspace, org: str, day: dt.date) -> list[str]:
    """Agents in force on ``day`` placed (dated history) in ``org`` — written here, not by the
    service, to check the audience rule against."""
    h, s = table("agent_history"), table("employment_spells")
    with ws.engine.connect() as conn:
        return sorted(conn.execute(
            select(h.c.agent_code).join(s, s.c.agent_code == h.c.agent_code)
            .where(h.c.org_code == org, h.c.valid_from <= day,
                   or_(h.c.valid_to.is_(None), h.c.valid_to > day),
                   s.c.hire_date <= day, or_(s.c.leave_date.is_(None), s.c.leave_date > day))
        ).scalars().unique())


def marks(ws: Workspace, code: str) -> dict[str, str | None]:
    t = table("training_attendance")
    with ws.engine.connect() as conn:
        return {r.agent_code: r.status for r in conn.execute(
            select(t.c.agent_code, t.c.status).where(t.c.session_code == code))}


def sessions(ws: Workspace) -> set[str]:
    t = table("training_sessions")
    with ws.engine.connect() as conn:
        return set(conn.execute(select(t.c.session_code)).scalars())


def client(world: dict[str, Any], username: str) -> tuple[TestClient, str]:
    from zhuizong.demo.service import DEMO_PASSWORD

    return login_with_csrf(world["ws"], username, DEMO_PASSWORD if username in (
        "training", "trainer", "agent", "admin") else PASSWORD)


def new_form(token: str, **kw: str) -> dict[str, str]:
    form = {"csrf_token": token, "session_code": "", "title": "新人岗前培训", "course_kind": "new_hire",
            "session_date": DAY.isoformat(), "org_code": "", "max_tenure_days": "", "location": "",
            "invite": ""}
    form.update(kw)
    return form


def test_create_mark_and_completion(world: dict[str, Any]) -> None:
    ws, a = world["ws"], world["A"]
    c, token = client(world, "training")
    page = c.get("/tools/training/new")
    assert page.status_code == 200 and 'id="training-new-form"' in page.text
    r = c.post("/tools/training/new", data=new_form(token, session_code="NH1", org_code=a,
                                                    max_tenure_days="100000", location="三楼"),
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/tools/training/sessions/NH1?created=1"
    # the roster is the audience rule: everyone in force in the group that day (tenure limit huge)
    roster = placed(ws, a, DAY)
    assert roster
    page = c.get("/tools/training/sessions/NH1")
    assert page.status_code == 200 and 'id="training-form"' in page.text
    rows = dict(ROW_RE.findall(page.text))
    assert sorted(rows) == roster
    assert set(rows.values()) == {"missed"}  # a past day, nobody marked yet
    # mark the whole roster in one post: the first absent, the rest present
    absent, *present = roster
    form = {"csrf_token": token, **{f"st_{x}": "present" for x in present}, f"st_{absent}": "absent"}
    r = c.post("/tools/training/sessions/NH1", data=form, follow_redirects=False)
    assert r.status_code == 303 and f"saved={len(roster)}" in r.headers["location"]
    assert marks(ws, "NH1") == {absent: "absent", **{x: "present" for x in present}}
    page = c.get("/tools/training/sessions/NH1")
    assert dict(ROW_RE.findall(page.text))[absent] == "missed"
    counts = re.search(r'id="session-counts">(.*?)</p>', page.text, re.S)
    assert counts and re.findall(r"<strong>(\d+)</strong>", counts.group(1)) == [
        str(len(roster)), str(len(present)), "0", "1", "0"]
    # the list shows it, filtered by month and kind
    listing = c.get("/tools/training", params={"month": DAY.strftime("%Y-%m"), "kind": "new_hire"})
    assert "NH1" in SESSION_RE.findall(listing.text) and "PA" not in SESSION_RE.findall(listing.text)
    other_month = c.get("/tools/training", params={"month": "2020-01"})
    assert SESSION_RE.findall(other_month.text) == []
    # completion: the absent agent missed NH1, the others attended it
    comp = c.get("/tools/training/completion", params={"month": DAY.strftime("%Y-%m"), "kind": "new_hire"})
    assert comp.status_code == 200
    row = re.search(rf'<tr data-agent="{absent}">(.*?)</tr>', comp.text, re.S)
    assert row and "/tools/training/sessions/NH1" in row.group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1))
    assert cells[1:7] == ["1", "0", "0", "1", "0", "0%"]  # required, attended, leave, missed, pending, rate
    # correcting the absence to late makes it attended
    r = c.post("/tools/training/sessions/NH1", data={"csrf_token": token, f"st_{absent}": "late"},
               follow_redirects=False)
    assert r.status_code == 303 and marks(ws, "NH1")[absent] == "late"


def test_fill_all_saves_nothing_and_invitations(world: dict[str, Any]) -> None:
    ws, a = world["ws"], world["A"]
    c, token = client(world, "training")
    guest = placed(ws, a, DAY)[0]
    r = c.post("/tools/training/new", data=new_form(token, session_code="QD1", course_kind="quasi_director",
                                                    title="准主任班", org_code=a, invite=guest),
               follow_redirects=False)
    assert r.status_code == 303
    assert marks(ws, "QD1") == {guest: None}  # invited, not marked
    page = c.post("/tools/training/sessions/QD1", data={"csrf_token": token, "fill_all": "1"})
    assert page.status_code == 200
    assert re.search(rf'name="st_{guest}" value="present" checked', page.text)
    assert marks(ws, "QD1") == {guest: None}  # shown, not saved


def test_bad_forms_change_nothing(world: dict[str, Any]) -> None:
    ws, a = world["ws"], world["A"]
    c, token = client(world, "training")
    before = sessions(ws)
    r = c.post("/tools/training/new", data=new_form(token, session_code="BAD1", org_code=a,
                                                    session_date="2026-02-30", course_kind="bootcamp"))
    assert r.status_code == 400
    err = re.search(r'id="form-error">(.*?)</div>', r.text, re.S)
    assert err and "2026-02-30" in err.group(1) and "bootcamp" in err.group(1)
    assert sessions(ws) == before
    # a mark with an unknown status: the sheet again, nothing saved
    roster = placed(ws, a, DAY)
    r = c.post("/tools/training/sessions/PA", data={"csrf_token": token, f"st_{roster[0]}": "asleep"})
    assert r.status_code == 400 and 'id="form-error"' in r.text
    assert all(v is None for v in marks(ws, "PA").values())
    # no CSRF token: refused before anything is read
    r = c.post("/tools/training/sessions/PA", data={f"st_{roster[0]}": "present"})
    assert r.status_code == 403
    assert all(v is None for v in marks(ws, "PA").values())


def test_scope_trainer_sees_only_own_unit(world: dict[str, Any]) -> None:
    ws = world["ws"]
    ca, tok = client(world, "trainer_a")
    cb, _ = client(world, "trainer_b")
    seen_a = set(SESSION_RE.findall(ca.get("/tools/training").text))
    seen_b = set(SESSION_RE.findall(cb.get("/tools/training").text))
    assert "PA" in seen_a and "PB" not in seen_a
    assert "PB" in seen_b and "PA" not in seen_b
    assert ca.get("/tools/training/sessions/PA").status_code == 200
    hidden, missing = ca.get("/tools/training/sessions/PB"), ca.get("/tools/training/sessions/NO-SUCH")
    assert (hidden.status_code, missing.status_code) == (404, 404)
    # a trainer reads but does not mark or create (its own valid CSRF token: the role refuses)
    r = ca.post("/tools/training/sessions/PA", data={"csrf_token": tok})
    assert r.status_code == 403 and "CSRF" not in r.text
    assert ca.get("/tools/training/new").status_code == 403
    # completion lists only agents of the trainer's own unit
    comp = ca.get("/tools/training/completion").text
    in_a = set(placed(ws, world["A"], DAY))
    assert set(re.findall(r'<tr data-agent="([^"]+)"', comp)) <= in_a


def test_no_scope_sees_nothing(world: dict[str, Any]) -> None:
    ws, a = world["ws"], world["A"]
    c, token = client(world, "staff_none")
    assert SESSION_RE.findall(c.get("/tools/training").text) == []
    assert c.get("/tools/training/sessions/PA").status_code == 404
    assert re.findall(r'<tr data-agent="', c.get("/tools/training/completion").text) == []
    before = sessions(ws)
    r = c.post("/tools/training/new", data=new_form(token, session_code="NOPE1", org_code=a))
    assert r.status_code == 404 and sessions(ws) == before


def test_staff_marks_only_inside_scope(world: dict[str, Any]) -> None:
    ws, a, b = world["ws"], world["A"], world["B"]
    c, token = client(world, "staff_a")
    outsider = placed(ws, b, DAY)[0]
    r = c.post("/tools/training/sessions/PA", data={"csrf_token": token, "walk_in": outsider})
    assert r.status_code == 400 and outsider in r.text
    assert outsider not in marks(ws, "PA")
    assert c.post("/tools/training/sessions/PB", data={"csrf_token": token}).status_code == 404
    # a walk-in of the own unit, in force that day, is marked present
    walk_in = placed(ws, a, DAY)[-1]
    r = c.post("/tools/training/sessions/PA", data={"csrf_token": token, "walk_in": walk_in},
               follow_redirects=False)
    assert r.status_code == 303 and marks(ws, "PA")[walk_in] == "present"
    # creating a session for the other unit: not found, nothing created
    before = sessions(ws)
    r = c.post("/tools/training/new", data=new_form(token, session_code="XB1", org_code=b))
    assert r.status_code == 404 and sessions(ws) == before


def test_agent_is_refused_and_english(world: dict[str, Any]) -> None:
    c, _ = client(world, "agent")
    assert c.get("/tools/training").status_code == 403
    assert c.get("/tools/training/sessions/PA").status_code == 403
    t, _ = client(world, "training")
    t.get("/lang/en", params={"back": "/tools/training"})
    page = t.get("/tools/training")
    assert page.status_code == 200 and "Training and attendance" in page.text
    assert "Top performers" in page.text
    t.get("/lang/zh", params={"back": "/tools/training"})
    assert "培训与签到" in t.get("/tools/training").text
