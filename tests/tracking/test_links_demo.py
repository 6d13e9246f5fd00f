"""On the demo, each staff role's 我的 holds exactly its link's reasons (issue 15, "Done when").

The smallest demo (30 agents, one year, data to 2026-05-19) is built as ``zhuizong demo`` builds it
(``build_demo`` then ``showcase``: basic law, campaigns, today's tracking run), with the staff users
and their assignments the demo generates; then, through the CLI, ``track run`` for 2026-05-20 and
``track list --owner me --as USER --format json`` for the demo login of each link's role.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import zhuizong.tracking
from tests.kpi_cli.builders import cli_ok
from zhuizong.demo import DemoData, DemoParams, generate
from zhuizong.demo.service import build_demo, demo_users
from zhuizong.demo.showcase import showcase
from zhuizong.tracking.owners import LINK_ROLE
from zhuizong.workspace import Workspace

PARAMS = DemoParams(agents=30, years=1, end_date=dt.date(2026, 5, 19))
RUN = "2026-05-20"
#: the demo login of each link's role (组训, 培训, 考核, 方案, 营销干部, 主管)
LOGINS = ("trainer", "training", "assessment", "campaign", "executive", "supervisor")
RULE_LINK = {name: r["link"] for name, r in tomllib.loads(
    (Path(zhuizong.tracking.__file__).parent / "default_rules.toml").read_text(encoding="utf-8"))["rules"].items()}


def _items(*args: str) -> list[dict[str, Any]]:
    return list(json.loads(cli_ok("track", "list", "--format", "json", *args))["items"])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoData]:
    """The demo workspace (SQLite; the routing itself runs on both databases in test_links.py),
    ZHUIZONG_HOME pointing at it for the module's CLI calls."""
    home = tmp_path_factory.mktemp("links_demo") / "ws"
    home.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for var in list(os.environ):
            if var.startswith("ZHUIZONG_") and var not in ("ZHUIZONG_REQUIRE_PG", "ZHUIZONG_TEST_PG_URL",
                                                           "ZHUIZONG_REQUIRE_BROWSER"):
                mp.delenv(var)
        mp.setenv("ZHUIZONG_HOME", str(home))
        cli_ok("init")
        ws = Workspace(home)
        build_demo(ws, PARAMS)
        showcase(ws, PARAMS)  # as `zhuizong demo`: basic law, campaigns, the first tracking run
        cli_ok("track", "run", "--date", RUN)  # again, through the CLI: idempotent
        yield generate(PARAMS)


def test_each_staff_role_holds_exactly_its_links_reasons_on_the_demo(demo: DemoData) -> None:
    data = demo
    users = {u["username"]: u for u in demo_users(data)}
    agents = data["agents"]
    supervisor_of = dict(zip(agents.agent_code, agents.supervisor_code, strict=True))
    branch_head = data.heads["B01"]

    everything = _items("--status", "open")  # the local operator: every live item
    assert everything
    by_id = {x["id"]: x for x in everything}
    # one coordinated item per agent and day: no agent twice among the live items
    agent_items = [x["subject_code"] for x in everything if x["subject_type"] == "agent"]
    assert len(agent_items) == len(set(agent_items))
    # every reason is routed to an owner (every link is staffed), except on the branch head's own
    # item: nobody above the top of the line tracks them
    for x in everything:
        if x["subject_code"] != branch_head:
            assert all(r["owner_code"] for r in x["reasons"]), x
        # the owners of the other links are copied on the lead's item, not given items of their own
        owners = {r["owner_code"] for r in x["reasons"] if r["owner_code"]}
        assert owners - {x["lead_owner"]} <= set(x["copied"]), x

    mine_of: dict[str, list[dict[str, Any]]] = {}
    for login in LOGINS:
        u = users[login]
        code = u["agent_code"] or login
        mine = _items("--owner", "me", "--as", login)
        mine_of[login] = mine
        own_links = {link for link, role in LINK_ROLE.items() if role in u["roles"]}
        for x in mine:
            assert by_id[x["id"]]["subject_code"] == x["subject_code"]  # the same item, not a copy
            for rule in x["my_reasons"]:
                link = RULE_LINK[rule]
                # their own link; or, for an executive who heads a unit, the supervisor link of the
                # heads reporting to them (the dated reporting line)
                assert link in own_links or (
                    link == "supervisor" and supervisor_of.get(x["subject_code"]) == code), (login, rule, x)
            # an item in 我的 is there because they own a reason, lead it or it was escalated to them
            assert x["my_reasons"] or x["lead_owner"] == code or x["escalated_to"] == code, (login, x)
        if login != "supervisor":  # every staff role has work in 我的 on the demo
            assert any(RULE_LINK[r] in own_links for x in mine for r in x["my_reasons"]), login

    # each reason owned by a demo login is in that login's 我的, on the lead's item
    code_of = {users[login]["agent_code"] or login: login for login in LOGINS}
    for x in everything:
        for r in x["reasons"]:
            login = code_of.get(r["owner_code"])
            if login is not None:
                held = {y["id"]: y for y in mine_of[login]}
                assert x["id"] in held and r["rule"] in held[x["id"]]["my_reasons"], (login, r["rule"])
    # the supervisor sees who owns what on the items of their team (我的团队)
    team = _items("--as", "supervisor")
    assert team and all(r["owner_name"] for x in team for r in x["reasons"])


def _card(html: str) -> tuple[float, float]:
    m = re.search(r'id="care-coverage" data-share-7="([^"]*)" data-share-30="([^"]*)"', html)
    assert m, "no care coverage card"
    return float(m.group(1)), float(m.group(2))


def test_care_coverage_card_on_the_dashboard_equals_the_cli(demo: DemoData) -> None:
    from tests.web.conftest import login_with_csrf

    ws = Workspace(Path(os.environ["ZHUIZONG_HOME"]))
    # contacts: the trainer phones three of their agents today, one without an answer (not a
    # contact), and the supervisor reached one of theirs 20 days ago (within 30 days, not 7)
    items = [x for x in _items("--owner", "me", "--as", "trainer") if x["subject_type"] == "agent"][:3]
    assert len({x["subject_code"] for x in items}) == 3
    for x, outcome in zip(items, ("contacted", "committed", "no_answer"), strict=True):
        cli_ok("track", "record", str(x["id"]), "--method", "phone", "--outcome", outcome,
               "--date", RUN, "--as", "trainer")
    mine = [x for x in _items("--owner", "me", "--as", "supervisor") if x["subject_type"] == "agent"
            and x["subject_code"] not in {y["subject_code"] for y in items}]
    cli_ok("track", "record", str(mine[0]["id"]), "--method", "wechat", "--outcome", "contacted",
           "--date", "2026-04-30", "--as", "supervisor")

    def cli(user: str, *by: str) -> dict[str, Any]:
        return dict(json.loads(cli_ok("track", "effectiveness", "--coverage", "--date", RUN, "--format", "json",
                                      "--as", user, *by)))

    for user in ("executive", "trainer", "supervisor"):  # the branch, a sub-branch, a team (no org)
        want = cli(user)["total"]
        client, _ = login_with_csrf(ws, user)
        page = client.get("/dashboard")  # the page loads the card after itself (HTMX)
        assert page.status_code == 200 and 'hx-get="/dashboard/care' in page.text
        card = client.get("/dashboard/care", headers={"hx-request": "true"}) if user == "supervisor" \
            else client.get("/dashboard/care", params={"org": "B01" if user == "executive" else "B01S01"})
        assert _card(card.text) == (want["share_7"], want["share_30"]), user
        assert "关怀覆盖" in card.text and f"在职 {want['agents']} 人" in card.text
    # not trivially zero: in the branch two agents were reached this week and one more in 30 days
    ex = cli("executive")["total"]
    assert (ex["contacted_7"], ex["contacted_30"]) == (2, 3), ex
    assert 0 < ex["share_7"] < ex["share_30"] < 1
    # a unit below: the sum of the units of its subtree, as the CLI groups them --by org
    client, _ = login_with_csrf(ws, "executive")
    sub = "B01S01"
    rows = [r for r in cli("executive", "--by", "org")["rows"] if r["key"].startswith(sub)]
    agents, hit7, hit30 = (sum(r[k] for r in rows) for k in ("agents", "contacted_7", "contacted_30"))
    assert f'hx-get="/dashboard/care?org={sub}"' in client.get(f"/dashboard?org={sub}").text
    assert _card(client.get(f"/dashboard/care?org={sub}").text) == (round(hit7 / agents, 4), round(hit30 / agents, 4))
    # a unit outside the scope is not found
    trainer, _ = login_with_csrf(ws, "trainer")
    assert trainer.get("/dashboard/care?org=B01").status_code == 404
    # English: the same card, worded in English only
    client.get("/lang/en")
    en = client.get("/dashboard/care?org=B01").text
    assert _card(en) == (ex["share_7"], ex["share_30"])
    assert "Care coverage" in en and "关怀覆盖" not in en
    # an agent does not see tracking: no card
    agent, _ = login_with_csrf(ws, "agent")
    assert "/dashboard/care" not in agent.get("/dashboard").text
    assert 'id="care-coverage"' not in agent.get("/dashboard/care").text
