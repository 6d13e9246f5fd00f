"""The rule registry: tracking rules declared in TOML, validated on load, evaluated in bulk.

The shipped defaults (``default_rules.toml``, the triggers of product.md) are overlaid key by key
with the workspace's own file (setting ``tracking.rules_file``), so a deployment disables,
re-thresholds or adds rules without code. Every error names the file, the rule and the key.
"""

from __future__ import annotations

import functools
import json
import math
import string
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from zhuizong.errors import ConfigError
from zhuizong.store.models import TRACK_LINKS
from zhuizong.tracking.expr import Expr, ExprError, parse
from zhuizong.tracking.signals import AGENT_SIGNALS, ORG_SIGNALS
from zhuizong.workspace import Workspace

OWNER_ROLES = ("supervisor", "trainer", "training", "assessment", "campaign", "executive")
_KEYS = {"link", "subject", "when", "params", "facts", "message_zh", "message_en", "clear_zh",
         "clear_en", "owner_role", "copy_roles", "due_days", "priority", "target", "enabled"}
_REQUIRED = ("link", "subject", "when", "message_zh", "message_en", "owner_role")
DEFAULT_FILE = "default_rules.toml"


@dataclass(frozen=True)
class Rule:
    name: str
    link: str
    subject: str  # "agent" | "org"
    when: Expr
    params: dict[str, float | int | str]
    facts: dict[str, Expr]
    message_zh: str
    message_en: str
    clear_zh: str
    clear_en: str
    owner_role: str
    copy_roles: tuple[str, ...] = ()
    due_days: int = 1
    priority: int = 3
    target: str | None = None
    order: int = 0
    source: str = ""

    @functools.cached_property
    def fact_names(self) -> list[str]:
        """Names whose values are stored with a fired reason: what the message and condition use."""
        used = set(self.when.names) | set(_template_names(self.message_zh)) \
            | set(_template_names(self.message_en))
        for e in self.facts.values():
            used |= e.names
        out = [n for n in sorted(used) if n not in self.params]
        return out

    def evaluate(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` (signals) where the rule fires, with its facts as columns."""
        env: dict[str, Any] = {c: frame[c] for c in frame.columns}
        env.update(self.params)
        for name, e in self.facts.items():
            env[name] = e.evaluate(env)
        mask = self.when.evaluate(env)
        if not isinstance(mask, pd.Series):
            mask = pd.Series(bool(mask), index=frame.index)
        mask = mask.fillna(False).astype(bool)
        out = frame.loc[mask].copy()
        for name in self.facts:
            v = env[name]
            out[name] = v.loc[mask] if isinstance(v, pd.Series) else v
        return out

    @functools.cached_property
    def _template_fields(self) -> tuple[list[str], list[str]]:
        return _template_names(self.message_zh), _template_names(self.message_en)

    def render(self, row: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        """(message_zh, message_en, facts) for one fired row (only the names used are converted)."""
        params = self.params
        facts = {n: _plain(row[n] if n in row else params.get(n)) for n in self.fact_names}
        zh_names, en_names = self._template_fields
        def pick(names: list[str]) -> dict[str, Any]:
            return {n: (facts[n] if n in facts else _plain(row[n] if n in row else params.get(n)))
                    for n in names}
        return _fmt(self.message_zh, pick(zh_names)), _fmt(self.message_en, pick(en_names)), facts


@dataclass
class RuleSet:
    rules: list[Rule]
    sources: list[str] = field(default_factory=list)

    def for_subject(self, subject: str) -> list[Rule]:
        return [r for r in self.rules if r.subject == subject]

    def by_name(self) -> dict[str, Rule]:
        return {r.name: r for r in self.rules}


def _plain(v: Any) -> Any:
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float):
        if math.isnan(v):
            return None
        return int(v) if v.is_integer() and abs(v) < 2**53 else round(v, 6)
    return v


def _template_names(t: str) -> list[str]:
    try:
        return [f for _, f, _, _ in string.Formatter().parse(t) if f]
    except ValueError:
        return []


class _Missing(dict):  # format_map default: leave unknown fields visible
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class _Lenient(string.Formatter):
    """A field whose value does not take the format spec ("—" for a missing number under
    ``{x:.0%}``) is shown as plain text instead of failing the whole run."""

    def format_field(self, value: Any, format_spec: str) -> str:
        try:
            return super().format_field(value, format_spec)
        except (ValueError, TypeError):
            return str(value)


def _fmt(template: str, values: dict[str, Any]) -> str:
    clean = {k: (_plain(v) if not isinstance(v, str) else v) for k, v in values.items()}
    clean = {k: ("—" if v is None else v) for k, v in clean.items()}
    try:
        return template.format_map(_Missing(clean))
    except (ValueError, TypeError):
        return _Lenient().vformat(template, (), _Missing(clean))


def _err(source: str, rule: str, key: str, zh: str, en: str) -> ConfigError:
    return ConfigError(f"{source}: 规则 {rule} 的 {key}: {zh}", f"{source}: rule {rule}, key {key}: {en}")


def _read(path: Path | None, text: str | None, source: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text) if text is not None else tomllib.loads(path.read_text("utf-8"))  # type: ignore[union-attr]
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: TOML 格式错误: {e}", f"{source}: invalid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: 文件不是 UTF-8 编码", f"{source}: file is not UTF-8") from None
    extra = set(data) - {"rules"}
    if extra:
        k = sorted(extra)[0]
        raise ConfigError(f"{source}: 未知的顶层键 {k} (只允许 [rules.<名称>])",
                          f"{source}: unknown top-level key {k} (only [rules.<name>] tables)")
    rules = data.get("rules", {})
    if not isinstance(rules, dict) or any(not isinstance(v, dict) for v in rules.values()):
        raise ConfigError(f"{source}: rules 必须是 [rules.<名称>] 表",
                          f"{source}: rules must be [rules.<name>] tables")
    return rules


def _overlay(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if k in ("params", "facts") and isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def _build(name: str, spec: dict[str, Any], source: str, order: int) -> Rule:
    unknown = set(spec) - _KEYS
    if unknown:
        k = sorted(unknown)[0]
        raise _err(source, name, k, "未知的键", f"unknown key; allowed: {', '.join(sorted(_KEYS))}")
    for k in _REQUIRED:
        if k not in spec:
            raise _err(source, name, k, "缺少必填项", "missing (required for a new rule)")
    link = spec["link"]
    if link not in TRACK_LINKS:
        raise _err(source, name, "link", f"应为 {', '.join(TRACK_LINKS)} 之一", f"must be one of {', '.join(TRACK_LINKS)}")
    subject = spec["subject"]
    if subject not in ("agent", "org"):
        raise _err(source, name, "subject", "应为 agent 或 org", "must be agent or org")
    owner = spec["owner_role"]
    if owner not in OWNER_ROLES:
        raise _err(source, name, "owner_role", f"应为 {', '.join(OWNER_ROLES)} 之一",
                   f"must be one of {', '.join(OWNER_ROLES)}")
    copy_roles = spec.get("copy_roles", [])
    if not isinstance(copy_roles, list) or any(r not in OWNER_ROLES for r in copy_roles):
        raise _err(source, name, "copy_roles", f"应为角色列表 ({', '.join(OWNER_ROLES)})",
                   f"must be a list of roles ({', '.join(OWNER_ROLES)})")
    params = spec.get("params", {})
    if not isinstance(params, dict):
        raise _err(source, name, "params", "应为表", "must be a table")
    for pk, pv in params.items():
        if isinstance(pv, bool) or not isinstance(pv, (int, float, str)):
            raise _err(source, name, f"params.{pk}", "应为数字或文本", "must be a number or a string")
    signals = AGENT_SIGNALS if subject == "agent" else ORG_SIGNALS
    known = set(signals) | set(params)
    facts_spec = spec.get("facts", {})
    if not isinstance(facts_spec, dict):
        raise _err(source, name, "facts", "应为表", "must be a table")
    facts: dict[str, Expr] = {}
    for fk, fv in facts_spec.items():
        if fk in known:
            raise _err(source, name, f"facts.{fk}", "与信号或参数重名", "clashes with a signal or param name")
        try:
            facts[fk] = parse(str(fv), known)
        except ExprError as e:
            raise _err(source, name, f"facts.{fk}", f"表达式错误: {e}", f"bad expression: {e}") from None
        known.add(fk)
    try:
        when = parse(str(spec["when"]), known)
    except ExprError as e:
        raise _err(source, name, "when", f"条件表达式错误: {e}", f"bad condition: {e}") from None
    for key in ("message_zh", "message_en"):
        t = spec[key]
        if not isinstance(t, str):
            raise _err(source, name, key, "应为文本", "must be a string")
        try:
            names = _template_names(t)
        except ValueError as e:  # pragma: no cover - handled in _template_names
            raise _err(source, name, key, f"模板错误: {e}", f"bad template: {e}") from None
        if t.count("{") != t.count("}"):
            raise _err(source, name, key, "模板括号不匹配", "unbalanced braces in the template")
        missing = [n for n in names if n not in known]
        if missing:
            raise _err(source, name, key, f"模板引用了未知名称 {', '.join(missing)}",
                       f"template uses unknown name(s) {', '.join(missing)}")
    target = spec.get("target")
    if target is not None and target not in signals:
        raise _err(source, name, "target", "应为信号名称", "must be a signal name")
    ints = {}
    for key, lo, hi, default in (("due_days", 0, 60, 1), ("priority", 1, 9, 3)):
        v = spec.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise _err(source, name, key, f"应为 {lo}–{hi} 的整数", f"must be an integer {lo}..{hi}")
        ints[key] = v
    return Rule(
        name=name, link=link, subject=subject, when=when, params=dict(params), facts=facts,
        message_zh=spec["message_zh"], message_en=spec["message_en"],
        clear_zh=str(spec.get("clear_zh", "条件已解除")), clear_en=str(spec.get("clear_en", "condition cleared")),
        owner_role=owner, copy_roles=tuple(copy_roles), due_days=ints["due_days"],
        priority=ints["priority"], target=target, order=order, source=source,
    )


def load_rules(ws: Workspace | None = None, *, extra_text: str | None = None) -> RuleSet:
    """Defaults overlaid with the workspace's rule file (if present) and ``extra_text`` (tests)."""
    default_text = resources.files("zhuizong.tracking").joinpath(DEFAULT_FILE).read_text("utf-8")
    specs = _read(None, default_text, DEFAULT_FILE)
    sources = [DEFAULT_FILE]
    layers: list[tuple[str, dict[str, Any]]] = []
    if ws is not None:
        path = ws.home / ws.settings.tracking.rules_file
        if path.exists():
            layers.append((str(path), _read(path, None, str(path))))
    if extra_text is not None:
        layers.append(("<rules>", _read(None, extra_text, "<rules>")))
    origin = {n: DEFAULT_FILE for n in specs}
    for source, layer in layers:
        sources.append(source)
        for name, spec in layer.items():
            specs[name] = _overlay(specs.get(name, {}), spec)
            origin[name] = source
    rules = []
    for i, (name, spec) in enumerate(specs.items()):
        enabled = spec.get("enabled", True)
        if not isinstance(enabled, bool):
            raise _err(origin[name], name, "enabled", "应为 true 或 false", "must be true or false")
        rule = _build(name, spec, origin[name], i)
        if enabled:
            rules.append(rule)
    return RuleSet(rules, sources)


def facts_json(facts: dict[str, Any]) -> str:
    return json.dumps(facts, ensure_ascii=False, sort_keys=True)
