"""Wire formats: payload shapes, the DingTalk signature, message splitting, reading answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

from hypothesis import given, settings
from hypothesis import strategies as st

from zhuizong.notify import channels as wire
from zhuizong.notify.config import EmailChannel


def test_payload_shapes() -> None:
    assert wire.wecom_payload("**今日追踪**") == {
        "msgtype": "markdown", "markdown": {"content": "**今日追踪**"}}
    assert wire.dingtalk_payload("追踪提醒", "# 追踪\n- A") == {
        "msgtype": "markdown", "markdown": {"title": "追踪提醒", "text": "# 追踪\n- A"}}


def test_dingtalk_signature_matches_documented_recipe() -> None:
    secret, ts = "SEC0123456789abcdef", 1_700_000_000_123
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert wire.dingtalk_sign(secret, ts) == expected
    url = wire.dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=T", secret, ts)
    query = urllib.parse.urlsplit(url).query
    # sign is URL-encoded in the query string ('+', '/', '=' escaped) and decodes back exactly
    raw_sign = query.split("sign=", 1)[1]
    assert not set("+/=") & set(raw_sign)
    params = urllib.parse.parse_qs(query)
    assert params == {"access_token": ["T"], "timestamp": [str(ts)], "sign": [expected]}
    assert wire.dingtalk_url("https://x/robot/send?access_token=T", None, ts) == (
        "https://x/robot/send?access_token=T")


def test_short_digest_is_one_message() -> None:
    assert wire.split_markdown("提醒", "一\n二", 4096) == [("提醒", "一\n二")]
    assert wire.split_markdown("提醒", "一" * 10_000, None) == [("提醒", "一" * 10_000)]


def test_long_digest_split_into_numbered_parts_at_line_boundaries() -> None:
    lines = [f"- 业务员 A{i:04d} 张三{i}: 连续两月无出单, 请主管面谈 ✅" for i in range(400)]
    text = "# 2026-05-18 追踪提醒\n" + "\n".join(lines)
    parts = wire.split_markdown("李主管 追踪提醒", text, wire.WECOM_MAX_BYTES)
    n = len(parts)
    assert n > 1
    rebuilt: list[str] = []
    for i, (subject, body) in enumerate(parts, start=1):
        assert len(body.encode("utf-8")) <= wire.WECOM_MAX_BYTES
        assert subject == f"李主管 追踪提醒（{i}/{n}）"
        header = f"**李主管 追踪提醒（{i}/{n}）**\n\n"
        assert body.startswith(header)
        rebuilt.extend(body[len(header):].split("\n"))
    assert rebuilt == text.split("\n")  # nothing lost, nothing cut mid-line, order kept


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text(alphabet=st.sampled_from("ab中文✅🙂 -*#\t"), max_size=300), max_size=60),
    st.integers(200, 2000),
)
def test_split_never_loses_text(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    parts = wire.split_markdown("标题", text, limit)
    assert all(len(b.encode()) <= limit for _, b in parts)
    if len(parts) == 1:
        assert parts[0][1] == text
    else:
        bodies = [b.split("\n\n", 1)[1] for _, b in parts]
        # over-long lines are cut on character boundaries, so joining with "" recovers the text
        # modulo the line breaks between parts
        assert "".join(bodies).replace("\n", "") == text.replace("\n", "")


def test_read_robot_answer() -> None:
    ok = wire.read_robot_answer(200, b'{"errcode": 0, "errmsg": "ok"}')
    assert ok.ok
    limited = wire.read_robot_answer(200, b'{"errcode": 45009, "errmsg": "api freq out of limit"}')
    assert not limited.ok and limited.retryable and limited.rate_limited
    assert "45009" in (limited.error or "")
    ding = wire.read_robot_answer(200, b'{"errcode": 130101, "errmsg": "send too fast"}')
    assert ding.retryable and ding.rate_limited
    bad_key = wire.read_robot_answer(200, b'{"errcode": 93000, "errmsg": "invalid webhook url"}')
    assert not bad_key.ok and not bad_key.retryable and "93000" in (bad_key.error or "")
    assert wire.read_robot_answer(500, b"oops").retryable
    assert wire.read_robot_answer(429, b"").rate_limited
    assert not wire.read_robot_answer(404, b"not found").retryable
    assert wire.read_robot_answer(200, b"<html>").retryable


def test_email_message_encodes_chinese_subject() -> None:
    ch = EmailChannel(name="mail", type="email", smtp_host="localhost", sender="zz@insurer.cn")
    msg = wire.email_message(ch, "li@insurer.cn", "李主管 2026-05-18 追踪提醒", "# 追踪\n- 张三")
    raw = msg.as_bytes()
    raw.decode("ascii")  # headers and body are 7-bit on the wire
    assert b"=?utf-8?" in raw.split(b"\n\n", 1)[0].lower()
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
