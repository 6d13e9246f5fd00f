"""Read an import file into columns of strings, with the row number the user sees for every row.

CSV: UTF-8 (with or without BOM), GB18030/GBK, UTF-16/UTF-32 (with BOM). Detection: BOM first,
then strict UTF-8, then GB18030. XLSX: openpyxl in read-only mode, the sheet named after the kind
(code or Chinese label) else the first one; the archive is checked for zip bombs *before* it is
opened, formula cells and merged header cells are refused. The file size limit is checked before
anything is read. Every value comes back as a string (null for an empty cell); nothing is typed
here except Excel dates in date columns, which become ``YYYY-MM-DD``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa

from zhuizong.importing.kinds import ImportKind
from zhuizong.importing.normalize import RowError, fold, map_headers
from zhuizong.settings import ImportSettings

MB = 1024 * 1024
MAX_COMPRESSION_RATIO = 100
ACCEPTED_ENCODINGS_ZH = "UTF-8 (可带 BOM)、GB18030/GBK、UTF-16 (带 BOM)"
ACCEPTED_ENCODINGS_EN = "UTF-8 (with or without BOM), GB18030/GBK, UTF-16 (with BOM)"

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


class ReadRejected(Exception):
    """The file cannot be read as a table; ``errors`` say why (row 0 = the file as a whole)."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(e.reason_en for e in errors))
        self.errors = errors


def _reject(zh: str, en: str, *, row: int = 0, column: str = "", value: str = "") -> ReadRejected:
    return ReadRejected([RowError(row, column, value, zh, en)])


@dataclass
class RawTable:
    """Headers as written, one pyarrow string column per header, user row number per row."""

    headers: list[str]
    columns: list[pa.Array]
    rows: np.ndarray  # int64, same length as every column
    encoding: str | None = None
    sheet: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: data records parsed (blank ones included; they are dropped but keep their numbers)
    records: int = 0
    #: bytes of the file read when this chunk was cut (progress of a streamed file)
    offset: int = 0

    def __len__(self) -> int:
        return len(self.rows)


def check_file(path: Path, max_bytes: int | None = None) -> int:
    """The file must be a regular file (not a folder, device or pipe: ``/dev/zero`` would never
    end) and, where a limit applies (web uploads: ``import.max_file_mb``), not larger. The
    command line has no size limit: files of any size are read in bounded memory."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _reject(f"无法读取文件: {exc.strerror}", f"cannot read the file: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise _reject(f"{path.name} 是一个文件夹, 不是文件", f"{path.name} is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise _reject(f"{path.name} 不是普通文件 (设备、管道等无法导入)",
                      f"{path.name} is not a regular file (devices and pipes cannot be imported)")
    if not os.access(path, os.R_OK):
        raise _reject("无法读取文件: 没有权限", "cannot read the file: permission denied")
    size = st.st_size
    if max_bytes is not None and size > max_bytes:
        raise _reject(
            f"文件过大: {size / MB:.1f} MB, 上限 {max_bytes / MB:.0f} MB (设置 import.max_file_mb)",
            f"file too large: {size / MB:.1f} MB, limit {max_bytes / MB:.0f} MB "
            "(setting import.max_file_mb)",
        )
    return size


def check_size(path: Path, settings: ImportSettings) -> int:
    """:func:`check_file` with the upload limit of ``settings`` (web uploads)."""
    return check_file(path, settings.max_file_mb * MB)


Cancelled = Callable[[], bool]


class Stop(Exception):
    """Raised inside the reader when ``cancelled()`` answers True (the caller decides what to
    tell the user)."""


def read_file(path: Path, kind: ImportKind, settings: ImportSettings, *,
              encoding: str | None = None, max_bytes: int | None = None,
              cancelled: Cancelled | None = None) -> RawTable:
    """Read ``path`` (CSV or XLSX, decided by content, not by name) for ``kind``, whole: one
    :class:`RawTable` (the streamed import reads CSV chunk by chunk with :func:`iter_csv`)."""
    check_file(path, max_bytes)
    if file_format(path) == "xlsx":
        return read_xlsx(path, kind, settings, cancelled)
    return next(iter_csv(path, encoding, chunk_chars=None, cancelled=cancelled))


def file_format(path: Path) -> str:
    """``"xlsx"`` or ``"csv"``, by content (an old .xls, or a name .xlsx that is no zip, is refused)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _reject(
            "不支持旧版 Excel (.xls) 文件: 请另存为 .xlsx 或 CSV",
            "old Excel (.xls) files are not supported: save as .xlsx or CSV",
        )
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise _reject("不是有效的 XLSX 文件", "not a valid XLSX file")
    return "csv"


# --- CSV: encoding --------------------------------------------------------------------------

#: bytes read at a time while the encoding is checked (the file is streamed, never held whole)
SCAN_BLOCK = 4 * MB
#: one physical line longer than this is cut where it stands (no CSV row is that long; the
#: bound keeps a file without line breaks from being held whole)
MAX_LINE = 64 * MB


def _line_blocks(fh: io.BufferedIOBase, size: int = SCAN_BLOCK) -> Iterator[bytes]:
    """The rest of ``fh`` in blocks of whole lines: each ends with ``\\n`` except the last."""
    rest = b""
    while chunk := fh.read(size):
        buf = rest + chunk
        cut = buf.rfind(b"\n") + 1
        if cut == 0 and len(buf) < MAX_LINE:
            rest = buf
            continue
        cut = cut or len(buf)
        yield buf[:cut]
        rest = buf[cut:]
    if rest:
        yield rest


def _first_error(path: Path, codec: str, skip: int) -> int | None:
    """Byte offset (after ``skip``) where ``codec`` fails on the file, streamed; None = decodes."""
    dec = codecs.getincrementaldecoder(codec)(errors="strict")
    done = 0
    with open(path, "rb") as fh:
        fh.seek(skip)
        while True:
            chunk = fh.read(SCAN_BLOCK)
            try:
                dec.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return done + exc.start
            if not chunk:
                return None
            done += len(chunk)


def detect_encoding(path: Path, encoding: str | None = None) -> tuple[str, int, str]:
    """Decide the CSV encoding of ``path`` with evidence, reading it as a stream (files of any
    size). Returns (codec to read with, BOM bytes to skip, the encoding's name as reported).

    With ``encoding`` (the user's ``--encoding``): that codec, strictly; rows it cannot decode are
    refused. Without: a BOM decides; else UTF-8 when every line is UTF-8; else GB18030 when every
    line decodes *and* reads as Chinese text (:func:`_doubtful_line`). A file that mixes encodings,
    or whose text reads as another encoding (Big5, Shift-JIS), is refused with the rows that
    disagree, the suspected encoding and the option to pass: never decoded into mojibake. The
    decision takes one streamed pass (UTF-8 is checked by the C decoder); only a file that is not
    UTF-8 gets the second, line-by-line pass.
    """
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if encoding:
        return _check_forced(path, head, encoding)
    for bom, enc in _BOMS:
        if head.startswith(bom):
            bad = _first_error(path, enc, len(bom))
            if bad is not None:
                raise _reject(
                    f"文件以 {enc} BOM 开头, 但第 {bad} 字节处无法解码",
                    f"file starts with a {enc} BOM but cannot be decoded at byte {bad}",
                )
            return enc, len(bom), enc + (" (BOM)" if enc != "utf-8" else "-sig")
    if b"\x00" in head:
        # UTF-16 without a BOM: every other byte of ASCII text is NUL.
        enc = "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
        if _first_error(path, enc, 0) is None:
            return enc, 0, enc
        raise _reject(
            f"无法识别文件编码 (含 NUL 字节, 可能不是文本文件); 支持的编码: {ACCEPTED_ENCODINGS_ZH}",
            f"cannot decode the file (it contains NUL bytes, perhaps not text); "
            f"accepted encodings: {ACCEPTED_ENCODINGS_EN}",
        )
    if _first_error(path, "utf-8", 0) is None:
        return "utf-8", 0, "utf-8"
    with open(path, "rb") as fh:
        _classify(_line_blocks(fh))
    return "gb18030", 0, "gb18030"


class _Sample:
    """Lines of one class: how many, and the first :data:`MAX_ENCODING_ROWS` (index -> bytes)."""

    def __init__(self) -> None:
        self.count = 0
        self.first: dict[int, bytes] = {}

    def add(self, i: int, line: bytes) -> None:
        self.count += 1
        if len(self.first) < MAX_ENCODING_ROWS:
            self.first[i] = line


def _lines(blocks: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(0-based line index, line) of the non-ASCII lines of ``blocks`` (:func:`_line_blocks`)."""
    i = 0
    for block in blocks:
        if block.isascii():
            i += block.count(b"\n")
            continue
        lines = block.split(b"\n")
        if block.endswith(b"\n"):
            lines.pop()  # the next block starts the next line
        for line in lines:
            if not line.isascii():
                yield i, line
            i += 1


def _classify(blocks: Iterable[bytes]) -> None:
    """Line by line, for data that is not all UTF-8: return when every line is GB18030/GBK read
    as Chinese text, else raise :class:`ReadRejected` with the lines that disagree."""
    utf8, other, doubtful = _Sample(), _Sample(), _Sample()
    for i, line in _lines(blocks):
        try:
            line.decode("utf-8")
            utf8.add(i, line)
        except UnicodeDecodeError:
            other.add(i, line)
            if not utf8.count and _doubtful_line(line):  # mixed files need no verdict per line
                doubtful.add(i, line)
    if utf8.count:
        # mixed: report the minority (a GBK row pasted into a UTF-8 file, or the reverse)
        if utf8.count >= other.count:
            raise ReadRejected(_mixed_errors(other, "UTF-8"))
        raise ReadRejected(_mixed_errors(utf8, "GB18030/GBK"))
    if doubtful.count:
        raise ReadRejected(_doubtful_errors(doubtful))


#: how many rows of a refused encoding are listed one by one (the rest are counted)
MAX_ENCODING_ROWS = 100
_ENCODING_NAMES = {"gb18030": "GB18030/GBK", "big5": "Big5", "shift_jis": "Shift-JIS",
                   "utf-8": "UTF-8"}
_OPTION = {"GB18030/GBK": "gb18030", "Big5": "big5", "Shift-JIS": "shift_jis", "UTF-8": "utf-8"}


def _check_forced(path: Path, head: bytes, encoding: str) -> tuple[str, int, str]:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise _reject(f"未知的编码 {encoding!r}", f"unknown encoding {encoding!r}",
                      column="encoding", value=encoding) from None
    skip = 0
    for bom, enc in _BOMS:
        if head.startswith(bom) and codecs.lookup(enc).name == codecs.lookup(codec).name:
            skip = len(bom)
            break
    if _first_error(path, codec, skip) is None:
        return codec, skip, codec
    if codec.startswith(("utf-16", "utf-32")):
        raise _reject(f"文件不是有效的 {codec} 编码", f"the file is not valid {codec}")
    errors: list[RowError] = []
    bad = 0
    with open(path, "rb") as fh:
        fh.seek(skip)
        for i, line in _lines(_line_blocks(fh)):
            try:
                line.decode(codec)
            except UnicodeDecodeError:
                bad += 1
                if len(errors) < MAX_ENCODING_ROWS:
                    errors.append(RowError(i + 1, "", _preview(line, _suspect(line)),
                                           f"第 {i + 1} 行无法按 {codec} 解码 (疑似 {_suspect(line)})",
                                           f"line {i + 1} cannot be decoded as {codec} "
                                           f"(suspected: {_suspect(line)})"))
    if bad > len(errors):
        errors.append(RowError(0, "", "", f"另有 {bad - len(errors)} 行无法解码",
                               f"{bad - len(errors)} more lines cannot be decoded"))
    raise ReadRejected(errors)


def _cjk_punct(o: int) -> bool:
    return 0x3000 <= o <= 0x303F or 0xFF01 <= o <= 0xFF5E


def _char_score(ch: str, enc: str) -> float:
    """How much one character, read in ``enc``, looks like the text of that language: 1 for a
    common character (GB2312 hanzi; Big5 frequent hanzi; JIS level-1 kanji and kana), 0.5 for a
    rarer one (names use some), 0 for what mis-decoded bytes turn into (kana or Cyrillic read
    from Big5, box drawing, private use …)."""
    o = ord(ch)
    if _cjk_punct(o) or ch in "·—…‘’“”":
        return 1.0
    is_han = 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF
    if enc == "gb18030":
        if 0x20000 <= o <= 0x3134F or 0xF900 <= o <= 0xFAFF:
            return 0.5  # hanzi of the extensions (four-byte GB18030): rare, but real names

        if not is_han:
            return 0.0
        try:
            ch.encode("gb2312")
            return 1.0
        except UnicodeEncodeError:
            return 0.5
    if enc == "big5":
        if not is_han:
            return 0.0
        lead = ch.encode("big5")[0]
        return 1.0 if 0xA4 <= lead <= 0xC6 else 0.5
    # shift_jis
    if 0x3040 <= o <= 0x30FF:
        return 1.0
    if 0xFF61 <= o <= 0xFF9F:  # half-width katakana: what Big5 and GBK lead bytes become
        return 0.2
    if not is_han:
        return 0.0
    lead = ch.encode("shift_jis")[0]
    return 1.0 if 0x88 <= lead <= 0x9F else 0.5


def _line_score(line: bytes, enc: str) -> float:
    """Mean :func:`_char_score` of the line's non-ASCII characters read in ``enc`` (-1 when the
    bytes are not valid in ``enc``)."""
    try:
        text = line.decode(enc)
    except UnicodeDecodeError:
        return -1.0
    chars = [c for c in text if ord(c) > 127]
    if not chars:
        return 1.0
    return sum(_char_score(c, enc) for c in chars) / len(chars)


def _doubtful_line(line: bytes) -> bool:
    """Not GB18030/GBK with evidence: the line is no valid GB18030, or reads as Chinese text less
    well than as Big5 or Shift-JIS, or badly on its own."""
    gb = _line_score(line, "gb18030")
    return gb < 0.6 or gb < max(_line_score(line, "big5"), _line_score(line, "shift_jis"))


def _suspect(line: bytes) -> str:
    """The encoding that reads ``line`` best: UTF-8, GB18030/GBK, Big5 or Shift-JIS ("?")."""
    try:
        line.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        pass
    scores = {name: _line_score(line, enc) for name, enc in
              (("GB18030/GBK", "gb18030"), ("Big5", "big5"), ("Shift-JIS", "shift_jis"))}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] >= 0.6 else "?"


def _preview(line: bytes, suspect: str) -> str:
    enc = _OPTION.get(suspect, "utf-8")
    text = line.decode(enc, errors="replace").rstrip("\r")
    return text[:80]


def _mixed_errors(sample: _Sample, majority: str) -> list[RowError]:
    errors: list[RowError] = []
    for i, line in sample.first.items():
        sus = _suspect(line)
        opt = _OPTION.get(sus, "")
        errors.append(RowError(
            i + 1, "", _preview(line, sus),
            f"第 {i + 1} 行的编码与文件其余部分 ({majority}) 不同, 疑似 {sus}: "
            f"请将整个文件另存为同一编码 (UTF-8)",
            f"line {i + 1} is not in the encoding of the rest of the file ({majority}); "
            f"suspected: {sus}. Save the whole file in one encoding (UTF-8)"
            + (f", or pass --encoding {opt} if the whole file is {sus}" if opt else ""),
        ))
    if sample.count > MAX_ENCODING_ROWS:
        n = sample.count - MAX_ENCODING_ROWS
        errors.append(RowError(0, "", "", f"另有 {n} 行编码不同", f"{n} more lines differ"))
    return errors


def _doubtful_errors(sample: _Sample) -> list[RowError]:
    suspects = [_suspect(line) for line in sample.first.values()]
    errors = [
        RowError(
            i + 1, "", _preview(line, sus),
            f"第 {i + 1} 行无法确定编码, 疑似 {sus} (不是 UTF-8, 按 GBK 读出的不是中文): "
            + (f"请另存为 UTF-8, 或使用 --encoding {_OPTION[sus]}" if sus in _OPTION
               else f"请另存为 UTF-8; 支持的编码: {ACCEPTED_ENCODINGS_ZH}"),
            f"line {i + 1}: encoding cannot be decided, suspected {sus} (not UTF-8, and read as "
            "GBK it is not Chinese text): save the file as UTF-8"
            + (f" or pass --encoding {_OPTION[sus]}" if sus in _OPTION
               else f"; accepted encodings: {ACCEPTED_ENCODINGS_EN}"),
        )
        for (i, line), sus in zip(sample.first.items(), suspects, strict=True)
    ]
    if sample.count > MAX_ENCODING_ROWS:
        n = sample.count - MAX_ENCODING_ROWS
        errors.append(RowError(0, "", "", f"另有 {n} 行无法确定编码",
                               f"{n} more lines of undecided encoding"))
    # the file as a whole: the most frequent suspect and the option to pass
    sus = max(set(suspects), key=suspects.count)
    hint_zh = (f"如确为 {sus}, 请使用 --encoding {_OPTION[sus]}" if sus in _OPTION
               else f"支持的编码: {ACCEPTED_ENCODINGS_ZH}")
    hint_en = (f"if it is {sus}, pass --encoding {_OPTION[sus]}" if sus in _OPTION
               else f"accepted encodings: {ACCEPTED_ENCODINGS_EN}")
    errors.insert(0, RowError(0, "", "", f"无法确定文件编码 (疑似 {sus}), 未导入任何行; 请另存为 UTF-8; {hint_zh}",
                              f"the file's encoding cannot be decided (suspected {sus}); nothing "
                              f"was imported; save it as UTF-8; {hint_en}"))
    return errors


_FIELDS_RE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_ROW_RE = re.compile(r"\brow (\d+)")  # the parser's record numbers (0 = the header)


# --- CSV: rows --------------------------------------------------------------------------------

#: characters of CSV text per chunk of a streamed import (≈ 95,000 premium rows, a few hundred
#: MB of working memory through validation)
CHUNK_CHARS = 8 * MB
_EMPTY_CHARS = " \t\r\n\ufeff\u3000"


def _safe_cut(buf: str) -> int:
    """Where to end a chunk: just after the last line break outside quotes (an even number of
    ``"`` before it; a quoted field's quotes, doubled ones too, come in pairs), and before the
    empty lines that end there (a parser drops empty lines at the end of its text, which would
    lose their row numbers: they go to the next chunk); 0 = none."""
    quotes_after = 0
    pos = buf.rfind("\n")
    end = len(buf)
    total = buf.count('"')
    while pos >= 0:
        quotes_after += buf.count('"', pos + 1, end)
        if (total - quotes_after) % 2 == 0:
            return _before_empty_lines(buf, pos + 1)
        end = pos + 1
        pos = buf.rfind("\n", 0, pos)
    return 0


def _before_empty_lines(buf: str, cut: int) -> int:
    """``cut`` (just after a line break) moved back before the empty lines that end there."""
    while cut:
        start = cut - 1  # the line break
        if start and buf[start - 1] == "\r":
            start -= 1
        if start and buf[start - 1] != "\n":
            return cut  # the last line has text
        cut = start
    return 0


def _text_chunks(fh: io.TextIOBase, chunk_chars: int | None) -> Iterator[str]:
    """The decoded text in pieces of about ``chunk_chars`` (None = whole) that end at a row
    boundary."""
    if chunk_chars is None:
        yield fh.read()
        return
    buf = ""
    while True:
        block = fh.read(chunk_chars)
        if not block:
            if buf:
                yield buf
            return
        buf += block
        if len(buf) < chunk_chars:
            continue
        cut = _safe_cut(buf)
        if cut:
            yield buf[:cut]
            buf = buf[cut:]


def iter_csv(path: Path, encoding: str | None = None, *, chunk_chars: int | None = CHUNK_CHARS,
             cancelled: Cancelled | None = None) -> Iterator[RawTable]:
    """The CSV file ``path`` as :class:`RawTable` chunks of about ``chunk_chars`` characters
    (None: one chunk, the whole file), each with the file's headers and the user's row numbers.

    The encoding is decided first, over the whole file (:func:`detect_encoding`; a refusal is
    raised before the first chunk); then the text is decoded as a stream and cut at row
    boundaries. Each chunk is parsed with the file's header line in front, so parsing, blank-row
    dropping and field-count errors are those of the whole file; row numbers continue from chunk
    to chunk (record numbers: physical lines unless a quoted value spans lines)."""
    codec, skip, label = detect_encoding(path, encoding)
    return _csv_chunks(path, codec, skip, label, chunk_chars, cancelled)


def _csv_chunks(path: Path, codec: str, skip: int, label: str, chunk_chars: int | None,
                cancelled: Cancelled | None) -> Iterator[RawTable]:
    with open(path, "rb") as raw:
        raw.seek(skip)
        fh = io.TextIOWrapper(raw, encoding=codec, errors="strict", newline="")
        header: str | None = None
        sep = ","
        before = 0  # data records in earlier chunks
        for text in _text_chunks(fh, chunk_chars):
            if cancelled is not None and cancelled():
                raise Stop()
            if header is None:
                if not text.strip(_EMPTY_CHARS):
                    raise _reject("文件为空", "the file is empty")
                header = text.split("\n", 1)[0]
                sep = "\t" if "\t" in header and "," not in header else ","
                table = parse_csv_text(text, sep, label)
            else:
                table = parse_csv_text(header + "\n" + text, sep, label, before=before)
            before += table.records
            table.offset = raw.tell()
            yield table
        if header is None:
            raise _reject("文件为空", "the file is empty")


def parse_csv_text(text: str, sep: str, encoding: str, *, before: int = 0) -> RawTable:
    """Parse CSV text whose first line is the header; ``before`` data records came earlier in
    the file (their count is added to every row number)."""
    fast = _read_csv_arrow(text, sep, encoding)
    if fast is not None:
        fast.rows += before
        return drop_blank_rows(fast)
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_MINIMAL,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        m = _FIELDS_RE.search(str(exc))
        if m:
            exp, local, saw = m.groups()
            line = int(local) + before
            raise _reject(
                f"第 {line} 行有 {saw} 个字段, 表头只有 {exp} 列",
                f"line {line} has {saw} fields but the header has {exp} columns",
                row=line,
            ) from None
        msg = _ROW_RE.sub(lambda r: f"row {int(r.group(1)) + before}", str(exc))
        raise _reject(f"CSV 格式错误: {msg}", f"malformed CSV: {msg}") from None
    except pd.errors.EmptyDataError:
        raise _reject("文件为空", "the file is empty") from None
    if df.empty:
        raise _reject("文件为空", "the file is empty")
    headers = ["" if pd.isna(h) else str(h) for h in df.iloc[0].tolist()]
    body = df.iloc[1:]
    rows = np.arange(2, len(df) + 1, dtype=np.int64) + before
    columns = [pa.array(body[c].to_numpy(dtype=object), type=pa.string(), from_pandas=True)
               for c in df.columns]
    table = RawTable(headers, columns, rows, encoding=encoding, records=len(body))
    return drop_blank_rows(table)


def _read_csv_arrow(text: str, sep: str, encoding: str) -> RawTable | None:
    """The fast path (pyarrow's CSV reader). Only when every physical line is one row (no blank
    lines, no line breaks inside quotes), so row numbers are line numbers; else None."""
    import pyarrow.csv as pacsv

    body = text.rstrip("\r\n")
    if not body or "\n\n" in body or "\n\r\n" in body:
        return None
    try:
        tbl = pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=False,
                                             ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(body.split("\n", 1)[0].count(sep) + 1)},
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    if tbl.num_rows < 1:
        return None
    n_lines = body.count("\n") + 1
    if n_lines != tbl.num_rows:  # quoted line breaks: numbering would drift
        return None
    headers = [tbl.column(i)[0].as_py() or "" for i in range(tbl.num_columns)]
    columns = [tbl.column(i).slice(1).combine_chunks() for i in range(tbl.num_columns)]
    rows = np.arange(2, tbl.num_rows + 1, dtype=np.int64)
    return RawTable(headers, columns, rows, encoding=encoding, records=tbl.num_rows - 1)


def drop_blank_rows(table: RawTable) -> RawTable:
    """Remove rows whose every cell is empty or whitespace (blank lines, trailing Excel rows)."""
    import pyarrow.compute as pc

    if not table.columns or len(table.rows) == 0:
        return table
    blank = None
    for col in table.columns:
        trimmed = pc.utf8_trim(col, characters=" \t\r\n\u3000\u00a0\ufeff")
        b = pc.fill_null(pc.equal(trimmed, ""), True)
        blank = b if blank is None else pc.and_(blank, b)
    if not pc.any(blank).as_py():
        return table
    keep = pc.invert(blank)
    return RawTable(
        table.headers,
        [pc.filter(c, keep) for c in table.columns],
        table.rows[np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)],
        encoding=table.encoding,
        sheet=table.sheet,
        warnings=table.warnings,
        records=table.records,
    )


# --- XLSX -------------------------------------------------------------------------------------


def check_zip(path: Path, settings: ImportSettings) -> None:
    """Refuse zip bombs: total uncompressed size and per-entry compression ratio."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise _reject(f"不是有效的 XLSX 文件 ({exc})", f"not a valid XLSX file ({exc})") from None
    total = sum(i.file_size for i in infos)
    limit = settings.max_xlsx_uncompressed_mb * MB
    if total > limit:
        raise _reject(
            f"XLSX 解压后 {total / MB:.0f} MB, 超过上限 {settings.max_xlsx_uncompressed_mb} MB "
            "(设置 import.max_xlsx_uncompressed_mb); 疑似 zip 炸弹",
            f"XLSX expands to {total / MB:.0f} MB, over the limit of "
            f"{settings.max_xlsx_uncompressed_mb} MB (setting import.max_xlsx_uncompressed_mb); "
            "possible zip bomb",
        )
    for i in infos:
        if i.file_size > 1024 * 1024 and i.file_size > MAX_COMPRESSION_RATIO * max(i.compress_size, 1):
            raise _reject(
                f"XLSX 内部文件 {i.filename} 压缩比 {i.file_size // max(i.compress_size, 1)}:1 "
                f"超过 {MAX_COMPRESSION_RATIO}:1; 疑似 zip 炸弹",
                f"XLSX member {i.filename} has a compression ratio of "
                f"{i.file_size // max(i.compress_size, 1)}:1, over {MAX_COMPRESSION_RATIO}:1; "
                "possible zip bomb",
            )


_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


@contextmanager
def _sheet_xml(path: Path, member: str | None) -> Iterator[IO[bytes] | None]:
    """The XML of one sheet of the workbook at ``path``, opened for streaming; None when the
    sheet has no member in the archive (nothing to check)."""
    if not member:
        yield None
        return
    with zipfile.ZipFile(path) as zf:
        try:
            fh = zf.open(member.lstrip("/"))
        except KeyError:
            yield None
            return
        with fh:
            yield fh


def _merged_ranges(path: Path, member: str | None) -> list[tuple[str, int, int]]:
    """(ref, first row, last row) of every merged range in a sheet (streamed, not loaded whole)."""
    out: list[tuple[str, int, int]] = []
    with _sheet_xml(path, member) as fh:
        if fh is None:
            return []
        tail = b""
        while chunk := fh.read(1 << 20):
            buf = tail + chunk
            if b"mergeCell" in buf:
                for m in _MERGE_RE.finditer(buf):
                    c1, r1, c2, r2 = m.groups()
                    ref = f"{c1.decode()}{r1.decode()}" + (
                        f":{c2.decode()}{r2.decode()}" if c2 else ""
                    )
                    out.append((ref, int(r1), int(r2 or r1)))
            # an element split across chunks is matched with the next chunk (the set below
            # drops the repeats)
            tail = buf[-300:]
    return sorted(set(out), key=lambda t: (t[1], t[0]))


def _cell_text(value: object, is_date_col: bool) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        if is_date_col and 1 <= value < 2958466:
            return _excel_serial(float(value))
        return str(value)
    if isinstance(value, float):
        if is_date_col and value.is_integer() and 1 <= value < 2958466:
            return _excel_serial(value)
        if value.is_integer() and abs(value) < 1e18:
            return str(int(value))
        return repr(value)
    return str(value)


def _excel_serial(value: float) -> str:
    from openpyxl.utils.datetime import from_excel

    d = from_excel(value)
    return (d.date() if isinstance(d, dt.datetime) else d).isoformat()


def _count_tags(zf: zipfile.ZipFile, member: str, tags: tuple[bytes, ...]) -> int:
    """Occurrences of ``tags`` (at most 4 bytes each) in one zip member, streamed."""
    n = 0
    carry = b""
    with zf.open(member) as fh:
        while chunk := fh.read(1 << 20):
            buf = carry + chunk
            n += sum(buf.count(t) for t in tags)
            carry = buf[-3:]  # a whole tag never fits in the carried 3 bytes: none counted twice
    return n


#: shared strings accepted beyond two per cell (slack for tools that keep a few unused ones)
SHARED_STRINGS_SLACK = 10_000


def check_shared_strings(path: Path) -> None:
    """Refuse a workbook whose shared-string table holds far more strings than its sheets have
    cells, before it is opened (openpyxl parses the whole table when it opens a workbook: a 10 MB
    file with 4,000,000 unused strings and one data row took 174 s and 781 MB). Excel keeps only
    strings that a cell uses; the count is of ``<si>`` elements and of ``<c>`` elements in every
    worksheet, in one streamed pass each."""
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        tables = [n for n in names if n.lower().endswith("sharedstrings.xml")]
        if not tables:
            return
        strings = sum(_count_tags(zf, n, (b"<si>", b"<si ", b":si>", b":si ")) for n in tables)
        if strings <= SHARED_STRINGS_SLACK:
            return
        cells = sum(_count_tags(zf, n, (b"<c ", b"<c>", b":c ", b":c>")) for n in names
                    if n.lower().startswith("xl/worksheets/") and n.lower().endswith(".xml"))
    if strings > 2 * cells + SHARED_STRINGS_SLACK:
        raise _reject(
            f"工作簿的共享字符串表有 {strings:,} 个字符串, 而工作表只有 {cells:,} 个单元格; "
            "请在 Excel 中打开后另存",
            f"the workbook's shared-string table holds {strings:,} strings for {cells:,} cells "
            "in its sheets; open it in Excel and save it again",
        )


def read_xlsx(path: Path, kind: ImportKind, settings: ImportSettings,
              cancelled: Cancelled | None = None) -> RawTable:
    import openpyxl

    check_zip(path, settings)
    check_shared_strings(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for corrupt files
        raise _reject(
            f"无法打开 XLSX 文件 ({type(exc).__name__}: {exc})",
            f"cannot open the XLSX file ({type(exc).__name__}: {exc})",
        ) from None
    try:
        return _read_workbook(path, wb, kind, cancelled)
    finally:
        wb.close()


#: widest declared sheet accepted: an import kind has a few dozen columns at most
MAX_XLSX_COLUMNS = 1024
#: rows of one sheet (Excel's own limit)
MAX_XLSX_ROWS = 1_048_576
_DIM_RE = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?"')


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def check_dimension(path: Path, member: str | None, title: str) -> None:
    """Refuse a sheet whose declared range is absurd, from the first 64 KB of its XML (where
    ``<dimension>`` is), before a cell is read: a 5 KB file declaring ``A1:XFD1048576`` would
    otherwise have the reader walk 17 billion empty cells."""
    with _sheet_xml(path, member) as fh:
        if fh is None:
            return
        head = fh.read(1 << 16)
    for m in _DIM_RE.finditer(head):  # every one: a hostile file may declare two
        _check_declared(m, title)


def _check_declared(m: re.Match[bytes], title: str) -> None:
    c1, r1, c2, r2 = m.groups()
    cols = _col_number((c2 or c1).decode()) - _col_number(c1.decode()) + 1
    rows = int(r2 or r1) - int(r1) + 1
    ref = m.group(0).split(b'"')[1].decode()
    if cols > MAX_XLSX_COLUMNS or int(r2 or r1) > MAX_XLSX_ROWS:
        raise _reject(
            f"工作表 {title!r} 声明的范围 {ref} ({cols:,} 列 × {rows:,} 行) 不合理: 导入文件最多 "
            f"{MAX_XLSX_COLUMNS} 列; 请只保留数据区域后另存",
            f"sheet {title!r} declares the range {ref} ({cols:,} columns × {rows:,} rows), "
            f"which is absurd: an import file has at most {MAX_XLSX_COLUMNS} columns; keep only "
            "the data and save again",
        )


#: cells the reader walks in rows reaching beyond column Z (openpyxl pads every row to its last
#: cell): a few hundred times what the widest import file needs
MAX_XLSX_WIDE_CELLS = 16_000_000
_ROW_NUM_RE = re.compile(rb'<(?:\w+:)?row\b[^>]*?\sr="(\d+)"')
_WIDE_CELL_RE = re.compile(rb'<(?:\w+:)?c\b[^>]*?\sr="([A-Z]{2,})(\d+)"')


def check_extent(path: Path, member: str | None, title: str) -> None:
    """Refuse a sheet whose real rows and cells would make the reader walk far more cells than it
    holds, in one streamed pass over its XML before a cell is read: a row numbered beyond Excel's
    1,048,576 (the reader would yield every missing row before it: a 5 KB file with one row
    numbered 900,000,000,000 never ended), a cell beyond column ``MAX_XLSX_COLUMNS``, or more than
    ``MAX_XLSX_WIDE_CELLS`` cells in rows reaching past column Z (each row is padded to its last
    cell: 200,000 rows with one cell in column XFD are 3 billion cells in a 1 MB file). The
    declared ``<dimension>`` is checked apart (:func:`check_dimension`); this pass finds what a
    file hides behind a modest one."""
    def refuse(zh: str, en: str) -> ReadRejected:
        return _reject(f"工作表 {title!r} {zh}; 请只保留数据区域后另存",
                       f"sheet {title!r} {en}; keep only the data and save again")

    with _sheet_xml(path, member) as fh:
        if fh is None:
            return
        carry = b""
        wide = width = 0
        row = -1
        while True:
            chunk = fh.read(1 << 20)
            buf = carry + chunk
            if chunk:
                cut = buf.rfind(b">") + 1
                body, carry = buf[:cut], buf[cut:]
            else:
                body, carry = buf, b""
            for m in _ROW_NUM_RE.finditer(body):
                if int(m.group(1)) > MAX_XLSX_ROWS:
                    n = int(m.group(1))
                    raise refuse(f"有一行的行号为 {n:,}, 超过 Excel 的上限 {MAX_XLSX_ROWS:,} 行",
                                 f"has a row numbered {n:,}, beyond Excel's "
                                 f"{MAX_XLSX_ROWS:,} rows")
            for m in _WIDE_CELL_RE.finditer(body):
                col, r = _col_number(m.group(1).decode()), int(m.group(2))
                if col > MAX_XLSX_COLUMNS:
                    ref = (m.group(1) + m.group(2)).decode()
                    raise refuse(f"有单元格 {ref} 位于第 {col:,} 列: 导入文件最多 "
                                 f"{MAX_XLSX_COLUMNS} 列",
                                 f"has a cell {ref} in column {col:,}: an import file has "
                                 f"at most {MAX_XLSX_COLUMNS} columns")
                if r != row:
                    wide, row, width = wide + width, r, col
                else:
                    width = max(width, col)
                if wide + width > MAX_XLSX_WIDE_CELLS:
                    raise refuse(f"的行延伸到 Z 列之后, 读取需要遍历超过 "
                                 f"{MAX_XLSX_WIDE_CELLS:,} 个单元格",
                                 f"has rows reaching past column Z that would make the "
                                 f"reader walk more than {MAX_XLSX_WIDE_CELLS:,} cells")
            if not chunk:
                break


def _pick_sheet(sheets: list, kind: ImportKind):  # type: ignore[no-untyped-def,type-arg]
    """The sheet named after the kind (code or Chinese label) among the visible ones, else the
    first visible sheet. Hidden (and very hidden) sheets are never imported."""
    visible = [s for s in sheets if getattr(s, "sheet_state", "visible") == "visible"]
    if not visible:
        raise _reject("工作簿中没有可见的工作表 (全部已隐藏)",
                      "the workbook has no visible sheet (all are hidden)")
    wanted = {kind.name.lower(), fold(kind.zh).lower()}
    return next((s for s in visible if fold(s.title).lower() in wanted), visible[0])


def _read_workbook(path: Path, wb: object, kind: ImportKind,
                   cancelled: Cancelled | None = None) -> RawTable:
    sheets = list(wb.worksheets)  # type: ignore[attr-defined]
    if not sheets:
        raise _reject("工作簿中没有工作表", "the workbook has no worksheet")
    ws = _pick_sheet(sheets, kind)
    if not hasattr(ws, "iter_rows"):
        raise _reject(
            f"工作表 {ws.title!r} 不是数据表", f"sheet {ws.title!r} is not a worksheet"
        )
    check_dimension(path, getattr(ws, "_worksheet_path", None), ws.title)
    check_extent(path, getattr(ws, "_worksheet_path", None), ws.title)
    if hasattr(ws, "reset_dimensions"):
        # rows and columns as they are in the file, never padded to the declared range
        ws.reset_dimensions()
    try:
        return _read_sheet(path, ws, kind, cancelled)
    except (ReadRejected, Stop):
        raise
    except Exception as exc:  # malformed sheet XML raises many kinds (lxml, ValueError, …)
        raise _reject(
            f"工作表 {ws.title!r} 的内容已损坏, 无法读取 ({type(exc).__name__}); 请在 Excel 中打开后另存",
            f"sheet {ws.title!r} is corrupt and cannot be read ({type(exc).__name__}); open it in "
            "Excel and save it again",
        ) from None


def _read_sheet(path: Path, ws, kind: ImportKind,  # type: ignore[no-untyped-def]
                cancelled: Cancelled | None = None) -> RawTable:
    sheet_hint_zh = f"工作表 {ws.title!r}"
    sheet_hint_en = f"sheet {ws.title!r}"
    errors: list[RowError] = []
    merged = _merged_ranges(path, getattr(ws, "_worksheet_path", None))
    for ref, r1, _r2 in merged:
        if r1 <= 1:
            errors.append(RowError(0, ref, "", f"{sheet_hint_zh}: 表头有合并单元格 {ref}",
                                   f"{sheet_hint_en}: merged header cells {ref}"))
        else:
            errors.append(RowError(r1, ref, "", f"合并单元格 {ref}", f"merged cells {ref}"))

    it = ws.iter_rows(min_row=1)
    header_row = next(it, None)
    if header_row is None:
        raise _reject(f"{sheet_hint_zh} 为空", f"{sheet_hint_en} is empty")
    headers: list[str] = []
    for cell in header_row:
        v = getattr(cell, "value", None)
        if getattr(cell, "data_type", None) == "f":
            errors.append(RowError(0, getattr(cell, "coordinate", ""), str(v),
                                   "表头是公式单元格", "header is a formula cell"))
        headers.append("" if v is None else _cell_text(v, False) or "")
    while headers and not headers[-1].strip():
        headers.pop()
    if not headers:
        raise _reject(f"{sheet_hint_zh} 为空 (没有表头)", f"{sheet_hint_en} is empty (no header)")
    codes, _ = map_headers(kind, headers)
    is_date = [kind.column(c).type == "date" if c else False for c in codes]
    ncol = len(headers)
    data: list[list[str | None]] = [[] for _ in range(ncol)]
    rows: list[int] = []
    rownum = 1
    for row in it:
        rownum += 1
        if cancelled is not None and rownum % 2000 == 0 and cancelled():
            raise Stop()
        vals: list[str | None] = [None] * ncol
        any_value = False
        for j, cell in enumerate(row):
            v = getattr(cell, "value", None)
            if v is None:
                continue
            if getattr(cell, "data_type", None) == "f" or (
                isinstance(v, str) and v.startswith("=") and getattr(cell, "data_type", "") == "f"
            ):
                col = headers[j] if j < ncol else getattr(cell, "column_letter", str(j + 1))
                errors.append(RowError(rownum, col, str(v), "公式单元格: 请粘贴为数值",
                                       "formula cell: paste values instead"))
                continue
            text = _cell_text(v, is_date[j] if j < ncol else False)
            if j >= ncol:
                if text is not None and text.strip():
                    errors.append(RowError(rownum, getattr(cell, "column_letter", str(j + 1)),
                                           text, "此列没有表头", "value in a column without header"))
                continue
            vals[j] = text
            any_value = True
        if not any_value:
            continue
        rows.append(rownum)
        for j in range(ncol):
            data[j].append(vals[j])
    if errors:
        raise ReadRejected(errors)
    table = RawTable(
        headers,
        [pa.array(col, type=pa.string()) for col in data],
        np.asarray(rows, dtype=np.int64),
        sheet=ws.title,
    )
    return drop_blank_rows(table)
