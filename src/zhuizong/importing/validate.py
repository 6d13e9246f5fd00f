"""Column-wise validation: strings (or already typed columns) -> typed columns + row errors.

Everything is done on whole columns with pyarrow compute (regex masks, casts, ``is_in``); Python
only loops over the rows that *have* an error, to build their :class:`RowError`.

Typed output per column type (what the upsert stores):

=========  ==================================================================
code/text  string (trimmed; codes: invisible characters removed, NFKC-folded, a space or
           control character inside refused; text: a control character refused)
date       date32
int        int64
money      int64 分 (fen), in ``Column.target`` (``amount_fen``, ``fyc_fen``)
decimal    string, canonical digits (the database column is NUMERIC)
enum       string, the code
bool       bool
period     string ``YYYY-MM`` / ``YYYYQn`` / ``YYYY``
=========  ==================================================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Numeric, String, select

from zhuizong.importing.kinds import KINDS, Column, ImportKind
from zhuizong.importing.normalize import (
    CODE_INNER_SPACE,
    CODE_UNPRINTABLE,
    FOLDED_TYPES,
    TEXT_CONTROL,
    RowError,
    clean_strings,
    code_problems,
    fold,
    text_problems,
    visible,
)
from zhuizong.importing.structure import check_structure
from zhuizong.store.models import table as db_table

MIN_YEAR, MAX_YEAR = 1900, 2199
INT32_MAX = 2**31 - 1
MONEY_RE = r"^[+-]?(?:\d{1,15}|\d{1,3}(?:,\d{3}){1,4})(?:\.\d{0,2})?$"
INT_RE = r"^(?P<i>[+-]?\d{1,18})(?:\.0*)?$"
DECIMAL_RE = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$"
PERIOD_RE = r"^\d{4}(?:-(?:0[1-9]|1[0-2])|Q[1-4])?$"
BOOL_WORDS = {
    "1": True, "0": False, "true": True, "false": False, "t": True, "f": False,
    "y": True, "n": False, "yes": True, "no": False, "是": True, "否": False,
}


@dataclass
class Validated:
    """Typed columns keyed by *database* column, the user row number per row, and errors."""

    kind: ImportKind
    columns: dict[str, pa.Array]
    rows: np.ndarray
    errors: list[RowError] = field(default_factory=list)
    min_date: dt.date | None = None
    max_date: dt.date | None = None

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def ok(self) -> bool:
        return not self.errors


# --- helpers ----------------------------------------------------------------------------------


def _chunked(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def _mask_np(mask: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


class _Errors:
    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.items: list[tuple[int, int, RowError]] = []  # (row idx, order, error) for sorting

    def add(self, mask: np.ndarray | pa.Array, col: str, values: pa.Array | None, zh: str,
            en: str, show: Callable[[str], str] = str) -> None:
        m = mask if isinstance(mask, np.ndarray) else _mask_np(mask)
        idx = np.flatnonzero(m)
        if not len(idx):
            return
        if values is None:
            shown = [""] * len(idx)
        else:
            shown = pc.take(values, pa.array(idx)).to_pylist()
        rows = self.rows[idx].tolist()
        order = len(self.items)
        for i, r, v in zip(idx.tolist(), rows, shown, strict=True):
            self.items.append(
                (i, order, RowError(r, col, "" if v is None else show(str(v)), zh, en))
            )

    def sorted(self) -> list[RowError]:
        return [e for _, _, e in sorted(self.items, key=lambda t: (t[0], t[1]))]


def _null_like(n: int, typ: pa.DataType) -> pa.Array:
    return pa.nulls(n, type=typ)


# --- per-type parsers on cleaned strings -------------------------------------------------------
# Each returns (typed array with nulls where invalid, invalid mask, reason zh, reason en).


def parse_date(s: pa.Array) -> tuple[pa.Array, pa.Array, str, str]:
    zh = f"日期格式应为 YYYY-MM-DD ({MIN_YEAR}–{MAX_YEAR} 年的有效日期)"
    en = f"date must be YYYY-MM-DD (a valid date in {MIN_YEAR}–{MAX_YEAR})"
    try:  # fast path: every value already strict ISO (the cast checks impossible dates)
        dates = pc.cast(s, pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    else:
        years = pc.year(dates)
        good = pc.and_(pc.greater_equal(years, MIN_YEAR), pc.less_equal(years, MAX_YEAR))
        if pc.all(pc.fill_null(good, True)).as_py():
            return dates, pa.array(np.zeros(len(s), dtype=bool)), zh, en
    t = pc.replace_substring_regex(s, r"[ T]00:00(?::00(?:\.0+)?)?$", "")
    t = pc.replace_substring_regex(t, r"^(\d{4})/(\d{1,2})/(\d{1,2})$", r"\1-\2-\3")
    t = pc.replace_substring_regex(t, r"^(\d{4})(\d{2})(\d{2})$", r"\1-\2-\3")
    parts = pc.extract_regex(t, r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$")
    ok_shape = pc.is_valid(parts)
    y = parts.field("y")
    m = pc.utf8_lpad(parts.field("m"), width=2, padding="0")
    d = pc.utf8_lpad(parts.field("d"), width=2, padding="0")
    canon = pc.binary_join_element_wise(y, m, d, "-")
    ts = pc.strptime(canon, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime is lenient (2026-02-30 -> 2026-03-02): round-trip to catch impossible dates
    back = pc.strftime(ts, format="%Y-%m-%d")
    good = pc.and_(pc.and_(ok_shape, pc.is_valid(ts)), pc.equal(back, canon))
    good = pc.fill_null(good, False)
    years = pc.fill_null(pc.year(ts), 0)
    good = pc.and_(good, pc.and_(pc.greater_equal(years, MIN_YEAR), pc.less_equal(years, MAX_YEAR)))
    dates = pc.cast(ts, pa.date32())
    dates = pc.if_else(good, dates, pa.scalar(None, pa.date32()))
    bad = pc.and_(pc.is_valid(s), pc.invert(good))
    return dates, bad, zh, en


def parse_int(s: pa.Array) -> tuple[pa.Array, pa.Array, str, str]:
    parts = pc.extract_regex(s, INT_RE)
    ok = pc.is_valid(parts)
    digits = pc.if_else(ok, parts.field("i"), pa.scalar(None, pa.string()))
    vals = pc.cast(digits, pa.int64())
    bad = pc.and_(pc.is_valid(s), pc.invert(ok))
    return vals, bad, "应为整数", "must be a whole number"


def parse_money(s: pa.Array) -> tuple[pa.Array, pa.Array, str, str]:
    ok = pc.fill_null(pc.match_substring_regex(s, MONEY_RE), False)
    t = pc.replace_substring(pc.if_else(ok, s, pa.scalar(None, pa.string())), ",", "")
    parts = pc.extract_regex(t, r"^(?P<sign>[+-]?)(?P<int>\d+)(?:\.(?P<frac>\d{0,2}))?$")
    null = pa.scalar(None, pa.string())
    ipart = pc.cast(pc.if_else(ok, parts.field("int"), null), pa.int64())
    frac = pc.utf8_rpad(pc.fill_null(pc.if_else(ok, parts.field("frac"), null), ""), width=2,
                        padding="0")
    fpart = pc.cast(frac, pa.int64())
    fen = pc.add(pc.multiply(ipart, 100), fpart)
    fen = pc.if_else(pc.equal(parts.field("sign"), "-"), pc.negate(fen), fen)
    fen = pc.if_else(ok, fen, pa.scalar(None, pa.int64()))
    bad = pc.and_(pc.is_valid(s), pc.invert(ok))
    return (fen, bad, "金额应为以元为单位的数字, 最多两位小数 (可用千分位逗号)",
            "amount must be a number in 元 with at most two decimals (thousands commas allowed)")


def fen_to_yuan(fen: int) -> str:
    """Inverse of the money parser for one value: 123450 -> '1234.50'."""
    sign = "-" if fen < 0 else ""
    q, r = divmod(abs(fen), 100)
    return f"{sign}{q}.{r:02d}"


def parse_decimal(s: pa.Array, precision: int | None, scale: int | None
                  ) -> tuple[pa.Array, pa.Array, str, str]:
    ok = pc.fill_null(pc.match_substring_regex(s, DECIMAL_RE), False)
    zh, en = "应为数字", "must be a number"
    if precision is not None and scale is not None:
        parts = pc.extract_regex(s, r"^[+-]?(?P<i>\d*)(?:\.(?P<f>\d*))?$")
        ilen = pc.utf8_length(pc.utf8_ltrim(parts.field("i"), characters="0"))
        flen = pc.utf8_length(pc.utf8_rtrim(pc.fill_null(parts.field("f"), ""), characters="0"))
        fits = pc.and_(pc.less_equal(ilen, precision - scale), pc.less_equal(flen, scale))
        ok = pc.and_(ok, pc.fill_null(fits, False))
        zh = f"应为数字 (整数部分最多 {precision - scale} 位, 最多 {scale} 位小数)"
        en = f"must be a number (at most {precision - scale} integer digits, {scale} decimals)"
    t = pc.replace_substring_regex(s, r"^\+", "")
    t = pc.replace_substring_regex(t, r"^(-?)\.", r"\10.")  # RE2: \1 then "0."
    t = pc.replace_substring_regex(t, r"\.$", "")
    vals = pc.if_else(ok, t, pa.scalar(None, pa.string()))
    bad = pc.and_(pc.is_valid(s), pc.invert(ok))
    return vals, bad, zh, en


def _lookup(s: pa.Array, mapping: Mapping[str, object], typ: pa.DataType) -> pa.Array:
    keys = pa.array(list(mapping.keys()), type=pa.string())
    vals = pa.array(list(mapping.values()), type=typ)
    idx = pc.index_in(s, value_set=keys)
    return pc.take(vals, idx)


def enum_mapping(col: Column) -> dict[str, str]:
    out: dict[str, str] = {}
    for code in col.choices:
        out[fold(code).lower()] = code
    for syn, code in col.synonyms.items():
        out[fold(syn).lower()] = code
    return out


def parse_enum(s: pa.Array, col: Column) -> tuple[pa.Array, pa.Array, str, str]:
    vals = _lookup(pc.utf8_lower(s), enum_mapping(col), pa.string())
    bad = pc.and_(pc.is_valid(s), pc.is_null(vals))
    allowed = ", ".join(col.choices)
    syn = ", ".join(f"{k}={v}" for k, v in col.synonyms.items())
    zh = f"不是允许的值; 允许: {allowed}" + (f" (或 {syn})" if syn else "")
    en = f"not an allowed value; allowed: {allowed}" + (f" (or {syn})" if syn else "")
    if len(allowed) > 300:
        zh = f"不是已知的{col.zh}"
        en = f"not a known {col.code}"
    return vals, bad, zh, en


def parse_bool(s: pa.Array) -> tuple[pa.Array, pa.Array, str, str]:
    vals = _lookup(pc.utf8_lower(s), BOOL_WORDS, pa.bool_())
    bad = pc.and_(pc.is_valid(s), pc.is_null(vals))
    return vals, bad, "应为 1/0、是/否、true/false 或 Y/N", "must be 1/0, 是/否, true/false or Y/N"


def parse_period(s: pa.Array) -> tuple[pa.Array, pa.Array, str, str]:
    t = pc.utf8_upper(s)
    t = pc.replace_substring_regex(t, r"^(\d{4})[-/](\d)$", r"\1-0\2")
    t = pc.replace_substring_regex(t, r"^(\d{4})/(\d{2})$", r"\1-\2")
    t = pc.replace_substring_regex(t, r"^(\d{4})-?Q([1-4])$", r"\1Q\2")
    ok = pc.fill_null(pc.match_substring_regex(t, PERIOD_RE), False)
    vals = pc.if_else(ok, t, pa.scalar(None, pa.string()))
    bad = pc.and_(pc.is_valid(s), pc.invert(ok))
    return vals, bad, "期间格式应为 YYYY-MM、YYYYQn 或 YYYY", "period must be YYYY-MM, YYYYQn or YYYY"


# --- typed input (import_frame fast path) ------------------------------------------------------


def _typed(arr: pa.Array, col: Column) -> tuple[pa.Array, pa.Array] | None:
    """Already-typed input for ``col``: (typed values, invalid mask), or None to use strings."""
    t = arr.type
    n = len(arr)
    no_bad = pa.array(np.zeros(n, dtype=bool))
    if col.type == "date":
        if pa.types.is_timestamp(t):
            if t.tz is not None:
                arr = pc.local_timestamp(arr)
            return pc.cast(pc.floor_temporal(arr, unit="day"), pa.date32()), no_bad
        if pa.types.is_date(t):
            return pc.cast(arr, pa.date32()), no_bad
        return None
    if col.type in ("int", "money") and pa.types.is_integer(t):
        v = pc.cast(arr, pa.int64())
        return (pc.multiply_checked(v, 100) if col.type == "money" else v), no_bad
    if col.type in ("int", "money") and pa.types.is_floating(t):
        scaled = pc.multiply(arr, 100.0) if col.type == "money" else arr
        rounded = pc.round(scaled, 0)
        ok = pc.less(pc.abs(pc.subtract(scaled, rounded)), 1e-6 if col.type == "money" else 1e-9)
        ok = pc.and_(ok, pc.less(pc.abs(rounded), 9.0e15))
        vals = pc.if_else(ok, pc.cast(pc.fill_null(pc.if_else(ok, rounded, 0.0), 0.0), pa.int64()),
                          pa.scalar(None, pa.int64()))
        vals = pc.if_else(pc.is_valid(arr), vals, pa.scalar(None, pa.int64()))
        return vals, pc.and_(pc.is_valid(arr), pc.invert(pc.fill_null(ok, False)))
    if col.type == "money" and pa.types.is_decimal(t):
        return None  # exact: through the string parser
    if col.type == "bool" and pa.types.is_boolean(t):
        return arr, no_bad
    if col.type == "bool" and pa.types.is_integer(t):
        ok = pc.is_in(arr, value_set=pa.array([0, 1], type=t))
        return pc.if_else(ok, pc.not_equal(arr, 0), pa.scalar(None, pa.bool_())), pc.and_(
            pc.is_valid(arr), pc.invert(ok))
    return None


def _as_strings(arr: pa.Array, col: Column) -> pa.Array:
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.string())
    if pa.types.is_floating(t) and col.type in ("code", "text", "enum", "period", "int"):
        # 1001.0 -> "1001" (a spreadsheet's numbers for codes)
        integral = pc.equal(pc.round(arr, 0), arr)
        as_int = pc.cast(pc.if_else(integral, arr, 0.0), pa.int64(), safe=False)
        return pc.if_else(integral, pc.cast(as_int, pa.string()), pc.cast(arr, pa.string()))
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return pc.cast(pc.cast(arr, pa.date32()), pa.string())
    return pc.cast(arr, pa.string())


# --- the whole frame ---------------------------------------------------------------------------


def _db_type(kind: ImportKind, col: Column):  # type: ignore[no-untyped-def]
    return db_table(kind.table).c[col.target].type


def validate_columns(kind: ImportKind, columns: Mapping[str, pa.Array | pa.ChunkedArray],
                     rows: np.ndarray, *, duplicates: bool = True) -> Validated:
    """Validate raw columns (keyed by column code) of one kind. ``rows`` = user row numbers.
    ``duplicates=False`` leaves out the duplicate-key check (a streamed file checks its keys over
    all its chunks at once: :func:`zhuizong.importing.upsert.stage_duplicates`)."""
    n = len(rows)
    errs = _Errors(rows)
    out: dict[str, pa.Array] = {}
    for col in kind.columns:
        if col.code not in columns:
            continue
        raw = _chunked(columns[col.code])
        if len(raw) != n:
            raise ValueError(f"column {col.code} has {len(raw)} values for {n} rows")
        typed = _typed(raw, col)
        shown: pa.Array | None
        if typed is not None:
            vals, bad = typed
            shown = _as_strings(raw, col)
            errs.add(bad, col.code, shown, *_typed_reason(col))
        else:
            s = clean_strings(_as_strings(raw, col), folded=col.type in FOLDED_TYPES)
            s = _chunked(s)
            shown = s
            if col.type == "code":
                space, unprintable = code_problems(s)
                errs.add(unprintable, col.code, s, *CODE_UNPRINTABLE, show=visible)
                errs.add(pc.and_(space, pc.invert(unprintable)), col.code, s, *CODE_INNER_SPACE,
                         show=visible)
                # a refused code is no key: no duplicate-key or reference error on top
                vals = pc.if_else(pc.or_(space, unprintable), pa.scalar(None, s.type), s)
                bad = None
            elif col.type == "text":
                errs.add(text_problems(s, multiline=col.multiline), col.code, s, *TEXT_CONTROL,
                         show=visible)
                vals, bad = s, None
            elif col.type == "date":
                vals, bad, zh, en = parse_date(s)
            elif col.type == "int":
                vals, bad, zh, en = parse_int(s)
            elif col.type == "money":
                vals, bad, zh, en = parse_money(s)
            elif col.type == "decimal":
                dbt = _db_type(kind, col)
                p = dbt.precision if isinstance(dbt, Numeric) else None
                sc = dbt.scale if isinstance(dbt, Numeric) else None
                vals, bad, zh, en = parse_decimal(s, p, sc)
            elif col.type == "enum":
                vals, bad, zh, en = parse_enum(s, col)
            elif col.type == "bool":
                vals, bad, zh, en = parse_bool(s)
            elif col.type == "period":
                vals, bad, zh, en = parse_period(s)
            else:  # pragma: no cover - the registry only has the types above
                raise ValueError(col.type)
            if bad is not None:
                errs.add(bad, col.code, s, zh, en)
        vals = _chunked(vals)
        # required
        if col.is_required:
            missing = pc.is_null(shown) if shown is not None else pc.is_null(vals)
            errs.add(missing, col.code, None, "必填项为空", "required value is missing")
        # range constraints
        if col.positive or col.non_negative:
            if col.type in ("int", "money"):
                num = vals
            elif col.type == "decimal":
                num = pc.cast(vals, pa.float64())
            else:
                num = None
            if num is not None:
                if col.positive:
                    errs.add(pc.less_equal(num, 0), col.code, shown, "应大于 0", "must be positive")
                else:
                    errs.add(pc.less(num, 0), col.code, shown, "不能为负数", "must not be negative")
        # database limits
        dbt = _db_type(kind, col)
        if isinstance(dbt, String) and dbt.length and pa.types.is_string(vals.type):
            errs.add(pc.greater(pc.utf8_length(vals), dbt.length), col.code, vals,
                     f"太长 (最多 {dbt.length} 个字符)", f"too long (at most {dbt.length} characters)")
        if col.type == "int" and pa.types.is_integer(vals.type):
            errs.add(pc.greater(pc.abs(vals), INT32_MAX), col.code, shown,
                     "数值太大", "number too large")
        out[col.target] = vals

    v = Validated(kind, out, rows)
    _cross_checks(v, errs)
    if duplicates:
        _duplicate_keys(v, errs)
    v.errors = errs.sorted()
    if kind.date_column and kind.column(kind.date_column).target in out:
        mm = pc.min_max(out[kind.column(kind.date_column).target])
        v.min_date, v.max_date = mm["min"].as_py(), mm["max"].as_py()
    return v


def _typed_reason(col: Column) -> tuple[str, str]:
    if col.type == "money":
        return "金额最多两位小数", "amount must have at most two decimals"
    if col.type == "int":
        return "应为整数", "must be a whole number"
    if col.type == "bool":
        return "应为 1/0", "must be 1/0"
    return "值无效", "invalid value"


def _cross_checks(v: Validated, errs: _Errors) -> None:
    if v.kind.name == "agents" and "leave_date" in v.columns and "hire_date" in v.columns:
        bad = pc.less(v.columns["leave_date"], v.columns["hire_date"])
        errs.add(bad, "leave_date", pc.cast(v.columns["leave_date"], pa.string()),
                 "离司日期早于入司日期", "leave_date is before hire_date")


def _duplicate_keys(v: Validated, errs: _Errors) -> None:
    kind = v.kind
    keys = [kind.column(k).target for k in kind.key]
    if not keys or any(k not in v.columns for k in keys) or len(v) < 2:
        return
    frame = pd.DataFrame({k: v.columns[k].to_pandas() for k in keys})
    valid = frame.notna().all(axis=1).to_numpy()
    dup = frame.duplicated(subset=keys, keep="first").to_numpy() & valid
    if not dup.any():
        return
    frame["_row"] = v.rows
    first = frame[valid].groupby(keys, sort=False)["_row"].transform("first")
    first_row = pd.Series(0, index=frame.index, dtype=np.int64)
    first_row[first.index] = first.to_numpy()
    idx = np.flatnonzero(dup)
    key_text = frame.iloc[idx][keys].astype(str).agg("/".join, axis=1).tolist()
    for i, kt, fr in zip(idx.tolist(), key_text, first_row.to_numpy()[idx].tolist(), strict=True):
        errs.items.append((i, len(errs.items), duplicate_error(kind, int(v.rows[i]), kt, fr)))


def duplicate_error(kind: ImportKind, row: int, key_text: str, first_row: int) -> RowError:
    """Row ``row`` repeats the key ``key_text`` (parts joined by ``/``) of row ``first_row``."""
    return RowError(row, "+".join(kind.key), key_text,
                    f"键重复: 与第 {first_row} 行相同", f"duplicate key: same as row {first_row}")


# --- references (need the database) -----------------------------------------------------------


def check_references(conn: Connection, v: Validated,
                     known: dict[tuple[str, str], pa.Array] | None = None) -> list[RowError]:
    """Every ``Column.ref`` value must exist in this file (self-references) or in the database;
    and the merged result keeps its structure (:mod:`zhuizong.importing.structure`: the org tree
    and the reporting lines stay forests). ``known`` keeps the referenced codes read from the
    database between calls (the chunks of one streamed file)."""
    errs = _Errors(v.rows)
    kind = v.kind
    db_cache: dict[tuple[str, str], pa.Array] = {} if known is None else known
    for col in kind.columns:
        if col.ref is None or col.target not in v.columns:
            continue
        vals = v.columns[col.target]
        if not pc.any(pc.is_valid(vals)).as_py():
            continue
        ref_table, ref_col = col.ref
        if col.ref not in db_cache:
            t = db_table(ref_table)
            existing: list[str] = list(conn.execute(select(t.c[ref_col])).scalars())
            db_cache[col.ref] = pa.array(existing, type=pa.string())
        known = db_cache[col.ref]
        found = pc.is_in(vals, value_set=known)
        if ref_table == kind.table:
            own_key = kind.column(ref_col).target
            if own_key in v.columns:
                found = pc.or_(found, pc.is_in(vals, value_set=v.columns[own_key]))
        bad = pc.and_(pc.is_valid(vals), pc.invert(found))
        ref_kind = KINDS.get(ref_table)
        zh_label = ref_kind.column(ref_col).zh if ref_kind else ref_col
        errs.add(bad, col.code, vals, f"未知的{zh_label}", f"unknown {ref_col}")
    found_errors = errs.sorted()
    bad_rows = {e.row for e in (*v.errors, *found_errors)}
    return found_errors + check_structure(conn, kind.name, v.columns, v.rows, bad_rows)
