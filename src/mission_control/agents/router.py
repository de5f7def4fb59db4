"""HTTP endpoints of the agent lifecycle under ``/api/v1/agents`` (docs/agents.md#routes):
operators list, watch, create, update, check in and delete agents; board leads create agents on
their board."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, status
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask

from mission_control.agents import lifecycle
from mission_control.agents.schemas import (
    AgentCreate,
    AgentHeartbeat,
    AgentHeartbeatCreate,
    AgentRead,
    AgentUpdate,
    OkResponse,
)
from mission_control.agents.stream import EVENT_NAME, agent_frames, parse_since, stream_scope
from mission_control.auth import CallerDep, RuntimeDep, SessionDep, UserDep
from mission_control.core.api import API_PREFIX
from mission_control.core.events import bus_for
from mission_control.core.pagination import Page, PageDep
from mission_control.streams import service as streams
from mission_control.streams.router import PING_SECONDS, _after_id

router = APIRouter(prefix=f"{API_PREFIX}/agents", tags=["agents"])

_STREAM_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}
}
LastEventIdHeader = Annotated[str | None, Header(alias="Last-Event-ID")]


@router.get("", response_model=Page[AgentRead])
async def list_agents(
    context: UserDep,
    session: SessionDep,
    page: PageDep,
    board_id: Annotated[uuid.UUID | None, Query()] = None,
    gateway_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[AgentRead]:
    """Agents on the boards you may read, newest first (admins: also gateway-main agents)."""
    items, total = await lifecycle.list_agents(
        session,
        context,
        board_id=board_id,
        gateway_id=gateway_id,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/stream", response_class=EventSourceResponse, responses=_STREAM_RESPONSES)
async def stream_agents(
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    board_id: Annotated[uuid.UUID | None, Query()] = None,
    since: Annotated[
        str | None,
        Query(max_length=64, description="ISO-8601 instant: first send agents changed since."),
    ] = None,
    last_event_id: LastEventIdHeader = None,
    after: Annotated[str | None, Query(description="Resume after this event id.")] = None,
) -> EventSourceResponse:
    """Live agent changes as ``agent`` events with data ``{"agent": AgentRead, "change"}``."""
    scope = await stream_scope(session, context, board_id)
    after_id = _after_id(last_event_id, after)
    bus = bus_for(runtime.database)
    subscription = await streams.open_stream(bus, scope.events)
    frames = agent_frames(
        runtime.database, bus, subscription, scope, after_id=after_id, since=parse_since(since)
    )

    async def sse() -> AsyncIterator[ServerSentEvent]:
        async for frame in frames:
            yield ServerSentEvent(
                data=json.dumps(frame.data, separators=(",", ":")),
                event=EVENT_NAME,
                id=str(frame.id) if frame.id is not None else None,
            )

    cleanup = BackgroundTask(bus.unsubscribe, subscription)
    return EventSourceResponse(sse(), ping=PING_SECONDS, background=cleanup)


@router.post("", response_model=AgentRead, status_code=status.HTTP_201_CREATED)
async def create_agent(
    data: AgentCreate, caller: CallerDep, session: SessionDep, runtime: RuntimeDep
) -> AgentRead:
    """Create a board agent and provision it (org admins; a board lead token also works, on
    its own board; leads' documented route is ``POST /agent/boards/{board_id}/agents``).
    Capped by the board's ``max_agents``. A gateway failure leaves it queued: see
    ``provision_pending`` and ``last_provision_error``."""
    return await lifecycle.create_agent(session, runtime, caller, data)


@router.post("/heartbeat", response_model=AgentRead)
async def heartbeat_or_create(
    data: AgentHeartbeatCreate, caller: CallerDep, session: SessionDep, runtime: RuntimeDep
) -> AgentRead:
    """An agent checks itself in; an admin checks in (or creates) the agent named."""
    return await lifecycle.heartbeat_or_create(session, runtime, caller, data)


@router.get("/{agent_id}", response_model=AgentRead)
async def get_agent(agent_id: uuid.UUID, context: UserDep, session: SessionDep) -> AgentRead:
    return await lifecycle.get_agent(session, context, agent_id)


@router.patch("/{agent_id}", response_model=AgentRead)
async def update_agent(
    agent_id: uuid.UUID,
    data: AgentUpdate,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    force: Annotated[
        bool, Query(description="Reprovision even without changes, re-running BOOTSTRAP.md.")
    ] = False,
) -> AgentRead:
    """Change an agent (also to and from gateway-main) and reprovision it; 502 with what to
    check when the gateway fails (the update stays queued)."""
    return await lifecycle.update_agent(session, runtime, context, agent_id, data, force=force)


@router.post("/{agent_id}/heartbeat", response_model=AgentRead)
async def heartbeat_agent(
    agent_id: uuid.UUID, caller: CallerDep, session: SessionDep, body: AgentHeartbeat | None = None
) -> AgentRead:
    """Check in for an agent: the agent itself, or an org admin on its behalf."""
    return await lifecycle.heartbeat_agent(session, caller, agent_id, body.status if body else None)


@router.delete("/{agent_id}", response_model=OkResponse)
async def delete_agent(
    agent_id: uuid.UUID, context: UserDep, session: SessionDep, runtime: RuntimeDep
) -> OkResponse:
    """Delete an agent from its gateway and Mission Control; its tasks are released and the
    gateway-main agent is asked to clean up. Idempotent."""
    await lifecycle.delete_agent(session, runtime, context, agent_id)
    return OkResponse()
