"""The rule expression language: a whitelist parsed with ``ast``, evaluated on whole columns.

Anything that could reach Python objects (attributes, calls, subscripts, lambdas, comprehensions,
unknown names) is refused at parse time; evaluation is vectorised, and a missing value (NaN /
None) never makes a condition fire — not even under ``not`` or ``!=``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zhuizong.tracking.expr import ExprError, parse

KNOWN = frozenset({"x", "y", "c", "limit"})


@pytest.mark.parametrize("text, fragment", [
    ("x.real > 0", "Attribute"),
    ("x.__class__", "Attribute"),
    ("().__class__.__bases__", ""),
    ("abs(x) > 1", "min(a, b) and max(a, b)"),
    ("__import__('os')", "min(a, b) and max(a, b)"),
    ("print(x)", "min(a, b) and max(a, b)"),
    ("x.max(y)", "min(a, b) and max(a, b)"),  # a method call, even of an allowed name
    ("min(x)", "min(a, b) and max(a, b)"),  # wrong arity
    ("min(x, y, 1)", "min(a, b) and max(a, b)"),
    ("max(x, b=1)", "min(a, b) and max(a, b)"),  # keywords
    ("x[0] > 1", "Subscript"),
    ("c['a']", "Subscript"),
    ("(lambda: 1)()", ""),
    ("lambda: x", "Lambda"),
    ("[v for v in x]", ""),
    ("{1, 2}", "Set"),
    ("x if y else 1", "IfExp"),
    ("x ** 2 > 1", "unsupported operator"),
    ("x // 2 > 1", "unsupported operator"),
    ("x % 2 == 0", "unsupported operator"),
    ("x in c", "unsupported comparison"),
    ("x is None", ""),
    ("~x", "unsupported operator"),
    ("True", "unsupported constant"),
    ("None", "unsupported constant"),
    ("z > 1", "unknown name(s) z"),
    ("x > other and y < limit", "unknown name(s) other"),
    ("min(x, os) > 0", "unknown name(s) os"),
    ("x >", "syntax error"),
    ("x = 1", "syntax error"),
    ("", "syntax error"),
])
def test_rejected(text: str, fragment: str) -> None:
    with pytest.raises(ExprError) as exc:
        parse(text, KNOWN)
    assert fragment in str(exc.value)


def test_accepted_names_are_reported() -> None:
    e = parse("min(x, limit) >= 1 and not (y < 0) or c == 'formal'", KNOWN)
    assert e.names == frozenset({"x", "limit", "y", "c"})
    assert "min" not in e.names


def _env() -> dict:
    df = pd.DataFrame({
        "x": [np.nan, 0.0, 1.0, 5.0, -2.0],
        "y": [1.0, np.nan, 2.0, 3.0, 0.0],
        "c": ["formal", "probationary", None, "formal", "director"],
    })
    env = {k: df[k] for k in df.columns}
    env["limit"] = 1
    return env


def fired(text: str, env: dict | None = None) -> list[int]:
    """Row positions where the condition is true (NA counts as not firing, as in Rule.evaluate)."""
    v = parse(text, KNOWN).evaluate(env or _env())
    assert isinstance(v, pd.Series) and len(v) == 5, v  # one value per row: vectorised
    return [i for i, b in enumerate(v.fillna(False).astype(bool)) if b]


@pytest.mark.parametrize("text, rows", [
    ("x >= limit", [2, 3]),
    ("x > limit", [3]),
    ("x <= 0", [1, 4]),
    ("x < 0", [4]),
    ("x == 0", [1]),
    ("x != 0", [2, 3, 4]),  # NaN is not "different from 0": it is unknown
    ("not (x > 1)", [1, 2, 4]),  # nor "not above 1"
    ("not x", [1]),  # a bare column is true where non-zero; NaN stays unknown
    ("x", [2, 3, 4]),
    ("x >= 0 and y >= 2", [2, 3]),
    ("x >= 0 or y >= 1", [0, 1, 2, 3]),  # NaN x, but y = 1 makes row 0 fire
    ("x > 100 or y > 100", []),
    ("0 <= x < 5", [1, 2]),  # chained comparisons
    ("x + y > 3", [3]),  # NaN propagates through arithmetic
    ("x * 2 - y / 2 >= 0", [2, 3]),
    ("-x > 1", [4]),
    ("min(x, y) >= 1", [2, 3]),
    ("max(x, y) >= 1", [2, 3]),  # NaN in either side of min/max: unknown
    ("c == 'formal'", [0, 3]),
    ("c != 'formal'", [1, 4]),  # None is not "other than formal"
    ("not (c == 'formal')", [1, 4]),
    ("c == 'formal' and x > 0", [3]),
])
def test_vectorised_evaluation_with_missing_values(text: str, rows: list[int]) -> None:
    assert fired(text) == rows


def test_scalars_only_and_params() -> None:
    assert parse("limit + 1 > 1", KNOWN).evaluate({"limit": 1}) is True
    assert not parse("limit > 1", KNOWN).evaluate({"limit": 1})


def test_no_python_evaluation_of_strings() -> None:
    # a string constant is only ever compared, never evaluated
    env = _env()
    env["c"] = pd.Series(["__import__('os').system('false')"] * 5)
    assert fired("c == 'x'", env) == []


def test_large_columns_evaluate_in_one_pass() -> None:
    n = 200_000
    rng = np.random.default_rng(7)
    x = pd.Series(rng.integers(0, 100, n).astype(float))
    x[::10] = np.nan
    y = pd.Series(rng.integers(0, 100, n).astype(float))
    v = parse("x >= 50 and not (y < 10)", KNOWN).evaluate({"x": x, "y": y})
    expect = (x >= 50) & (y >= 10) & x.notna()
    assert (v.fillna(False).astype(bool) == expect).all()
