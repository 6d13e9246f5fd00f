"""Formula-injection defusing for every exported text cell (XLSX, CSV, PDF tables).

A value starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
apostrophe, so a spreadsheet shows it as text instead of evaluating it.
"""

from __future__ import annotations

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """Text for a report cell, defused if a spreadsheet could read it as a formula."""
    s = "" if value is None else str(value)
    return "'" + s if s.startswith(_DANGEROUS) else s
