"""Rule ``new_hire_missed_training`` (培训追踪) on a hand-built agency, on SQLite and PostgreSQL.

Agency: HQ 总公司 ── B01 一分; ranks T (probationary) and A (formal). Agents:

====  =========== ====  ============================================================
code  hired       org   role in the story
====  =========== ====  ============================================================
N1    2026-04-20  B01   new hire, marked absent at TR1 (05-12)
N2    2026-04-25  B01   new hire, never marked at TR1 (on the roster by the audience rule)
N3    2026-04-22  B01   new hire, on leave (请假) at TR1: excused, not a miss
N4    2026-04-28  B01   new hire, present at TR1
V     2020-01-06  B01   veteran: outside the rule's audience (60 days) and not listed
O     2026-05-01  HQ    new hire placed above the session's unit: not required
====  =========== ====  ============================================================

Session TR1: new_hire, 2026-05-12, org B01, required = new hires of ≤ 60 days. Expected, written
from the rule's meaning (docs/tracking.md): on 05-12 (the session day) only N1 (absent) fires —
N2 is still pending; from 05-13 on N1 and N2 fire; never N3, N4, V, O. Marking N1 present clears
N1; N2 attending a later new-hire session (make-up, 补训) clears N2.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from zhuizong.importing.service import import_file
from zhuizong.store.models import table
from zhuizong.tracking.generate import evaluate, run
from zhuizong.tracking.rules import RuleSet, load_rules
from zhuizong.workspace import Workspace

RULE = "new_hire_missed_training"
D = dt.date


def _import(ws: Workspace, tmp: Path, kind: str, text: str, n: list[int] = [0]) -> None:  # noqa: B006
    n[0] += 1
    p = tmp / f"{kind}-{n[0]}.csv"
    p.write_text(text, encoding="utf-8")
    r = import_file(ws, kind, p)
    assert r.status == "committed", r.errors


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    _import(workspace, tmp_path, "org_units", "org_code,org_name,parent_code\nHQ,总公司,\nB01,一分,HQ\n")
    _import(workspace, tmp_path, "ranks", "rank_code,rank_name,category,level\nT,试用,probationary,0\n"
                                          "A,正式,formal,1\n")
    _import(workspace, tmp_path, "agents", "agent_code,agent_name,hire_date,org_code,rank_code\n"
            "N1,新一,2026-04-20,B01,T\nN2,新二,2026-04-25,B01,T\nN3,新三,2026-04-22,B01,T\n"
            "N4,新四,2026-04-28,B01,T\nV,老将,2020-01-06,B01,A\nO,上级,2026-05-01,HQ,T\n")
    _import(workspace, tmp_path, "training_sessions",
            "session_code,title,course_kind,session_date,org_code,max_tenure_days\n"
            "TR1,新人岗前培训,new_hire,2026-05-12,B01,60\n")
    _import(workspace, tmp_path, "training_attendance", "session_code,agent_code,status\n"
            "TR1,N1,absent\nTR1,N3,leave\nTR1,N4,present\n")
    from zhuizong.access import users
    from zhuizong.store.db import atomic

    with atomic(workspace.engine) as conn:  # training staff covering the branch (nobody has a supervisor)
        users.create_user(conn, "peixun", "培训专员", roles=["training"])
        users.grant_scope(conn, "peixun", "org_subtree", org_code="HQ")
    return workspace


def _only_rule(ws: Workspace) -> RuleSet:
    rules = load_rules(ws)
    return dataclasses.replace(rules, rules=[r for r in rules.rules if r.name == RULE])


def _fired(ws: Workspace, d: dt.date) -> dict[str, str]:
    fired, _sup = evaluate(ws, d, _only_rule(ws))
    return {code: reasons[0].message_zh for (subject, code), reasons in fired.items() if subject == "agent"}


def test_fires_on_a_missed_required_session(ws: Workspace) -> None:
    assert set(_fired(ws, D(2026, 5, 11))) == set()  # before the session
    assert set(_fired(ws, D(2026, 5, 12))) == {"N1"}  # the day itself: N2 still pending
    on_13 = _fired(ws, D(2026, 5, 13))
    assert set(on_13) == {"N1", "N2"}
    assert "新人岗前培训" in on_13["N1"] and "2026-05-12" in on_13["N1"]
    # 60 days after the session it no longer counts
    assert set(_fired(ws, D(2026, 7, 11))) == {"N1", "N2"}
    assert set(_fired(ws, D(2026, 7, 12))) == set()


def test_item_opens_and_clears_when_attended(ws: Workspace, tmp_path: Path) -> None:
    rules = _only_rule(ws)
    run(ws, D(2026, 5, 13), rules=rules)
    items = table("track_items")
    with ws.engine.connect() as conn:
        got = {r.subject_code: r for r in conn.execute(select(items).where(items.c.subject_type == "agent"))}
    assert set(got) == {"N1", "N2"}
    assert {(r.link, r.owner_role, r.owner_code, r.status) for r in got.values()} == {
        ("training", "training", "peixun", "open")}
    reasons = table("track_reasons")
    with ws.engine.connect() as conn:
        assert {(r.rule, r.link, r.owner_role) for r in conn.execute(select(reasons))} == {
            (RULE, "training", "training")}
    # N1's mark corrected to present; N2 makes it up at a later new-hire session
    _import(ws, tmp_path, "training_attendance", "session_code,agent_code,status\nTR1,N1,present\n")
    _import(ws, tmp_path, "training_sessions",
            "session_code,title,course_kind,session_date,org_code,max_tenure_days\n"
            "TR2,新人岗前补训,new_hire,2026-05-14,B01,\n")
    _import(ws, tmp_path, "training_attendance", "session_code,agent_code,status\nTR2,N2,late\n")
    assert set(_fired(ws, D(2026, 5, 15))) == set()
    run(ws, D(2026, 5, 15), rules=rules)
    with ws.engine.connect() as conn:
        status = {r.subject_code: r.status for r in conn.execute(
            select(items.c.subject_code, items.c.status).where(items.c.subject_type == "agent"))}
    assert status == {"N1": "done", "N2": "done"}  # auto-closed: the condition cleared
    with ws.engine.connect() as conn:
        assert {r.active for r in conn.execute(select(table("track_reasons")))} == {False}


def test_a_make_up_of_another_kind_does_not_count(ws: Workspace, tmp_path: Path) -> None:
    _import(ws, tmp_path, "training_sessions",
            "session_code,title,course_kind,session_date,org_code,max_tenure_days\n"
            "OT1,职业道德讲座,other,2026-05-14,B01,\n")
    _import(ws, tmp_path, "training_attendance", "session_code,agent_code,status\nOT1,N2,present\n")
    assert set(_fired(ws, D(2026, 5, 15))) == {"N1", "N2"}


def test_signal_counts(ws: Workspace) -> None:
    import pandas as pd

    from zhuizong.training.signals import training_signals

    base = pd.DataFrame({"agent_code": ["N1", "N2", "N3", "N4", "V"]})
    sig = training_signals(ws, D(2026, 5, 13), base).set_index("agent_code")
    assert sig.training_missed.to_dict() == {"N1": 1, "N2": 1, "N3": 0, "N4": 0, "V": 0}
    assert sig.training_excused.to_dict() == {"N1": 0, "N2": 0, "N3": 1, "N4": 0, "V": 0}
    assert sig.loc["N2", "training_missed_session"] == "TR1"
