"""Issue 11: background tasks started during a request do not log that request's id."""

from __future__ import annotations

import asyncio

import structlog

from mission_control.core.logging import background_context


async def test_background_context_drops_the_request_id() -> None:
    async def bound() -> dict[str, object]:
        return dict(structlog.contextvars.get_contextvars())

    structlog.contextvars.bind_contextvars(request_id="req-1")
    try:
        inherited = await asyncio.create_task(bound())
        detached = await asyncio.create_task(
            bound(), context=background_context(gateway_url="ws://gw")
        )
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    assert inherited["request_id"] == "req-1"  # what asyncio does by default
    assert detached == {"gateway_url": "ws://gw"}
