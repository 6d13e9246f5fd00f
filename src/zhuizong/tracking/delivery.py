"""Deliver the day's tracking digests through the channels of ``notify.toml`` (``--send``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from zhuizong.access.actor import Actor
from zhuizong.notify import Digest, default_path, deliver, enqueue, load_channels
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.tracking.service import DigestText
from zhuizong.workspace import Workspace


def send_digests(ws: Workspace, actor: Actor, d: dt.date, digests: list[DigestText]) -> dict[str, Any]:
    """Queue ``digests`` in the outbox (idempotent per day) and deliver everything unsent.

    Returns a report: what was queued, skipped (no address), unrouted (no channel wants the
    recipient), sent and failed per channel. Failed messages stay in the outbox and are retried
    by the next ``--send``.
    """
    actor.require("run_tracking")
    channels = load_channels(default_path(ws.home))
    items = [Digest(x.recipient, x.recipient_name, x.date, x.title, x.markdown) for x in digests]
    with atomic(ws.engine) as conn:
        rep = enqueue(conn, items, channels)
        audit.record(conn, actor=actor.username, action="track_digest_queue", object_type="digest",
                     object_id=d.isoformat(), detail={"digests": len(items), "queued": rep.queued})
    dr = deliver(ws.engine, channels, digest_date=d)
    return {
        "queued": rep.queued,
        "already_queued": rep.already_queued,
        "skipped": [{"recipient": s.recipient, "channel": s.channel_name, "reason": s.reason_zh,
                     "reason_en": s.reason_en} for s in rep.skipped],
        "unrouted": list(rep.unrouted),
        "sent": {name: c.sent for name, c in dr.channels.items()},
        "failed": [{"channel": f.channel_name, "recipient": f.recipient, "error": f.error}
                   for f in dr.failures],
        "deferred": [{"channel": x.channel_name, "recipient": x.recipient, "reason": x.reason_zh}
                     for x in dr.deferred],
        "unknown_channels": dr.unknown_channels,
        "ok": dr.ok,
    }
