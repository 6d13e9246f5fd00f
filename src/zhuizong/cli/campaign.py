"""``zhuizong campaign …``: sales campaigns (方案)."""

from __future__ import annotations

import typer

campaign_app = typer.Typer(help="Sales campaigns (方案): standings, close, honor rolls. 方案.", no_args_is_help=True)
