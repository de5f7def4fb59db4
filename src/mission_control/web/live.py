"""The console's live updates: the existing event streams (streams/, core/events.py) served
to the signed-in browser by cookie. Each event is sent unnamed with its JSON; the page's
script refetches itself and swaps its live regions (static/console.js)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Response
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask

from mission_control.core.events import bus_for
from mission_control.streams import service
from mission_control.web.routing import ConsoleRoute, WebDep, parse_uuid, readable_board

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PING_SECONDS = 15


@router.get("/live/events")
async def live_events(
    web: WebDep, board_id: str | None = None, topics: str | None = None
) -> Response:
    """Events of one board the viewer may read, or of every board they may read."""
    kinds = service.kinds_for(topics.split(",") if topics else ())
    board: uuid.UUID | None = None
    async with web.read() as tx:
        if board_id:
            parsed = parse_uuid(board_id)
            board = (await readable_board(tx.session, tx.viewer, parsed)).id if parsed else None
            if board is None:
                return Response(status_code=404)
        scope = await service.user_scope(tx.session, tx.viewer.context, board_id=board, kinds=kinds)
    database = web.runtime.database
    bus = bus_for(database)
    subscription = await service.open_stream(bus, scope)

    async def sse() -> AsyncIterator[ServerSentEvent]:
        async for item in service.stream_events(database, bus, subscription, after_id=None):
            yield ServerSentEvent(data=item.to_json(), id=str(item.id))

    cleanup = BackgroundTask(bus.unsubscribe, subscription)
    return EventSourceResponse(sse(), ping=PING_SECONDS, background=cleanup)
