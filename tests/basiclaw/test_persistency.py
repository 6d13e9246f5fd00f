"""Persistency criteria (继续率) personal and team through ``zhuizong assess run``, under every
rule-file choice for agents without policies in the cohort (met | not_met | not_assessed).

June 2026, 13-month persistency: the cohort is the regular-pay policies issued in April 2025
(month m − 14); paid = the year-2 premium received by the anniversary + grace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.basiclaw.builders import Agency
from tests.kpi_cli.builders import run_cli
from zhuizong.workspace import Workspace

LAW = """
[basic_law]
name = "persistency"
[ranks.A1]
name = "正式"
category = "formal"
level = 2
[ranks.D1]
name = "主任"
category = "director"
level = 5

[rules.A1_keep]
rank = "A1"
kind = "maintain"
window = "month"
[[rules.A1_keep.criteria]]
metric = "persistency_13"
min = 0.85
mandatory = true
no_cohort = "{choice}"
[[rules.A1_keep.criteria]]
metric = "fyc"
min = 1000

[rules.D1_keep]
rank = "D1"
kind = "maintain"
window = "month"
require = 1
[[rules.D1_keep.criteria]]
metric = "persistency_13m"
scope = "line"
depth = 1
include_self = false
min = 0.85
no_cohort = "{choice}"
[[rules.D1_keep.criteria]]
metric = "team_fyc"
scope = "line"
min = 1000000
"""


def _policy(a: Agency, agent: str, fy: float, paid: float) -> None:
    a._n += 1
    pol = f"Q{a._n:05d}"
    a.premiums.append({"txn_id": f"T{a._n:05d}a", "policy_no": pol, "agent_code": agent,
                       "product_code": "MAIN", "txn_date": "2025-04-10", "txn_type": "new",
                       "amount": fy, "fyc": fy * 0.3, "issue_date": "2025-04-10"})
    if paid:
        a.premiums.append({"txn_id": f"T{a._n:05d}b", "policy_no": pol, "agent_code": agent,
                           "product_code": "MAIN", "txn_date": "2026-04-05",
                           "txn_type": "renewal", "amount": paid, "fyc": 0, "policy_year": 2})


def _results(tmp_path: Path, choice: str) -> dict[tuple[str, str], dict[str, Any]]:
    law = tmp_path / f"p_{choice}.toml"
    law.write_text(LAW.replace("{choice}", choice), encoding="utf-8")
    code, out, err = run_cli("assess", "run", "--period", "2026-06", "--date", "2026-07-10",
                             "--rules", str(law), "--recompute", "--format", "json")
    assert code == 0, (out, err)
    return {(r["agent_code"], r["rule"]): r for r in json.loads(out)["results"]}


@pytest.fixture
def agency(workspace: Workspace) -> Workspace:
    a = Agency()
    a.agent("TH", rank="D1")  # team of P_HI and P_LO: (9,000 + 8,000) / 20,000 = 85 % exactly
    a.agent("TN", rank="D1")  # team of P_NONE: no cohort
    a.agent("P_HI", rank="A1", sup="TH")
    _policy(a, "P_HI", 10000, 9000)
    a.agent("P_LO", rank="A1", sup="TH")
    _policy(a, "P_LO", 10000, 8000)
    a.agent("P_NONE", rank="A1", sup="TN")
    for code in ("P_HI", "P_LO", "P_NONE"):
        a.sale(code, "2026-06-10", 1000)
    a.load(workspace)
    return workspace


@pytest.mark.parametrize("choice", ["met", "not_met", "not_assessed"])
def test_persistency_choices(agency: Workspace, tmp_path: Path, choice: str) -> None:
    r = _results(tmp_path, choice)
    hi, lo, none = (r[a, "A1_keep"] for a in ("P_HI", "P_LO", "P_NONE"))
    crit = {a: x["criteria"][0] for a, x in (("hi", hi), ("lo", lo), ("none", none))}
    # with a cohort the choice does not matter: 90 % ≥ 85 %, 80 % < 85 %
    assert (crit["hi"]["actual"], crit["hi"]["met"], hi["outcome"]) == (0.9, True, "maintain")
    assert (crit["lo"]["actual"], crit["lo"]["met"], lo["outcome"]) == (0.8, False, "not_met")
    assert lo["gap_zh"] == "差 5.0 个百分点13个月继续率"
    team = r["TH", "D1_keep"]["criteria"][0]
    assert (team["actual"], team["met"]) == (0.85, True)  # pooled exactly: 17,000 / 20,000
    assert r["TH", "D1_keep"]["outcome"] == "maintain"
    # without a cohort: the rule file decides
    assert crit["none"]["actual"] is None
    tn = r["TN", "D1_keep"]
    if choice == "met":
        assert (crit["none"]["met"], none["outcome"], tn["outcome"]) == (True, "maintain",
                                                                         "maintain")
    elif choice == "not_met":
        assert (crit["none"]["met"], none["outcome"], tn["outcome"]) == (False, "not_met",
                                                                         "not_met")
        assert none["gap_zh"].startswith("差 85.0 个百分点")
    else:  # left out: A1 keeps on FYC alone, D1's "1 of 2" becomes "1 of 1" (team FYC: no)
        assert crit["none"].get("assessed") is False and "gap_zh" not in crit["none"]
        assert (none["outcome"], none["required_count"], none["gap_zh"]) == ("maintain", 1, "")
        assert tn["criteria"][0].get("assessed") is False
        assert (tn["outcome"], tn["required_count"]) == ("not_met", 1)
        assert "persistency" not in tn["gap_en"]
