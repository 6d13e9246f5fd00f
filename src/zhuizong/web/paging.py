"""Pages of a long list on screen (campaign standings, basic-law lists): a page of
:data:`PAGE_ROWS` rows, links to the previous and next page; the whole list is in the Excel
download. A phone cannot show 500 rows, and a 1.5 MB page costs the server as much as the data."""

from __future__ import annotations

from dataclasses import dataclass

#: rows per page on screen
PAGE_ROWS = 100


@dataclass(frozen=True)
class Pager:
    page: int  # 1-based, clamped to 1..pages
    pages: int
    start: int  # first row (0-based) of the page
    end: int  # one past the last row
    total: int

    @property
    def prev(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def pager(total: int, page: int | None, size: int | None = None) -> Pager:
    """The window of page ``page`` (out of range: the nearest page) of ``total`` rows."""
    size = size or PAGE_ROWS
    pages = max(1, -(-total // size))
    p = min(max(1, page or 1), pages)
    start = (p - 1) * size
    return Pager(p, pages, start, min(total, start + size), total)
