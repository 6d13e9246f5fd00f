"""Errors a user can act on.

Every error carries a Chinese and an English message: the CLI prints both, the web app picks one.
Anything that is not a ``ZhuizongError`` is a bug and may surface as a traceback.
"""

from __future__ import annotations


class ZhuizongError(Exception):
    """Base class: an error with a bilingual, user-facing message."""

    exit_code = 1

    def __init__(self, zh: str, en: str | None = None) -> None:
        self.zh = zh
        self.en = en or zh
        super().__init__(f"{zh} / {en}" if en else zh)


class ConfigError(ZhuizongError):
    """A setting or configuration file is invalid."""

    exit_code = 2


class WorkspaceError(ZhuizongError):
    """The workspace is missing, not initialised, or its database is unreachable."""

    exit_code = 3


class NotFound(ZhuizongError):
    """The object does not exist *or is outside the actor's scope* (the two look the same)."""

    exit_code = 4


class PermissionDenied(ZhuizongError):
    """The actor's role does not allow the action at all (scope problems answer NotFound)."""

    exit_code = 5


class ImportFailed(ZhuizongError):
    """An import was rejected; ``result`` holds the row-level error report."""

    exit_code = 6

    def __init__(self, zh: str, en: str, result: object | None = None) -> None:
        super().__init__(zh, en)
        self.result = result
