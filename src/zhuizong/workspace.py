"""The workspace: one folder holding settings, the embedded database and derived analytic files.

Resolution of the folder: ``--home DIR``, else ``ZHUIZONG_HOME``, else ``./zhuizong_data``.
The database is ``database.url`` (``ZHUIZONG_DATABASE_URL``) when set, else ``zhuizong.db`` inside
the workspace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from zhuizong.errors import WorkspaceError
from zhuizong.settings import SETTINGS_FILE, Settings, default_toml, load_settings
from zhuizong.store import schema
from zhuizong.store.db import make_engine

DB_FILE = "zhuizong.db"


def resolve_home(home: str | Path | None = None) -> Path:
    if home:
        return Path(home).expanduser().resolve()
    env = os.environ.get("ZHUIZONG_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return (Path.cwd() / "zhuizong_data").resolve()


@dataclass
class Workspace:
    home: Path
    settings: Settings = field(init=False)

    def __post_init__(self) -> None:
        self.home = Path(self.home)
        self.reload()

    @classmethod
    def open(cls, home: str | Path | None = None) -> Workspace:
        return cls(resolve_home(home))

    def reload(self) -> None:
        self.settings = load_settings(self.home)
        self.__dict__.pop("engine", None)
        self._ready = False  # require_ready checks the (maybe other) database again

    @property
    def db_url(self) -> str:
        return self.settings.database.url or f"sqlite:///{self.home / DB_FILE}"

    @property
    def db_display(self) -> str:
        """The database URL without its password, for printing."""
        return make_url(self.db_url).render_as_string(hide_password=True)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.db_url)

    @property
    def analytics_dir(self) -> Path:
        return self.home / "analytics"

    def init(self) -> bool:
        """Create the folder, the settings file and the schema. Returns True if anything was new."""
        created = False
        self.home.mkdir(parents=True, exist_ok=True)
        settings_path = self.home / SETTINGS_FILE
        if not settings_path.exists():
            settings_path.write_text(default_toml(), encoding="utf-8")
            created = True
        self.reload()
        try:
            before = schema.current_revision(self.engine)
            schema.upgrade(self.engine)
        except OperationalError as exc:
            raise WorkspaceError(
                f"无法连接数据库 {self.db_display}: {exc.orig}",
                f"cannot reach the database {self.db_display}: {exc.orig}",
            ) from None
        return created or before != schema.head_revision()

    def require_ready(self) -> Engine:
        """The engine, after checking that the schema exists and is current (fail with a hint)."""
        if not self.settings.database.url and not (self.home / DB_FILE).exists():
            raise WorkspaceError(
                f"工作区 {self.home} 尚未初始化: 请先运行 `zhuizong init`",
                f"workspace {self.home} is not initialised: run `zhuizong init` first",
            )
        if self._ready:  # current once: a schema is only ever upgraded (``zhuizong init``)
            return self.engine
        try:
            current = schema.current_revision(self.engine)
        except OperationalError as exc:
            raise WorkspaceError(
                f"无法连接数据库 {self.db_display}: {exc.orig}",
                f"cannot reach the database {self.db_display}: {exc.orig}",
            ) from None
        if current != schema.head_revision():
            raise WorkspaceError(
                f"数据库结构不是最新 ({current or '空'}): 请运行 `zhuizong init` 升级",
                f"database schema is not current ({current or 'empty'}): run `zhuizong init`",
            )
        self._ready = True
        return self.engine
