"""The Alembic migrations create exactly the schema the models declare (no drift)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from zhuizong.store.models import Base
from zhuizong.workspace import Workspace


def test_migrated_schema_equals_models(workspace: Workspace) -> None:
    engine = workspace.require_ready()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], "migrations and models differ:\n" + "\n".join(map(str, diff))
