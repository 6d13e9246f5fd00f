"""Campaign definition files: valid forms and errors that name the file, campaign and key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from zhuizong.campaigns.config import load_file, load_text, parse_campaign, parse_tier_option
from zhuizong.errors import ConfigError

GOOD = """
[[campaign]]
id = "c1"
name = "冲刺"
period = "2026Q4"
measure = "fyp"
tiers = [{ name = "铜", threshold = 10000 }, { name = "银", threshold = 20000.5 }]
"""


def test_valid_forms() -> None:
    c = load_text(GOOD, "f.toml")[0]
    assert (c.start, c.end) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert c.close_from == dt.date(2027, 1, 1)
    assert c.tie_breakers == ("cases", "reached") and c.visibility == "scope"
    single = GOOD.replace("[[campaign]]", "[campaign]").replace("period = \"2026Q4\"",
                                                                "start = 2026-11-01\nend = 2026-11-30")
    assert load_text(single, "f.toml")[0].end == dt.date(2026, 11, 30)
    months = parse_campaign({"id": "x", "name": "n", "period": "2026-08..2026-10", "measure": "cases",
                             "tiers": [parse_tier_option("一档:3:礼品:之星")]}, "cli")
    assert (months.start, months.end) == (dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    assert months.tiers[0].honor == "之星"
    assert c.sha256() == load_text(GOOD, "other.toml")[0].sha256()


@pytest.mark.parametrize(("change", "key", "words"), [
    (("measure = \"fyp\"", "measure = \"premium\""), "measure", "fyp"),
    (("20000.5", "5000"), "tiers", "increase"),
    (("period = \"2026Q4\"", "period = \"2026Q4\"\ngrace_day = 3"), "grace_day", "allowed"),
    (("period = \"2026Q4\"", "period = \"2026Q4\"\neligibility = { tenure = 3 }"), "eligibility.tenure",
     "min_tenure_months"),
    (("period = \"2026Q4\"", "period = \"2026Q4\"\neligibility = { min_tenure_months = 5, max_tenure_months = 2 }"),
     "eligibility.max_tenure_months", "min_tenure_months"),
    (("period = \"2026Q4\"", "start = 2026-12-01\nend = 2026-11-01"), "end", "before"),
    (("period = \"2026Q4\"", "period = \"2026-13\""), "period", "2026-11"),
    (("id = \"c1\"", "id = \"c 1\""), "id", "letters"),
    (("name = \"冲刺\"\n", ""), "name", "required"),
    (("period = \"2026Q4\"", "period = \"2026Q4\"\ngrace_days = -1"), "grace_days", "0"),
    (("period = \"2026Q4\"", "period = \"2026Q4\"\ntie_breakers = [\"cases\", \"age\"]"), "tie_breakers[1]",
     "reached"),
    (("period = \"2026Q4\"", "period = \"2026Q4\"\nvisibility = \"everyone\""), "visibility", "scope"),
])
def test_errors_name_file_campaign_and_key(change: tuple[str, str], key: str, words: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(ConfigError) as e:
        load_text(text, "camp.toml")
    assert e.value.en.startswith("camp.toml: campaign c")
    assert f"key {key}:" in e.value.en, e.value.en
    assert words in e.value.en, e.value.en
    assert "camp.toml" in e.value.zh and key in e.value.zh


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_file(tmp_path / "nope.toml")
    p = tmp_path / "bad.toml"
    p.write_text("[[campaign]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_file(p)
    with pytest.raises(ConfigError, match="duplicate campaign id"):
        load_text(GOOD + GOOD, "dup.toml")
    with pytest.raises(ConfigError, match="unknown top-level key"):
        load_text("[campaigns]\nid = 1\n", "x.toml")
    with pytest.raises(ConfigError, match="NAME:THRESHOLD"):
        parse_tier_option("铜")


def test_measures_and_tie_breakers_come_from_the_registry() -> None:
    from zhuizong.campaigns.config import MEASURES, TIE_BREAKERS
    from zhuizong.kpi import registry

    campaign = {c: m for c, m in registry.MEASURES.items() if m.campaign}
    assert set(MEASURES) == set(campaign)
    for code, md in MEASURES.items():
        m = campaign[code]
        assert (md.zh, md.en, md.money) == (m.zh, m.en, m.unit == "yuan")
        assert m.per_agent and m.higher_is_better
    assert set(TIE_BREAKERS) == {c for c, m in campaign.items()
                                 if m.unit in ("yuan", "cases")} | {"reached"}
    # a registry metric that is not a campaign measure is refused, naming the allowed ones
    with pytest.raises(ConfigError) as e:
        load_text(GOOD.replace('measure = "fyp"', 'measure = "attrition_rate"'), "camp.toml")
    assert "key measure:" in e.value.en and "new_recruits" in e.value.en
