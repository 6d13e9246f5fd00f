"""Agent list (searchable, within scope) and agent profile."""

from __future__ import annotations

import re

from tests.web.conftest import DemoWeb
from zhuizong.services.directory import list_agents


def _codes(text: str) -> list[str]:
    return re.findall(r'<tr data-agent="([^"]+)"', text)


def test_supervisor_lists_and_opens_own_team(demo_web: DemoWeb) -> None:
    c = demo_web.client("supervisor")
    r = c.get("/agents")
    assert r.status_code == 200
    with demo_web.ws.engine.connect() as conn:
        team = {a.agent_code: a for a in list_agents(conn, demo_web.actor("supervisor"))}
    assert set(_codes(r.text)) == set(team)
    member = sorted(set(team) - {demo_web.users["supervisor"]["agent_code"]})[0]
    name = team[member].agent_name
    r = c.get(f"/agents?q={name}")
    assert member in _codes(r.text)
    p = c.get(f"/agents/{member}")
    assert p.status_code == 200
    for section in ("timeline", "production", "attendance", "worklogs", "tracking", "assessment"):
        assert f'id="{section}"' in p.text, section
    assert 'id="chart-production"' in p.text
    assert "入司" in p.text


def test_profile_outside_scope_is_404(demo_web: DemoWeb) -> None:
    with demo_web.ws.engine.connect() as conn:
        everyone = {a.agent_code for a in list_agents(conn, demo_web.actor("admin"))}
        team = {a.agent_code for a in list_agents(conn, demo_web.actor("supervisor"))}
    outsider = sorted(everyone - team)[0]
    assert demo_web.client("supervisor").get(f"/agents/{outsider}").status_code == 404
    assert demo_web.client("supervisor").get("/agents/NO_SUCH_AGENT").status_code == 404
    agent = demo_web.client("agent")
    own = demo_web.users["agent"]["agent_code"]
    assert agent.get(f"/agents/{own}").status_code == 200
    assert agent.get(f"/agents/{outsider}").status_code == 404
    assert _codes(agent.get("/agents").text) == [own]


def test_admin_search(demo_web: DemoWeb) -> None:
    c = demo_web.client("admin")
    r = c.get("/agents?q=0001000")
    assert r.status_code == 200
    codes = _codes(r.text)
    assert codes and all("0001000" in x for x in codes)
