"""A tiny, safe expression language for rule conditions and facts, evaluated on whole columns.

Rules are configuration written by agency staff, so expressions are parsed with :mod:`ast` and
only a whitelist is accepted: names (signals, params, earlier facts), numbers and quoted strings,
``+ - * /``, comparisons (``< <= > >= == !=``, chained too), ``and / or / not`` and parentheses,
plus ``min(a, b)`` / ``max(a, b)``. Evaluation is vectorised: a name is a pandas column (or a
scalar param), so one rule is evaluated for the whole force in one pass, never agent by agent.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

_BIN: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
}
_CMP: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_FUNCS = {"min": np.minimum, "max": np.maximum}


class ExprError(ValueError):
    """A syntax or name error in an expression; the message says what and where."""


@dataclass(frozen=True)
class Expr:
    text: str
    tree: ast.expr
    names: frozenset[str]

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        return _eval(self.tree, env)


def parse(text: str, known: set[str] | frozenset[str]) -> Expr:
    """Parse ``text``; every name must be in ``known`` (signals, params, facts)."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as e:
        raise ExprError(f"syntax error at column {e.offset}: {text!r}") from None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in _FUNCS:
                names.add(node.id)
        elif isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS) or node.keywords \
                    or len(node.args) != 2:
                raise ExprError(f"only min(a, b) and max(a, b) may be called: {text!r}")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str)) or isinstance(node.value, bool):
                raise ExprError(f"unsupported constant {node.value!r} in {text!r}")
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BIN:
                raise ExprError(f"unsupported operator in {text!r}")
        elif isinstance(node, ast.Compare):
            if any(type(op) not in _CMP for op in node.ops):
                raise ExprError(f"unsupported comparison in {text!r}")
        elif isinstance(node, ast.BoolOp | ast.UnaryOp):
            if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not | ast.USub):
                raise ExprError(f"unsupported operator in {text!r}")
        elif not isinstance(node, ast.Load | ast.And | ast.Or | ast.Not | ast.USub | ast.operator
                            | ast.cmpop | ast.expr_context):
            raise ExprError(f"unsupported syntax {type(node).__name__} in {text!r}")
    unknown = sorted(names - set(known))
    if unknown:
        raise ExprError(f"unknown name(s) {', '.join(unknown)} in {text!r}")
    return Expr(text, tree, frozenset(names))


def _eval(node: ast.expr, env: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.BinOp):
        return _BIN[type(node.op)](_eval(node.left, env), _eval(node.right, env))
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        if isinstance(node.op, ast.USub):
            return -v
        return ~_as_bool(v) if isinstance(v, pd.Series) else not v
    if isinstance(node, ast.BoolOp):
        vals = [_as_bool(_eval(v, env)) for v in node.values]
        out: Any = vals[0]
        for v in vals[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return out
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        out = True
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, env)
            out = out & _compare(_CMP[type(op)], left, right)
            left = right
        return out
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        a, b = (_eval(x, env) for x in node.args)
        return _FUNCS[node.func.id](a, b)
    raise ExprError(f"cannot evaluate {ast.dump(node)}")  # pragma: no cover - parse() excludes it


def _compare(op: Callable[[Any, Any], Any], left: Any, right: Any) -> Any:
    """``op(left, right)``; on columns, a missing operand (NaN/None) gives NA (unknown), not True.

    Without this ``x != 0`` or ``not (x > 1)`` would fire for an agent whose ``x`` is missing.
    """
    out = op(left, right)
    if not isinstance(out, pd.Series):
        return out
    missing = pd.Series(False, index=out.index)
    for side in (left, right):
        if isinstance(side, pd.Series):
            missing |= side.isna()
        elif side is None or (isinstance(side, float) and np.isnan(side)):
            missing[:] = True
    out = out.astype("boolean")
    out[missing] = pd.NA
    return out


def _as_bool(v: Any) -> Any:
    """Truth of a value; a column keeps missing values as NA so that ``and / or / not`` follow
    three-valued logic (``not`` of unknown stays unknown; the rule fires only where True)."""
    if isinstance(v, pd.Series):
        if isinstance(v.dtype, pd.BooleanDtype):
            return v
        na = v.isna()
        out = v.where(~na, False).astype(bool).astype("boolean")
        out[na] = pd.NA
        return out
    return bool(v)
