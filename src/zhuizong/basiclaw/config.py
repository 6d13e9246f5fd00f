"""The basic-law rule file (TOML): format, validation on load, frozen typed models.

A rule file declares the rank ladder, an optional per-branch unit Q, and rules (conversion,
promotion, maintenance) with their window, tenure prerequisites, criteria, "k of n" requirement
and failure ladder. The format is documented in ``docs/basic-law.md``; two complete examples ship
in ``zhuizong/basiclaw/examples``.

Like the tracking rule files (:mod:`zhuizong.tracking.rules`), the file is validated before
anything is computed, and every error names the file, the rule (or table) and the key, and says
what is allowed. Structure and types are checked by pydantic models (``extra="forbid"``, frozen);
the checks that need the whole file (a rule's rank exists, a promotion goes up the ladder, a
criterion in Q needs a Q table, a team metric needs a tree) follow in :func:`_cross_check`.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zhuizong.errors import ConfigError
from zhuizong.kpi import registry
from zhuizong.store.models import RANK_CATEGORIES

# --- metrics a criterion may test ----------------------------------------------------------------
# Derived from the one registry (:mod:`zhuizong.kpi.registry`): a criterion may test a measure
# declared there with ``basic_law``; nothing about a metric is declared here.

#: the counting word after a number in gap texts, per registry unit ("差 1 名直接增员")
_COUNT_WORD = {"yuan": "元", "persons": "名", "cases": "件", "groups": "个", "rate": "",
               "months": "个月"}


@dataclass(frozen=True)
class MetricDef:
    """The basic law's view of a registry measure."""

    code: str
    zh: str
    en: str
    unit: Literal["money", "count", "rate"]
    team: bool  # needs scope "line" or "recruits"
    flow: bool  # accumulates over the window (projected linearly); else a state or a rate
    unit_zh: str = ""  # the word after the number in gap texts: 元, 名, 件, 个
    kpi: str | None = None  # the KPI engine metric behind it (personal metrics)
    noun_zh: str = ""  # the noun in gap texts when it differs from zh ("差 1 件新契约")

    @classmethod
    def of(cls, m: registry.Measure) -> MetricDef:
        unit: Literal["money", "count", "rate"] = (
            "money" if m.unit == "yuan" else "rate" if m.unit == "rate" else "count")
        return cls(m.code, m.zh, m.en, unit, m.team, m.flow, _COUNT_WORD[m.unit],
                   m.code if m.code in registry.METRICS else None, m.noun_zh)


METRICS: dict[str, MetricDef] = {
    code: MetricDef.of(m) for code, m in registry.MEASURES.items() if m.basic_law}
#: registry measures meant for the basic law whose judging is not decided yet (rejected with that
#: message); empty since persistency became testable (issue 17)
NOT_YET: dict[str, str] = {
    code: m.zh for code, m in registry.MEASURES.items() if m.basic_law_pending}
#: persistency criteria (继续率): personal, or a team's Σ paid / Σ due over a tree; each needs
#: ``no_cohort`` (how an agent without policies in the cohort is judged)
PERSISTENCY = tuple(c for c in METRICS if c.startswith("persistency_") and c.endswith("m"))
#: the names the rule file may also use for them ("persistency_13" = "persistency_13m")
METRIC_ALIASES = {c[:-1]: c for c in PERSISTENCY}
NoCohort = Literal["met", "not_met", "not_assessed"]

RuleKind = Literal["convert", "promote", "maintain"]
FailStep = Literal["extra_period", "demote", "contract_end"]
WindowKind = Literal["month", "quarter", "rolling"]
EXAMPLES = ("q_units.toml", "ladder.toml")
DEMO_EXAMPLE = "ladder.toml"  # the example whose rank codes are the demo agency's


# --- models ----------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Header(_Model):
    name: str = Field(min_length=1, max_length=200)
    name_en: str = ""
    #: the org level whose unit is an agent's branch (for Q); empty = the root of their org unit
    branch_level: str | None = None
    description: str = ""


class QTable(_Model):
    default: float | None = Field(None, gt=0)
    branches: dict[str, float] = Field(default_factory=dict)

    @field_validator("branches")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not x > 0:
                raise ValueError(f"Q value of {k} must be > 0 元")
        return v


class RankDef(_Model):
    name: str = Field(min_length=1, max_length=200)
    category: Literal["probationary", "formal", "director"]
    level: int = Field(ge=0, le=1000)


class Criterion(_Model):
    metric: str
    min: float = Field(ge=0)
    #: money thresholds: "yuan" (元, default) or "Q" (× the agent's branch Q value)
    unit: Literal["yuan", "元", "Q"] = "yuan"
    #: personal | line (reporting line, supervisor_code) | recruits (育成, recruiter_code)
    scope: Literal["personal", "line", "recruits"] = "personal"
    label: str = ""  # shown in gaps instead of the metric's name
    mandatory: bool = False
    #: team trees: levels below the agent (1 = direct only; 0 = all levels)
    depth: int = Field(0, ge=0, le=50)
    include_self: bool = True
    #: effective_headcount: a member counts when their FYC in the window ≥ this (in member_unit)
    member_min_fyc: float = Field(0, ge=0)
    member_unit: Literal["yuan", "元", "Q"] = "yuan"
    #: persistency: an agent (or team) without policies in the cohort: the criterion is met, not
    #: met, or not assessed (left out of the rule for that agent)
    no_cohort: NoCohort | None = None

    @field_validator("metric", mode="before")
    @classmethod
    def _alias(cls, v: Any) -> Any:
        return METRIC_ALIASES.get(v, v) if isinstance(v, str) else v

    @property
    def key(self) -> str:
        return self.label or (self.metric if self.scope in ("personal",) else
                              f"{self.metric}@{self.scope}")


class Rule(_Model):
    rank: str
    kind: RuleKind
    title: str = ""
    title_en: str = ""
    to: str | None = None  # convert / promote: the target rank (default: the next level up)
    window: WindowKind = "quarter"
    months: int | None = Field(None, ge=1, le=36)  # rolling windows only
    min_months_in_rank: int = Field(0, ge=0, le=600)
    min_tenure_months: int = Field(0, ge=0, le=600)
    require: int | None = Field(None, ge=0)  # k of the non-mandatory criteria (default: all)
    on_fail: tuple[FailStep, ...] = ()
    demote_to: str | None = None  # the rank of a "demote" step (default: one level down)
    criteria: tuple[Criterion, ...] = Field(min_length=1)


BenefitKind = Literal["new_agent_allowance", "base_pay", "management_allowance",
                      "breeding_bonus"]
#: benefit kind → (zh, en)
BENEFIT_KINDS: dict[str, tuple[str, str]] = {
    "new_agent_allowance": ("新人津贴", "new-agent allowance"),
    "base_pay": ("底薪", "base pay"),
    "management_allowance": ("管理津贴", "management allowance"),
    "breeding_bonus": ("育成奖", "breeding bonus"),
}


class MonthTier(_Model):
    """新人津贴: the amount of work months ``from_month``–``to_month`` (1 = the hire month)."""

    from_month: int = Field(ge=1, le=120)
    to_month: int = Field(ge=1, le=120)
    amount: float = Field(ge=0)
    min_fyc: float = Field(0, ge=0)  # FYC of the window needed for the month's allowance


class PayTier(_Model):
    """底薪: paid when the window's FYC ≥ ``min_fyc`` (and attendance ≥ ``min_attendance``)."""

    min_fyc: float = Field(ge=0)
    amount: float = Field(ge=0)
    min_attendance: float | None = Field(None, ge=0, le=1)


class GenerationRate(_Model):
    """育成奖: ``rate`` × the bred group's FYC for groups of ``generation`` in their years
    ``from_year``–``to_year`` since the bred director's promotion (year 1 = the first 12 months)."""

    generation: int = Field(ge=1, le=10)
    from_year: int = Field(1, ge=1, le=50)
    to_year: int | None = Field(None, ge=1, le=50)
    rate: float = Field(gt=0, le=1)


class Benefit(_Model):
    kind: BenefitKind
    title: str = ""
    title_en: str = ""
    #: ranks on the evaluation day that earn it (empty: every rank)
    ranks: tuple[str, ...] = ()
    window: WindowKind = "month"
    months: int | None = Field(None, ge=1, le=36)
    # new_agent_allowance
    schedule: tuple[MonthTier, ...] = ()
    reach_rank: str | None = None  # paid from the month after the agent reaches this rank …
    reach_by_month: int | None = Field(None, ge=1, le=120)  # … if reached by this work month
    # base_pay
    tiers: tuple[PayTier, ...] = ()
    min_attendance: float | None = Field(None, ge=0, le=1)  # every tier
    # management_allowance: rank → rate of the direct group's FYC
    rates: dict[str, float] = Field(default_factory=dict)
    # breeding_bonus
    generations: tuple[GenerationRate, ...] = ()
    # management_allowance / breeding_bonus: the (direct or bred) group's FYC must reach this
    min_group_fyc: float = Field(0, ge=0)
    include_self: bool = True  # the director's own FYC counts in their direct group

    @property
    def last_month(self) -> int:
        return max((t.to_month for t in self.schedule), default=0)


#: the fields each benefit kind uses (besides kind, title, ranks, window, months)
_BENEFIT_FIELDS: dict[str, tuple[str, ...]] = {
    "new_agent_allowance": ("schedule", "reach_rank", "reach_by_month"),
    "base_pay": ("tiers", "min_attendance"),
    "management_allowance": ("rates", "min_group_fyc", "include_self"),
    "breeding_bonus": ("generations", "min_group_fyc", "include_self"),
}
_REQUIRED_FIELD = {"new_agent_allowance": "schedule", "base_pay": "tiers",
                   "management_allowance": "rates", "breeding_bonus": "generations"}


class RuleFile(_Model):
    basic_law: Header
    q: QTable | None = None
    ranks: dict[str, RankDef] = Field(min_length=1)
    rules: dict[str, Rule] = Field(default_factory=dict)
    benefits: dict[str, Benefit] = Field(default_factory=dict)


# --- loaded ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BasicLaw:
    """A validated rule file."""

    model: RuleFile
    source: str
    sha256: str

    @property
    def name(self) -> str:
        return self.model.basic_law.name

    @property
    def ranks(self) -> dict[str, RankDef]:
        return self.model.ranks

    @property
    def rules(self) -> dict[str, Rule]:
        return self.model.rules

    @property
    def benefits(self) -> dict[str, Benefit]:
        return self.model.benefits

    def ladder(self) -> list[str]:
        """Rank codes from the lowest level to the highest."""
        return sorted(self.ranks, key=lambda c: (self.ranks[c].level, c))

    def next_up(self, rank: str) -> str | None:
        lad = self.ladder()
        i = lad.index(rank)
        return lad[i + 1] if i + 1 < len(lad) else None

    def next_down(self, rank: str) -> str | None:
        lad = self.ladder()
        i = lad.index(rank)
        return lad[i - 1] if i > 0 else None

    def target(self, rule_name: str) -> str | None:
        """The rank a passed convert/promote rule leads to."""
        r = self.rules[rule_name]
        if r.kind == "maintain":
            return None
        return r.to or self.next_up(r.rank)

    def demotion(self, rule_name: str) -> str | None:
        """The rank of a ``demote`` failure step (None: there is no lower rank)."""
        r = self.rules[rule_name]
        return r.demote_to or self.next_down(r.rank)

    def q_value(self, branch: str) -> float | None:
        q = self.model.q
        if q is None:
            return None
        return q.branches.get(branch, q.default)


def _err(source: str, where: str, key: str, zh: str, en: str) -> ConfigError:
    return ConfigError(f"{source}: {where} 的 {key}: {zh}", f"{source}: {where}, key {key}: {en}")


def _where(loc: tuple[Any, ...]) -> tuple[str, str]:
    """(where, key) for a pydantic error location, e.g. ('rules', 'x', 'criteria', 0, 'min')."""
    parts = [str(p) for p in loc]
    if len(parts) >= 2 and parts[0] in ("rules", "ranks", "benefits"):
        what = {"rules": "rule", "ranks": "rank", "benefits": "benefit"}[parts[0]]
        key = ".".join(parts[2:]) or parts[1]
        return f"{what} {parts[1]}", key
    if parts:
        return f"[{parts[0]}]", ".".join(parts[1:]) or parts[0]
    return "file", "?"


def parse(text: str, source: str) -> BasicLaw:
    """Validate the text of a rule file (``source`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: TOML 格式错误: {e}", f"{source}: invalid TOML: {e}") from None
    _precheck(data, source)
    try:
        model = RuleFile.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where, key = _where(tuple(first["loc"]))
        msg = first["msg"]
        if first["type"] == "extra_forbidden":
            raise _err(source, where, key, "未知的键", f"unknown key ({msg})") from None
        if first["type"] == "missing":
            raise _err(source, where, key, "缺少必填项", "missing (required)") from None
        raise _err(source, where, key, f"取值无效: {msg}", f"invalid value: {msg}") from None
    law = BasicLaw(model, source, hashlib.sha256(text.encode()).hexdigest())
    _cross_check(law)
    return law


def _precheck(data: dict[str, Any], source: str) -> None:
    """Friendlier errors than pydantic's for the commonest mistakes (rules that are not tables,
    metrics that do not exist or are not available yet)."""
    for name, spec in (data.get("benefits") or {}).items():
        if not isinstance(spec, dict):
            raise _err(source, f"benefit {name}", name, "应为表 [benefits.<名称>]",
                       "must be a table [benefits.<name>]")
    for name, spec in (data.get("rules") or {}).items():
        if not isinstance(spec, dict):
            raise _err(source, f"rule {name}", name, "应为表 [rules.<名称>]",
                       "must be a table [rules.<name>]")
        for i, c in enumerate(spec.get("criteria") or []):
            if not isinstance(c, dict):
                continue
            m = c.get("metric")
            m = METRIC_ALIASES.get(m, m) if isinstance(m, str) else m
            if isinstance(m, str) and m in NOT_YET:
                raise _err(source, f"rule {name}", f"criteria.{i}.metric",
                           f"{NOT_YET[m]} ({m}) 尚未提供 (尚未接入基本法考核, 见 docs/basic-law.md)",
                           f"{m} is not available yet (not yet wired into the basic law; see "
                           "docs/basic-law.md)")
            if isinstance(m, str) and m in registry.MEASURES and m not in METRICS:
                raise _err(source, f"rule {name}", f"criteria.{i}.metric",
                           f"指标 {m} 不能用于基本法考核; 可用: {', '.join(METRICS)}",
                           f"metric {m} cannot be tested by the basic law; allowed: "
                           f"{', '.join(METRICS)}")
            if isinstance(m, str) and m not in METRICS:
                raise _err(source, f"rule {name}", f"criteria.{i}.metric",
                           f"未知指标 {m}; 可用: {', '.join(METRICS)}",
                           f"unknown metric {m}; allowed: {', '.join(METRICS)}")


def _cross_check(law: BasicLaw) -> None:
    src, m = law.source, law.model
    levels: dict[int, str] = {}
    for code, r in m.ranks.items():
        if r.level in levels:
            raise _err(src, f"rank {code}", "level",
                       f"与 {levels[r.level]} 的序号相同 ({r.level})",
                       f"same level as {levels[r.level]} ({r.level}); levels must be distinct")
        levels[r.level] = code
    assert set(RANK_CATEGORIES) >= {r.category for r in m.ranks.values()}
    for name, rule in m.rules.items():
        w = f"rule {name}"
        if rule.rank not in m.ranks:
            raise _err(src, w, "rank", f"未知职级 {rule.rank}; 职级表: {', '.join(m.ranks)}",
                       f"unknown rank {rule.rank}; the ladder has {', '.join(m.ranks)}")
        cat = m.ranks[rule.rank].category
        if rule.kind == "convert" and cat != "probationary":
            raise _err(src, w, "kind", "转正规则只适用于试用 (probationary) 职级",
                       "convert rules apply to probationary ranks only")
        if rule.kind != "maintain":
            to = law.target(name)
            if to is None:
                raise _err(src, w, "to", "已是最高职级, 无法晋升", "no higher rank to go to")
            if to not in m.ranks:
                raise _err(src, w, "to", f"未知职级 {to}", f"unknown rank {to}")
            if m.ranks[to].level <= m.ranks[rule.rank].level:
                raise _err(src, w, "to", "目标职级必须高于当前职级",
                           "the target rank must be above the rule's rank")
            if rule.kind == "convert" and m.ranks[to].category == "probationary":
                raise _err(src, w, "to", "转正的目标职级不能是试用职级",
                           "a conversion must lead to a formal or director rank")
            if rule.kind == "promote" and rule.on_fail:
                raise _err(src, w, "on_fail", "晋升规则不设失败阶梯 (未达成即维持原职级)",
                           "promotion rules have no failure ladder (not met = stay)")
        elif rule.to is not None:
            raise _err(src, w, "to", "维持规则没有目标职级", "maintenance rules have no target rank")
        if rule.demote_to is not None:
            if rule.demote_to not in m.ranks:
                raise _err(src, w, "demote_to", f"未知职级 {rule.demote_to}",
                           f"unknown rank {rule.demote_to}")
            if m.ranks[rule.demote_to].level >= m.ranks[rule.rank].level:
                raise _err(src, w, "demote_to", "降级目标必须低于当前职级",
                           "demote_to must be below the rule's rank")
        if "demote" in rule.on_fail and law.demotion(name) is None:
            raise _err(src, w, "on_fail", "没有更低的职级可降", "there is no lower rank to demote to")
        if "contract_end" in rule.on_fail and rule.on_fail[-1] != "contract_end":
            raise _err(src, w, "on_fail", "contract_end (解约) 必须是最后一步",
                       "contract_end must be the last step")
        if rule.window == "rolling" and rule.months is None:
            raise _err(src, w, "months", "滚动窗口需要 months (月数)",
                       "a rolling window needs months = N")
        if rule.window != "rolling" and rule.months is not None:
            raise _err(src, w, "months", "只有 window = \"rolling\" 才用 months",
                       "months is only used with window = \"rolling\"")
        optional = [c for c in rule.criteria if not c.mandatory]
        if rule.require is not None and rule.require > len(optional):
            raise _err(src, w, "require",
                       f"要求满足 {rule.require} 项, 但只有 {len(optional)} 项非必备条件",
                       f"requires {rule.require} of only {len(optional)} non-mandatory criteria")
        keys: set[str] = set()
        for i, c in enumerate(rule.criteria):
            k = f"criteria.{i}"
            md = METRICS[c.metric]
            if c.key in keys:
                raise _err(src, w, f"{k}.label", f"条件 {c.key} 重复; 请用 label 区分",
                           f"duplicate criterion {c.key}; tell them apart with label")
            keys.add(c.key)
            if md.team and c.scope == "personal":
                raise _err(src, w, f"{k}.scope", f"团队指标 {c.metric} 需要 scope = \"line\" "
                           "(汇报线) 或 \"recruits\" (育成线)",
                           f"team metric {c.metric} needs scope = \"line\" or \"recruits\"")
            if c.metric in PERSISTENCY:
                if c.no_cohort is None:
                    raise _err(src, w, f"{k}.no_cohort", "继续率条件需要 no_cohort: 考核期无保单的"
                               "人员视为 \"met\" (达成)、\"not_met\" (未达成) 或 "
                               "\"not_assessed\" (不考核此项)",
                               "a persistency criterion needs no_cohort = \"met\", \"not_met\" "
                               "or \"not_assessed\" (agents without policies in the cohort)")
                if c.scope == "personal" and (c.depth or not c.include_self):
                    raise _err(src, w, f"{k}.depth", "depth/include_self 只用于团队继续率",
                               "depth and include_self are for team persistency only")
            elif c.no_cohort is not None:
                raise _err(src, w, f"{k}.no_cohort", "只用于继续率条件",
                           "only used with persistency criteria")
            if not md.team and c.scope != "personal" and c.metric not in PERSISTENCY:
                raise _err(src, w, f"{k}.scope", f"个人指标 {c.metric} 只能用 scope = \"personal\"",
                           f"personal metric {c.metric} takes scope = \"personal\"")
            if c.metric == "groups_bred" and c.scope != "recruits":
                raise _err(src, w, f"{k}.scope", "育成组数 (groups_bred) 按育成线计算: "
                           "scope = \"recruits\"", "groups_bred needs scope = \"recruits\"")
            for key, unit in (("unit", c.unit), ("member_unit", c.member_unit)):
                if unit == "Q":
                    if key == "unit" and md.unit != "money":
                        raise _err(src, w, f"{k}.unit", f"{c.metric} 不是金额指标, 不能用 Q",
                                   f"{c.metric} is not a money metric; Q does not apply")
                    if m.q is None:
                        raise _err(src, w, f"{k}.{key}", "使用 Q 单位需要 [q] 表 (各分公司 Q 值)",
                                   "a threshold in Q needs a [q] table (Q value per branch)")
            if md.unit == "rate" and c.min > 1:
                raise _err(src, w, f"{k}.min", "比率以小数表示 (0.8 = 80%)",
                           "rates are fractions (0.8 = 80%)")
            if c.metric != "effective_headcount" and c.member_min_fyc:
                raise _err(src, w, f"{k}.member_min_fyc", "只用于 effective_headcount",
                           "only used with effective_headcount")
    for name, b in m.benefits.items():
        _check_benefit(law, name, b)


def _check_benefit(law: BasicLaw, name: str, b: Benefit) -> None:
    src, m = law.source, law.model
    w = f"benefit {name}"
    for i, r in enumerate(b.ranks):
        if r not in m.ranks:
            raise _err(src, w, f"ranks.{i}", f"未知职级 {r}; 职级表: {', '.join(m.ranks)}",
                       f"unknown rank {r}; the ladder has {', '.join(m.ranks)}")
    if b.window == "rolling" and b.months is None:
        raise _err(src, w, "months", "滚动窗口需要 months (月数)", "a rolling window needs months = N")
    if b.window != "rolling" and b.months is not None:
        raise _err(src, w, "months", "只有 window = \"rolling\" 才用 months",
                   "months is only used with window = \"rolling\"")
    used = _BENEFIT_FIELDS[b.kind]
    defaults = Benefit(kind=b.kind)
    for f in {f for fs in _BENEFIT_FIELDS.values() for f in fs} - set(used):
        if getattr(b, f) != getattr(defaults, f):
            raise _err(src, w, f, f"{BENEFIT_KINDS[b.kind][0]} ({b.kind}) 不使用此项",
                       f"not used by kind {b.kind}")
    req = _REQUIRED_FIELD[b.kind]
    if not getattr(b, req):
        raise _err(src, w, req, "缺少必填项", "missing (required)")
    if b.kind == "new_agent_allowance":
        months: set[int] = set()
        for i, mt in enumerate(b.schedule):
            if mt.to_month < mt.from_month:
                raise _err(src, w, f"schedule.{i}.to_month", "to_month 不能小于 from_month",
                           "to_month must be ≥ from_month")
            span = set(range(mt.from_month, mt.to_month + 1))
            if span & months:
                raise _err(src, w, f"schedule.{i}", f"工作月 {min(span & months)} 重复",
                           f"work month {min(span & months)} appears twice")
            months |= span
        if b.reach_rank is not None and b.reach_rank not in m.ranks:
            raise _err(src, w, "reach_rank", f"未知职级 {b.reach_rank}",
                       f"unknown rank {b.reach_rank}")
        if b.reach_by_month is not None and b.reach_rank is None:
            raise _err(src, w, "reach_by_month", "需要 reach_rank (须达到的职级)",
                       "needs reach_rank (the rank to reach)")
    if b.kind == "base_pay":
        prev: PayTier | None = None
        for i, t in enumerate(b.tiers):
            if prev is not None and t.min_fyc <= prev.min_fyc:
                raise _err(src, w, f"tiers.{i}.min_fyc", "各档 min_fyc 须由低到高排列且不重复",
                           "tiers go from the lowest min_fyc up, without duplicates")
            if prev is not None and t.amount < prev.amount:
                raise _err(src, w, f"tiers.{i}.amount", "高档底薪不能低于低档",
                           "a higher tier cannot pay less than a lower one")
            prev = t
    if b.kind == "management_allowance":
        for r, rate in b.rates.items():
            if r not in m.ranks:
                raise _err(src, w, f"rates.{r}", f"未知职级 {r}", f"unknown rank {r}")
            if not 0 < rate <= 1:
                raise _err(src, w, f"rates.{r}", "比率以小数表示, 0 < rate ≤ 1 (0.1 = 10%)",
                           "rates are fractions, 0 < rate ≤ 1 (0.1 = 10%)")
    if b.kind == "breeding_bonus":
        seen: dict[int, set[int]] = {}
        for i, g in enumerate(b.generations):
            hi = g.to_year if g.to_year is not None else 50
            if hi < g.from_year:
                raise _err(src, w, f"generations.{i}.to_year", "to_year 不能小于 from_year",
                           "to_year must be ≥ from_year")
            years = set(range(g.from_year, hi + 1))
            if years & seen.setdefault(g.generation, set()):
                raise _err(src, w, f"generations.{i}",
                           f"第 {g.generation} 代第 {min(years & seen[g.generation])} 年重复",
                           f"generation {g.generation}, year "
                           f"{min(years & seen[g.generation])} appears twice")
            seen[g.generation] |= years


def load(path: Path | str) -> BasicLaw:
    """Read and validate a rule file."""
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"找不到基本法规则文件 {p}", f"basic-law rule file {p} not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: 文件不是 UTF-8 编码", f"{p}: file is not UTF-8") from None
    return parse(text, str(p))


def example_text(name: str) -> str:
    """The text of a shipped example (``q_units.toml`` or ``ladder.toml``)."""
    if name not in EXAMPLES:
        raise ConfigError(f"没有示例 {name}; 可用: {', '.join(EXAMPLES)}",
                          f"no example {name}; shipped: {', '.join(EXAMPLES)}")
    return resources.files("zhuizong.basiclaw").joinpath("examples", name).read_text("utf-8")


def load_example(name: str) -> BasicLaw:
    return parse(example_text(name), f"examples/{name}")


__all__ = ["BENEFIT_KINDS", "DEMO_EXAMPLE", "EXAMPLES", "METRICS", "NOT_YET", "PERSISTENCY",
           "BasicLaw", "Benefit", "Criterion", "GenerationRate", "MetricDef", "MonthTier",
           "PayTier", "Rule", "example_text", "load", "load_example", "parse"]
