"""The web console: server-rendered pages over the domain services, live through SSE."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from mission_control.web.rendering import STATIC_DIR, STATIC_PREFIX

# Paths that answer machines: an unknown one there stays a JSON error.
MACHINE_PREFIXES = ("/api/", "/metrics", "/healthz", "/readyz", "/live/", STATIC_PREFIX)


def mount_console(app: FastAPI) -> None:
    """Adds the console's pages and its static files (served by this same process)."""
    from mission_control.web.router import router

    app.include_router(router)
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="console-static")
    _answer_unknown_pages_with_a_page(app)


def _answer_unknown_pages_with_a_page(app: FastAPI) -> None:
    """A browser that asks for a page that does not exist gets the console's "Not found" page;
    every other 404 (API, metrics, a script) keeps the JSON error the API documents."""
    from mission_control.web.routing import error_page

    json_answer = app.exception_handlers[StarletteHTTPException]

    async def answer(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code == 404 and _wants_a_page(request):
            return error_page(request, 404, "Not found", "There is no such page.")
        answered = json_answer(request, error)
        return answered if isinstance(answered, Response) else await answered

    app.add_exception_handler(StarletteHTTPException, answer)


def _wants_a_page(request: Request) -> bool:
    accepts_html = "text/html" in request.headers.get("accept", "")
    machine = request.url.path.startswith(MACHINE_PREFIXES)
    return request.method == "GET" and accepts_html and not machine
