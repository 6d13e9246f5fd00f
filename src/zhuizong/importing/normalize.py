"""Normalisation of headers and cell values, column-wise (pyarrow compute, no per-row Python).

* Headers: codes (case-insensitive) or Chinese labels, after stripping spaces, a BOM and folding
  full-width characters to half-width (NFKC).
* Values: surrounding white space stripped (every Unicode ``White_Space`` character: the
  full-width space U+3000, NBSP, …); for columns that hold codes, numbers, dates, periods, enums
  and booleans, invisible characters are removed first (every format character, category Cf:
  zero-width space U+200B, ZWNJ, ZWJ, word joiner U+2060, BOM U+FEFF, soft hyphen U+00AD, …, and
  the other invisible fillers and variation selectors of :data:`INVISIBLE_SPANS`), then full-width
  digits, letters and punctuation are folded to half-width (NFKC); the empty string means
  *missing* (null).
* Codes (identifiers compared as keys: ``agent_code``, ``org_code``, ``txn_id``, ``policy_no`` …)
  are normalised by exactly that one function, :func:`clean_strings` with ``folded=True``
  (:func:`normalize_code` for one value), and a code that still holds a space inside, or a control
  or unprintable character, is refused (:func:`code_problems`). Codes that *look* equal are
  therefore the same key: ``T0001``, ``Ｔ０００１``, ``T<U+200B>0001`` and ``T000<U+2060>1`` are
  one transaction.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from zhuizong.importing.kinds import ImportKind

#: column types whose values are folded with NFKC (free text is only trimmed)
FOLDED_TYPES = frozenset({"code", "date", "int", "money", "decimal", "enum", "bool", "period"})


Spans = tuple[tuple[int, int], ...]

#: Format characters (general category Cf) of Unicode 14 (Python 3.11's ``unicodedata``; the tests
#: check this table against it, so a newer Python that adds some fails loudly, not silently).
FORMAT_SPANS: Spans = (
    (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F),
    (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)
#: Characters that are invisible and removed from codes (and other folded values) anywhere: every
#: format character (:data:`FORMAT_SPANS`: U+00AD soft hyphen, U+200B zero-width space, ZWNJ,
#: ZWJ, U+2060 word joiner, U+FEFF BOM, bidi controls, tags …), the combining grapheme joiner, the
#: Hangul fillers, the Khmer inherent vowels, the Mongolian free variation selectors and the
#: variation selectors. NFKC never produces any of them (checked in the tests), so removing them
#: first and folding second gives a result that is stable under both.
INVISIBLE_SPANS: Spans = FORMAT_SPANS + (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180D), (0x180F, 0x180F),
    (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF),
)
#: The Unicode ``White_Space`` characters: trimmed at both ends; inside a code they are refused.
WHITESPACE = (
    "\t\n\v\f\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)
#: Control characters (general category Cc; fixed by Unicode's stability policy).
CONTROL_SPANS: Spans = ((0x00, 0x1F), (0x7F, 0x9F))
#: Refused inside a code: control characters (e.g. NUL) and private-use characters (Co, what a
#: legacy encoding's user-defined area decodes to).
UNPRINTABLE_SPANS: Spans = CONTROL_SPANS + ((0xE000, 0xF8FF), (0xF0000, 0xFFFFD),
                                            (0x100000, 0x10FFFD))


def in_spans(ch: str, spans: Spans) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in spans)


def _re2_class(spans: Spans) -> str:
    """An RE2 character class matching exactly the code points of ``spans``."""
    return "[" + "".join(
        f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}" for lo, hi in spans
    ) + "]"


_INVISIBLE_RE = _re2_class(INVISIBLE_SPANS)
_SPACE_RE = _re2_class(tuple((ord(c), ord(c)) for c in WHITESPACE))
_UNPRINTABLE_RE = _re2_class(UNPRINTABLE_SPANS)
#: control characters refused in single-line text (names); multi-line text allows TAB, LF, CR
_CONTROL_RE = _re2_class(CONTROL_SPANS)
_CONTROL_MULTILINE_RE = _re2_class(((0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F)))
#: trimmed around free text as well (a pasted BOM or zero-width space at either end)
_TEXT_TRIM = WHITESPACE + "\ufeff\u200b"


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
    """The one normalisation of cell values. ``folded`` (codes, numbers, dates, enums …):
    invisible characters (:data:`INVISIBLE_SPANS`) removed anywhere, then NFKC; always: surrounding
    white space (:data:`WHITESPACE`; for free text also a BOM or zero-width space) trimmed and
    '' -> null."""
    if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.string())
    if folded:
        # Pure-ASCII values hold neither invisible characters nor anything NFKC changes.
        if not pc.all(pc.string_is_ascii(arr)).as_py():
            arr = pc.replace_substring_regex(arr, _INVISIBLE_RE, "")
            arr = pc.utf8_normalize(arr, form="NFKC")
    arr = pc.utf8_trim(arr, characters=WHITESPACE if folded else _TEXT_TRIM)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)


def code_problems(arr: pa.Array) -> tuple[pa.Array, pa.Array]:
    """For codes already cleaned by :func:`clean_strings`: (has a space inside, has a control or
    unprintable character) masks; null values are never a problem."""
    space = pc.fill_null(pc.match_substring_regex(arr, _SPACE_RE), False)
    bad = pc.fill_null(pc.match_substring_regex(arr, _UNPRINTABLE_RE), False)
    return space, bad


def text_problems(arr: pa.Array, *, multiline: bool) -> pa.Array:
    """For free text already trimmed: the mask of values holding a control character (NUL, ESC,
    …; TAB, LF and CR are allowed in ``multiline`` text)."""
    pattern = _CONTROL_MULTILINE_RE if multiline else _CONTROL_RE
    return pc.fill_null(pc.match_substring_regex(arr, pattern), False)


def normalize_code(value: str) -> str | None:
    """One code normalised exactly as an import normalises a code column (None when empty).

    For every other place that compares a code typed by a user with stored keys (command-line
    options, web forms): the same function, so that what imports as one key is found as one key."""
    out = clean_strings(pa.array([value], type=pa.string()), folded=True)
    v = out[0].as_py()
    return None if v is None else str(v)


def code_problem(value: str) -> tuple[str, str] | None:
    """Why the normalised code ``value`` is refused, (zh, en), or None when it is fine."""
    arr = pa.array([value], type=pa.string())
    space, bad = code_problems(arr)
    if bad[0].as_py():
        return CODE_UNPRINTABLE
    if space[0].as_py():
        return CODE_INNER_SPACE
    return None


CODE_INNER_SPACE = (
    "代码中间不能有空格 (前后的空格会自动去掉)",
    "a code must not contain a space inside (spaces around it are removed)",
)
CODE_UNPRINTABLE = (
    "代码含控制字符或不可打印字符 (如 NUL)",
    "a code must not contain a control or unprintable character (such as NUL)",
)
TEXT_CONTROL = (
    "含控制字符 (如 NUL), 可能是复制或编码错误",
    "contains a control character (such as NUL), perhaps a copy or encoding error",
)


def visible(value: str) -> str:
    """``value`` with every control, format, private-use or non-ASCII space character written as
    ``<U+XXXX>`` (what an error report shows, so that the culprit can be seen and the report
    cell can be written)."""
    out: list[str] = []
    for ch in value:
        if (in_spans(ch, UNPRINTABLE_SPANS) or in_spans(ch, INVISIBLE_SPANS)
                or (ch in WHITESPACE and ch != " ")):
            out.append(f"<U+{ord(ch):04X}>")
        else:
            out.append(ch)
    return "".join(out)
