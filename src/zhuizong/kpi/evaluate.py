"""The one evaluator of metric definitions: a metric's IR node from its base-measure values, in
exact decimal arithmetic.

The compiler (:mod:`zhuizong.kpi.compiler`) turns every leaf of a node into numbers per key
(grain unit × segment, or agent): ``Decimal`` values, a missing key meaning 0 — or, for a
*nullable* leaf (a plan), "unknown" (None). This module combines them, and nothing else does: the
KPI engine (:func:`zhuizong.kpi.engine.compute`), the basic law (personal criteria,
:mod:`zhuizong.basiclaw.engine`) and any other consumer call it, so a decision taken on a metric is
taken on the number the KPI report shows. The rules (``docs/kpi-engine.md``):

* ``Ratio``: ``numerator / denominator``; None when either is None or the denominator is 0 (a
  zero denominator gives null, never 0). At the top of a metric a zero quotient is written as a
  plain ``0`` (not ``0E+28``): :func:`clean`.
* ``Difference``: ``left − right``; None when either is None.
* Decimal context: Python's default (28 significant digits, ROUND_HALF_EVEN) — no float anywhere.

Two forms with one definition: :func:`value` for one key from dict-form leaves
(``runners.evaluate_leaves``), :func:`column` / :func:`metric_columns` for every key at once over
aligned object columns (:func:`align`); ``tests/kpi/test_evaluate.py`` checks they agree.
:func:`at_least` is the exact comparison a threshold decision uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from zhuizong.kpi.compiler import is_nullable
from zhuizong.kpi.ir import Difference, Leaf, Node, Ratio

ZERO = Decimal(0)


def default(leaf: Leaf) -> Decimal | None:
    """The value of ``leaf`` at a key it has no value for: 0, or None (unknown) if nullable."""
    return None if is_nullable(leaf) else ZERO


def clean(v: Decimal | None) -> Decimal | None:
    """A zero quotient as plain 0 (not 0E+28); other values unchanged."""
    return ZERO if v is not None and v == 0 else v


# --- one key ----------------------------------------------------------------------------------


def value(node: Node, base: Mapping[Leaf, Mapping[Any, Decimal | None]],
          key: Any) -> Decimal | None:
    """The value of ``node`` at ``key`` from dict-form leaves ``{leaf: {key: Decimal}}``: the
    definition :func:`column` follows column-wise (an inner ratio is not :func:`clean`-ed)."""
    if isinstance(node, Ratio):
        n, d = value(node.numerator, base, key), value(node.denominator, base, key)
        return None if n is None or d is None or d == 0 else n / d
    if isinstance(node, Difference):
        a, b = value(node.left, base, key), value(node.right, base, key)
        return None if a is None or b is None else a - b
    values = base[node]
    if is_nullable(node):
        return values.get(key)
    return values.get(key, ZERO)


def metric_value(node: Node, base: Mapping[Leaf, Mapping[Any, Decimal | None]],
                 key: Any) -> Decimal | None:
    """A metric's value at ``key`` as the KPI engine reports it (:func:`value`, cleaned)."""
    return clean(value(node, base, key))


# --- every key at once ------------------------------------------------------------------------


def not_none(a: np.ndarray) -> np.ndarray:
    """Boolean mask of the entries of an object array that are not None."""
    return np.fromiter((x is not None for x in a), dtype=bool, count=len(a))


def divide(n: np.ndarray, d: np.ndarray, clean: bool = False) -> np.ndarray:
    """``n / d`` per key, None where either is None or ``d`` is 0 (``clean``: a zero quotient as
    plain 0, as :func:`clean`)."""
    out = np.full(len(n), None, dtype=object)
    ok = not_none(n) & not_none(d)
    ok[ok] = d[ok] != 0
    q = n[ok] / d[ok]
    if clean and len(q):
        zero = q == 0
        q[zero] = [ZERO for _ in range(int(zero.sum()))]
    out[ok] = q
    return out


def column(node: Node, cols: Mapping[Leaf, np.ndarray], n_keys: int) -> np.ndarray:
    """:func:`value` for every key at once: ``cols`` holds each leaf as one object column over
    the keys (``Decimal``, or None for a nullable leaf's unknown)."""
    if isinstance(node, Ratio):
        return divide(column(node.numerator, cols, n_keys),
                      column(node.denominator, cols, n_keys))
    if isinstance(node, Difference):
        a, b = column(node.left, cols, n_keys), column(node.right, cols, n_keys)
        out = np.full(n_keys, None, dtype=object)
        ok = not_none(a) & not_none(b)
        out[ok] = a[ok] - b[ok]
        return out
    return cols[node]


def metric_columns(node: Node, cols: Mapping[Leaf, np.ndarray], n_keys: int
                   ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """A metric's (value, numerator, denominator) columns as the KPI engine reports them: a ratio
    keeps its numerator and denominator and its zero quotients are plain 0; other nodes have
    neither (None)."""
    if isinstance(node, Ratio):
        n, d = column(node.numerator, cols, n_keys), column(node.denominator, cols, n_keys)
        return divide(n, d, clean=True), n, d
    return column(node, cols, n_keys), None, None


def align(base: Mapping[Leaf, Mapping[Any, Decimal | None]], keys: Sequence[Any]
          ) -> dict[Leaf, np.ndarray]:
    """Dict-form leaves as object columns over ``keys`` (a key a leaf has no value for reads as
    :func:`default`), ready for :func:`column`."""
    out: dict[Leaf, np.ndarray] = {}
    for leaf, values in base.items():
        dflt = default(leaf)
        col = np.empty(len(keys), dtype=object)
        col[:] = [v if (v := values.get(k)) is not None else dflt for k in keys]
        out[leaf] = col
    return out


# --- decisions --------------------------------------------------------------------------------


def at_least(actual: np.ndarray | Sequence[Decimal | None],
             threshold: np.ndarray | Sequence[Decimal | None]) -> np.ndarray:
    """``actual ≥ threshold`` per entry, exactly (Decimal against Decimal); False where either is
    None (no value is never "met")."""
    a = np.asarray(actual, dtype=object)
    t = np.asarray(threshold, dtype=object)
    if t.ndim == 0:
        t = np.full(len(a), t.item(), dtype=object)
    ok = not_none(a) & not_none(t)
    out = np.zeros(len(a), dtype=bool)
    if ok.any():
        out[ok] = np.fromiter((x >= y for x, y in zip(a[ok], t[ok], strict=True)), dtype=bool,
                              count=int(ok.sum()))
    return out


def as_decimal(x: float | int | str | Decimal) -> Decimal:
    """A configured number (a TOML float such as ``0.3``) as the decimal it was written as:
    ``Decimal(str(x))`` — never ``Decimal(0.3)`` (= 0.2999999999999999888977697537…)."""
    if isinstance(x, Decimal):
        return x
    if isinstance(x, bool):
        raise TypeError("a bool is not a number")
    return Decimal(str(x)) if isinstance(x, float) else Decimal(x)


__all__ = ["ZERO", "align", "as_decimal", "at_least", "clean", "column", "default", "divide",
           "metric_columns", "metric_value", "not_none", "value"]
