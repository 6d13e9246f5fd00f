"""Printing helpers shared by the commands: Rich tables, JSON, bilingual errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from decimal import Decimal
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from zhuizong.errors import ZhuizongError

#: the language of the output (global option ``--lang``; zh-CN by default): :func:`tr` picks it
LANG = "zh"


def format_option(*choices: str, help: str | None = None) -> Any:
    """The ``--format/-f`` option of a command, limited to ``choices``: any other value is refused
    while the command line is read — before the command runs, so a command that writes (``track
    run``, ``assess run``) changes nothing and none prints a table in place of the format asked."""

    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            shown = ", ".join(choices)
            raise ZhuizongError(f"不支持的格式 '{value}'; 可用: {shown}",
                                f"unknown format '{value}'; use one of {shown}")
        return value

    return typer.Option("--format", "-f", help=help or " | ".join(choices), callback=check)


def tr(zh: str, en: str) -> str:
    """The text in the output language (one language per run; errors stay bilingual)."""
    return en if LANG == "en" else zh


def _width() -> int | None:
    """A terminal's own width; piped or redirected output is not cut at 80 columns."""
    if sys.stdout.isatty():
        return None
    cols = os.environ.get("COLUMNS", "")
    return int(cols) if cols.isdigit() else 200


console = Console(width=_width())
err_console = Console(stderr=True)


def _default(o: Any) -> Any:
    if isinstance(o, (dt.date, dt.datetime)):
        return o.isoformat()
    if isinstance(o, Decimal):
        return str(o)
    raise TypeError(type(o))


def print_json(obj: Any) -> None:
    # Plain print: JSON must not be re-wrapped or highlighted.
    console.print_json(json.dumps(obj, ensure_ascii=False, default=_default), highlight=False) \
        if console.is_terminal else print(json.dumps(obj, ensure_ascii=False, default=_default))


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> Table:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")  # a narrow terminal wraps a cell, never cuts it
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    return t


def error(zh: str, en: str) -> None:
    # soft_wrap: never break a message (a file path, a value) with hard newlines; escape: a message
    # may contain [brackets] that are data, not Rich markup
    err_console.print(f"[bold red]错误[/]: {escape(zh)}", highlight=False, soft_wrap=True)
    if en and en != zh:
        err_console.print(f"[red]error[/]: {escape(en)}", highlight=False, soft_wrap=True)
