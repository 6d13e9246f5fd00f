"""The benefit side (利益) through ``zhuizong assess income``: hand-built agents on both sides of
every benefit threshold (新人津贴 with a no-back-pay case, 底薪 tiers and attendance, 管理津贴,
育成奖 of two generations), the projection of an open month, freezing, scope, and the gain of
the next rank checked by hand for one agent per rank."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from tests.basiclaw.builders import Agency
from tests.kpi_cli.builders import run_cli
from zhuizong.basiclaw import config, income
from zhuizong.basiclaw.signals import SIGNALS, basic_law_signals
from zhuizong.errors import ConfigError
from zhuizong.workspace import Workspace

LAW = """
[basic_law]
name = "benefits"

[ranks.T]
name = "试用"
category = "probationary"
level = 1
[ranks.A1]
name = "正式"
category = "formal"
level = 2
[ranks.A2]
name = "高级"
category = "formal"
level = 3
[ranks.A3]
name = "资深"
category = "formal"
level = 4
[ranks.D1]
name = "主任"
category = "director"
level = 5
[ranks.D2]
name = "经理"
category = "director"
level = 6
[ranks.D3]
name = "总监"
category = "director"
level = 7

[rules.A3_promote]
rank = "A3"
kind = "promote"
window = "month"
[[rules.A3_promote.criteria]]
metric = "fyc"
min = 5000
[[rules.A3_promote.criteria]]
metric = "cases"
min = 1
[[rules.A3_promote.criteria]]
metric = "team_headcount"
scope = "line"
min = 3
include_self = false

[benefits.newbie]
kind = "new_agent_allowance"
title = "新人津贴"
ranks = ["T", "A1"]
reach_rank = "A1"
reach_by_month = 3
[[benefits.newbie.schedule]]
from_month = 1
to_month = 3
amount = 800
[[benefits.newbie.schedule]]
from_month = 4
to_month = 6
amount = 500
min_fyc = 1000

[benefits.base_a1]
kind = "base_pay"
ranks = ["A1"]
min_attendance = 0.8
[[benefits.base_a1.tiers]]
min_fyc = 3000
amount = 1000

[benefits.base_a2]
kind = "base_pay"
ranks = ["A2", "A3"]
min_attendance = 0.8
[[benefits.base_a2.tiers]]
min_fyc = 3000
amount = 1500
[[benefits.base_a2.tiers]]
min_fyc = 5000
amount = 2000

[benefits.mgmt]
kind = "management_allowance"
min_group_fyc = 10000
[benefits.mgmt.rates]
D1 = 0.10
D2 = 0.12
D3 = 0.15

[benefits.breed]
kind = "breeding_bonus"
min_group_fyc = 10000
[[benefits.breed.generations]]
generation = 1
from_year = 1
to_year = 1
rate = 0.05
[[benefits.breed.generations]]
generation = 1
from_year = 2
rate = 0.03
[[benefits.breed.generations]]
generation = 2
rate = 0.02
"""


def _law_file(tmp_path: Path, text: str = LAW) -> Path:
    p = tmp_path / "law.toml"
    p.write_text(text, encoding="utf-8")
    return p


def _income(period: str, date: str, rules: Path, *extra: str) -> dict[str, Any]:
    code, out, err = run_cli("assess", "income", "--period", period, "--date", date, "--rules",
                             str(rules), "--format", "json", *extra)
    assert code == 0, (out, err)
    return json.loads(out)


def _items(doc: dict[str, Any], item: str) -> dict[str, dict[str, Any]]:
    return {(i["agent_code"] + (f"<{i['source']}" if i["source"] else "")): i
            for i in doc["items"] if i["item"] == item}


def _agency() -> Agency:
    a = Agency()
    # 新人津贴 (June 2026; hired in April = work month 3)
    a.agent("N1", rank="A1", hire="2026-04-10", rank_since="2026-05-20")  # A1 in month 2: paid
    a.agent("N2", rank="A1", hire="2026-04-10", rank_since="2026-06-15")  # A1 in month 3: next month
    a.agent("N3", rank="A1", hire="2026-03-10", rank_since="2026-06-05")  # month 4 > 3: never
    a.agent("N4", rank="A1", hire="2025-12-10", rank_since="2026-01-10")  # month 7: schedule over
    a.agent("N5", rank="T", hire="2026-05-04")  # month 2, not converted yet
    a.sale("N1", "2026-07-08", 999.99)  # July (month 4) below the 1,000 bar
    a.sale("N2", "2026-07-08", 1000)  # July exactly the bar
    # 底薪 (A2; attendance 80 %)
    for code, fyc, present, absent in (("B1", 3000, 4, 1), ("B2", 2999.99, 4, 1),
                                       ("B3", 5000, 3, 1), ("B4", 5000, 5, 0)):
        a.agent(code, rank="A2")
        a.sale(code, "2026-06-10", fyc)
        a.meetings(code, "2026-06-01", present, absent)
    a.agent("B5", rank="A2")  # open month: 1,500 by 15 June
    a.sale("B5", "2026-06-05", 1500)
    a.meetings("B5", "2026-06-01", 5, 0)
    # 管理津贴 (direct group FYC ≥ 10,000; sub-directors' groups are their own)
    a.agent("H1", rank="D1")
    for code, fyc in (("M1", 6000), ("M2", 3999.99)):
        a.agent(code, rank="A1", sup="H1")
        a.sale(code, "2026-06-10", fyc)
    a.agent("H2", rank="D1")
    for code, fyc in (("M3", 6000), ("M4", 4000)):
        a.agent(code, rank="A1", sup="H2")
        a.sale(code, "2026-06-10", fyc)
    a.agent("S1", rank="D1", sup="H2")
    a.agent("M5", rank="A1", sup="S1")
    a.sale("M5", "2026-06-10", 50000)
    # 育成奖: G0 bred R1 (generation 1, year 1) and R3 (generation 1, under the bar); R1 bred R2
    # (G0's generation 2, R1's generation 1 in its year 3)
    a.agent("G0", rank="D2", hire="2020-01-06")
    a.sale("G0", "2026-06-10", 10000)
    a.agent("R1", rank="D1", hire="2024-01-08", rec="G0", rank_since="2025-10-01")
    a.sale("R1", "2026-06-11", 20000)
    a.agent("R2", rank="D1", hire="2023-01-09", rec="R1", rank_since="2024-01-01")
    a.sale("R2", "2026-06-12", 10000)
    a.agent("R3", rank="D1", hire="2024-01-08", rec="G0", rank_since="2025-12-01")
    a.sale("R3", "2026-06-12", 9999.99)
    # the gain of the next rank, one agent per rank
    a.agent("GT", rank="T", hire="2026-05-04")
    a.sale("GT", "2026-06-10", 3000)
    a.meetings("GT", "2026-06-01", 5, 0)
    a.agent("GA1", rank="A1")
    a.sale("GA1", "2026-06-10", 5000)
    a.meetings("GA1", "2026-06-01", 5, 0)
    a.agent("GA3", rank="A3")
    a.sale("GA3", "2026-06-10", 5000)
    a.meetings("GA3", "2026-06-01", 5, 0)
    a.agent("GM", rank="A1", sup="GA3")
    a.sale("GM", "2026-06-10", 16000)
    a.agent("GD3", rank="D3")
    a.sale("GD3", "2026-06-10", 40000)
    return a


@pytest.fixture
def agency(workspace: Workspace) -> Workspace:
    _agency().load(workspace)
    return workspace


def test_benefit_thresholds_both_sides(agency: Workspace, tmp_path: Path) -> None:
    rules = _law_file(tmp_path)
    doc = _income("2026-06", "2026-07-10", rules)
    assert doc["run"]["closed"] is True
    assert all(i["status"] == "final" for i in doc["items"])
    new = _items(doc, "newbie")
    assert new["N1"]["amount"] == 800 and new["N1"]["basis"] == 3  # work month 3
    assert new["N2"]["amount"] == 0 and "不补发" in new["N2"]["note_zh"]  # reached this month
    assert new["N3"]["amount"] == 0 and "第 4 个工作月才达到" in new["N3"]["note_zh"]
    assert "N4" not in new  # work month 7: after the schedule
    assert new["N5"]["amount"] == 0  # not converted yet (work month 2)
    base = _items(doc, "base_a2")
    assert {c: base[c]["amount"] for c in ("B1", "B2", "B3", "B4")} == {
        "B1": 1500, "B2": 0, "B3": 0, "B4": 2000}
    assert "出勤率 75.0% 未达 80.0%" in base["B3"]["note_zh"]
    mg = _items(doc, "mgmt")
    assert (mg["H1"]["basis"], mg["H1"]["amount"]) == (9999.99, 0)
    assert (mg["H2"]["basis"], mg["H2"]["rate"], mg["H2"]["amount"]) == (10000, 0.1, 1000)
    assert (mg["S1"]["basis"], mg["S1"]["amount"]) == (50000, 5000)  # M5 is S1's, not H2's
    assert (mg["G0"]["rate"], mg["G0"]["amount"]) == (0.12, 1200)
    br = _items(doc, "breed")
    assert (br["G0<R1"]["rate"], br["G0<R1"]["amount"]) == (0.05, 1000)  # gen 1, year 1
    assert (br["G0<R2"]["rate"], br["G0<R2"]["amount"]) == (0.02, 200)  # gen 2: exactly the bar
    assert (br["R1<R2"]["rate"], br["R1<R2"]["amount"]) == (0.03, 300)  # gen 1, year 3
    assert br["G0<R3"]["amount"] == 0  # 9,999.99 below the bar
    assert set(doc["items"][0]) >= {"agent_code", "item", "basis", "rate", "amount", "status"}


def test_no_back_pay_next_month(agency: Workspace, tmp_path: Path) -> None:
    rules = _law_file(tmp_path)
    july = _items(_income("2026-07", "2026-08-05", rules), "newbie")
    # N2 reached A1 in June (month 3): July (month 4) pays month 4's 500, June is not back-paid
    assert july["N2"]["amount"] == 500
    assert july["N1"]["amount"] == 0 and "FYC 差 0.01 元" in july["N1"]["note_zh"]
    assert july["N3"]["amount"] == 0


def test_open_month_projection_and_freeze(agency: Workspace, tmp_path: Path) -> None:
    rules = _law_file(tmp_path)
    doc = _income("2026-06", "2026-06-15", rules)
    assert doc["run"]["closed"] is False
    b5 = _items(doc, "base_a2")["B5"]
    # 1,500 in 15 of 30 days → 3,000 at month end: the 1,500 tier; 3,500 more reaches 2,000
    assert (b5["status"], b5["basis"], b5["amount"], b5["amount_to_date"]) == (
        "provisional", 3000, 1500, 0)
    assert b5["note_zh"] == "按当前进度本月底薪 1,500 元; 再做 3,500 元 FYC 可达 2,000 元档"
    closed = _income("2026-06", "2026-07-10", rules)
    assert closed["run"]["frozen"] is False
    # frozen: a changed rule file changes nothing unless an admin recomputes
    rules.write_text(LAW.replace("amount = 1500", "amount = 1600"), encoding="utf-8")
    again = _income("2026-06", "2026-07-20", rules)
    assert again["run"]["frozen"] is True and again["run"]["rules_changed"] is True
    assert _items(again, "base_a2")["B1"]["amount"] == 1500
    redo = _income("2026-06", "2026-07-20", rules, "--recompute")
    assert _items(redo, "base_a2")["B1"]["amount"] == 1600


def test_gain_of_the_next_rank_by_hand(agency: Workspace, tmp_path: Path) -> None:
    law = config.load(_law_file(tmp_path))
    g = income.rank_gain(agency, law, "2026-06", dt.date(2026, 7, 10)).set_index("agent_code")
    # T → A1: new-agent allowance unchanged (not converted: 0); A1 base pay 1,000 (FYC 3,000)
    assert (g.loc["GT", "next_rank"], g.loc["GT", "gain"]) == ("A1", Decimal(1000))
    # A1 → A2: base pay 1,000 → 2,000 (FYC 5,000)
    assert g.loc["GA1", "gain"] == Decimal(1000)
    # A2 → A3: the same tiers: no gain
    assert g.loc["B4", "gain"] == Decimal(0)
    # A3 → D1: base pay 2,000 lost; management 10 % of the direct group 5,000 + 16,000 = 2,100
    assert (g.loc["GA3", "current"], g.loc["GA3", "at_next"], g.loc["GA3", "gain"]) == (
        Decimal(2000), Decimal("2100.00"), Decimal(100))
    # D1 → D2: management 10 % → 12 % of 10,000
    assert g.loc["H2", "gain"] == Decimal(200)
    # D2 → D3: 12 % → 15 % of G0's own 10,000 (breeding unchanged)
    assert g.loc["G0", "gain"] == Decimal(300)
    assert "GD3" not in g.index  # the top of the ladder
    # one agent's row (its home asks for it alone) is the whole force's row for that agent:
    # groups and bred groups are still summed over everyone
    for code in ("GT", "GA1", "B4", "GA3", "H2", "G0", "R1"):
        one = income.rank_gain(agency, law, "2026-06", dt.date(2026, 7, 10), agents={code})
        assert one.set_index("agent_code").to_dict("index") == {code: g.loc[code].to_dict()}
    items = income.evaluate_income(agency, law, "2026-06", dt.date(2026, 7, 10))
    only = income.evaluate_income(agency, law, "2026-06", dt.date(2026, 7, 10), agents={"G0"})
    assert only.to_dict("records") == items[items.agent_code == "G0"].to_dict("records")
    assert len(only) == 4  # management + three bred groups (R1, R2, R3)


def test_signals(agency: Workspace, tmp_path: Path) -> None:
    (agency.home / "basic_law.toml").write_text(_law_file(tmp_path).read_text("utf-8"), "utf-8")
    base = pd.DataFrame({"agent_code": ["B5", "B3", "N5", "GA3", "H1", "GD3"]})
    s = basic_law_signals(agency, dt.date(2026, 6, 15), base).set_index("agent_code")
    assert set(SIGNALS) <= set(s.columns)
    # B5: 1,500 by 15 June → 3,000 at month end: the 1,500 tier, 3,500 more for the next
    assert (s.loc["B5", "base_pay_projected"], s.loc["B5", "base_pay_at_risk"],
            s.loc["B5", "base_pay_gap_fyc"]) == (1500, 0, 3500)
    assert s.loc["B3", "base_pay_at_risk"] == 1  # attendance 75 % < 80 %
    # N5 (T, work month 2): reaching A1 this month would pay month 3 (800) and 4–6 (3 × 500)
    assert s.loc["N5", "allowance_at_stake"] == 800 + 3 * 500
    assert pd.isna(s.loc["B5", "allowance_at_stake"])
    # GA3 (A3): FYC and cases on pace, one direct member of 3: one short of D1 → 准主任;
    # at the current pace base pay 2,000 (FYC 10,000) vs D1 10 % of (5,000 + 16,000) × 2
    assert s.loc["GA3", "quasi_director"] == 1
    assert s.loc["GA3", "promotion_gain"] == s.loc["GA3", "next_rank_gain"] == 4200 - 2000
    # H1 (D1): no promotion rule; D2 pays 12 % instead of 10 % of 19,999.98 projected
    assert pd.isna(s.loc["H1", "quasi_director"]) and pd.isna(s.loc["H1", "promotion_gain"])
    assert s.loc["H1", "next_rank_gain"] == 2400 - 2000
    assert pd.isna(s.loc["GD3", "next_rank_gain"])  # the top of the ladder


@pytest.mark.parametrize("name", config.EXAMPLES)
def test_examples_pay_every_kind(agency: Workspace, tmp_path: Path, name: str) -> None:
    rules = tmp_path / name
    rules.write_text(config.example_text(name), encoding="utf-8")
    doc = _income("2026-06", "2026-07-10", rules)
    every = {"new_agent_allowance", "base_pay", "management_allowance", "breeding_bonus"}
    assert {i["kind"] for i in doc["items"]} == every
    paid = {i["kind"] for i in doc["items"] if i["amount"] > 0}
    # q_units' months 3–12 need 600 元 FYC, which N1 (work month 3) lacks in June
    assert paid == (every if name == "ladder.toml" else every - {"new_agent_allowance"})


def test_benefit_errors_name_file_benefit_and_key(tmp_path: Path) -> None:
    head = LAW[:LAW.index("[rules.")]
    cases = {
        '[benefits.x]\nkind = "base_pay"\n': "key tiers",
        '[benefits.x]\nkind = "salary"\n': "key kind",
        '[benefits.x]\nkind = "base_pay"\nrates = {D1 = 0.1}\n'
        '[[benefits.x.tiers]]\nmin_fyc = 1\namount = 1\n': "key rates",
        '[benefits.x]\nkind = "base_pay"\n[[benefits.x.tiers]]\nmin_fyc = 2\namount = 5\n'
        '[[benefits.x.tiers]]\nmin_fyc = 1\namount = 9\n': "key tiers.1.min_fyc",
        '[benefits.x]\nkind = "management_allowance"\nrates = {Z9 = 0.1}\n': "key rates.Z9",
        '[benefits.x]\nkind = "new_agent_allowance"\nreach_by_month = 3\n'
        '[[benefits.x.schedule]]\nfrom_month = 1\nto_month = 2\namount = 1\n': "reach_by_month",
        '[benefits.x]\nkind = "breeding_bonus"\n[[benefits.x.generations]]\ngeneration = 1\n'
        'rate = 0.1\n[[benefits.x.generations]]\ngeneration = 1\nfrom_year = 3\nrate = 0.1\n':
            "generations.1",
    }
    for body, key in cases.items():
        with pytest.raises(ConfigError) as e:
            config.parse(head + body, "my_law.toml")
        assert "my_law.toml" in e.value.en and "benefit x" in e.value.en and key in e.value.en, (
            body, e.value.en)


def test_benefit_signals_become_tracking_reasons(agency: Workspace, tmp_path: Path) -> None:
    """Issue 17, item 4: the benefit signals reach the assessment link through ``track run``."""
    (agency.home / "basic_law.toml").write_text(_law_file(tmp_path).read_text("utf-8"), "utf-8")
    code, out, err = run_cli("track", "run", "--date", "2026-06-15")
    assert code == 0, (out, err)
    code, out, err = run_cli("track", "list", "--format", "json", "--limit", "100000")
    assert code == 0, (out, err)
    doc = json.loads(out)
    items = doc["items"] if isinstance(doc, dict) else doc
    rules: dict[str, set[str]] = {}
    for it in items:
        for r in it["reasons"]:
            rules.setdefault(r["rule"], set()).add(it["subject_code"])
    assert "B3" in rules["benefit_base_pay_at_risk"]  # attendance 75 % < 80 %
    assert "B5" not in rules["benefit_base_pay_at_risk"]  # the 1,500 tier at the current pace
    assert "N5" in rules["benefit_allowance_at_stake"]
    assert "GA3" in rules["benefit_quasi_director"] and "GA3" in rules["benefit_promotion_gain"]
    assert "H1" not in rules.get("benefit_promotion_gain", set())
    links = {r["link"] for it in items for r in it["reasons"] if r["rule"].startswith("benefit_")}
    assert links == {"assessment"}


def test_gain_of_the_next_rank_on_the_agents_home(agency: Workspace, tmp_path: Path) -> None:
    """Issue 17, item 3: 我的 of agent GA3 (A3) shows 晋升为主任后每月多 2,200 元 (by hand in
    test_signals: D1 pays 4,200 on this month's pace, A3 2,000)."""
    from zhuizong.access.users import load_actor
    from zhuizong.services.profile import my_home, my_rank_gain

    (agency.home / "basic_law.toml").write_text(_law_file(tmp_path).read_text("utf-8"), "utf-8")
    code, out, err = run_cli("users", "add", "ga3", "--name", "GA3", "--role", "agent",
                             "--agent", "GA3", "--password", "pw-123456789")
    assert code == 0, (out, err)
    assert run_cli("users", "grant", "ga3", "--self", "GA3")[0] == 0
    with agency.engine.connect() as conn:
        actor = load_actor(conn, "ga3")
    home = my_home(agency, actor, through=dt.date(2026, 6, 15))
    assert home.rank_gain is not None
    assert (home.rank_gain["next_rank"], home.rank_gain["gain"]) == ("D1", Decimal("2200"))
    # and the agent's own benefits this month at the current pace: 5,000 FYC by 15 June → 10,000
    # at month end: the 2,000 tier of base pay (A2/A3); nobody else's items
    assert [(b["item"], b["amount"], b["status"]) for b in home.rank_gain["benefits"]] == [
        ("base_a2", Decimal("2000.00"), "provisional")]
    assert home.rank_gain["benefits"][0]["note_zh"] == "按当前进度本月底薪 2,000 元"
    assert "元" not in home.rank_gain["benefits"][0]["note_en"]  # one language per screen
    # the page shows the rest at once and loads the gain after it (/me/gain): the same number
    assert my_home(agency, actor, through=dt.date(2026, 6, 15), with_gain=False).rank_gain is None
    assert my_rank_gain(agency, actor, through=dt.date(2026, 6, 15)) == home.rank_gain


def test_income_is_scoped_and_exported(agency: Workspace, tmp_path: Path) -> None:
    """``assess income`` under ``--as``: an assessment user granted H2's reporting line sees the
    items of that line only (H2, M3, M4, S1, M5), one granted an empty branch sees none and the
    stored run is unchanged by either; the xlsx holds the same items as the json."""
    rules = _law_file(tmp_path)
    whole = _income("2026-06", "2026-07-10", rules)
    for user, grant in (("line", ("--line", "H2")), ("sh", ("--org", "SH"))):
        code, out, err = run_cli("users", "add", user, "--name", user, "--role", "assessment",
                                 "--password", "pw-123456789")
        assert code == 0, (out, err)
        assert run_cli("users", "grant", user, *grant)[0] == 0
    code, out, err = run_cli("--as", "line", "assess", "income", "--period", "2026-06", "--date",
                             "2026-07-10", "--rules", str(rules), "--format", "json")
    assert code == 0, (out, err)
    seen = {i["agent_code"] for i in json.loads(out)["items"]}
    assert seen == {"H2", "M3", "M4", "S1", "M5"} & {i["agent_code"] for i in whole["items"]}
    assert seen and "H1" not in seen and "G0" not in seen
    code, out, err = run_cli("--as", "sh", "assess", "income", "--period", "2026-06", "--date",
                             "2026-07-10", "--rules", str(rules), "--format", "json")
    assert code == 0, (out, err)
    assert json.loads(out)["items"] == []
    again = _income("2026-06", "2026-07-10", rules)
    assert again["items"] == whole["items"]
    xlsx = tmp_path / "income.xlsx"
    code, out, err = run_cli("assess", "income", "--period", "2026-06", "--date", "2026-07-10",
                             "--rules", str(rules), "--format", "xlsx", "--out", str(xlsx))
    assert code == 0, (out, err)
    sheet = openpyxl.load_workbook(xlsx, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) - 1 == len(whole["items"])
    by_key = {(r[0], r[4], r[6] or ""): r[10] for r in rows[1:]}
    for i in whole["items"]:
        assert by_key[(i["agent_code"], i["item"], i["source"] or "")] == pytest.approx(i["amount"])


def test_income_table_in_one_language(agency: Workspace, tmp_path: Path) -> None:
    """The table of ``assess income`` is worded in ``--lang`` only: Chinese by default, English
    complete (names of people stay as they are)."""
    rules = _law_file(tmp_path)
    code, zh, err = run_cli("assess", "income", "--period", "2026-06", "--date", "2026-06-15",
                            "--rules", str(rules))
    assert code == 0, err
    assert "收入明细" in zh and "底薪" in zh and "按当前进度预计" in zh
    for word in ("income", "agent", "amount", "projected", "stored"):
        assert word not in zh, word
    code, en, err = run_cli("--lang", "en", "assess", "income", "--period", "2026-06", "--date",
                            "2026-06-15", "--rules", str(rules))
    assert code == 0, err
    assert "income items" in en and "base pay" in en and "projected" in en
    for word in ("收入", "底薪", "元", "按当前进度", "窗口"):
        assert word not in en, word


def test_assessment_tables_in_one_language(agency: Workspace, tmp_path: Path) -> None:
    """``assess run`` and ``assess list`` print in ``--lang`` only: English names the metric and
    the outcome (not the rule file's Chinese label or 元), Chinese has no English words."""
    rules = _law_file(tmp_path)
    (agency.home / "basic_law.toml").write_text(rules.read_text("utf-8"), "utf-8")
    code, en, err = run_cli("--lang", "en", "assess", "run", "--period", "2026-06", "--date",
                            "2026-06-15", "--limit", "50")
    assert code == 0, err
    assert "outcomes" in en and "results (first" in en and "FYC" in en
    for word in ("考核", "结果", "元", "窗口", "维持", "晋升"):
        assert word not in en, word
    code, zh, err = run_cli("assess", "list", "--period", "2026-06")
    assert code == 0, err
    assert "考核结果" in zh and "差" in zh
    for word in ("results", "outcome", "short", "agent ", "window"):
        assert word not in zh, word
