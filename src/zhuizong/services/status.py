"""What is in the workspace: database in use, schema version, row counts, last imports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from zhuizong.access.actor import Actor
from zhuizong.store import schema
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

COUNTED = (
    "org_units", "ranks", "agents", "agent_events", "employment_spells", "agent_history",
    "products", "premiums", "plans", "attendance", "work_logs", "training_sessions",
    "training_attendance", "users", "import_batches", "audit_log",
)


@dataclass
class Status:
    home: str
    database: str
    dialect: str
    schema_revision: str | None
    row_counts: dict[str, int] = field(default_factory=dict)
    last_imports: list[dict[str, Any]] = field(default_factory=list)


def workspace_status(ws: Workspace, actor: Actor, *, last: int = 10) -> Status:
    actor.require("view_status")
    engine = ws.require_ready()
    st = Status(str(ws.home), ws.db_display, engine.dialect.name, schema.current_revision(engine))
    b = table("import_batches")
    with engine.connect() as conn:
        for name in COUNTED:
            st.row_counts[name] = int(conn.execute(select(func.count()).select_from(table(name))).scalar_one())
        rows = conn.execute(select(b).order_by(b.c.id.desc()).limit(last)).mappings()
        st.last_imports = [dict(r) for r in rows]
    return st
