"""Per-process caches of derived page data (web app), keyed by what the data depends on.

A page that summarises many stored rows within a user's scope (a province's 80,000 assessment
results, a campaign's standings) need not recompute the summary for every request: the summary
is a function of the scope (:func:`zhuizong.access.scope.scope_key`, once per request:
:func:`zhuizong.access.scope.request_scope_key`), the request's own parameters and the data it
reads. The data part of the key is a *version* read from the database on every request
(:func:`zhuizong.store.versions.imports_version` and the like: one small query), so a cached value
is never stale. Memory only: nothing derived is read back from the workspace.

A bottom-layer helper: no import of another zhuizong package.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class LruCache:
    """A small thread-safe least-recently-used map. Two requests missing the same key at once
    both compute (the values are equal); nothing waits on a lock while computing."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]  # type: ignore[no-any-return]
            self.misses += 1
        value = compute()
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


#: values computed once per unit of work (one web request): :func:`per_request`
_REQUEST: contextvars.ContextVar[dict[Hashable, Any] | None] = contextvars.ContextVar(
    "zhuizong_request_memo", default=None)


@contextlib.contextmanager
def request_scope() -> Iterator[None]:
    """Within the block (the web app wraps each request in it), :func:`per_request` computes a
    value once: e.g. the user's visible org units, read live at the start of each request and
    reused by the dozen KPI reads of one page."""
    token = _REQUEST.set({})
    try:
        yield
    finally:
        _REQUEST.reset(token)


def per_request(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, once per :func:`request_scope` block (every time outside one)."""
    memo = _REQUEST.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]  # type: ignore[no-any-return]


class SharedViews:
    """Page data kept in this process per data version (campaign standings, the basic-law page):
    a :class:`LruCache` keyed by ``(version, key)``. Nothing is written to or read from the
    workspace: no file, no pickle (a planted file can never run code in the server). KPI numbers
    are not kept here: they come from the results store (:mod:`zhuizong.kpi.results`)."""

    def __init__(self, name: str, size: int = 256) -> None:
        self.name = name
        self.mem = LruCache(size)

    def get(self, ws: Any, version: Hashable, key: Hashable, compute: Callable[[], T]) -> T:
        where = (str(ws.home), str(ws.db_url))
        return self.mem.get((where, self.name, version, key), compute)

    def clear(self, ws: Any = None) -> None:
        """Forget the kept views (for data changed behind the app's back, e.g. in SQL)."""
        self.mem.clear()
