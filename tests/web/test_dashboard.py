"""Dashboard (驾驶舱): cards equal kpi_report, drill-down links, agents behind numbers, scope."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

from tests.web.conftest import DEMO_PERIOD, DemoWeb
from zhuizong.kpi.engine import KpiRequest
from zhuizong.kpi.service import kpi_report
from zhuizong.web.pages.dashboard import num, to_wan

CARD_METRICS = ("fyp", "fyp_plan_rate", "cases", "headcount_close", "active", "activity_rate",
                "new_hires", "leavers", "attrition_rate")


def _cards(text: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="([a-z_0-9]+)" data-value="([^"]*)"', text))


def test_admin_dashboard_numbers_equal_kpi_report(demo_web: DemoWeb) -> None:
    c = demo_web.client("admin")
    r = c.get("/dashboard")  # default: the visible root, the last closed month
    assert r.status_code == 200
    assert "驾驶舱" in r.text and DEMO_PERIOD in r.text
    cards = _cards(r.text)
    assert set(CARD_METRICS) <= set(cards)
    res = kpi_report(demo_web.ws, demo_web.actor("admin"),
                     KpiRequest(period=DEMO_PERIOD, org=None, metrics=CARD_METRICS))
    expected = {row.metric: row.value for row in res.rows if row.segment == "all"}
    for m in CARD_METRICS:
        want = expected[m]
        got = cards[m]
        if want is None:
            assert got == ""
        else:
            assert Decimal(got) == want, m
    assert 'id="chart-children"' in r.text
    assert "<script>" not in r.text  # CSP: no inline scripts
    # the trend charts and the cohort heat map come from an HTMX fragment
    root = re.search(r'<span data-org="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    assert f'hx-get="/dashboard/trends?org={root}&amp;period={DEMO_PERIOD}"' in r.text
    t = c.get(f"/dashboard/trends?org={root}&period={DEMO_PERIOD}", headers={"HX-Request": "true"})
    assert t.status_code == 200 and "<html" not in t.text
    for cid in ("chart-fyp", "chart-flow", "chart-activity", "chart-cohort"):
        assert f'id="{cid}"' in t.text, cid
    text = html.unescape(t.text)
    assert '"type": "heatmap"' in text or '"type":"heatmap"' in text
    # the FYP trend's last bar is the card's FYP, in 万元 (issue 16: charts in 万元, axis unit)
    assert str(num(to_wan(expected["fyp"]))) in text


def test_drill_down_and_agents_behind_numbers(demo_web: DemoWeb) -> None:
    c = demo_web.client("executive")
    r = c.get(f"/dashboard?period={DEMO_PERIOD}")
    assert r.status_code == 200
    root = re.search(r'<span data-org="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    children = re.findall(r'data-child="([^"]+)"', r.text)
    assert children, "no children table"
    for ch in children:
        assert f"/dashboard?org={ch}&amp;period={DEMO_PERIOD}" in r.text
    assert 'data-link="/dashboard?org={code}' in r.text
    # drill into the first child: its page has the parent in the breadcrumbs
    r2 = c.get(f"/dashboard?org={children[0]}&period={DEMO_PERIOD}")
    assert r2.status_code == 200
    assert f"/dashboard?org={root}&amp;period={DEMO_PERIOD}" in r2.text
    # every card links to the agents behind it; the active list has exactly "active" agents
    link = f"/agents?org={root}&amp;period={DEMO_PERIOD}&amp;filter=active"
    assert link in r.text
    active = Decimal(_cards(r.text)["active"])
    assert _listed(c, html.unescape(link)) == int(active)
    new = Decimal(_cards(r.text)["new_hires"])
    assert _listed(c, f"/agents?org={root}&period={DEMO_PERIOD}&filter=new_hires") == int(new)


def _listed(c: Any, url: str) -> int:
    """Agents listed at ``url`` over all its pages (the list pages by 100), each once."""
    seen: list[str] = []
    while True:
        r = c.get(url)
        assert r.status_code == 200
        seen += re.findall(r'<tr data-agent="([^"]+)"', r.text)
        nxt = re.search(r'href="([^"]+&amp;page=\d+)">下一页', r.text)
        if nxt is None:
            break
        url = html.unescape(nxt.group(1))
    assert len(seen) == len(set(seen)), "an agent listed twice"
    return len(seen)


def test_scope_outside_is_404(demo_web: DemoWeb) -> None:
    trainer = demo_web.client("trainer")  # scope: one sub-branch
    r = trainer.get("/dashboard")
    assert r.status_code == 200
    own = re.search(r'<span data-org="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    root = next(s[1] for s in demo_web.users["executive"]["scopes"])  # type: ignore[index]
    assert own != root
    assert trainer.get(f"/dashboard?org={root}").status_code == 404
    assert trainer.get(f"/dashboard/trends?org={root}&period={DEMO_PERIOD}").status_code == 404
    assert trainer.get(f"/agents?org={root}&period={DEMO_PERIOD}&filter=active").status_code == 404
    assert trainer.get("/dashboard?org=NO_SUCH_ORG").status_code == 404
    agent = demo_web.client("agent")
    assert agent.get(f"/dashboard?org={own}").status_code == 404


def test_supervisor_without_org_sees_team(demo_web: DemoWeb) -> None:
    r = demo_web.client("supervisor").get("/dashboard")
    assert r.status_code == 200
    assert 'id="no-org"' in r.text
    assert 'id="chart-team"' in r.text and 'data-link="/agents/{code}"' in r.text


def test_english(demo_web: DemoWeb) -> None:
    c = demo_web.client("admin")
    r = c.get("/lang/en?back=/dashboard", follow_redirects=True)
    try:
        assert r.status_code == 200
        assert "Dashboard" in r.text and "Units below" in r.text
    finally:
        c.get("/lang/zh?back=/account")
