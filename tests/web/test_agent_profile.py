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


def test_records_of_equals_show_item_within_scope(demo_web: DemoWeb) -> None:
    """The profile's tracking history reads the records of its items in one query
    (tracking.service.records_of): the same records as each item's page; items outside the
    scope are left out."""
    from sqlalchemy import func, select

    from zhuizong.store.models import table
    from zhuizong.tracking.service import (
        ListQuery,
        RecordInput,
        list_items,
        record,
        records_of,
        show_item,
    )

    i, r = table("track_items"), table("track_records")
    mine = [x["id"] for x in list_items(demo_web.ws, demo_web.actor("supervisor"),
                                        ListQuery(status="open"))][:2]
    assert mine
    for k, item in enumerate(mine + mine[:1]):  # two records on the first, one on the second
        record(demo_web.ws, demo_web.actor("admin"), item,
               RecordInput(method="phone", outcome="contacted", note=f"records_of test {k}"))
    with demo_web.ws.engine.connect() as conn:
        ids = list(conn.execute(select(r.c.item_id).group_by(r.c.item_id)
                                .order_by(func.count().desc(), r.c.item_id).limit(40)).scalars())
        ids += list(conn.execute(select(i.c.id).order_by(i.c.id).limit(5)).scalars())
    for user in ("admin", "supervisor"):
        actor = demo_web.actor(user)
        got = records_of(demo_web.ws, actor, ids)
        visible = []
        for item in ids:
            try:
                want = show_item(demo_web.ws, actor, item)["records"]
            except Exception:  # NotFound: outside the scope
                assert item not in got
                continue
            visible.append(item)
            assert got[item] == want
        assert set(got) == set(visible)
        if user == "admin":
            assert any(got.values())  # some item has records
        else:
            assert len(visible) < len(set(ids))  # the supervisor does not see them all


def test_agent_list_in_pages(demo_web: DemoWeb, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from zhuizong.web import paging

    c = demo_web.client("admin")
    monkeypatch.setattr(paging, "PAGE_ROWS", 10_000)
    everyone = _codes(c.get("/agents").text)
    monkeypatch.setattr(paging, "PAGE_ROWS", 7)
    pages = -(-len(everyone) // 7)
    assert pages > 2
    got: list[str] = []
    for n in range(1, pages + 1):
        html = c.get("/agents", params={"page": n}).text
        assert f'data-page="{n}" data-pages="{pages}"' in html
        assert f'id="count">{len(everyone)}' in html
        got += _codes(html)
    assert got == everyone


def test_profile_shows_names_not_codes_and_contacts(demo_web: DemoWeb) -> None:
    """Rank and org unit by name; the imported phone, WeCom and DingTalk ids as links (issue 16)."""
    from sqlalchemy import select, update

    from zhuizong.store.db import atomic
    from zhuizong.store.models import table

    c = demo_web.client("supervisor")
    with demo_web.ws.engine.connect() as conn:
        team = sorted(a.agent_code for a in list_agents(conn, demo_web.actor("supervisor")))
    member, other = team[-1], team[-2]
    a, r, o = table("agents"), table("ranks"), table("org_units")
    with atomic(demo_web.ws.engine) as conn:
        conn.execute(update(a).where(a.c.agent_code == member)
                     .values(phone="13800138000", wecom_id="zhang.san", dingtalk_id="ding 1"))
        conn.execute(update(a).where(a.c.agent_code == other)
                     .values(phone=None, wecom_id=None, dingtalk_id=None))
        rank_code, rank_name, org_code, org_name = conn.execute(
            select(a.c.rank_code, r.c.rank_name, a.c.org_code, o.c.org_name)
            .join(r, r.c.rank_code == a.c.rank_code).join(o, o.c.org_code == a.c.org_code)
            .where(a.c.agent_code == member)).one()
    p = c.get(f"/agents/{member}").text
    assert f'<span class="badge">{rank_name}</span>' in p
    assert f'<span class="badge">{rank_code}</span>' not in p
    assert org_name in p and f"{org_code} ·" not in p
    assert 'href="tel:13800138000"' in p
    assert "wxwork://message?username=zhang.san" in p
    assert "dingtalk_id=ding%201" in p
    q = c.get(f"/agents/{other}").text
    assert "tel:" not in q and "未导入联系方式" in q
