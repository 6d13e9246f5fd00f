"""The command line's global options (``--home``, ``--as``) and the workspace and actor they give;
shared by ``zhuizong.cli.main`` and the command groups (assess, campaign, track)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zhuizong.access.actor import SYSTEM, Actor

if TYPE_CHECKING:  # the workspace (SQLAlchemy, Alembic, settings) loads when a command needs it
    from zhuizong.workspace import Workspace


class State:
    home: str | None = None
    as_user: str | None = None


state = State()


def _ws() -> Workspace:
    from zhuizong.workspace import Workspace

    return Workspace.open(state.home)


def _actor(ws: Workspace) -> Actor:
    if not state.as_user:
        return SYSTEM
    from zhuizong.access.users import load_actor

    with ws.require_ready().connect() as conn:
        return load_actor(conn, state.as_user)
