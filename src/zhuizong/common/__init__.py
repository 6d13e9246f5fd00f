"""Small shared helpers at the bottom of the layers (docs/architecture.md, "Layers").

Nothing here imports another zhuizong package: any layer may use these.

* :mod:`zhuizong.common.cache` — in-process caches: :class:`~zhuizong.common.cache.LruCache`,
  values computed once per request (:func:`~zhuizong.common.cache.per_request` within
  :func:`~zhuizong.common.cache.request_scope`), :class:`~zhuizong.common.cache.SharedViews`.
* :mod:`zhuizong.common.cells` — :func:`~zhuizong.common.cells.safe_cell`, formula-injection
  defusing for every exported text cell.
"""
