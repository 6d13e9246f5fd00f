"""One metric registry (``zhuizong.kpi.registry``): every consumer reads it, no module keeps a
metric list of its own, every code used in rule files, campaigns and plans is a registry code, and
every registry entry is documented in docs/kpi-definitions.md."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import pytest

from zhuizong.basiclaw import config as bl_config
from zhuizong.campaigns import config as cp_config
from zhuizong.campaigns.signals import demo_campaign_definitions
from zhuizong.importing.kinds import KINDS
from zhuizong.kpi import registry

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "zhuizong"
DOCS = ROOT / "docs"
CODES = set(registry.MEASURES)
CJK = re.compile(r"[\u3400-\u9fff]")
#: the registry itself, and the IR's vocabulary of base measures (``ProductionMeasure`` names the
#: production sums a leaf aggregates, which share their names with the metrics built on them)
NOT_A_LIST = {SRC / "kpi" / "registry.py", SRC / "kpi" / "ir.py"}


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)]


def _metric_lists(path: Path) -> list[str]:
    """Literals of ``path`` that define metrics: a dict of ≥ 3 registry codes to labels (text with
    Chinese characters), a sequence of ≥ 3 constructor calls each given a registry code first
    (``MetricDef("fyc", …)``), or a ``Literal[…]`` of ≥ 3 registry codes."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
        where = f"{name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Dict):
            labelled = [k.value for k, v in zip(node.keys, node.values, strict=True)
                        if isinstance(k, ast.Constant) and k.value in CODES
                        and any(CJK.search(s) for s in _strings(v))]
            if len(labelled) >= 3:
                found.append(f"{where} dict of metric labels {labelled[:4]}")
        elif isinstance(node, ast.Tuple | ast.List):
            defs = [e for e in node.elts if isinstance(e, ast.Call) and e.args
                    and isinstance(e.args[0], ast.Constant) and e.args[0].value in CODES
                    and isinstance(e.func, ast.Name | ast.Attribute)
                    and (e.func.id if isinstance(e.func, ast.Name) else e.func.attr)[:1].isupper()]
            if len(defs) >= 3:
                found.append(f"{where} sequence of metric definitions")
        elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
              and node.value.id == "Literal"):
            codes = [s for s in _strings(node.slice) if s in CODES]
            if len(codes) >= 3:
                found.append(f"{where} Literal of metric codes {codes[:4]}")
    return found


def test_the_guard_recognises_a_metric_list(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'M = {"fyp": ("首年保费", "FYP"), "fyc": ("FYC", "佣金"), "cases": ("件数", "cases")}\n'
        'D = (Def("fyp", 1), Def("fyc", 2), Def("cases", 3))\n'
        'T = Literal["fyp", "fyc", "cases"]\n'
        'OK = {"fyp": "mtd_fyp", "fyc": "mtd_fyc", "cases": "mtd_cases"}  # a rename\n'
        'SEL = ("fyp", "fyc", "cases")  # a selection of registry codes\n', encoding="utf-8")
    found = _metric_lists(sample)
    assert [f.split(" ", 1)[1].split(" [")[0] for f in found] == [
        "dict of metric labels", "sequence of metric definitions", "Literal of metric codes"]


def test_no_module_defines_its_own_metric_list() -> None:
    found = [f for path in sorted(SRC.rglob("*.py")) if path not in NOT_A_LIST
             for f in _metric_lists(path)]
    assert not found, ("metrics are declared once, in zhuizong.kpi.registry; derive views from "
                       f"it instead: {found}")
    assert not (SRC / "metrics").exists(), "the former zhuizong.metrics catalog is gone"


def test_consumers_views_are_derived_from_the_registry() -> None:
    assert set(bl_config.METRICS) == {c for c, m in registry.MEASURES.items() if m.basic_law}
    assert set(bl_config.NOT_YET) == {c for c, m in registry.MEASURES.items()
                                      if m.basic_law_pending}
    for code, md in bl_config.METRICS.items():
        m = registry.MEASURES[code]
        assert (md.zh, md.en, md.team, md.flow) == (m.zh, m.en, m.team, m.flow)
        assert md.kpi == (code if code in registry.METRICS else None)
    assert set(cp_config.MEASURES) == {c for c, m in registry.MEASURES.items() if m.campaign}
    plan = next(c for c in KINDS["plans"].columns if c.code == "metric")
    assert list(plan.choices) == [c for c, m in registry.METRICS.items() if m.plannable]
    # every consumer-computed measure says who computes it and why the IR cannot
    for m in registry.MEASURES.values():
        assert isinstance(m, registry.Metric) != isinstance(m, registry.ConsumerMeasure), m.code
        if isinstance(m, registry.ConsumerMeasure):
            assert m.why_not_ir and (m.basic_law or m.campaign) and not m.plannable, m.code
            assert m.code not in registry.METRICS
    assert list(registry.METRICS) == [c for c, m in registry.MEASURES.items()
                                      if isinstance(m, registry.Metric)]


def test_registry_rejects_contradictions() -> None:
    with pytest.raises(ValueError, match="duplicate metric fyp"):
        registry._m("fyp", "x", "x", "yuan", "", "", registry.FYP)
    with pytest.raises(ValueError, match="per agent"):
        registry._check(registry.Metric(code="zz_x", zh="x", en="x", unit="persons",
                                        formula_zh="", formula_en="", node=registry.OPEN,
                                        campaign=True))
    with pytest.raises(ValueError, match="higher_is_better"):
        registry._check(registry.Metric(code="zz_y", zh="y", en="y", unit="yuan", formula_zh="",
                                        formula_en="", node=registry.FYP, per_agent=True,
                                        basic_law=True, higher_is_better=False))
    assert "zz_x" not in registry.MEASURES and "zz_y" not in registry.MEASURES


# --- every code used is a registry code ------------------------------------------------------


@pytest.mark.parametrize("name", bl_config.EXAMPLES)
def test_basic_law_examples_use_registry_codes(name: str) -> None:
    data = tomllib.loads(bl_config.example_text(name))
    used = {c["metric"] for r in data["rules"].values() for c in r["criteria"]}
    assert used and used <= CODES
    assert all(registry.MEASURES[c].basic_law for c in used)
    bl_config.load_example(name)  # and the file loads


def test_campaign_definitions_use_registry_codes() -> None:
    used = {d["measure"] for d in demo_campaign_definitions(dt.date(2026, 6, 30))}
    text = (DOCS / "campaigns.md").read_text(encoding="utf-8")
    documented = re.search(r'^measure = "(\w+)"\s+# ([\w |]+)$', text, re.M)
    assert documented, "the campaign example in docs/campaigns.md lists the measures"
    used.add(documented.group(1))
    listed = [x.strip() for x in documented.group(2).split("|")]
    assert set(listed) == {c for c, m in registry.MEASURES.items() if m.campaign}
    assert used <= CODES and all(registry.MEASURES[c].campaign for c in used)
    assert {d["measure"] for d in demo_campaign_definitions(dt.date(2026, 6, 30))} <= set(
        cp_config.MEASURES)


def test_plan_files_use_registry_codes() -> None:
    files = [DOCS / "examples" / "plans.csv", DOCS / "examples" / "plans.zh.csv",
             ROOT / "tests" / "fixtures" / "bad" / "plans_valid_zh_headers.csv"]
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        col = rows[0].index("metric") if "metric" in rows[0] else rows[0].index("指标")
        used = {r[col] for r in rows[1:] if r}
        assert used and all(registry.METRICS[c].plannable for c in used), path.name


# --- documented -----------------------------------------------------------------------------


def test_every_registry_entry_is_documented() -> None:
    text = (DOCS / "kpi-definitions.md").read_text(encoding="utf-8")
    missing = [c for c in registry.MEASURES if f"| `{c}` |" not in text]
    assert not missing, f"not in docs/kpi-definitions.md (run `make docs`): {missing}"
    spec = importlib.util.spec_from_file_location("zz_gen_docs_registry", DOCS / "gen_docs.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = gen
    spec.loader.exec_module(gen)
    current, new = gen.render_all(DOCS)[DOCS / "kpi-definitions.md"]
    assert current == new, "docs/kpi-definitions.md is stale: run `make docs`"
    basic_law = (DOCS / "basic-law.md").read_text(encoding="utf-8")
    for code in [*bl_config.METRICS, *bl_config.NOT_YET]:
        assert f"`{code}`" in basic_law, code
