"""A Mission Control runtime on a test database, and an HTTP client that calls its app in
process: what the gateway test modules each used to write out for themselves."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from mission_control.app import build_runtime, create_app
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.settings import Settings

# Where agents are told Mission Control is: nothing listens there (a test that needs agents to
# call back runs a real server instead).
UNREACHABLE_BASE_URL = "http://127.0.0.1:9/"


@asynccontextmanager
async def app_runtime(
    database: Database, data_dir: Path, **settings: Any
) -> AsyncIterator[Runtime]:
    """A runtime with a fresh admin token and ``data_dir``; ``settings`` override the rest.
    Its gateway connections are closed afterwards."""
    values: dict[str, Any] = {
        "auth_token": secrets.token_urlsafe(48),
        "data_dir": data_dir,
        "database_url": database.url,
        "base_url": UNREACHABLE_BASE_URL,
    }
    values.update(settings)
    runtime = build_runtime(Settings(**values), database)
    try:
        yield runtime
    finally:
        await runtime.gateway_pool.close()


@asynccontextmanager
async def asgi_client(
    runtime: Runtime, *, base_url: str = "http://mc.test", timeout: float = 120.0
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the runtime's app, served in process (no socket)."""
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=timeout) as http:
        yield http
