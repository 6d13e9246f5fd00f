"""Page routers, one module per area. ``register`` mounts every router listed in ``MODULES``."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

#: modules under zhuizong.web.pages (and zhuizong.web.api) that define ``router``
MODULES = (
    "zhuizong.web.pages.tracking",
    "zhuizong.web.pages.tools",
    "zhuizong.web.pages.training",
    "zhuizong.web.pages.imports",
    "zhuizong.web.pages.admin",
    "zhuizong.web.pages.dashboard",
    "zhuizong.web.pages.report",
    "zhuizong.web.pages.agents",
    "zhuizong.web.pages.team",
    "zhuizong.web.pages.basiclaw",
    "zhuizong.web.pages.campaigns",
    "zhuizong.web.pages.me",
    "zhuizong.web.api",
)


def register(app: FastAPI) -> None:
    for name in MODULES:
        app.include_router(importlib.import_module(name).router)
