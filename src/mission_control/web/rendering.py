"""Jinja2 templates of the console and the one way pages turn them into responses."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mission_control import __version__
from mission_control.core.clock import utcnow

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = "/static"

# The console loads nothing from elsewhere and runs no inline script or style.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def ago(value: datetime | None) -> str:
    """A short relative time: "12s ago", "5m ago", "3h ago", "2d ago"."""
    if value is None:
        return "never"
    seconds = int((utcnow() - value).total_seconds())
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def short_id(value: object) -> str:
    return str(value)[:8]


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(("html", "svg")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ago=ago, when=when, short_id=short_id)
    env.globals.update(version=__version__, static=STATIC_PREFIX)
    return env


templates = _environment()


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Renders ``template`` as a full page. Every template sees ``request``, ``viewer``
    (None when signed out), ``csrf_token``, ``errors`` (control name -> message), ``nav``
    (the active navigation entry) and ``live_stream`` (SSE URL the page refreshes from)."""
    context.setdefault("viewer", None)
    context.setdefault("errors", {})
    context.setdefault("nav", "")
    context.setdefault("live_stream", "")
    context.setdefault("form", {})
    viewer = context["viewer"]
    context.setdefault("csrf_token", viewer.csrf_token if viewer is not None else "")
    html = templates.get_template(template).render(request=request, **context)
    response = HTMLResponse(html, status_code=status_code)
    for name, value in {**SECURITY_HEADERS, **(headers or {})}.items():
        response.headers[name] = value
    return response
