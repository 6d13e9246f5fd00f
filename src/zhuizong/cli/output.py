"""Printing helpers shared by the commands: Rich tables, JSON, bilingual errors."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
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
        t.add_column(c)
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    return t


def error(zh: str, en: str) -> None:
    # soft_wrap: never break a message (a file path, a value) with hard newlines; escape: a message
    # may contain [brackets] that are data, not Rich markup
    err_console.print(f"[bold red]错误[/]: {escape(zh)}", highlight=False, soft_wrap=True)
    if en and en != zh:
        err_console.print(f"[red]error[/]: {escape(en)}", highlight=False, soft_wrap=True)
