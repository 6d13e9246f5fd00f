"""Typed settings, read from the workspace's ``zhuizong.toml`` and the environment.

Precedence (highest first): environment variable ``ZHUIZONG_<SECTION>_<KEY>`` (for example
``ZHUIZONG_DATABASE_URL``, ``ZHUIZONG_KPI_PREMIUM_BASIS``), then ``zhuizong.toml``, then the
default. Every key is declared once in :data:`SETTINGS` (the registry the configuration
reference in ``docs/configuration.md`` documents; a test fails when one is missing there).
Values are validated on load into a frozen model: an error names the file, the key and what is
allowed.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zhuizong.errors import ConfigError

SETTINGS_FILE = "zhuizong.toml"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# the drivers shipped with zhuizong: sqlite3 (standard library) and psycopg 3 (``postgresql://``
# alone would ask SQLAlchemy for psycopg2, which is not installed)
_DB_URL = re.compile(r"^(sqlite(\+pysqlite)?|postgresql\+psycopg)://\S*$")
_DB_MEMORY = re.compile(r"^sqlite(\+pysqlite)?:///?(:memory:)?(\?.*)?$")


class DatabaseSettings(_Section):
    url: str = ""  # empty: the embedded SQLite file ``zhuizong.db`` in the workspace

    @field_validator("url")
    @classmethod
    def _check_url(cls, v: str) -> str:
        # refused when set, not at the next command: a bad URL would break every command
        v = v.strip()
        # sqlite:// and sqlite:/// are an in-memory database: empty at every command, so the
        # workspace would look uninitialised for ever
        if v and (not _DB_URL.match(v) or _DB_MEMORY.match(v)):
            raise ValueError("must be empty (embedded SQLite), sqlite:///PATH or "
                             "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB")
        return v


class CalendarSettings(_Section):
    month_basis: Literal["natural", "work"] = "natural"
    cutoff_day: int = Field(25, ge=1, le=28)


_ACTIVE_RULE = re.compile(r"^(fyp_positive|cases_positive|fyc_at_least:(\d+(\.\d{1,2})?))$")


class KpiSettings(_Section):
    premium_basis: Literal["received", "issued"] = "received"
    active_rule: str = "fyp_positive"
    cases: Literal["net", "gross"] = "net"
    average_headcount: Literal["mean_of_months", "endpoints"] = "mean_of_months"
    persistency_grace_days: int = Field(60, ge=0, le=366)

    @field_validator("active_rule")
    @classmethod
    def _check_active_rule(cls, v: str) -> str:
        if not _ACTIVE_RULE.match(v):
            raise ValueError("must be fyp_positive, cases_positive or fyc_at_least:<amount in 元>")
        return v

    @property
    def active_threshold(self) -> Decimal | None:
        """The FYC threshold of ``fyc_at_least:<amount>``, else None."""
        if self.active_rule.startswith("fyc_at_least:"):
            try:
                return Decimal(self.active_rule.split(":", 1)[1])
            except InvalidOperation:  # pragma: no cover - excluded by the validator
                return None
        return None


class ImportSettings(_Section):
    max_file_mb: int = Field(200, ge=1, le=10_000)
    max_xlsx_uncompressed_mb: int = Field(1000, ge=1, le=100_000)


_TRACK_ROLES = ("supervisor", "trainer", "training", "assessment", "campaign", "executive")


class TrackingSettings(_Section):
    owner_precedence: str = ",".join(_TRACK_ROLES)
    rules_file: str = "tracking_rules.toml"
    escalation_days: int = Field(1, ge=0, le=30)
    lift_window_days: int = Field(7, ge=1, le=60)

    @field_validator("rules_file")
    @classmethod
    def _check_rules_file(cls, v: str) -> str:
        # a file inside the workspace: not a path out of it (an admin could point the rule page
        # at any file of the server), not a folder, not empty
        parts = v.replace("\\", "/").split("/")
        if (not v.endswith(".toml") or v != v.strip() or v.startswith("/") or ":" in v
                or any(p in ("", ".", "..") for p in parts) or any(ord(c) < 32 for c in v)):
            raise ValueError("a .toml file name inside the workspace (no absolute path, no ..)")
        return v

    @field_validator("owner_precedence")
    @classmethod
    def _check_precedence(cls, v: str) -> str:
        roles = [r.strip() for r in v.split(",") if r.strip()]
        bad = [r for r in roles if r not in _TRACK_ROLES]
        if bad or not roles or len(set(roles)) != len(roles):
            raise ValueError(f"comma-separated, each once, from {', '.join(_TRACK_ROLES)}")
        return ",".join(roles)

    @property
    def precedence(self) -> list[str]:
        return self.owner_precedence.split(",")


class WebSettings(_Section):
    cookie_secure: Literal["auto", "always", "never"] = "auto"
    session_hours: int = Field(12, ge=1, le=24 * 30)
    login_max_failures: int = Field(5, ge=1, le=100)
    login_lock_minutes: int = Field(15, ge=1, le=24 * 60)
    default_lang: Literal["zh", "en"] = "zh"


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    calendar: CalendarSettings = CalendarSettings()
    kpi: KpiSettings = KpiSettings()
    import_: ImportSettings = Field(ImportSettings(), alias="import")
    tracking: TrackingSettings = TrackingSettings()
    web: WebSettings = WebSettings()

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def get(self, key: str) -> Any:
        section, name = _split_key(key)
        return getattr(getattr(self, _attr(section)), name)

    def kpi_settings_used(self) -> dict[str, Any]:
        """The settings that change KPI numbers, as reports state them."""
        return {k: self.get(k) for k in SETTINGS if k.startswith(("calendar.", "kpi."))}


@dataclass(frozen=True)
class SettingInfo:
    key: str
    default: Any
    allowed: str
    zh: str
    en: str
    ref: str


def _attr(section: str) -> str:
    return "import_" if section == "import" else section


_SECTIONS: dict[str, type[_Section]] = {
    "database": DatabaseSettings,
    "calendar": CalendarSettings,
    "kpi": KpiSettings,
    "import": ImportSettings,
    "tracking": TrackingSettings,
    "web": WebSettings,
}

#: key -> (allowed values, 中文含义, English meaning, where it matters)
_DOCS: dict[str, tuple[str, str, str, str]] = {
    "database.url": (
        "SQLAlchemy URL, empty for the embedded SQLite file",
        "数据库地址 (空 = 工作区内嵌 SQLite 文件)",
        "SQLAlchemy database URL; empty = the embedded SQLite file `zhuizong.db` in the workspace",
        "deployment",
    ),
    "calendar.month_basis": (
        "natural | work", "月份口径: 自然月 / 工作月",
        "month basis of every period: natural months or work months (工作月)", "kpi-spec §1",
    ),
    "calendar.cutoff_day": (
        "1..28", "工作月截止日 (口径为工作月时)",
        "cut-off day of the work month (used when month_basis = work)", "kpi-spec §1",
    ),
    "kpi.premium_basis": (
        "received | issued", "保费口径: 预收 / 承保",
        "premium basis: received (预收, transaction date) or issued (承保, new business on the "
        "issue date)", "kpi-spec §3",
    ),
    "kpi.active_rule": (
        "fyp_positive | cases_positive | fyc_at_least:<元>",
        "实动口径: FYP>0 / 净件数≥1 / FYC≥门槛 (有效人力)",
        "who counts as active (实动): FYP > 0, ≥ 1 net case, or FYC ≥ an amount in 元 (有效人力)",
        "kpi-spec §4",
    ),
    "kpi.cases": (
        "net | gross", "件数口径: 扣除犹豫期撤单 / 不扣除",
        "new cases net of free-look cancellations, or gross", "kpi-spec §3",
    ),
    "kpi.average_headcount": (
        "mean_of_months | endpoints", "多月平均人力: 各月平均之均值 / (期初+期末)/2",
        "average headcount of a multi-month period: mean of monthly averages, or "
        "(opening + closing) / 2", "kpi-spec §2",
    ),
    "kpi.persistency_grace_days": (
        "0..366", "继续率宽限天数",
        "grace days after the policy anniversary for persistency (继续率)", "kpi-spec §6",
    ),
    "import.max_file_mb": (
        "1..10000", "网页上传导入文件大小上限 (MB; 命令行导入不限)",
        "largest import file a web upload accepts, in MB (command-line imports have no limit)", "imports",
    ),
    "import.max_xlsx_uncompressed_mb": (
        "1..100000", "XLSX 解压后大小上限 (MB), 防 zip 炸弹",
        "largest uncompressed size of an XLSX file, in MB (zip-bomb guard)", "imports",
    ),
    "tracking.owner_precedence": (
        "comma list of supervisor, trainer, training, assessment, campaign, executive",
        "追踪事项负责人优先顺序 (默认直属主管优先)",
        "which responsible role owns a tracking item when several could (default: the direct "
        "supervisor first)", "tracking",
    ),
    "tracking.rules_file": (
        "a .toml file name inside the workspace", "追踪规则文件 (覆盖/停用/新增默认规则)",
        "the workspace's tracking rule file: re-threshold, disable or add rules over the defaults",
        "tracking",
    ),
    "tracking.escalation_days": (
        "0..30", "升级后新的处理期限 (天)",
        "days the superior gets after an escalation before the next escalation", "tracking",
    ),
    "tracking.lift_window_days": (
        "1..60", "追踪效果观察窗口 (天)",
        "days after tracking within which a target KPI must move to count as lift", "tracking",
    ),
    "web.cookie_secure": (
        "auto | always | never", "会话 Cookie 的 Secure 标志 (auto: HTTPS 或本机时启用)",
        "Secure flag of the session cookie; auto = on for HTTPS requests and for localhost",
        "deployment",
    ),
    "web.session_hours": ("1..720", "登录会话有效时长 (小时)", "hours a login session lasts", "web"),
    "web.login_max_failures": (
        "1..100", "连续登录失败多少次后锁定 (返回 429)",
        "wrong passwords in a row after which further attempts get HTTP 429", "web",
    ),
    "web.login_lock_minutes": (
        "1..1440", "登录锁定时长 (分钟)", "minutes a username stays locked after too many failures",
        "web",
    ),
    "web.default_lang": ("zh | en", "网页默认语言", "default language of the web pages", "web"),
}


def _registry() -> dict[str, SettingInfo]:
    out: dict[str, SettingInfo] = {}
    defaults = Settings()
    for section, model in _SECTIONS.items():
        for name in model.model_fields:
            key = f"{section}.{name}"
            if key not in _DOCS:  # an undocumented setting is a bug, caught at import time
                raise RuntimeError(f"setting {key} has no entry in settings._DOCS")
            allowed, zh, en, ref = _DOCS[key]
            out[key] = SettingInfo(key, defaults.get(key), allowed, zh, en, ref)
    return out


def _split_key(key: str) -> tuple[str, str]:
    if key.count(".") != 1:
        raise ConfigError(
            f"未知设置项 {key!r}", f"unknown setting {key!r}; known: {', '.join(SETTINGS)}"
        )
    section, name = key.split(".")
    if section not in _SECTIONS or name not in _SECTIONS[section].model_fields:
        raise ConfigError(
            f"未知设置项 {key!r}", f"unknown setting {key!r}; known: {', '.join(SETTINGS)}"
        )
    return section, name


def _env_overrides(environ: dict[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for key in SETTINGS:
        section, name = key.split(".")
        var = f"ZHUIZONG_{section.upper()}_{name.upper()}"
        if var in environ:
            out.setdefault(section, {})[name] = environ[var]
    return out


def _validate(data: dict[str, Any], source: str) -> Settings:
    unknown = [s for s in data if s not in _SECTIONS]
    if unknown:
        raise ConfigError(
            f"{source}: 未知设置段 {unknown[0]!r}",
            f"{source}: unknown section [{unknown[0]}]; allowed: {', '.join(_SECTIONS)}",
        )
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]).replace("import_", "import")
        key = loc if loc.count(".") == 1 else loc
        allowed = _DOCS.get(key, ("", "", ""))[0]
        raise ConfigError(
            f"{source}: 设置 {key} 的值无效 ({err['msg']}); 允许: {allowed}",
            f"{source}: invalid value for {key} ({err['msg']}); allowed: {allowed}",
        ) from None


def load_settings(home: Path, environ: dict[str, str] | None = None) -> Settings:
    """Read ``home/zhuizong.toml`` (if present) and the environment into frozen settings."""
    environ = dict(os.environ) if environ is None else environ
    path = home / SETTINGS_FILE
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{path}: 无法解析 TOML ({exc})", f"{path}: not valid TOML ({exc})"
            ) from None
        _validate(data, str(path))
    for section, values in _env_overrides(environ).items():
        data.setdefault(section, {}).update(values)
    return _validate(data, f"{path} + environment")


def set_setting(home: Path, key: str, value: str) -> Any:
    """Validate ``key = value`` and write it to ``zhuizong.toml``, keeping comments. Returns the value."""
    section, name = _split_key(key)
    path = home / SETTINGS_FILE
    doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    current = tomllib.loads(tomlkit.dumps(doc))
    field = _SECTIONS[section].model_fields[name]
    typed: Any = value
    if field.annotation is int:
        try:
            typed = int(value)
        except ValueError:
            raise ConfigError(
                f"设置 {key} 需要整数, 得到 {value!r}", f"{key} needs an integer, got {value!r}"
            ) from None
    current.setdefault(section, {})[name] = typed
    _validate(current, str(path))
    if section not in doc:
        doc[section] = tomlkit.table()
    doc[section][name] = typed  # type: ignore[index]
    tmp = path.with_suffix(".toml.tmp")
    try:
        tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # name the file the user knows, not only the errno
        raise OSError(exc.errno, exc.strerror or type(exc).__name__, str(path)) from exc
    return typed


def default_toml() -> str:
    """The commented settings file ``zhuizong init`` writes."""
    lines = ["# zhuizong settings — see docs/configuration.md"]
    current = ""
    for info in SETTINGS.values():
        section, name = info.key.split(".")
        if section != current:
            lines += ["", f"[{section}]"]
            current = section
        value = tomlkit.item(info.default).as_string()
        lines.append(f"# {info.zh} — {info.en} ({info.allowed})")
        lines.append(f"{name} = {value}")
    return "\n".join(lines).lstrip() + "\n"


SETTINGS: dict[str, SettingInfo] = _registry()
