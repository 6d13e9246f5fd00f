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
