"""The web console: server-rendered pages over the domain services, live through SSE."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from mission_control.web.rendering import STATIC_DIR, STATIC_PREFIX


def mount_console(app: FastAPI) -> None:
    """Adds the console's pages and its static files (served by this same process)."""
    from mission_control.web.router import router

    app.include_router(router)
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="console-static")
