"""Delivery of the daily tracking digests (每日追踪提醒) to WeCom, DingTalk and e-mail.

- :mod:`.config` — ``notify.toml`` channels, validated (``load_channels``).
- :mod:`.digest` — ``Digest``; ``enqueue`` into ``notify_outbox``; ``deliver`` (paced, retried).
- :mod:`.channels` — payloads, DingTalk signing, message splitting, reading the answers.
- :mod:`.pacing` — the per-robot sliding-window limiter (20 messages per minute).
"""

from zhuizong.notify.config import (
    DingtalkChannel,
    EmailChannel,
    WecomChannel,
    default_path,
    load_channels,
)
from zhuizong.notify.digest import DeliveryReport, Digest, EnqueueReport, deliver, enqueue

__all__ = [
    "DeliveryReport",
    "Digest",
    "DingtalkChannel",
    "EmailChannel",
    "EnqueueReport",
    "WecomChannel",
    "default_path",
    "deliver",
    "enqueue",
    "load_channels",
]
