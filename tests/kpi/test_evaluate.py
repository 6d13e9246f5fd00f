"""The one evaluator (:mod:`zhuizong.kpi.evaluate`): exact decimals, one definition in two forms
(per key and column-wise), and no other module evaluating IR nodes."""

from __future__ import annotations

import random
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from zhuizong.kpi import engine as kpi_engine
from zhuizong.kpi import evaluate
from zhuizong.kpi.ir import Difference, Leaf, Plan, Production, Ratio, leaves
from zhuizong.kpi.registry import METRICS

SRC = Path(__file__).resolve().parents[2] / "src" / "zhuizong"
FYP, PREV = Production("fyp"), Production("fyp", "previous")


def test_exact_decimal_arithmetic() -> None:
    base = {FYP: {"u": Decimal("0.3")}, PREV: {"u": Decimal("0.1")}}
    diff = evaluate.value(Difference(FYP, PREV), base, "u")
    assert diff == Decimal("0.2") and 0.3 - 0.1 != 0.2  # a float would be 0.19999999999999998
    third = evaluate.value(Ratio(PREV, FYP), base, "u")
    assert third == Decimal(1) / Decimal(3)
    assert not evaluate.at_least([third], [Decimal("0.3334")])[0]
    assert evaluate.at_least([third], [Decimal("0.3333")])[0]
    # 0.1 + 0.2 is exactly 0.3: the threshold is met, which float addition would deny
    total = Decimal("0.1") + Decimal("0.2")
    assert evaluate.at_least([total], Decimal("0.3"))[0] and not 0.1 + 0.2 <= 0.3
    assert evaluate.as_decimal(0.3) == Decimal("0.3") != Decimal(0.3)
    assert evaluate.as_decimal(3) == Decimal(3)


def test_nulls_zero_denominators_and_clean_zero() -> None:
    plan = Plan("fyp")
    base: dict[Leaf, dict[str, Decimal]] = {FYP: {"a": Decimal(0), "b": Decimal(5)},
                                            plan: {"a": Decimal("2.50")}}
    node = Ratio(FYP, plan)
    assert evaluate.value(node, base, "b") is None  # no plan: unknown, not 0
    assert evaluate.value(node, base, "c") is None
    assert evaluate.value(FYP, base, "c") == 0  # a missing production key is 0
    assert evaluate.value(Ratio(plan, FYP), base, "a") is None  # zero denominator: null
    zero = evaluate.metric_value(node, base, "a")
    assert zero == 0 and str(zero) == "0"  # plain 0, not 0E-2
    cols = evaluate.align(base, ["a", "b", "c"])
    v, n, d = evaluate.metric_columns(node, cols, 3)
    assert [str(x) if x is not None else None for x in v] == ["0", None, None]
    assert list(n) == [Decimal(0), Decimal(5), Decimal(0)] and list(d) == [Decimal("2.50"), None,
                                                                           None]
    assert evaluate.metric_columns(FYP, cols, 3)[1:] == (None, None)
    assert list(evaluate.at_least(np.array([None, Decimal(1), Decimal(1)], dtype=object),
                                  np.array([Decimal(0), None, Decimal(1)], dtype=object))) == [
        False, False, True]


@pytest.mark.parametrize("seed", range(5))
def test_per_key_and_column_forms_agree_on_every_metric(seed: int) -> None:
    rng = random.Random(seed)
    keys = [f"k{i}" for i in range(30)]
    pool = [Decimal(0), Decimal(1), Decimal(3), Decimal("0.1"), Decimal("0.2"), Decimal("-7.25"),
            Decimal("1234567.89"), Decimal("0.000001")]
    all_leaves = {lf for m in METRICS.values() for lf in leaves(m.node)}
    base = {lf: {k: rng.choice(pool) for k in keys if rng.random() < 0.7} for lf in all_leaves}
    cols = evaluate.align(base, keys)
    for code, m in METRICS.items():
        col, _n, _d = evaluate.metric_columns(m.node, cols, len(keys))
        for i, k in enumerate(keys):
            want = evaluate.metric_value(m.node, base, k)
            assert col[i] == want and (col[i] is None) == (want is None), (code, k)


def test_no_other_module_evaluates_ir_nodes() -> None:
    """IR nodes are combined only in kpi/evaluate.py: the KPI engine and the basic law call it
    (kpi/ir.py declares the nodes, kpi/registry.py builds them)."""
    for helper in ("_eval", "_eval_col", "_divide", "_clean", "_not_none"):
        assert not hasattr(kpi_engine, helper), helper
    allowed = {SRC / "kpi" / "ir.py", SRC / "kpi" / "registry.py", SRC / "kpi" / "evaluate.py"}
    offenders = []
    for path in SRC.rglob("*.py"):
        if path in allowed:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\b(Ratio|Difference)\b", text):
            offenders.append(str(path.relative_to(SRC)))
    assert not offenders, f"modules evaluating IR nodes outside kpi/evaluate.py: {offenders}"
