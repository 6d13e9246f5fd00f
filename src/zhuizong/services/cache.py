"""Per-process caches of derived page data (web app), keyed by what the data depends on.

A page that summarises many stored rows within a user's scope (a province's 80,000 assessment
results, a campaign's standings) need not recompute the summary for every request: the summary
is a function of the scope (:func:`zhuizong.access.scope.scope_key`), the request's own
parameters and the data it reads. The data part of the key is a *version* read from the database
on every request (:func:`imports_version` and the like: one small query), so a cached value is
never stale — a version check, not a timer, as for the materialised KPI results.
"""

from __future__ import annotations

import contextlib
import contextvars
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from zhuizong.store.models import table

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


def imports_version(conn: Connection) -> tuple[Any, ...]:
    """Changes with every committed import (agents, org units, facts: the system of record's
    people and structure change only through imports)."""
    b = table("import_batches")
    max_id, count = conn.execute(select(func.max(b.c.id), func.count())).one()
    # and when the latest batch finished: two databases with as many batches differ
    last = conn.execute(select(b.c.finished_at, b.c.file_sha256).where(b.c.id == max_id)).first()
    return (str(conn.engine.url), max_id, count, *(tuple(last) if last else ()))


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


def request_scope_key(conn: Connection, actor: Any) -> tuple[Any, ...]:
    """:func:`zhuizong.access.scope.scope_key` of ``actor``, read once per web request (a page
    keys several kept views by it)."""
    from zhuizong.access.scope import scope_key

    return per_request(("scope_key", str(conn.engine.url), actor.username),
                       lambda: scope_key(conn, actor))


class SharedViews:
    """Kept page data shared by the server's worker processes and kept across restarts: a
    :class:`LruCache` in front of files ``<analytics dir>/views/<name>/<version>/<key>.pickle``.

    ``version`` is what the data depends on (e.g. the KPI data version): a view of another
    version is never read; a new version's first write removes the directories of versions
    unused for :data:`STALE_AFTER` seconds. The files are the app's own (the analytic directory,
    like the materialised KPI results); each holds its full key, checked on reading. A file that
    cannot be read or written is ignored (the view is computed)."""

    STALE_AFTER = 900.0

    def __init__(self, name: str, size: int = 256) -> None:
        self.name = name
        self.mem = LruCache(size)
        self.disk_hits = 0

    @staticmethod
    def _stable(x: Any) -> Any:
        """``x`` with sets as sorted tuples (a key's repr the same in every process)."""
        if isinstance(x, (set, frozenset)):
            return ("set", *sorted((SharedViews._stable(v) for v in x), key=repr))
        if isinstance(x, (tuple, list)):
            return tuple(SharedViews._stable(v) for v in x)
        return x

    def get(self, ws: Any, version: Hashable, key: Hashable, compute: Callable[[], T]) -> T:
        import hashlib

        vtext = repr(self._stable(version))
        ktext = repr(self._stable(key))
        where = (str(ws.home), str(ws.db_url))
        vdir = hashlib.sha256(repr((where, vtext)).encode()).hexdigest()[:20]
        fname = hashlib.sha256(ktext.encode()).hexdigest()[:32] + ".pickle"

        def load() -> T:
            base = Path(ws.analytics_dir) / "views" / self.name
            path = base / vdir / fname
            try:
                stored_key, value = pickle.loads(path.read_bytes())
                if stored_key == (vtext, ktext):
                    self.disk_hits += 1
                    return value  # type: ignore[no-any-return]
            except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError,
                    TypeError, ValueError):
                pass
            value = compute()
            self._write(base, vdir, path, (vtext, ktext), value)
            return value

        return self.mem.get((where, vtext, ktext), load)

    def _write(self, base: Path, vdir: str, path: Path, full_key: Any, value: Any) -> None:
        import os
        import shutil
        import tempfile
        import time

        try:
            new_version = not path.parent.exists()
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
            try:
                with os.fdopen(fd, "wb") as f:
                    pickle.dump((full_key, value), f, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            if new_version:
                now = time.time()
                for d in base.iterdir():
                    if d.name != vdir and d.is_dir() and now - d.stat().st_mtime > self.STALE_AFTER:
                        shutil.rmtree(d, ignore_errors=True)
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            pass  # not kept on disk: computed again by the next process that needs it

    def clear(self, ws: Any = None) -> None:
        """Forget the views kept in memory; with ``ws``, also its files (the views are keyed by
        version: this is for data changed behind the app's back, e.g. by hand in SQL)."""
        import shutil

        self.mem.clear()
        if ws is not None:
            shutil.rmtree(Path(ws.analytics_dir) / "views" / self.name, ignore_errors=True)


#: page data computed from KPI results within a scope (dashboard, agent list, monthly report):
#: :func:`kpi_view`
_KPI_VIEWS = SharedViews("kpi", 256)


def kpi_view(ws: Any, actor: Any, name: str, params: Hashable, compute: Callable[[], T]) -> T:
    """``compute()`` — a page's data built from the KPI layer for ``actor`` — kept per scope
    (:func:`zhuizong.access.scope.scope_key`: actors with the same grants see the same), page
    ``name`` and ``params``, KPI data version and KPI settings. The KPI numbers themselves change
    only with the analytic snapshot (imports); so do the names and org units such a page shows
    beside them (:mod:`zhuizong.kpi.materialized`). The caller checks the actor's permission
    before calling: roles are not part of the key."""
    from zhuizong.kpi import materialized

    version = materialized.data_version(ws)
    used = materialized.settings_hash(ws.settings.kpi_settings_used())
    with ws.engine.connect() as conn:
        scope = request_scope_key(conn, actor)
    return _KPI_VIEWS.get(ws, (version, used), (name, scope, params), compute)
