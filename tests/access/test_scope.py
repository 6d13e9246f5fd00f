"""Scope: every scoped service returns exactly what a plain-Python model of the grants allows.

Property test over random org trees, supervisor graphs (cycles included: bad data must not hang
or widen a scope) and grants, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from zhuizong.access import users
from zhuizong.access.actor import SYSTEM, Actor
from zhuizong.errors import NotFound, PermissionDenied
from zhuizong.services import directory
from zhuizong.store.db import atomic
from zhuizong.store.history import rebuild_history
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

TABLES_IN_DELETE_ORDER = (
    "user_scopes", "user_roles", "users", "premiums", "products", "agent_history",
    "employment_spells", "agents", "ranks", "org_units", "audit_log",
)


@st.composite
def agencies(draw: st.DrawFn) -> dict:
    n_orgs = draw(st.integers(1, 10))
    # a tree, or a forest (several top units: a grant of every top unit sees everything)
    parents = [None] + [draw(st.one_of(st.integers(0, i - 1), st.none())) for i in range(1, n_orgs)]
    n_agents = draw(st.integers(0, 20))
    agent_org = [draw(st.integers(0, n_orgs - 1)) for _ in range(n_agents)]
    sup = [
        draw(st.one_of(st.none(), st.integers(0, n_agents - 1).filter(lambda j, i=i: j != i)))
        if n_agents > 1 else None
        for i in range(n_agents)
    ]
    grant = st.one_of(
        st.tuples(st.just("org_subtree"), st.integers(0, n_orgs - 1)),
        *(
            [st.tuples(st.sampled_from(["reporting_line", "self"]), st.integers(0, n_agents - 1))]
            if n_agents else []
        ),
    )
    user_grants = draw(st.lists(st.lists(grant, max_size=3), min_size=1, max_size=4))
    inactive = draw(st.lists(st.booleans(), min_size=len(user_grants), max_size=len(user_grants)))
    return dict(parents=parents, agent_org=agent_org, sup=sup, user_grants=user_grants,
                inactive=inactive)


def _load(ws: Workspace, ag: dict) -> None:
    with atomic(ws.engine) as conn:
        for t in TABLES_IN_DELETE_ORDER:
            conn.execute(delete(table(t)))
        conn.execute(insert(table("org_units")), [
            {"org_code": f"O{i}", "org_name": f"机构{i}", "parent_code": None if p is None else f"O{p}"}
            for i, p in enumerate(ag["parents"])
        ])
        conn.execute(insert(table("ranks")), [
            {"rank_code": "T", "rank_name": "试用", "category": "probationary", "level": 1}])
        conn.execute(insert(table("products")), [
            {"product_code": "P1", "product_name": "p", "is_main": True, "pay_mode": "single"}])
        if ag["agent_org"]:
            conn.execute(insert(table("agents")), [
                {"agent_code": f"A{i}", "agent_name": f"人{i}", "hire_date": dt.date(2025, 1, 1),
                 "org_code": f"O{o}", "rank_code": "T",
                 "supervisor_code": None if s is None else f"A{s}"}
                for i, (o, s) in enumerate(zip(ag["agent_org"], ag["sup"], strict=True))
            ])
            conn.execute(insert(table("premiums")), [
                {"txn_id": f"X{i}", "policy_no": f"PN{i}", "agent_code": f"A{i}", "product_code": "P1",
                 "txn_date": dt.date(2025, 2, 1), "txn_type": "new", "amount_fen": 100 * (i + 1)}
                for i in range(len(ag["agent_org"]))
            ])
            assert rebuild_history(conn, None) == []
        for u, grants in enumerate(ag["user_grants"]):
            users.create_user(conn, f"u{u}", f"用户{u}", roles=["supervisor"])
            for kind, idx in grants:
                if kind == "org_subtree":
                    users.grant_scope(conn, f"u{u}", kind, org_code=f"O{idx}")
                else:
                    users.grant_scope(conn, f"u{u}", kind, agent_code=f"A{idx}")
            if ag["inactive"][u]:
                users.set_active(conn, f"u{u}", False)


def _expected(ag: dict, u: int) -> tuple[set[str], set[str]]:
    if ag["inactive"][u]:
        return set(), set()
    children: dict[int, list[int]] = {}
    for i, p in enumerate(ag["parents"]):
        if p is not None:
            children.setdefault(p, []).append(i)
    reports: dict[int, list[int]] = {}
    for i, s in enumerate(ag["sup"]):
        if s is not None:
            reports.setdefault(s, []).append(i)

    def closure(start: int, edges: dict[int, list[int]]) -> set[int]:
        seen, todo = set(), [start]
        while todo:
            x = todo.pop()
            if x not in seen:
                seen.add(x)
                todo += edges.get(x, [])
        return seen

    orgs: set[int] = set()
    agents: set[int] = set()
    for kind, idx in ag["user_grants"][u]:
        if kind == "org_subtree":
            sub = closure(idx, children)
            orgs |= sub
            agents |= {i for i, o in enumerate(ag["agent_org"]) if o in sub}
        elif kind == "reporting_line":
            agents |= closure(idx, reports)
        else:
            agents.add(idx)
    return {f"O{i}" for i in orgs}, {f"A{i}" for i in agents}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ag=agencies())
def test_services_return_exactly_the_scope(workspace: Workspace, ag: dict) -> None:
    _load(workspace, ag)
    all_agents = {f"A{i}" for i in range(len(ag["agent_org"]))}
    with workspace.engine.connect() as conn:
        for u in range(len(ag["user_grants"])):
            exp_orgs, exp_agents = _expected(ag, u)
            actor = Actor(f"u{u}", roles=frozenset({"supervisor"}))
            assert {o.org_code for o in directory.list_orgs(conn, actor)} == exp_orgs
            assert {a.agent_code for a in directory.list_agents(conn, actor)} == exp_agents
            assert {p[1] for p in directory.list_premiums(conn, actor)} == exp_agents
            for code in sorted(all_agents):
                if code in exp_agents:
                    assert directory.get_agent(conn, actor, code).agent.agent_code == code
                else:
                    with pytest.raises(NotFound):
                        directory.get_agent(conn, actor, code)
        # the system actor sees everything
        assert {a.agent_code for a in directory.list_agents(conn, SYSTEM)} == all_agents


def test_no_grant_unknown_user_and_no_role_see_nothing(workspace: Workspace) -> None:
    _load(workspace, dict(parents=[None, 0], agent_org=[0, 1], sup=[None, 0],
                          user_grants=[[]], inactive=[False]))
    with workspace.engine.connect() as conn:
        nobody = Actor("u0", roles=frozenset({"supervisor"}))
        assert directory.list_agents(conn, nobody) == []
        assert directory.list_orgs(conn, nobody) == []
        ghost = Actor("ghost", roles=frozenset({"executive"}))  # not in the users table
        assert directory.list_agents(conn, ghost) == []
        with pytest.raises(PermissionDenied):
            directory.list_agents(conn, Actor("u0"))  # no role at all
        with pytest.raises(NotFound):
            users.load_actor(conn, "ghost")
