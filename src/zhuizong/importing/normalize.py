"""Normalisation of headers and cell values, column-wise (pyarrow compute, no per-row Python).

* Headers: codes (case-insensitive) or Chinese labels, after stripping spaces, a BOM and folding
  full-width characters to half-width (NFKC).
* Values: surrounding spaces stripped (including the full-width space U+3000 and NBSP); for
  columns that hold codes, numbers, dates, periods, enums and booleans full-width digits, letters
  and punctuation are folded to half-width (NFKC); the empty string means *missing* (null).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from zhuizong.importing.kinds import ImportKind

#: column types whose values are folded with NFKC (free text is only trimmed)
FOLDED_TYPES = frozenset({"code", "date", "int", "money", "decimal", "enum", "bool", "period"})


def fold(s: str) -> str:
    """One header or value: NFKC, BOM and surrounding (full-width) spaces removed."""
    return unicodedata.normalize("NFKC", s.replace("\ufeff", "")).strip()


@dataclass
class RowError:
    """One problem: ``row`` is the row number the user sees (header = 1, first data row = 2),
    0 for a problem with the file as a whole (encoding, size, headers …)."""

    row: int
    column: str
    value: str
    reason_zh: str
    reason_en: str


def allowed_headers(kind: ImportKind) -> str:
    return ", ".join(f"{c.code} ({c.zh})" for c in kind.columns)


def map_headers(kind: ImportKind, headers: list[str]) -> tuple[list[str | None], list[RowError]]:
    """Map raw headers to column codes. Returns (code or None per header, problems).

    Problems: an unknown header, a column given twice (under its code and its label counts as
    twice), a missing required column. Entirely empty trailing headers are ignored (None)."""
    aliases = {fold(k).lower(): v for k, v in kind.header_aliases().items()}
    codes: list[str | None] = []
    problems: list[RowError] = []
    seen: dict[str, str] = {}
    allowed = allowed_headers(kind)
    for raw in headers:
        h = fold(raw or "")
        if not h:
            codes.append(None)
            continue
        code = aliases.get(h.lower())
        if code is None:
            problems.append(
                RowError(
                    0,
                    raw,
                    raw,
                    f"未知的列 {raw!r}; 允许的列: {allowed}",
                    f"unknown column {raw!r}; allowed columns: {allowed}",
                )
            )
            codes.append(None)
            continue
        if code in seen:
            problems.append(
                RowError(
                    0,
                    raw,
                    raw,
                    f"列重复: {raw!r} 与 {seen[code]!r} 都是 {code}",
                    f"duplicate column: {raw!r} and {seen[code]!r} are both {code}",
                )
            )
            codes.append(None)
            continue
        seen[code] = raw
        codes.append(code)
    for c in kind.columns:
        if c.is_required and c.code not in seen:
            problems.append(
                RowError(
                    0,
                    c.code,
                    "",
                    f"缺少必填列 {c.code} ({c.zh})",
                    f"missing required column {c.code} ({c.zh})",
                )
            )
    return codes, problems


def clean_strings(arr: pa.Array | pa.ChunkedArray, *, folded: bool) -> pa.Array | pa.ChunkedArray:
    """Trim (Unicode whitespace incl. U+3000, NBSP, BOM), NFKC when ``folded``; '' -> null."""
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.string())
    if folded:
        # NFKC only where needed: pure-ASCII values are already half-width.
        if not pc.all(pc.string_is_ascii(arr)).as_py():
            arr = pc.utf8_normalize(arr, form="NFKC")
    arr = pc.utf8_trim(arr, characters=" \t\r\n\u3000\u00a0\ufeff\u200b\u2002\u2003\u2009\v\f")
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
