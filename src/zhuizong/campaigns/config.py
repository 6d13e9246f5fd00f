"""Campaign (方案) definitions: the TOML format, validation on load, frozen typed models.

A campaign file holds one or more ``[[campaign]]`` tables (format: ``docs/campaigns.md``). Like the
tracking rule files (:mod:`zhuizong.tracking.rules`), a definition is validated before anything is
computed or stored, and every error names the file, the campaign and the key, and says what is
allowed. Structure and types are checked by pydantic models (``extra="forbid"``, frozen); the
checks across keys (end after start, thresholds strictly increasing, tenure bounds in order)
follow in validators. The CLI's ``campaign define --id … --tier …`` builds the same dictionary and
goes through the same validation, so the two ways of defining a campaign cannot disagree.

Definitions never depend on the workspace: org units and ranks named in ``eligibility`` are
checked against the workspace when the campaign is stored (:mod:`zhuizong.campaigns.service`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from zhuizong.analytics.calendar import Basis, parse_period
from zhuizong.errors import ConfigError, ZhuizongError
from zhuizong.kpi import registry

#: the word after a number of a campaign result, per registry unit
_UNIT_WORD = {"yuan": "元", "cases": "件", "persons": "人", "months": "个月"}


@dataclass(frozen=True)
class MeasureDef:
    """The campaigns' view of a registry measure (:mod:`zhuizong.kpi.registry`)."""

    code: str
    zh: str
    en: str
    unit_zh: str  # the word after a number: 元, 件, 人, 个月
    money: bool

    @classmethod
    def of(cls, m: registry.Measure) -> MeasureDef:
        return cls(m.code, m.zh, m.en, _UNIT_WORD[m.unit], m.unit == "yuan")


#: what a campaign may measure: the registry's ``campaign`` measures, counted with the campaign's
#: window rules (net of free-look cancellations of the campaign's own business; docs/campaigns.md)
MEASURES: dict[str, MeasureDef] = {
    code: MeasureDef.of(m) for code, m in registry.MEASURES.items() if m.campaign}


def _tie_label(m: registry.Measure) -> tuple[str, str]:
    more = m.unit == "cases"
    return (f"{m.zh}{'多' if more else '高'}者优先", f"{'more' if more else 'higher'} {m.en} first")


#: tie-breakers that may follow the measure (in the order given); the agent code always ends it.
#: Every premium measure of a campaign (money or cases: the standings carry all four), and
#: ``reached``
TIE_BREAKERS: dict[str, tuple[str, str]] = {
    **{code: _tie_label(m) for code, m in registry.MEASURES.items()
       if m.campaign and m.unit in ("yuan", "cases")},
    "reached": ("先达到最终业绩者优先", "earlier reaching of the final result first"),
}


def _one_of(allowed: dict[str, Any], what: str) -> Any:
    def check(v: str) -> str:
        if v not in allowed:
            raise ValueError(f"unknown {what} {v!r}; allowed: {', '.join(allowed)}")
        return v
    return check


#: a measure code (a registry ``campaign`` measure) / a tie-breaker
MeasureCode = Annotated[str, AfterValidator(_one_of(MEASURES, "measure"))]
TieBreaker = Annotated[str, AfterValidator(_one_of(TIE_BREAKERS, "tie-breaker"))]
VISIBILITY = ("scope", "campaign")
_KEY = "\x1f"  # marks the key named by a cross-key error
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tier(_Model):
    """One tier (档位): reached when the result is ≥ ``threshold`` (in the measure's unit)."""

    name: str = Field(min_length=1, max_length=40)
    threshold: Decimal = Field(gt=0, max_digits=16, decimal_places=2)
    reward: str = Field("", max_length=200)  # material reward (奖励), e.g. "价值 3,000 元旅游"
    honor: str = Field("", max_length=100)  # honour (荣誉), e.g. "金牌会员"

    @field_validator("threshold", mode="before")
    @classmethod
    def _num(cls, v: Any) -> Any:
        if isinstance(v, float):
            return Decimal(str(v))
        return v


class Eligibility(_Model):
    """Who takes part, decided on the agent's first in-force day of the period (start, or hire)."""

    ranks: tuple[str, ...] = ()
    categories: tuple[Literal["probationary", "formal", "director"], ...] = ()
    orgs: tuple[str, ...] = ()  # org subtrees
    min_tenure_months: int | None = Field(None, ge=0, le=600)
    max_tenure_months: int | None = Field(None, ge=0, le=600)
    exclude_leavers: bool = True

    @model_validator(mode="after")
    def _order(self) -> Eligibility:
        lo, hi = self.min_tenure_months, self.max_tenure_months
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"{_KEY}eligibility.max_tenure_months{_KEY}"
                             f"min_tenure_months ({lo}) > max_tenure_months ({hi})")
        return self


class Campaign(_Model):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    name_en: str = Field("", max_length=200)
    description: str = Field("", max_length=2000)
    start: dt.date
    end: dt.date
    measure: MeasureCode
    grace_days: int = Field(0, ge=0, le=366)
    eligibility: Eligibility = Eligibility()
    tiers: tuple[Tier, ...] = Field(min_length=1, max_length=12)
    tie_breakers: tuple[TieBreaker, ...] = ("cases", "reached")
    visibility: Literal["scope", "campaign"] = "scope"
    honor_title: str = Field("光荣榜", min_length=1, max_length=40)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError("letters, digits, '_', '-', '.' only, starting with a letter or digit")
        return v

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, v: tuple[Tier, ...]) -> tuple[Tier, ...]:
        th = [t.threshold for t in v]
        if any(b <= a for a, b in zip(th, th[1:], strict=False)):
            raise ValueError("tier thresholds must strictly increase (lowest tier first)")
        names = [t.name for t in v]
        if len(set(names)) != len(names):
            raise ValueError("tier names must be unique")
        return v

    @field_validator("tie_breakers")
    @classmethod
    def _ties(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v):
            raise ValueError("tie_breakers repeats a name")
        return v

    @model_validator(mode="after")
    def _check(self) -> Campaign:
        if self.end < self.start:
            raise ValueError(f"{_KEY}end{_KEY}end {self.end} is before start {self.start}")
        if (self.end - self.start).days > 366 * 2:
            raise ValueError(f"{_KEY}end{_KEY}a campaign lasts at most two years")
        return self

    @property
    def measure_def(self) -> MeasureDef:
        return MEASURES[self.measure]

    @property
    def close_from(self) -> dt.date:
        """The first day the campaign may be closed: the day after the grace period."""
        return self.end + dt.timedelta(days=self.grace_days + 1)

    def canonical(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def sha256(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(campaign)"


def _err(source: str, campaign: str, key: str, zh: str, en: str) -> ConfigError:
    return ConfigError(f"{source}: 方案 {campaign} 的 {key}: {zh}",
                       f"{source}: campaign {campaign}, key {key}: {en}")


def _normalise(raw: dict[str, Any], source: str, label: str) -> dict[str, Any]:
    """Accept ``period = "2026-11" | "2026Q4" | "2026-08..2026-10" | "2026-11-01..2026-11-30"`` (calendar
    months) instead of start/end."""
    data = dict(raw)
    if "period" in data:
        if "start" in data or "end" in data:
            raise _err(source, label, "period", "与 start/end 不能同时给出",
                       "give either period or start and end, not both")
        text = data.pop("period")
        try:
            if ".." in str(text) and all(re.fullmatch(r"\d{4}-\d{2}", x.strip())
                                         for x in str(text).split("..")):
                a, b = (x.strip() for x in str(text).split(".."))  # a range of months
                p = parse_period(f"{parse_period(a).start}..{parse_period(b).end}", Basis())
            else:
                p = parse_period(str(text), Basis())
        except ZhuizongError:
            raise _err(source, label, "period", f"无法识别 {text!r} (如 2026-11, 2026Q4, 2026-08..2026-10, 2026-11-01..2026-11-30)",
                       f"cannot read {text!r}; use 2026-11, 2026Q4, 2026-08..2026-10 or 2026-11-01..2026-11-30") from None
        data["start"], data["end"] = p.start, p.end
    return data


def parse_campaign(raw: dict[str, Any], source: str, index: int = 0) -> Campaign:
    """One validated :class:`Campaign` from a dictionary (a TOML table or CLI options)."""
    if not isinstance(raw, dict):
        raise _err(source, f"#{index + 1}", "(campaign)", "应为表", "must be a table")
    label = str(raw.get("id") or f"#{index + 1}")
    data = _normalise(raw, source, label)
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        key = _loc(tuple(e["loc"]))
        msg = e["msg"].removeprefix("Value error, ")
        if msg.startswith(_KEY):
            _, key, msg = msg.split(_KEY, 2)
        if e["type"] == "extra_forbidden":
            allowed = _allowed_keys(tuple(e["loc"][:-1]))
            msg = f"unknown key; allowed: {', '.join(allowed)}"
            zh = f"未知的键; 可用: {', '.join(allowed)}"
        elif e["type"] == "missing":
            zh = "缺少必填项"
        elif e["type"] == "literal_error":
            zh = f"取值无效: {msg}"
        else:
            zh = f"无效: {msg}"
        extra = f" (共 {exc.error_count()} 个错误)" if exc.error_count() > 1 else ""
        raise _err(source, label, key, zh + extra, msg) from None


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = Campaign
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None)
        if ann is Eligibility:
            model = Eligibility
        elif str(part) == "tiers":
            model = Tier
    keys = list(model.model_fields)
    if model is Campaign:
        keys.append("period")
    return keys


def load_text(text: str, source: str) -> list[Campaign]:
    """Every campaign of a TOML text (``[[campaign]]`` tables, or one ``[campaign]`` table)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: TOML 格式错误: {e}", f"{source}: invalid TOML: {e}") from None
    unknown = [k for k in data if k != "campaign"]
    if unknown:
        raise ConfigError(f"{source}: 未知的顶层键 {unknown[0]} (应为 [[campaign]])",
                          f"{source}: unknown top-level key {unknown[0]}; use [[campaign]] tables")
    items = data.get("campaign")
    if isinstance(items, dict):
        items = [items]
    if not items:
        raise ConfigError(f"{source}: 没有 [[campaign]] 定义", f"{source}: no [[campaign]] table")
    out = [parse_campaign(raw, source, i) for i, raw in enumerate(items)]
    ids = [c.id for c in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise _err(source, dup[0], "id", "重复的方案代码", "duplicate campaign id")
    return out


def load_file(path: Path | str) -> list[Campaign]:
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"找不到方案文件 {path}", f"campaign file {path} not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: 应为 UTF-8 编码", f"{path}: must be UTF-8") from None
    return load_text(text, str(path))


def from_json(text: str) -> Campaign:
    """A stored definition (canonical JSON) back as a model."""
    return Campaign.model_validate(json.loads(text))


def parse_tier_option(text: str, source: str = "--tier") -> dict[str, Any]:
    """``NAME:THRESHOLD[:REWARD[:HONOR]]`` (CLI) → a tier table."""
    parts = text.split(":", 3)
    if len(parts) < 2:
        raise ConfigError(f"{source} {text!r}: 应为 名称:门槛[:奖励[:荣誉]]",
                          f"{source} {text!r}: use NAME:THRESHOLD[:REWARD[:HONOR]]")
    tier: dict[str, Any] = {"name": parts[0].strip(), "threshold": parts[1].strip().replace(",", "")}
    if len(parts) > 2:
        tier["reward"] = parts[2].strip()
    if len(parts) > 3:
        tier["honor"] = parts[3].strip()
    return tier


__all__ = ["MEASURES", "TIE_BREAKERS", "VISIBILITY", "Campaign", "Eligibility", "MeasureDef",
           "Tier", "from_json", "load_file", "load_text", "parse_campaign", "parse_tier_option"]
