"""Every default tracking rule fires exactly on its documented boundary.

For each rule of ``default_rules.toml`` a hand-made signals frame holds one *base* row that fires
(every condition comfortably met) and, for each condition, rows that move one signal to its
threshold − ε, the threshold and + ε (ε = 0.01 for money and rates, 1 for counts and days) with the
other signals left at the base. The expected rows are written by hand from the rule's meaning
(product.md: "zero production by day 20", "absent 3 days running", "conversion window ends within
30 days with a gap" …), never computed from the implementation.

Also: the rendered conversion message, rule-file overlays (disable, re-threshold, add) and
ConfigError messages naming the file, the rule and the key.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from zhuizong.errors import ConfigError
from zhuizong.tracking.rules import load_rules
from zhuizong.tracking.signals import AGENT_SIGNALS, ORG_SIGNALS
from zhuizong.workspace import Workspace

# rule -> (base row that fires, {label: (changes to the base, fires?)})
# Labels read "signal=value"; "fires?" is what the rule text says, decided by hand.
CASES: dict[str, tuple[dict[str, Any], dict[str, tuple[dict[str, Any], bool]]]] = {
    # last month's top performer (percentile ≥ 0.9) with no production (≤ 0) from day 10 on
    "top_performer_idle": (
        {"prev_fyp_pct": 0.95, "prev_fyp": 50_000.0, "mtd_fyp": 0.0, "day_of_month": 15},
        {
            "prev_fyp_pct=0.89": ({"prev_fyp_pct": 0.89}, False),
            "prev_fyp_pct=0.90": ({"prev_fyp_pct": 0.90}, True),
            "prev_fyp_pct=0.91": ({"prev_fyp_pct": 0.91}, True),
            "prev_fyp_pct=0 (no production last month)": ({"prev_fyp_pct": 0.0}, False),
            "mtd_fyp=-0.01": ({"mtd_fyp": -0.01}, True),  # net of a cancellation: still nothing
            "mtd_fyp=0": ({"mtd_fyp": 0.0}, True),
            "mtd_fyp=0.01": ({"mtd_fyp": 0.01}, False),
            "day_of_month=9": ({"day_of_month": 9}, False),
            "day_of_month=10": ({"day_of_month": 10}, True),
            "day_of_month=11": ({"day_of_month": 11}, True),
        },
    ),
    # no work log yesterday, yesterday a working day, agent at least 7 days in
    "no_worklog_yesterday": (
        {"worklog_yesterday": 0, "yesterday_is_workday": 1, "tenure_days": 100},
        {
            "worklog_yesterday=1": ({"worklog_yesterday": 1}, False),
            "yesterday_is_workday=0 (Sunday)": ({"yesterday_is_workday": 0}, False),
            "tenure_days=6": ({"tenure_days": 6}, False),
            "tenure_days=7": ({"tenure_days": 7}, True),
            "tenure_days=8": ({"tenure_days": 8}, True),
        },
    ),
    # 30 days or more since joining, still no (net) first case
    "new_hire_no_first_case": (
        {"tenure_days": 45, "spell_cases": 0},
        {
            "tenure_days=29": ({"tenure_days": 29}, False),
            "tenure_days=30": ({"tenure_days": 30}, True),
            "tenure_days=31": ({"tenure_days": 31}, True),
            "spell_cases=-1": ({"spell_cases": -1}, True),  # a case written and cancelled
            "spell_cases=0": ({"spell_cases": 0}, True),
            "spell_cases=1": ({"spell_cases": 1}, False),
        },
    ),
    # at least 10 interviews this month and no close
    "interviews_no_close": (
        {"mtd_interviews": 15, "mtd_cases": 0},
        {
            "mtd_interviews=9": ({"mtd_interviews": 9}, False),
            "mtd_interviews=10": ({"mtd_interviews": 10}, True),
            "mtd_interviews=11": ({"mtd_interviews": 11}, True),
            "mtd_cases=-1": ({"mtd_cases": -1}, True),
            "mtd_cases=0": ({"mtd_cases": 0}, True),
            "mtd_cases=1": ({"mtd_cases": 1}, False),
        },
    ),
    # a unit below the root whose attainment is behind time progress by MORE than 10 points
    "plan_behind_time": (
        {"depth": 2, "plan_behind_points": 20.0, "plan_attainment": 0.3, "time_progress": 0.5},
        {
            "depth=0 (root)": ({"depth": 0}, False),
            "depth=1": ({"depth": 1}, True),
            "depth=2": ({"depth": 2}, True),
            "plan_behind_points=9.99": ({"plan_behind_points": 9.99}, False),
            "plan_behind_points=10": ({"plan_behind_points": 10.0}, False),
            "plan_behind_points=10.01": ({"plan_behind_points": 10.01}, True),
            "plan_behind_points=NaN (no plan)": ({"plan_behind_points": math.nan,
                                                  "plan_attainment": math.nan}, False),
        },
    ),
    # a unit below the root with ≥ 5 agents whose activity rate fell by MORE than 5 points
    "activity_rate_drop": (
        {"depth": 1, "headcount": 20, "activity_change_points": -10.0,
         "activity_rate_mtd": 0.4, "activity_rate_prev": 0.5},
        {
            "depth=0 (root)": ({"depth": 0}, False),
            "depth=1": ({"depth": 1}, True),
            "headcount=4": ({"headcount": 4}, False),
            "headcount=5": ({"headcount": 5}, True),
            "headcount=6": ({"headcount": 6}, True),
            "activity_change_points=-5.01": ({"activity_change_points": -5.01}, True),
            "activity_change_points=-5": ({"activity_change_points": -5.0}, False),
            "activity_change_points=-4.99": ({"activity_change_points": -4.99}, False),
            "activity_change_points=+3 (a rise)": ({"activity_change_points": 3.0}, False),
            "activity_change_points=NaN (no history)": ({"activity_change_points": math.nan,
                                                         "activity_rate_prev": math.nan}, False),
        },
    ),
    # a new hire (≤ 90 days) with ≥ 5 meetings on record this month and attendance below 80%
    "new_hire_low_attendance": (
        {"tenure_days": 40, "meetings_mtd": 10, "attendance_rate_mtd": 0.5},
        {
            "tenure_days=89": ({"tenure_days": 89}, True),
            "tenure_days=90": ({"tenure_days": 90}, True),
            "tenure_days=91": ({"tenure_days": 91}, False),
            "meetings_mtd=4": ({"meetings_mtd": 4}, False),
            "meetings_mtd=5": ({"meetings_mtd": 5}, True),
            "meetings_mtd=6": ({"meetings_mtd": 6}, True),
            "attendance_rate_mtd=0.79": ({"attendance_rate_mtd": 0.79}, True),
            "attendance_rate_mtd=0.80": ({"attendance_rate_mtd": 0.80}, False),
            "attendance_rate_mtd=0.81": ({"attendance_rate_mtd": 0.81}, False),
            "attendance_rate_mtd=NaN (no meetings)": ({"attendance_rate_mtd": math.nan}, False),
        },
    ),
    # absent from the morning meeting, but not yet 3 running (that is absent_streak)
    "absent_morning_meeting": (
        {"absent_streak": 1},
        {
            "absent_streak=0": ({"absent_streak": 0}, False),
            "absent_streak=1": ({"absent_streak": 1}, True),
            "absent_streak=2": ({"absent_streak": 2}, True),
            "absent_streak=3": ({"absent_streak": 3}, False),
            "absent_streak=4": ({"absent_streak": 4}, False),
        },
    ),
    # absent 3 meetings running or more
    "absent_streak": (
        {"absent_streak": 5},
        {
            "absent_streak=2": ({"absent_streak": 2}, False),
            "absent_streak=3": ({"absent_streak": 3}, True),
            "absent_streak=4": ({"absent_streak": 4}, True),
        },
    ),
    # zero production by day 20 (from day 20 on)
    "zero_production_day20": (
        {"day_of_month": 25, "days_left": 6, "mtd_fyp": 0.0},
        {
            "day_of_month=19": ({"day_of_month": 19}, False),
            "day_of_month=20": ({"day_of_month": 20}, True),
            "day_of_month=21": ({"day_of_month": 21}, True),
            "mtd_fyp=-0.01": ({"mtd_fyp": -0.01}, True),
            "mtd_fyp=0": ({"mtd_fyp": 0.0}, True),
            "mtd_fyp=0.01": ({"mtd_fyp": 0.01}, False),
        },
    ),
    # a probationary agent whose 90-day conversion window ends within 30 days (0..30 days left)
    # with cumulative FYC still below 3,000
    "conversion_gap": (
        {"category": "probationary", "tenure_days": 75, "spell_fyc": 1000.0,
         "basic_law_configured": 0},
        {
            "a basic law is configured": ({"basic_law_configured": 1}, False),
            "category=formal": ({"category": "formal"}, False),
            "category=director": ({"category": "director"}, False),
            "tenure_days=59 (31 days left)": ({"tenure_days": 59}, False),
            "tenure_days=60 (30 days left)": ({"tenure_days": 60}, True),
            "tenure_days=61 (29 days left)": ({"tenure_days": 61}, True),
            "tenure_days=89 (1 day left)": ({"tenure_days": 89}, True),
            "tenure_days=90 (last day)": ({"tenure_days": 90}, True),
            "tenure_days=91 (window passed)": ({"tenure_days": 91}, False),
            "spell_fyc=2999.99": ({"spell_fyc": 2999.99}, True),
            "spell_fyc=3000": ({"spell_fyc": 3000.0}, False),
            "spell_fyc=3000.01": ({"spell_fyc": 3000.01}, False),
        },
    ),
}

CASES.update({
    # basic law: conversion not reached at the current pace, window ending within 30 days
    "basic_law_conversion": (
        {"conversion_projected": 0, "conversion_days_left": 10, "conversion_gap_fyc": 1200.0,
         "conversion_gap_count": 1},
        {
            "projected to convert": ({"conversion_projected": 1}, False),
            "days_left=30": ({"conversion_days_left": 30}, True),
            "days_left=31": ({"conversion_days_left": 31}, False),
            "days_left=0": ({"conversion_days_left": 0}, True),
            "days_left=-1 (window over)": ({"conversion_days_left": -1}, False),
            "no basic law (missing)": ({"conversion_projected": float("nan")}, False),
        },
    ),
    # basic law: the failure ladder's next step is demotion or contract end
    "basic_law_demotion_risk": (
        {"demotion_risk": 1, "maintenance_gap_count": 2, "maintenance_days_left": 20},
        {
            "no risk": ({"demotion_risk": 0}, False),
            "missing": ({"demotion_risk": float("nan")}, False),
        },
    ),
    # benefits (issue 17): base pay lost this month, from day 10 of the month
    "benefit_base_pay_at_risk": (
        {"base_pay_at_risk": 1, "day_of_month": 15},
        {
            "day=9": ({"day_of_month": 9}, False),
            "day=10": ({"day_of_month": 10}, True),
            "not at risk": ({"base_pay_at_risk": 0}, False),
            "no benefit rules": ({"base_pay_at_risk": float("nan")}, False),
        },
    ),
    # a new-agent allowance still to be won by reaching its rank this month (no back pay)
    "benefit_allowance_at_stake": (
        {"allowance_at_stake": 2400.0},
        {
            "amount=0.99": ({"allowance_at_stake": 0.99}, False),
            "amount=1": ({"allowance_at_stake": 1.0}, True),
            "no allowance": ({"allowance_at_stake": float("nan")}, False),
        },
    ),
    # the gain of promotion, for agents within reach of it
    "benefit_promotion_gain": (
        {"promotion_gain": 1500.0},
        {
            "gain=0.99": ({"promotion_gain": 0.99}, False),
            "gain=1": ({"promotion_gain": 1.0}, True),
            "not within reach": ({"promotion_gain": float("nan")}, False),
        },
    ),
    # 准主任
    "benefit_quasi_director": (
        {"quasi_director": 1},
        {"not": ({"quasi_director": 0}, False), "no basic law": ({"quasi_director": float("nan")}, False)},
    ),
    # campaigns: within 10% of the next tier with at most 7 days left
    "campaign_near_tier": (
        {"campaign_id": "c1", "campaign_next_tier": "金", "campaign_gap_to_tier": 500.0,
         "campaign_gap_share": 0.05, "campaign_days_left": 5},
        {
            "share=0.10": ({"campaign_gap_share": 0.10}, True),
            "share=0.1001": ({"campaign_gap_share": 0.1001}, False),
            "days_left=7": ({"campaign_days_left": 7}, True),
            "days_left=8": ({"campaign_days_left": 8}, False),
            "days_left=-1": ({"campaign_days_left": -1}, False),
            "gap=0 (tier reached)": ({"campaign_gap_to_tier": 0.0}, False),
            "no running campaign": ({"campaign_gap_share": float("nan")}, False),
        },
    ),
    # training: a new hire (at most 180 days in) missed a required session not yet made up
    "new_hire_missed_training": (
        {"training_missed": 1, "tenure_days": 30, "training_missed_title": "新人岗前培训",
         "training_missed_date": "2026-05-12"},
        {
            "training_missed=0": ({"training_missed": 0}, False),
            "training_missed=2": ({"training_missed": 2}, True),
            "tenure_days=180": ({"tenure_days": 180}, True),
            "tenure_days=181": ({"tenure_days": 181}, False),
        },
    ),
})

# issue 15: own goals, daily plans, care, executives' agents, team level (decided by hand from the
# issue's wording and docs/tracking.md)
NAN = float("nan")
CASES.update({
    # behind the own monthly goal by more than 20 points of time progress, from day 8
    "goal_behind": (
        {"goal_behind_points": 40.0, "goal_attainment": 0.2, "goal_metric": "FYP",
         "time_progress": 0.6, "day_of_month": 18},
        {
            "points=20": ({"goal_behind_points": 20.0}, False),
            "points=20.01": ({"goal_behind_points": 20.01}, True),
            "day_of_month=7": ({"day_of_month": 7}, False),
            "day_of_month=8": ({"day_of_month": 8}, True),
            "no goal": ({"goal_behind_points": NAN}, False),
        },
    ),
    # yesterday's plan carried out below 80%
    "plan_not_carried_out": (
        {"plan_yesterday": 10.0, "plan_yesterday_done": 5.0, "plan_yesterday_rate": 0.5},
        {
            "rate=0.79": ({"plan_yesterday_rate": 0.79}, True),
            "rate=0.80": ({"plan_yesterday_rate": 0.80}, False),
            "no plan": ({"plan_yesterday": NAN, "plan_yesterday_rate": NAN}, False),
            "plan of zero": ({"plan_yesterday": 0.0, "plan_yesterday_rate": NAN}, False),
        },
    ),
    # plans are used here, today's plan not filed, yesterday a working day, 7+ days in
    "no_plan_filed": (
        {"plans_in_use": 1, "plan_filed_today": 0, "yesterday_is_workday": 1, "tenure_days": 30},
        {
            "filed": ({"plan_filed_today": 1}, False),
            "nobody uses plans": ({"plans_in_use": 0}, False),
            "after a Sunday": ({"yesterday_is_workday": 0}, False),
            "tenure_days=6": ({"tenure_days": 6}, False),
            "tenure_days=7": ({"tenure_days": 7}, True),
        },
    ),
    # nobody contacted the agent for 14 days or more
    "not_contacted": (
        {"days_since_contact": 20},
        {
            "days=13": ({"days_since_contact": 13}, False),
            "days=14": ({"days_since_contact": 14}, True),
        },
    ),
    # work anniversary (within the care window)
    "care_anniversary": (
        {"anniversary_years": 2},
        {"not the anniversary": ({"anniversary_years": 0}, False),
         "first year": ({"anniversary_years": 1}, True)},
    ),
    # back at the morning meeting after 14 days or more away
    "care_return": (
        {"return_after_days": 30},
        {
            "days=13": ({"return_after_days": 13}, False),
            "days=14": ({"return_after_days": 14}, True),
            "not back": ({"return_after_days": 0}, False),
        },
    ),
    # top 10% of the last three months' producers, nothing this month, from day 10
    "exec_idle_top": (
        {"prev3_fyp_pct": 0.95, "prev3_fyp": 90_000.0, "mtd_fyp": 0.0, "day_of_month": 15},
        {
            "pct=0.89": ({"prev3_fyp_pct": 0.89}, False),
            "pct=0.90": ({"prev3_fyp_pct": 0.90}, True),
            "mtd_fyp=0.01": ({"mtd_fyp": 0.01}, False),
            "day_of_month=9": ({"day_of_month": 9}, False),
            "day_of_month=10": ({"day_of_month": 10}, True),
        },
    ),
    # a formal agent one criterion short of promotion (准主任)
    "exec_near_promotion": (
        {"category": "formal", "promotion_gap_count": 1, "promotion_gap_fyc": 2000.0},
        {
            "two short": ({"promotion_gap_count": 2}, False),
            "already met": ({"promotion_gap_count": 0}, False),
            "probationary": ({"category": "probationary"}, False),
            "no basic law": ({"promotion_gap_count": NAN}, False),
        },
    ),
    # nobody contacted for 30 days or more: the executive finds out how they are
    "exec_not_contacted": (
        {"days_since_contact": 40},
        {"days=29": ({"days_since_contact": 29}, False), "days=30": ({"days_since_contact": 30}, True)},
    ),
    # a unit (not the root) of 5+ agents whose attendance this month is below 80%
    "unit_low_attendance": (
        {"depth": 2, "headcount": 10, "attendance_rate_mtd": 0.5},
        {
            "rate=0.79": ({"attendance_rate_mtd": 0.79}, True),
            "rate=0.80": ({"attendance_rate_mtd": 0.80}, False),
            "headcount=4": ({"headcount": 4}, False),
            "headcount=5": ({"headcount": 5}, True),
            "root": ({"depth": 0}, False),
            "no attendance data": ({"attendance_rate_mtd": NAN}, False),
        },
    ),
    # active headcount more than 10 points behind time progress against its plan
    "active_behind_plan": (
        {"depth": 1, "active_plan": 20.0, "active_mtd": 6.0, "active_plan_attainment": 0.3,
         "active_behind_points": 30.0, "time_progress": 0.6},
        {
            "points=10": ({"active_behind_points": 10.0}, False),
            "points=10.01": ({"active_behind_points": 10.01}, True),
            "no plan": ({"active_plan": NAN, "active_behind_points": NAN}, False),
            "root": ({"depth": 0}, False),
        },
    ),
})

RULES = load_rules()


def test_every_default_rule_has_boundary_cases() -> None:
    assert sorted(CASES) == sorted(r.name for r in RULES.rules)


def _frame(rule_name: str) -> tuple[pd.DataFrame, set[str]]:
    base, variants = CASES[rule_name]
    rows = {"base": dict(base)}
    for label, (changes, _fires) in variants.items():
        rows[label] = {**base, **changes}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    expected = {"base"} | {label for label, (_c, fires) in variants.items() if fires}
    return frame, expected


@pytest.mark.parametrize("rule_name", sorted(CASES))
def test_rule_fires_exactly_on_its_boundary(rule_name: str) -> None:
    rule = RULES.by_name()[rule_name]
    frame, expected = _frame(rule_name)
    # the frame only holds signals the rule may use, named as the loader knows them
    signals = AGENT_SIGNALS if rule.subject == "agent" else ORG_SIGNALS
    assert set(frame.columns) <= set(signals), set(frame.columns) - set(signals)
    hits = rule.evaluate(frame)
    assert set(hits.index) == expected, (
        f"{rule_name}: fired {sorted(hits.index)}; expected {sorted(expected)}")
    # every fired row renders a complete message (no unresolved {name}) with plain facts
    for row in hits.to_dict("records"):
        zh, en, facts = rule.render(row)
        assert "{" not in zh and "{" not in en and "—" not in zh, (zh, en)
        assert all(not isinstance(v, float) or not math.isnan(v) for v in facts.values())


def test_conversion_gap_message() -> None:
    rule = RULES.by_name()["conversion_gap"]
    frame = pd.DataFrame([{"category": "probationary", "tenure_days": 81, "spell_fyc": 1800.0,
                           "basic_law_configured": 0}])
    (row,) = rule.evaluate(frame).to_dict("records")
    zh, en, facts = rule.render(row)
    assert zh == "差 1,200 元 FYC 转正, 还剩 9 天"
    assert en == "1,200 FYC short of conversion, 9 days left"
    assert facts["gap"] == 1200 and facts["days_left_probation"] == 9
    assert facts["spell_fyc"] == 1800 and facts["tenure_days"] == 81


def test_other_messages_render_their_facts() -> None:
    by = RULES.by_name()
    z = by["zero_production_day20"]
    (row,) = z.evaluate(pd.DataFrame([{"day_of_month": 20, "days_left": 11, "mtd_fyp": 0.0}])).to_dict("records")
    assert z.render(row)[0] == "本月已到第 20 天仍零业绩, 还剩 11 天"
    a = by["absent_streak"]
    (row,) = a.evaluate(pd.DataFrame([{"absent_streak": 3}])).to_dict("records")
    zh, _en, facts = a.render(row)
    assert zh == "连续 3 次缺席早会" and facts == {"absent_streak": 3}
    p = by["plan_behind_time"]
    (row,) = p.evaluate(pd.DataFrame([{"depth": 1, "plan_behind_points": 25.0,
                                       "plan_attainment": 0.25, "time_progress": 0.5}])).to_dict("records")
    assert p.render(row)[0] == "FYP 达成率 25.0% 落后时间进度 50.0% 达 25.0 个百分点"


# --- overlays --------------------------------------------------------------------------------

OVERLAY = """
[rules.no_worklog_yesterday]
enabled = false

[rules.zero_production_day20]
params = { from_day = 15 }
owner_role = "supervisor"

[rules.many_visits_no_case]
link = "supervisor"
subject = "agent"
when = "mtd_visits >= visits and mtd_cases <= 0"
params = { visits = 40 }
message_zh = "本月拜访 {mtd_visits} 次仍未成交"
message_en = "{mtd_visits} visits this month without a case"
owner_role = "supervisor"
priority = 2
due_days = 3
target = "mtd_cases"
"""


def _check_overlay(rules: Any, source: str) -> None:
    by = rules.by_name()
    assert "no_worklog_yesterday" not in by
    assert len(rules.rules) == len(RULES.rules)  # one disabled, one added
    z = by["zero_production_day20"]
    assert z.params == {"from_day": 15} and z.owner_role == "supervisor" and z.source == source
    assert z.message_zh == RULES.by_name()["zero_production_day20"].message_zh  # the rest kept
    frame = pd.DataFrame({"day_of_month": [14, 15, 16], "days_left": [17, 16, 15],
                          "mtd_fyp": [0.0, 0.0, 0.0]})
    assert list(z.evaluate(frame).index) == [1, 2]
    new = by["many_visits_no_case"]
    assert (new.link, new.priority, new.due_days, new.target) == ("supervisor", 2, 3, "mtd_cases")
    frame = pd.DataFrame({"mtd_visits": [39, 40, 41, 60], "mtd_cases": [0, 0, 0, 1]})
    hits = new.evaluate(frame)
    assert list(hits.index) == [1, 2]
    assert new.render(hits.to_dict("records")[0])[0] == "本月拜访 40 次仍未成交"
    assert source in rules.sources


def test_overlay_text_disables_rethresholds_and_adds() -> None:
    _check_overlay(load_rules(extra_text=OVERLAY), "<rules>")


def test_workspace_rule_file_is_laid_over_the_defaults(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZHUIZONG_TRACKING_RULES_FILE", raising=False)
    ws = Workspace.open(tmp_path)
    assert [r.name for r in load_rules(ws).rules] == [r.name for r in RULES.rules]  # no file yet
    path = ws.home / "tracking_rules.toml"
    path.write_text(OVERLAY, encoding="utf-8")
    _check_overlay(load_rules(ws), str(path))
    # a later overlay (text) wins over the workspace file, key by key
    both = load_rules(ws, extra_text="[rules.zero_production_day20]\nparams = { from_day = 18 }\n")
    assert both.by_name()["zero_production_day20"].params == {"from_day": 18}
    assert "many_visits_no_case" in both.by_name() and "no_worklog_yesterday" not in both.by_name()


# --- invalid rule files ----------------------------------------------------------------------

BAD = {
    "unknown signal in when": (
        '[rules.zero_production_day20]\nwhen = "day_of_month >= from_day and mtd_premium <= 0"\n',
        "zero_production_day20", "when", "mtd_premium"),
    "bad link": ('[rules.absent_streak]\nlink = "sales"\n', "absent_streak", "link", "must be one of"),
    "unknown key": ('[rules.absent_streak]\ncolour = "red"\n', "absent_streak", "colour", None),
    "bad template name": ('[rules.absent_streak]\nmessage_zh = "连续 {absent_days} 次缺席"\n',
                          "absent_streak", "message_zh", "absent_days"),
    "unbalanced template": ('[rules.absent_streak]\nmessage_en = "absent {absent_streak times"\n',
                            "absent_streak", "message_en", None),
    "syntax error in when": ('[rules.absent_streak]\nwhen = "absent_streak >= "\n',
                             "absent_streak", "when", "syntax"),
    "syntax error in a fact": ('[rules.conversion_gap]\nfacts = { gap = "threshold - - * spell_fyc" }\n',
                               "conversion_gap", "facts.gap", "syntax"),
    "non-integer priority": ('[rules.absent_streak]\npriority = 1.5\n', "absent_streak", "priority", None),
    "text priority": ('[rules.absent_streak]\npriority = "high"\n', "absent_streak", "priority", None),
    "priority out of range": ('[rules.absent_streak]\npriority = 0\n', "absent_streak", "priority", None),
    "bad owner role": ('[rules.absent_streak]\nowner_role = "boss"\n', "absent_streak", "owner_role", None),
    "bad subject": ('[rules.absent_streak]\nsubject = "team"\n', "absent_streak", "subject", None),
    "org rule using an agent signal": (
        '[rules.plan_behind_time]\nwhen = "absent_streak >= 1"\n', "plan_behind_time", "when", "absent_streak"),
    "attribute access": ('[rules.absent_streak]\nwhen = "absent_streak.__class__ == 1"\n',
                         "absent_streak", "when", None),
    "call": ('[rules.absent_streak]\nwhen = "abs(absent_streak) >= 3"\n', "absent_streak", "when", None),
    "non-boolean enabled": ('[rules.absent_streak]\nenabled = "no"\n', "absent_streak", "enabled", None),
    "bad param": ('[rules.absent_streak]\nparams = { streak = true }\n', "absent_streak", "params.streak", None),
    "bad target": ('[rules.absent_streak]\ntarget = "happiness"\n', "absent_streak", "target", None),
    "new rule missing when": (
        '[rules.half_rule]\nlink = "coaching"\nsubject = "agent"\nmessage_zh = "x"\nmessage_en = "x"\n'
        'owner_role = "trainer"\n', "half_rule", "when", None),
}


def _assert_names(exc: ConfigError, source: str, rule: str | None, key: str | None,
                  extra: str | None) -> None:
    for text in (exc.en, exc.zh, str(exc)):
        assert source in text, text
        if rule is not None:
            assert rule in text, text
        if key is not None:
            assert key in text, text
    if extra is not None:
        assert extra in exc.en, exc.en
    if rule is not None:
        assert f"rule {rule}, key {key}" in exc.en, exc.en


@pytest.mark.parametrize("case", sorted(BAD))
def test_invalid_overlay_text_names_rule_and_key(case: str) -> None:
    text, rule, key, extra = BAD[case]
    with pytest.raises(ConfigError) as exc:
        load_rules(extra_text=text)
    _assert_names(exc.value, "<rules>", rule, key, extra)
    assert exc.value.exit_code == 2


@pytest.mark.parametrize("case", ["unknown signal in when", "bad link", "unknown key",
                                  "bad template name", "syntax error in when", "non-integer priority"])
def test_invalid_workspace_file_names_file_rule_and_key(case: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZHUIZONG_TRACKING_RULES_FILE", raising=False)
    ws = Workspace.open(tmp_path)
    path = ws.home / "tracking_rules.toml"
    text, rule, key, extra = BAD[case]
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_rules(ws)
    _assert_names(exc.value, str(path), rule, key, extra)


def test_toml_syntax_error_and_layout_name_the_file(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZHUIZONG_TRACKING_RULES_FILE", raising=False)
    ws = Workspace.open(tmp_path)
    path = ws.home / "tracking_rules.toml"
    for text, fragment in (('[rules.absent_streak\nwhen = "x"\n', "invalid TOML"),
                           ('[rule.absent_streak]\nwhen = "x"\n', "unknown top-level key rule"),
                           ('rules = 3\n', "[rules.<name>]"),
                           ):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as exc:
            load_rules(ws)
        assert str(path) in exc.value.en and fragment in exc.value.en, exc.value.en
    path.write_bytes("[rules.absent_streak]\nmessage_zh = '早会缺席'\n".encode("gb18030"))
    with pytest.raises(ConfigError) as exc:
        load_rules(ws)
    assert str(path) in exc.value.en and "UTF-8" in exc.value.en


def test_message_with_a_missing_value_renders_a_dash() -> None:
    """A fired row whose formatted signal is missing shows "—" instead of failing the run."""
    rules = load_rules(extra_text="""
[rules.absent_low_rate]
link = "coaching"
subject = "agent"
when = "absent_streak >= 3"
facts = { rate_pct = "attendance_rate_mtd * 100" }
message_zh = "连续 {absent_streak} 次缺席, 出勤率 {attendance_rate_mtd:.0%} ({rate_pct:.1f})"
message_en = "{absent_streak} absences, attendance {attendance_rate_mtd:.0%}"
owner_role = "trainer"
""")
    rule = rules.by_name()["absent_low_rate"]
    hits = rule.evaluate(pd.DataFrame({"absent_streak": [3, 4],
                                       "attendance_rate_mtd": [math.nan, 0.25]}))
    rendered = [rule.render(r) for r in hits.to_dict("records")]
    assert [zh for zh, _en, _f in rendered] == ["连续 3 次缺席, 出勤率 — (—)",
                                                 "连续 4 次缺席, 出勤率 25% (25.0)"]
    assert rendered[0][1] == "3 absences, attendance —"
    assert rendered[0][2]["attendance_rate_mtd"] is None and rendered[0][2]["rate_pct"] is None
