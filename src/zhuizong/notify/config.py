"""Delivery channels (通知渠道), read from ``notify.toml`` in the workspace.

One ``[[channel]]`` table per channel: a WeCom (企业微信) group robot, a DingTalk (钉钉) group
robot or an SMTP server. The file is validated on load into frozen models; any problem raises
:class:`~zhuizong.errors.ConfigError` naming the file, the channel and the key, in Chinese and
English, so an operator can fix it without reading code.

Secrets may be written in the file (``secret``) or, better, named by environment variable
(``secret_env``, ``password_env``); they are resolved on load, so a missing variable fails before
anything is sent rather than as a hundred failed messages.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from zhuizong.errors import ConfigError

NOTIFY_FILE = "notify.toml"
CHANNEL_TYPES = ("wecom", "dingtalk", "email")
ALL = "*"

#: What each key allows, quoted in error messages.
_ALLOWED: dict[str, str] = {
    "name": "1-64 characters: letters, digits, '-', '_', '.'; unique in the file",
    "type": "wecom | dingtalk | email",
    "webhook": "http(s) URL of the robot webhook",
    "recipients": 'non-empty list of owner codes / usernames, or ["*"] for everyone',
    "per_minute": "1..1000 messages per rolling 60 s",
    "timeout": "1..120 seconds",
    "secret": "the robot's signing secret (SEC...)",
    "secret_env": "name of an environment variable holding the signing secret",
    "smtp_host": "host name of the SMTP server",
    "smtp_port": "1..65535 (465 for ssl, 587 for starttls, 25 for none)",
    "security": "ssl | starttls | none",
    "username": "SMTP login name (with password_env)",
    "password_env": "name of an environment variable holding the SMTP password",
    "sender": "an e-mail address, e.g. zhuizong@insurer.cn",
}

_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Channel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    recipients: tuple[str, ...] = (ALL,)
    timeout: float = Field(10.0, ge=1, le=120)

    @field_validator("name")
    @classmethod
    def _check_name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("must be 1-64 letters, digits, '-', '_' or '.'")
        return v

    @field_validator("recipients")
    @classmethod
    def _check_recipients(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        v = tuple(r.strip() for r in v)
        if not v or any(not r for r in v):
            raise ValueError("must be a non-empty list of non-empty codes")
        return v

    def wants(self, aliases: set[str] | frozenset[str]) -> bool:
        """Whether a recipient known by any of ``aliases`` gets its digest through this channel."""
        return ALL in self.recipients or not aliases.isdisjoint(self.recipients)


def _check_url(v: str) -> str:
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL")
    return v


def _check_env_name(v: str | None) -> str | None:
    if v is not None and not _ENV.match(v):
        raise ValueError("must be an environment variable name")
    return v


class WecomChannel(_Channel):
    """企业微信群机器人: markdown ≤ 4096 bytes, 20 messages per minute per robot."""

    type: Literal["wecom"]
    webhook: str
    per_minute: int = Field(20, ge=1, le=1000)

    @field_validator("webhook")
    @classmethod
    def _check_webhook(cls, v: str) -> str:
        return _check_url(v)


class DingtalkChannel(_Channel):
    """钉钉群机器人 with the 加签 (signing) security setting; 20 messages per minute per robot."""

    type: Literal["dingtalk"]
    webhook: str
    secret: str | None = None
    secret_env: str | None = None
    per_minute: int = Field(20, ge=1, le=1000)

    @field_validator("webhook")
    @classmethod
    def _check_webhook(cls, v: str) -> str:
        return _check_url(v)

    @field_validator("secret_env")
    @classmethod
    def _check_secret_env(cls, v: str | None) -> str | None:
        return _check_env_name(v)


class EmailChannel(_Channel):
    """An SMTP server; each digest goes to its recipient's ``users.email``."""

    type: Literal["email"]
    smtp_host: str = Field(min_length=1)
    smtp_port: int | None = Field(None, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "ssl"
    username: str | None = None
    password_env: str | None = None
    password: str | None = Field(None, exclude=True)  # resolved from password_env on load
    sender: str
    per_minute: int = Field(60, ge=1, le=1000)

    @field_validator("password_env")
    @classmethod
    def _check_password_env(cls, v: str | None) -> str | None:
        return _check_env_name(v)

    @field_validator("sender")
    @classmethod
    def _check_sender(cls, v: str) -> str:
        if not _EMAIL.match(v):
            raise ValueError("must be an e-mail address")
        return v

    @property
    def port(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        return {"ssl": 465, "starttls": 587, "none": 25}[self.security]


Channel = Annotated[WecomChannel | DingtalkChannel | EmailChannel, Field(discriminator="type")]
_ADAPTER: TypeAdapter[WecomChannel | DingtalkChannel | EmailChannel] = TypeAdapter(Channel)  # type: ignore[arg-type]


def default_path(home: Path) -> Path:
    """``notify.toml`` in the workspace folder ``home`` (``Workspace.home``)."""
    return Path(home) / NOTIFY_FILE


def _fail(path: Path, label: str, key: str, zh: str, en: str) -> ConfigError:
    allowed = _ALLOWED.get(key, "")
    hint_en = f"; allowed: {allowed}" if allowed else ""
    hint_zh = f"; 允许: {allowed}" if allowed else ""
    return ConfigError(
        f"{path}: 通道 {label} 的 {key} {zh}{hint_zh}",
        f"{path}: channel {label}, key {key}: {en}{hint_en}",
    )


def parse_channels(
    data: Mapping[str, Any], path: Path, environ: Mapping[str, str] | None = None
) -> tuple[WecomChannel | DingtalkChannel | EmailChannel, ...]:
    """Validate the parsed TOML ``data`` (from ``path``, for messages) into channels."""
    environ = os.environ if environ is None else environ
    unknown = [k for k in data if k != "channel"]
    if unknown:
        raise ConfigError(
            f"{path}: 未知配置项 {unknown[0]!r}; 只允许 [[channel]] 表",
            f"{path}: unknown key {unknown[0]!r}; only [[channel]] tables are allowed",
        )
    raw = data.get("channel", [])
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise ConfigError(
            f"{path}: channel 必须写成 [[channel]] 表",
            f"{path}: write channels as [[channel]] tables",
        )
    out: list[WecomChannel | DingtalkChannel | EmailChannel] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw, start=1):
        name = item.get("name")
        label = f"#{i} ({name})" if isinstance(name, str) and name else f"#{i}"
        ctype = item.get("type")
        if ctype not in CHANNEL_TYPES:
            raise _fail(path, label, "type", f"无效: {ctype!r}", f"invalid value {ctype!r}")
        if "password" in item:
            raise _fail(path, label, "password", "不允许写在文件中; 请用 password_env",
                        "may not be written in the file; use password_env")
        try:
            ch = _ADAPTER.validate_python(item)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = [str(p) for p in err["loc"] if str(p) != ctype]
            key = loc[0] if loc else "?"
            if err["type"] == "missing":
                raise _fail(path, label, key, "缺失 (必填)", "is missing (required)") from None
            if err["type"] == "extra_forbidden":
                raise ConfigError(
                    f"{path}: 通道 {label} 有未知配置项 {key}",
                    f"{path}: channel {label} has an unknown key {key}; allowed for {ctype}: "
                    + ", ".join(k for k in _model_for(ctype).model_fields if k != "password"),
                ) from None
            msg = err["msg"].removeprefix("Value error, ")
            raise _fail(path, label, key, f"无效 ({msg})", f"invalid ({msg})") from None
        if ch.name in seen:
            raise _fail(
                path, label, "name", f"重复: 与通道 #{seen[ch.name]} 同名",
                f"duplicate: channel #{seen[ch.name]} has the same name",
            )
        seen[ch.name] = i
        out.append(_resolve_secrets(ch, path, label, environ))
    return tuple(out)


_MODELS: dict[str, type[_Channel]] = {
    "wecom": WecomChannel, "dingtalk": DingtalkChannel, "email": EmailChannel
}


def _model_for(ctype: str) -> type[_Channel]:
    return _MODELS[ctype]


def _resolve_secrets(
    ch: WecomChannel | DingtalkChannel | EmailChannel,
    path: Path,
    label: str,
    environ: Mapping[str, str],
) -> WecomChannel | DingtalkChannel | EmailChannel:
    if isinstance(ch, DingtalkChannel):
        if ch.secret and ch.secret_env:
            raise _fail(path, label, "secret_env", "与 secret 只能二选一",
                        "give either secret or secret_env, not both")
        if ch.secret_env:
            value = environ.get(ch.secret_env, "")
            if not value:
                raise _fail(path, label, "secret_env", f"指向的环境变量 {ch.secret_env} 未设置",
                            f"environment variable {ch.secret_env} is not set")
            return ch.model_copy(update={"secret": value})
    if isinstance(ch, EmailChannel):
        if bool(ch.username) != bool(ch.password_env):
            key = "password_env" if ch.username else "username"
            raise _fail(path, label, key, "缺失: username 与 password_env 须同时提供",
                        "is missing: give both username and password_env, or neither")
        if ch.password_env:
            value = environ.get(ch.password_env, "")
            if not value:
                raise _fail(path, label, "password_env",
                            f"指向的环境变量 {ch.password_env} 未设置",
                            f"environment variable {ch.password_env} is not set")
            return ch.model_copy(update={"password": value})
    return ch


def load_channels(
    path: Path, environ: Mapping[str, str] | None = None, *, missing_ok: bool = False
) -> tuple[WecomChannel | DingtalkChannel | EmailChannel, ...]:
    """Read and validate a channel file. A missing file is an error unless ``missing_ok``."""
    path = Path(path)
    if not path.exists():
        if missing_ok:
            return ()
        raise ConfigError(
            f"通知配置文件 {path} 不存在; 格式见 docs/notifications.md",
            f"notification config {path} does not exist; see docs/notifications.md",
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: 无法解析 TOML ({exc})", f"{path}: not valid TOML ({exc})"
        ) from None
    return parse_channels(data, path, environ)
