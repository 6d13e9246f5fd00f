"""Chinese number conventions, colours by meaning, honest periods and the supervisor's report
(issue 16, items 2, 4 and 5)."""

from __future__ import annotations

import html
import json
import re
from decimal import ROUND_HALF_UP, Decimal

from tests.web.conftest import DEMO_PERIOD, DemoWeb
from zhuizong.kpi.engine import KpiRequest
from zhuizong.kpi.service import kpi_report
from zhuizong.services.dashboard import team_board
from zhuizong.web.pages.dashboard import fmt_wan, to_wan, tone


def _card(text: str, metric: str) -> str:
    m = re.search(rf'data-metric="{metric}" data-value="[^"]*">\s*<div class="l">[^<]*</div>\s*'
                  r'<a class="v"[^>]*>([^<]*)</a>(.*?)</div>\s*</div>', text, re.S)
    assert m, metric
    return m.group(1) + m.group(2)


def test_money_cards_in_wan_with_unit(demo_web: DemoWeb) -> None:
    r = demo_web.client("admin").get(f"/dashboard?period={DEMO_PERIOD}")
    res = kpi_report(demo_web.ws, demo_web.actor("admin"),
                     KpiRequest(period=DEMO_PERIOD, org=None, metrics=("fyp",)))
    fyp = next(x.value for x in res.rows if x.segment == "all" and x.metric == "fyp")
    want = (fyp / 10000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    card = _card(r.text, "fyp")
    assert f"{want:,} 万元" in card
    assert f"{fyp:,.2f}" not in r.text  # not the 元 figure with cents any more
    assert 'id="change-legend"' in r.text and "万元" in r.text
    assert "<button>OK</button>" not in r.text


def test_wan_rounding_is_half_up_and_exact() -> None:
    assert to_wan(Decimal("25428398.00")) == Decimal("2542.84")
    assert to_wan(Decimal("15000")) == Decimal("1.50")
    assert to_wan(Decimal("149.99")) == Decimal("0.01")  # 0.014999 → 0.01
    assert to_wan(Decimal("150")) == Decimal("0.02")  # 0.015 → half up
    assert fmt_wan(Decimal("-1234567")) == "-123.46"
    assert fmt_wan(None) == "—"


def test_colours_follow_meaning() -> None:
    assert tone("fyp", Decimal("0.1")) == "good" and tone("fyp", Decimal("-0.1")) == "bad"
    assert tone("leavers", Decimal("0.17")) == "bad" and tone("leavers", Decimal("-0.2")) == "good"
    assert tone("attrition_rate", Decimal("0.01")) == "bad"
    assert tone("fyp", Decimal(0)) == "" and tone("fyp", None) == ""


def test_yoy_and_mom_coloured_separately(demo_web: DemoWeb) -> None:
    text = demo_web.client("admin").get(f"/dashboard?period={DEMO_PERIOD}").text
    spans = re.findall(r'<span class="chg ([a-z]*)" data-change="(yoy|mom)">[^<]*?([+-]?[\d.]+)(%|pp)', text)
    assert spans, "no 同比/环比 on the cards"
    for cls, _kind, num, _u in spans:
        v = float(num)
        assert cls in ("good", "bad", "") and (cls == "") == (v == 0)
    # leavers: a rise is bad
    leav = _card(text, "leavers")
    for cls, n in re.findall(r'class="chg ([a-z]*)" data-change="[a-z]+">[^<]*?([+-][\d.]+)', leav):
        assert cls == ("bad" if float(n) > 0 else "good" if float(n) < 0 else "")


def test_chart_axes_in_wan(demo_web: DemoWeb) -> None:
    text = demo_web.client("admin").get(f"/dashboard?period={DEMO_PERIOD}").text
    opt = json.loads(html.unescape(re.search(r'id="chart-children" data-option=\'([^\']+)\'', text).group(1)))
    assert opt["yAxis"]["name"] == "万元"
    values = [d["value"] for d in opt["series"][0]["data"] if d["value"] is not None]
    assert values and max(values) < 100_000  # 万元, not 元


def test_future_month_says_no_data(demo_web: DemoWeb) -> None:
    c = demo_web.client("admin")
    for page in ("dashboard", "report"):
        r = c.get(f"/{page}?period=2027-01")
        assert r.status_code == 200
        assert 'id="no-data"' in r.text and "本期无数据" in r.text
        assert "-100.0%" not in r.text and "−100" not in r.text
    # the month with data is still the full page
    assert 'id="no-data"' not in c.get(f"/report?period={DEMO_PERIOD}").text


def test_supervisor_report_shows_the_team(demo_web: DemoWeb) -> None:
    r = demo_web.client("supervisor").get("/report")
    assert r.status_code == 200
    board = team_board(demo_web.ws, demo_web.actor("supervisor"))
    assert board.rows
    shown = re.findall(r'<tr data-agent="([^"]+)">', r.text.split('id="team-report"', 1)[1])
    assert shown == [x.agent.agent_code for x in board.rows]


def test_every_role_has_a_home(demo_web: DemoWeb) -> None:
    want = {"admin": "/dashboard", "executive": "/dashboard", "supervisor": "/tracking",
            "trainer": "/tracking", "assessment": "/basic-law", "campaign": "/campaigns",
            "training": "/tools/training", "agent": "/me"}
    for user, home in want.items():
        c = demo_web.client(user)
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == home, user
        assert c.get(home).status_code == 200, (user, home)


def test_agent_home_is_my_page(demo_web: DemoWeb) -> None:
    from zhuizong.services.activity import recent_activity
    from zhuizong.services.dashboard import data_through

    c = demo_web.client("agent")
    r = c.get("/me")
    assert r.status_code == 200
    code = demo_web.users["agent"]["agent_code"]
    through = data_through(demo_web.ws)
    act = recent_activity(demo_web.ws, demo_web.actor("agent"), str(code), on=through, days=7)
    fyp = act.production.get("fyp")
    card = r.text.split('data-metric="fyp"', 1)[1].split("</div>\n", 2)
    assert (f"{float(fyp):,.0f}" if fyp is not None else "—") in "".join(card)
    for section in ("me-production", "me-campaigns", "me-basic-law", "me-worklog"):
        assert f'id="{section}"' in r.text
    assert 'href="/me"' in r.text  # in the menu
    assert "修改密码" not in r.text
    # the gain of the next rank comes after the page (seconds of benefit rules): the same as
    # the service's, or an empty fragment when there is none
    from zhuizong.services.profile import my_rank_gain

    assert 'hx-get="/me/gain"' in r.text and 'id="me-rank-gain"' not in r.text
    frag = c.get("/me/gain")
    gain = my_rank_gain(demo_web.ws, demo_web.actor("agent"), through=through)
    assert frag.status_code == 200 and "<html" not in frag.text
    if gain and gain["gain"] > 0:
        assert f"{gain['gain']:,.0f}" in frag.text and 'id="me-rank-gain"' in frag.text
    else:
        assert 'id="me-rank-gain-none"' in frag.text
