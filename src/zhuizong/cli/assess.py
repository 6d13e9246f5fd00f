"""``zhuizong assess …``: basic-law (基本法) assessments."""

from __future__ import annotations

import typer

assess_app = typer.Typer(help="Basic-law assessments (基本法考核). 考核.", no_args_is_help=True)
