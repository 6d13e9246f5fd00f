"""notify.toml: valid files load into frozen channels; every error names file, channel and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from zhuizong.errors import ConfigError
from zhuizong.notify.config import (
    DingtalkChannel,
    EmailChannel,
    WecomChannel,
    default_path,
    load_channels,
)

GOOD = """
[[channel]]
name = "b01-wecom"
type = "wecom"
webhook = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"
recipients = ["*"]

[[channel]]
name = "b01-ding"
type = "dingtalk"
webhook = "https://oapi.dingtalk.com/robot/send?access_token=xyz"
secret_env = "ZZ_DING_SECRET"
recipients = ["li", "A0002"]
per_minute = 10

[[channel]]
name = "mail"
type = "email"
smtp_host = "smtp.insurer.cn"
security = "starttls"
username = "zhuizong"
password_env = "ZZ_SMTP_PASSWORD"
sender = "zhuizong@insurer.cn"
"""

ENV = {"ZZ_DING_SECRET": "SECabc", "ZZ_SMTP_PASSWORD": "pw"}


def _write(tmp_path: Path, text: str) -> Path:
    path = default_path(tmp_path)
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads(tmp_path: Path) -> None:
    wecom, ding, mail = load_channels(_write(tmp_path, GOOD), ENV)
    assert isinstance(wecom, WecomChannel) and wecom.per_minute == 20
    assert wecom.recipients == ("*",)
    assert isinstance(ding, DingtalkChannel) and ding.secret == "SECabc" and ding.per_minute == 10
    assert ding.wants(frozenset({"A0002"})) and not ding.wants(frozenset({"zhang"}))
    assert isinstance(mail, EmailChannel) and mail.port == 587 and mail.password == "pw"
    assert default_path(tmp_path).name == "notify.toml"
    with pytest.raises(ValidationError):  # frozen
        wecom.per_minute = 30  # type: ignore[misc]


def test_missing_file(tmp_path: Path) -> None:
    assert load_channels(tmp_path / "notify.toml", {}, missing_ok=True) == ()
    with pytest.raises(ConfigError) as exc:
        load_channels(tmp_path / "notify.toml", {})
    assert "不存在" in exc.value.zh and "does not exist" in exc.value.en


@pytest.mark.parametrize(
    ("change", "channel", "key"),
    [
        (('type = "wecom"', 'type = "slack"'), "#1 (b01-wecom)", "type"),
        (('webhook = "https://qyapi', 'webhook = "ftp://qyapi'), "#1 (b01-wecom)", "webhook"),
        (('per_minute = 10', 'per_minute = 0'), "#2 (b01-ding)", "per_minute"),
        (('recipients = ["li", "A0002"]', 'recipients = []'), "#2 (b01-ding)", "recipients"),
        (('secret_env = "ZZ_DING_SECRET"', 'secret_env = "ZZ_UNSET"'), "#2 (b01-ding)",
         "secret_env"),
        (('sender = "zhuizong@insurer.cn"', 'sender = "zhuizong"'), "#3 (mail)", "sender"),
        (('security = "starttls"', 'security = "tls"'), "#3 (mail)", "security"),
        (('password_env = "ZZ_SMTP_PASSWORD"', ''), "#3 (mail)", "password_env"),
        (('smtp_host = "smtp.insurer.cn"', ''), "#3 (mail)", "smtp_host"),
        (('name = "mail"', 'name = "b01-wecom"'), "#3 (b01-wecom)", "name"),
        (('name = "mail"', 'name = "邮件 通道"'), "#3 (邮件 通道)", "name"),
        (('smtp_host = "smtp.insurer.cn"', 'smtp_host = "x"\npassword = "p"'), "#3 (mail)",
         "password"),
    ],
)
def test_error_names_file_channel_and_key(
    tmp_path: Path, change: tuple[str, str], channel: str, key: str
) -> None:
    old, new = change
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as exc:
        load_channels(path, ENV)
    err = exc.value
    for text in (err.zh, err.en):
        assert str(path) in text
        assert channel in text
        assert key in text
    assert "通道" in err.zh and "channel" in err.en


def test_unknown_key_lists_allowed(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('recipients = ["*"]', 'recipients = ["*"]\nwebhok = "x"'))
    with pytest.raises(ConfigError) as exc:
        load_channels(path, ENV)
    assert "webhok" in exc.value.zh and "#1 (b01-wecom)" in exc.value.zh
    assert "webhook" in exc.value.en.split("allowed", 1)[1]


def test_not_toml_and_wrong_shape(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TOML"):
        load_channels(_write(tmp_path, "[[channel]\nname="), ENV)
    with pytest.raises(ConfigError, match=r"\[\[channel\]\]"):
        load_channels(_write(tmp_path, 'channel = "x"'), ENV)
    with pytest.raises(ConfigError, match="channels"):
        load_channels(_write(tmp_path, '[[channels]]\nname = "x"'), ENV)


def test_secret_and_secret_env_exclusive(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace('secret_env = "ZZ_DING_SECRET"',
                                         'secret = "SEC1"\nsecret_env = "ZZ_DING_SECRET"'))
    with pytest.raises(ConfigError, match="secret_env"):
        load_channels(path, ENV)
