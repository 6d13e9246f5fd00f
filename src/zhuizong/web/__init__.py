"""The web app: server-rendered pages (FastAPI + Jinja2 + HTMX, ECharts) and the REST API.

Thin adapters over the services: no SQL and no business rule in a route. Layout:

- :mod:`.app` — ``create_app(ws)``: middleware (security headers, sessions, CSRF), static files,
  routers; ``create_app_from_env`` for ``uvicorn --factory`` with several workers;
- :mod:`.security` — server-side sessions, login throttling, CSRF tokens, cookie flags;
- :mod:`.deps` — request context: the workspace, the actor, the language, the template helper;
- :mod:`.i18n` — the Chinese/English strings of the pages;
- :mod:`.pages` — page routers (one module per area); :mod:`.api` — ``/api/v1`` JSON routes;
- ``templates/`` — Jinja2 templates; ``static/`` — CSS, JS and vendored ECharts/HTMX.
"""
