"""What goes over the wire for each channel type, and how its answer is read.

- WeCom (企业微信) group robot: ``{"msgtype": "markdown", "markdown": {"content": ...}}``, content
  at most 4096 bytes of UTF-8.
- DingTalk (钉钉) group robot: ``{"msgtype": "markdown", "markdown": {"title", "text"}}``, text
  about 20000 bytes; with 加签 the URL carries ``timestamp`` (ms) and
  ``sign = urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")))``.
- SMTP: ``text/plain; charset=utf-8`` with the markdown source as body; the Chinese subject is
  RFC 2047 encoded by :mod:`email`.

Both robots answer HTTP 200 even when they refuse a message; the JSON ``errcode`` is what counts
(0 = accepted). 45009 (WeCom) and 130101 (DingTalk) mean "too many messages": back off and retry.
Every send returns an :class:`Outcome` instead of raising, so the delivery loop has one place that
decides between retrying and recording a failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import httpx

from zhuizong.notify.config import DingtalkChannel, EmailChannel, WecomChannel

WECOM_MAX_BYTES = 4096
DINGTALK_MAX_BYTES = 20000

#: errcodes that mean "rate limited": retry after a back-off of at least a minute.
RATE_LIMIT_ERRCODES = frozenset({45009, 130101})
#: errcodes that mean "busy, try again" (WeCom -1 系统繁忙).
TRANSIENT_ERRCODES = frozenset({-1})


def max_bytes(channel_type: str) -> int | None:
    """The largest message body a channel type accepts, or None when there is no limit."""
    return {"wecom": WECOM_MAX_BYTES, "dingtalk": DINGTALK_MAX_BYTES}.get(channel_type)


@dataclass(frozen=True)
class Outcome:
    """The answer to one send attempt."""

    ok: bool
    retryable: bool = False
    rate_limited: bool = False
    error: str | None = None

    @classmethod
    def success(cls) -> Outcome:
        return cls(ok=True)


# --- messages ---------------------------------------------------------------------------------


def _utf8_len(s: str) -> int:
    return len(s.encode("utf-8"))


def _cut_line(line: str, limit: int) -> list[str]:
    """Cut one over-long line into pieces of at most ``limit`` bytes, on character boundaries."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for ch in line:
        n = _utf8_len(ch)
        if size + n > limit and current:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(ch)
        size += n
    pieces.append("".join(current))
    return pieces


def split_markdown(title: str, text: str, limit: int | None) -> list[tuple[str, str]]:
    """Split a digest into ``(subject, body)`` messages of at most ``limit`` UTF-8 bytes each.

    Nothing is truncated: the text is cut at line boundaries (a single line longer than a
    message, which a digest should never have, is cut on character boundaries). When more than
    one message is needed each starts with a numbered header ``**title（i/n）**`` and its subject
    carries ``（i/n）``, so readers see the parts belong together and in which order.
    """
    if limit is None or _utf8_len(text) <= limit:
        return [(title, text)]
    # The header grows with the part count; reserve room for the widest one (n < 10^4).
    reserve = _utf8_len(f"**{title}（9999/9999）**\n\n")
    room = limit - reserve
    if room < 64:
        raise ValueError(f"title too long for a {limit}-byte message")
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        for piece in _cut_line(line, room) if _utf8_len(line) > room else [line]:
            n = _utf8_len(piece) + (1 if current else 0)
            if current and size + n > room:
                chunks.append("\n".join(current))
                current, size = [], 0
                n = _utf8_len(piece)
            current.append(piece)
            size += n
    if current:
        chunks.append("\n".join(current))
    total = len(chunks)
    return [
        (f"{title}（{i}/{total}）", f"**{title}（{i}/{total}）**\n\n{chunk}")
        for i, chunk in enumerate(chunks, start=1)
    ]


def wecom_payload(body: str) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"content": body}}


def dingtalk_payload(subject: str, body: str) -> dict[str, Any]:
    return {"msgtype": "markdown", "markdown": {"title": subject, "text": body}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """base64 HMAC-SHA256 (key: the secret) of ``f"{timestamp_ms}\\n{secret}"``, not URL-encoded."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_url(webhook: str, secret: str | None, timestamp_ms: int) -> str:
    """The webhook URL with ``timestamp`` and URL-encoded ``sign`` appended (when signed)."""
    if not secret:
        return webhook
    sign = urllib.parse.quote_plus(dingtalk_sign(secret, timestamp_ms))
    sep = "&" if urllib.parse.urlsplit(webhook).query else "?"
    return f"{webhook}{sep}timestamp={timestamp_ms}&sign={sign}"


def email_message(channel: EmailChannel, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject  # non-ASCII is RFC 2047 encoded on serialisation
    msg["From"] = channel.sender
    msg["To"] = to
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=channel.sender.rsplit("@", 1)[-1])
    # base64: 7-bit safe through any relay, whether or not it speaks 8BITMIME
    msg.set_content(body, subtype="plain", charset="utf-8", cte="base64")
    return msg


# --- sending ----------------------------------------------------------------------------------


def _short(text: str, n: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _text(content: bytes) -> str:
    return _short(content.decode("utf-8", errors="replace"))


def read_robot_answer(status: int, content: bytes) -> Outcome:
    """Interpret a robot's HTTP answer: status first, then the JSON ``errcode``."""
    if status == 429:
        return Outcome(False, retryable=True, rate_limited=True, error="HTTP 429")
    if status >= 500:
        return Outcome(False, retryable=True, error=f"HTTP {status}: {_text(content)}")
    if status >= 400:
        return Outcome(False, error=f"HTTP {status}: {_text(content)}")
    try:
        answer = json.loads(content)
        errcode = int(answer.get("errcode", 0))
        errmsg = str(answer.get("errmsg", ""))
    except (ValueError, AttributeError, TypeError):
        return Outcome(False, retryable=True,
                       error=f"HTTP {status}: not a JSON answer: {_text(content)}")
    if errcode == 0:
        return Outcome.success()
    error = f"errcode {errcode}: {_short(errmsg)}"
    if errcode in RATE_LIMIT_ERRCODES:
        return Outcome(False, retryable=True, rate_limited=True, error=error)
    return Outcome(False, retryable=errcode in TRANSIENT_ERRCODES, error=error)


def post_robot(client: httpx.Client, url: str, payload: dict[str, Any], timeout: float) -> Outcome:
    try:
        response = client.post(url, json=payload, timeout=timeout)
    except httpx.TimeoutException as exc:
        return Outcome(False, retryable=True, error=f"timeout: {type(exc).__name__}")
    except httpx.TransportError as exc:
        return Outcome(False, retryable=True,
                       error=f"connection error: {type(exc).__name__}: {exc}")
    return read_robot_answer(response.status_code, response.content)


def send_wecom(client: httpx.Client, channel: WecomChannel, subject: str, body: str) -> Outcome:
    return post_robot(client, channel.webhook, wecom_payload(body), channel.timeout)


def send_dingtalk(
    client: httpx.Client,
    channel: DingtalkChannel,
    subject: str,
    body: str,
    *,
    wall: Any = time.time,
) -> Outcome:
    # The timestamp is wall-clock time: DingTalk rejects a signature more than an hour off.
    url = dingtalk_url(channel.webhook, channel.secret, int(wall() * 1000))
    return post_robot(client, url, dingtalk_payload(subject, body), channel.timeout)


def send_email(
    channel: EmailChannel,
    to: str,
    subject: str,
    body: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> Outcome:
    msg = email_message(channel, to, subject, body)
    context = ssl_context or ssl.create_default_context()
    try:
        smtp: smtplib.SMTP
        if channel.security == "ssl":
            smtp = smtplib.SMTP_SSL(channel.smtp_host, channel.port, timeout=channel.timeout,
                                    context=context)
        else:
            smtp = smtplib.SMTP(channel.smtp_host, channel.port, timeout=channel.timeout)
        with smtp:
            if channel.security == "starttls":
                smtp.starttls(context=context)
            if channel.username and channel.password:
                smtp.login(channel.username, channel.password)
            smtp.send_message(msg)
    except smtplib.SMTPNotSupportedError as exc:
        return Outcome(False, error=f"SMTP server does not support it: {exc}")
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{r}: {c} {_text(m)}" for r, (c, m) in exc.recipients.items())
        return Outcome(False, retryable=all(400 <= c < 500 for c in codes),
                       error=f"SMTP recipient refused: {_short(detail)}")
    except smtplib.SMTPResponseException as exc:
        msg_text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) \
            else str(exc.smtp_error)
        return Outcome(False, retryable=400 <= exc.smtp_code < 500,
                       error=f"SMTP {exc.smtp_code}: {_short(msg_text)}")
    except ssl.SSLCertVerificationError as exc:  # a configuration problem: retrying won't help
        return Outcome(False, error=f"SMTP TLS certificate not trusted: {exc.verify_message}")
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(False, retryable=True,
                       error=f"SMTP connection error: {type(exc).__name__}: {exc}")
    return Outcome.success()
