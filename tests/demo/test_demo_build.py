"""build_demo stores the generated agency through the import pipeline (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from zhuizong.access import users as access_users
from zhuizong.demo import DemoParams, generate
from zhuizong.demo.service import build_demo, demo_users
from zhuizong.importing.kinds import IMPORT_ORDER, KINDS
from zhuizong.store.models import ROLES, table
from zhuizong.workspace import Workspace

PARAMS = DemoParams(agents=300, years=1, end_date=dt.date(2026, 4, 30))


def _count(ws: Workspace, name: str) -> int:
    with ws.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())


@pytest.mark.pg
def test_build_demo_imports_every_kind_and_creates_users(workspace: Workspace) -> None:
    phases: list[str] = []
    summary = build_demo(workspace, PARAMS, lambda phase, done, total: phases.append(phase))
    # every kind is generated and imported, goals and staff assignments too
    assert summary.statuses == {k: "committed" for k in IMPORT_ORDER}
    assert [p for p in dict.fromkeys(phases) if p.startswith("import:")] == [f"import:{k}" for k in IMPORT_ORDER]
    # the staff users are created before the assignments that name them are imported
    order = list(dict.fromkeys(phases))
    assert order.index("users") < order.index("import:track_assignments")
    data = generate(PARAMS)
    assert summary.counts == data.counts()
    for kind in IMPORT_ORDER:
        assert _count(workspace, KINDS[kind].table) == summary.counts[kind], kind
    ev = data["agent_events"]
    assert _count(workspace, "employment_spells") == ev.event_type.isin(["hire", "rehire"]).sum()
    # money arrives in fen, exactly
    p = table("premiums")
    with workspace.engine.connect() as conn:
        fen = conn.execute(select(func.sum(p.c.amount_fen))).scalar_one()
    assert fen == round(data["premiums"].amount.sum() * 100)
    # one user per role, with scopes
    with workspace.engine.connect() as conn:
        infos = {u.username: u for u in access_users.list_users(conn)}
    expected = demo_users(data)
    assert {u["username"] for u in expected} <= set(infos)
    roles = {r for u in expected for r in u["roles"]}
    assert roles == set(ROLES)
    assert _count(workspace, "user_scopes") >= len(expected)
    # one staff user per link and unit, each assigned to their unit and granted it as scope
    assert {s["username"] for s in data.staff} <= set(infos)
    ta = table("track_assignments")
    with workspace.engine.connect() as conn:
        assigned = {(r.role, r.org_code): r.username for r in conn.execute(select(ta))}
    assert assigned == {(s["role"], s["org_code"]): s["username"] for s in data.staff}
    for (role, org), username in assigned.items():
        assert role in infos[username].roles
        assert any(g.org_code == org or org.startswith(str(g.org_code)) for g in infos[username].grants
                   if g.scope_type == "org_subtree"), (username, org)
    # every demo user logs in with the demo password (one hash shared by all of them)
    with workspace.engine.connect() as conn:
        hashes = {r.username: r.password_hash for r in conn.execute(select(table("users")))}
    assert all(access_users.verify_password("zhuizong-demo", hashes[u["username"]])[0] for u in expected)
    assert summary.db_bytes and summary.db_bytes > 0
    assert summary.seconds > 0 and "generate" in summary.timings

    # building again is harmless: every batch is recognised, users are kept
    again = build_demo(workspace, PARAMS)
    assert set(again.statuses.values()) == {"already_imported"}
    assert _count(workspace, "premiums") == summary.counts["premiums"]


def test_logins_print_at_most_sixteen_rows_and_sum_up_the_rest() -> None:
    from types import SimpleNamespace

    from zhuizong.demo.summary import MAX_LOGIN_ROWS, login_rows

    users = [{"username": f"trainer-B01S{i:02d}", "display_name": "组训专员", "roles": ["trainer"],
              "agent_code": None, "scopes": [("org_subtree", f"B01S{i:02d}", None)]} for i in range(1, 21)]
    _title, cols, rows = login_rows(SimpleNamespace(users=users), "zh", lambda key: key)
    assert len(rows) == MAX_LOGIN_ROWS == 16 and len(cols) == 5
    assert rows[0][0] == "trainer-B01S01" and rows[-2][0] == "trainer-B01S15"
    assert rows[-1][1] == "另有 5 个员工账号" and rows[-1][-1] == "zhuizong track assignments"
    _title, _cols, rows = login_rows(SimpleNamespace(users=users[:16]), "en", lambda key: key)
    assert [r[0] for r in rows] == [u["username"] for u in users[:16]]  # 16 fit: no summary row
