"""SSE endpoints: tasks, approvals, memory/chat, activity and agents, per board or
organisation-wide for users, and the agent's own board for agents. Resumable (Last-Event-ID)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask

from mission_control.auth import AgentDep, RuntimeDep, SessionDep, UserDep
from mission_control.core.api import AGENT_KINDS, API_PREFIX
from mission_control.core.errors import InvalidInput
from mission_control.core.events import EventScope, bus_for
from mission_control.core.runtime import Runtime
from mission_control.streams import service
from mission_control.streams.service import TOPICS

router = APIRouter(prefix=API_PREFIX, tags=["streams"])
agent_router = APIRouter(prefix=f"{API_PREFIX}/agent", tags=list(AGENT_KINDS))

PING_SECONDS = 15
_TOPICS_HELP = f"Comma-separated topics ({', '.join(TOPICS)}); default: all."
TopicsQuery = Annotated[str | None, Query(description=_TOPICS_HELP, max_length=200)]
LastEventIdHeader = Annotated[str | None, Header(alias="Last-Event-ID")]
LastEventIdQuery = Annotated[
    str | None,
    Query(description="Resume after this event id (for clients that cannot set the header)."),
]
_STREAM_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}
}


MAX_EVENT_ID = 2**63 - 1


def _after_id(header: str | None, query: str | None) -> int | None:
    raw = header if header is not None else query
    if raw is None or not raw.strip():
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise InvalidInput(
            "Last-Event-ID must be the integer id of an event this stream sent.",
            details=[{"field": "Last-Event-ID", "location": "header", "message": "not an id"}],
        ) from None
    if value > MAX_EVENT_ID:
        return None  # no event can have a later id (a 64-bit column): start from now
    return max(value, 0)


def _kinds(topics: str | None) -> tuple[str, ...]:
    return service.kinds_for(topics.split(",") if topics else ())


async def _respond(
    runtime: Runtime, scope: EventScope, after_id: int | None
) -> EventSourceResponse:
    bus = bus_for(runtime.database)
    subscription = await service.open_stream(bus, scope)

    async def sse() -> AsyncIterator[ServerSentEvent]:
        items = service.stream_events(runtime.database, bus, subscription, after_id=after_id)
        async for item in items:
            yield ServerSentEvent(data=item.to_json(), event=item.kind, id=str(item.id))

    # Also unsubscribes a client that went away before its stream started.
    cleanup = BackgroundTask(bus.unsubscribe, subscription)
    return EventSourceResponse(sse(), ping=PING_SECONDS, background=cleanup)


@router.get("/stream", response_class=EventSourceResponse, responses=_STREAM_RESPONSES)
async def organization_stream(
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    topics: TopicsQuery = None,
    last_event_id: LastEventIdHeader = None,
    after: LastEventIdQuery = None,
) -> EventSourceResponse:
    """Live events of every board you may read (admins: also organisation-level events)."""
    scope = await service.user_scope(session, context, board_id=None, kinds=_kinds(topics))
    return await _respond(runtime, scope, _after_id(last_event_id, after))


@router.get(
    "/boards/{board_id}/stream", response_class=EventSourceResponse, responses=_STREAM_RESPONSES
)
async def board_stream(
    board_id: uuid.UUID,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    topics: TopicsQuery = None,
    last_event_id: LastEventIdHeader = None,
    after: LastEventIdQuery = None,
) -> EventSourceResponse:
    """Live events of one board: tasks, approvals, memory/chat, activity, agents."""
    scope = await service.user_scope(session, context, board_id=board_id, kinds=_kinds(topics))
    return await _respond(runtime, scope, _after_id(last_event_id, after))


@agent_router.get(
    "/boards/{board_id}/stream", response_class=EventSourceResponse, responses=_STREAM_RESPONSES
)
async def agent_board_stream(
    board_id: uuid.UUID,
    agent: AgentDep,
    session: SessionDep,
    runtime: RuntimeDep,
    topics: TopicsQuery = None,
    last_event_id: LastEventIdHeader = None,
    after: LastEventIdQuery = None,
) -> EventSourceResponse:
    """Live events of your board."""
    scope = await service.agent_scope(session, agent, board_id, kinds=_kinds(topics))
    return await _respond(runtime, scope, _after_id(last_event_id, after))
