"""Team board: a supervisor's reporting line with traffic lights."""

from __future__ import annotations

import re

from tests.web.conftest import DEMO_END, DemoWeb
from zhuizong.services.dashboard import team_board
from zhuizong.services.directory import list_agents


def test_team_board_lists_exactly_the_reporting_line(demo_web: DemoWeb) -> None:
    r = demo_web.client("supervisor").get("/team")
    assert r.status_code == 200
    rows = re.findall(r'<tr data-agent="([^"]+)" data-light="(red|yellow|green)"', r.text)
    with demo_web.ws.engine.connect() as conn:
        line = {a.agent_code for a in list_agents(conn, demo_web.actor("supervisor"), in_force_on=DEMO_END)}
    assert {code for code, _l in rows} == line
    assert len(rows) == len(line)
    # sorted by light: red, then yellow, then green
    order = {"red": 0, "yellow": 1, "green": 2}
    lights = [order[x] for _c, x in rows]
    assert lights == sorted(lights)
    assert 'id="team-cards"' in r.text  # the phone layout
    for s in ("fyp", "name", "attendance"):
        assert demo_web.client("supervisor").get(f"/team?sort={s}").status_code == 200


def test_lights_follow_the_definition(demo_web: DemoWeb) -> None:
    board = team_board(demo_web.ws, demo_web.actor("supervisor"), through=DEMO_END)
    assert board.rows
    for r in board.rows:
        missing = {k for k in r.reasons if k in ("no_production", "low_attendance", "no_log")}
        red = {k for k in r.reasons if k in ("zero_day20", "absent_streak", "open_p1")}
        want = "red" if red or len(missing) >= 2 else "yellow" if missing else "green"
        assert r.light == want
        assert ("no_production" in missing) == (not (r.fyp and r.fyp > 0))
        assert ("absent_streak" in red) == (r.absent_streak >= 3)
        assert ("open_p1" in red) == (r.open_p1 > 0)
        assert ("zero_day20" in red) == (not (r.fyp and r.fyp > 0) and board.day_of_month >= 20)


def test_team_head_outside_scope_is_404(demo_web: DemoWeb) -> None:
    with demo_web.ws.engine.connect() as conn:
        everyone = {a.agent_code for a in list_agents(conn, demo_web.actor("admin"))}
        line = {a.agent_code for a in list_agents(conn, demo_web.actor("supervisor"))}
    outsider = sorted(everyone - line)[0]
    assert demo_web.client("supervisor").get(f"/team?head={outsider}").status_code == 404
    # an executive may look at the supervisor's team: the same agents
    head = demo_web.users["supervisor"]["agent_code"]
    r = demo_web.client("executive").get(f"/team?head={head}")
    assert r.status_code == 200
    mine = demo_web.client("supervisor").get("/team").text
    assert sorted(re.findall(r'<tr data-agent="([^"]+)"', r.text)) == sorted(
        re.findall(r'<tr data-agent="([^"]+)"', mine))
    # an admin without an agent code is asked whose team to show
    assert "请输入主管工号" in demo_web.client("admin").get("/team").text


def test_reporting_line_read_by_level_equals_the_scope_query(demo_web: DemoWeb) -> None:
    from sqlalchemy import text

    from zhuizong.access.scope import _reporting_line as scope_line
    from zhuizong.services.dashboard import _reporting_line

    with demo_web.ws.engine.connect() as conn:
        heads = list(conn.execute(text(
            "select supervisor_code from agents where supervisor_code is not null "
            "group by supervisor_code order by count(*) desc, supervisor_code limit 6")).scalars())
        for head in heads + [demo_web.users["executive"]["agent_code"]]:
            want = set(conn.execute(scope_line([head], None)).scalars())
            assert _reporting_line(conn, head) == want
            capped = _reporting_line(conn, head, cap=3)
            assert capped <= want and (len(capped) >= 3 or capped == want)


def test_a_long_line_shows_the_head_and_direct_reports(demo_web: DemoWeb, monkeypatch) -> None:
    import zhuizong.services.dashboard as svc

    head = demo_web.users["executive"]["agent_code"]
    actor = demo_web.actor("executive")
    full = team_board(demo_web.ws, actor, head, through=DEMO_END)
    assert not full.direct_only and full.line_size == len(full.rows)
    monkeypatch.setattr(svc, "TEAM_MAX", 3)
    board = team_board(demo_web.ws, actor, head, through=DEMO_END)
    assert len(full.rows) > 3
    assert board.direct_only and board.line_size == len(full.rows)
    by_code = {r.agent.agent_code: r for r in full.rows}
    direct = {c for c, r in by_code.items() if r.agent.supervisor_code == head}
    assert {r.agent.agent_code for r in board.rows} == direct | {head}
    for r in board.rows:  # the same lights and numbers as on the full board
        f = by_code[r.agent.agent_code]
        assert (r.light, r.fyp, r.open_items) == (f.light, f.fyp, f.open_items)
        assert r.reports == sum(1 for x in full.rows if x.agent.supervisor_code == r.agent.agent_code)
    page = demo_web.client("executive").get(f"/team?head={head}")
    assert page.status_code == 200 and 'id="team-direct-only"' in page.text
    subs = re.findall(r'href="/team\?head=([0-9A-Za-z]+)"', page.text)
    assert subs and set(subs) <= direct
    assert demo_web.client("executive").get(f"/team?head={subs[0]}").status_code == 200
    # LINE_CAP: the line is not read beyond it (its size is then not known)
    monkeypatch.setattr(svc, "LINE_CAP", 2)
    capped = team_board(demo_web.ws, actor, head, through=DEMO_END)
    assert capped.direct_only and capped.line_size is None
    assert {r.agent.agent_code for r in capped.rows} == direct | {head}
