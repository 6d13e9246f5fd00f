"""The audit log: who did what, when. Append-only; written inside the action's transaction."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection, insert

from zhuizong.store.models import table


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def record(
    conn: Connection,
    *,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(table("audit_log")).values(
            at=now(),
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
        )
    )
