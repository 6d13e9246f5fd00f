"""The staff users that docs/examples/track_assignments.csv assigns to units. Users are created
with ``zhuizong users add`` (never imported), so every test that imports the whole example set
creates them first: :func:`create_example_staff` (Python) or :func:`staff_cli_args` (CLI)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def example_staff() -> list[tuple[str, str]]:
    """(username, role) of every user the assignments example names."""
    with (EXAMPLES / "track_assignments.csv").open(encoding="utf-8") as f:
        return sorted({(r["username"], r["role"]) for r in csv.DictReader(f)})


def create_example_staff(ws: Any) -> None:
    from zhuizong.access import users
    from zhuizong.store.db import atomic

    with atomic(ws.engine) as conn:
        known = {u.username for u in users.list_users(conn)}
        for name, role in example_staff():
            if name not in known:
                users.create_user(conn, name, name, roles=[role])


def staff_cli_args() -> list[list[str]]:
    """``zhuizong users add`` argument lists for the example staff."""
    return [["users", "add", name, "--name", name, "--role", role] for name, role in example_staff()]
