"""The rule-file format: both examples load; every error names the file, the rule and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhuizong.basiclaw import config
from zhuizong.errors import ConfigError

DOC = Path(__file__).resolve().parents[2] / "docs" / "basic-law.md"

HEAD = """
[basic_law]
name = "t"
[ranks.T]
name = "试用"
category = "probationary"
level = 1
[ranks.A]
name = "正式"
category = "formal"
level = 2
"""


@pytest.mark.parametrize("name", config.EXAMPLES)
def test_examples_load(name: str) -> None:
    law = config.load_example(name)
    assert law.rules and law.ladder()[0] == "T"
    for rule in law.rules:
        assert law.rules[rule].criteria


def test_demo_example_uses_the_demo_ranks() -> None:
    from zhuizong.demo.generator import RANKS

    law = config.load_example(config.DEMO_EXAMPLE)
    assert {c: (cat, lv) for c, _n, cat, lv in RANKS} == {
        c: (r.category, r.level) for c, r in law.ranks.items()}


def _err(body: str) -> str:
    with pytest.raises(ConfigError) as e:
        config.parse(HEAD + body, "my_law.toml")
    assert "my_law.toml" in e.value.en
    return e.value.en


def test_errors_name_file_rule_and_key() -> None:
    rule = '[rules.conv]\nrank = "T"\nkind = "convert"\n'
    crit = '[[rules.conv.criteria]]\nmetric = "fyc"\nmin = 100\n'
    msg = _err(rule + "colour = 1\n" + crit)
    assert "rule conv" in msg and "colour" in msg and "unknown key" in msg
    msg = _err(rule.replace('"T"', '"X"') + crit)
    assert "rule conv" in msg and "key rank" in msg and "unknown rank X" in msg
    msg = _err(rule + crit.replace("100", "-1"))
    assert "rule conv" in msg and "criteria.0.min" in msg
    msg = _err(rule + crit.replace('"fyc"', '"persistency_13m"').replace("100", "0.8"))
    assert "criteria.0.no_cohort" in msg and "not_assessed" in msg
    msg = _err(rule + crit + 'no_cohort = "met"\n')
    assert "criteria.0.no_cohort" in msg and "only used with persistency" in msg
    msg = _err(rule + crit.replace('"fyc"', '"persistency_25"').replace("100", "0.8")
               + 'no_cohort = "maybe"\n')
    assert "criteria.0.no_cohort" in msg and "invalid value" in msg
    msg = _err(rule + crit.replace('"fyc"', '"attrition_rate"'))  # a registry metric, not usable
    assert "criteria.0.metric" in msg and "cannot be tested by the basic law" in msg
    msg = _err(rule + crit.replace('"fyc"', '"fyx"'))
    assert "criteria.0.metric" in msg and "unknown metric fyx" in msg
    msg = _err(rule + crit + 'unit = "Q"\n')
    assert "criteria.0.unit" in msg and "[q]" in msg
    msg = _err(rule + "require = 3\n" + crit)
    assert "key require" in msg
    msg = _err(rule + crit.replace('"fyc"', '"team_fyc"'))
    assert "criteria.0.scope" in msg
    msg = _err(rule + 'window = "rolling"\n' + crit)
    assert "key months" in msg
    msg = _err(rule.replace('"convert"', '"promote"') + 'on_fail = ["demote"]\n' + crit)
    assert "key on_fail" in msg
    msg = _err(rule + 'on_fail = ["contract_end", "extra_period"]\n' + crit)
    assert "key on_fail" in msg and "last" in msg
    msg = _err('[ranks.B]\nname = "b"\ncategory = "formal"\nlevel = 2\n')
    assert "rank B" in msg and "level" in msg
    with pytest.raises(ConfigError, match="invalid TOML"):
        config.parse("[basic_law\n", "broken.toml")


def test_docs_describe_every_metric_and_both_examples() -> None:
    text = DOC.read_text(encoding="utf-8")
    for code in [*config.METRICS, *config.NOT_YET]:
        assert f"`{code}`" in text, f"metric {code} is not documented in docs/basic-law.md"
    for name in config.EXAMPLES:
        assert name in text
