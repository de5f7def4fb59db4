"""The live agents stream (docs/agents.md#the-agents-stream) on the event bus: scoped by board
access (admins also see gateway-main agents), resumable with Last-Event-ID, with an optional
``since`` catch-up read once when the stream opens. No per-client polling of the database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import readable_board_ids, require_board
from mission_control.agents import repository
from mission_control.agents.events import KIND_PREFIX
from mission_control.agents.repository import AgentVisibility
from mission_control.agents.schemas import agent_read
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.core.events import EventBus, EventScope, StreamEvent, Subscription
from mission_control.organizations.service import UserContext
from mission_control.streams.service import stream_events

EVENT_NAME = "agent"


@dataclass(frozen=True, slots=True)
class AgentFrame:
    """One SSE event: ``id`` is the resume cursor (None before the first event exists)."""

    id: int | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AgentStreamScope:
    events: EventScope
    visibility: AgentVisibility
    board_id: uuid.UUID | None


def parse_since(raw: str | None) -> datetime | None:
    """ISO-8601, ``Z`` accepted, naive means UTC; empty or invalid: None (the stream then
    starts from now; docs/agents.md#catching-up-with-since)."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):
        # OverflowError: an instant that leaves datetime's range in UTC (9999-12-31T23:59-01:00).
        return None


async def stream_scope(
    session: AsyncSession, context: UserContext, board_id: uuid.UUID | None
) -> AgentStreamScope:
    """Decided when the stream opens: one readable board, or every readable board (and, for
    admins, the gateway-main agents)."""
    organization_id = context.organization.id
    if board_id is not None:
        board = await require_board(session, context, board_id, write=False)
        boards: frozenset[uuid.UUID] | None = frozenset({board.id})
        include_main = False
    else:
        readable = await readable_board_ids(session, context)
        boards = frozenset(readable) if readable is not None else None
        include_main = context.is_admin
    return AgentStreamScope(
        events=EventScope(
            organization_id, boards, include_unboarded=include_main, kinds=(KIND_PREFIX,)
        ),
        visibility=AgentVisibility(organization_id, boards, include_main),
        board_id=board_id,
    )


async def _latest_event_id(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(StreamEvent.id))) or 0)


async def agent_frames(
    database: Database,
    bus: EventBus,
    subscription: Subscription,
    scope: AgentStreamScope,
    *,
    after_id: int | None,
    since: datetime | None,
) -> AsyncIterator[AgentFrame]:
    """With Last-Event-ID: the missed events, then live ones. Otherwise, with ``since``: the
    agents changed or seen since then (each once; only the last of them carries an id, the
    latest event id, so a client cut off during the catch-up starts it again rather than
    resuming past the agents it has not seen yet), then live events."""
    if after_id is None and since is not None:
        async with database.sessions() as session:
            watermark = await _latest_event_id(session)
            changed = await repository.changed_since(
                session, scope.visibility, since, board_id=scope.board_id
            )
        now = utcnow()
        for index, agent in enumerate(changed, start=1):
            data = {"agent": agent_read(agent, now).model_dump(mode="json"), "change": "snapshot"}
            last = index == len(changed)
            yield AgentFrame(id=(watermark or None) if last else None, data=data)
        after_id = watermark
    async for item in stream_events(database, bus, subscription, after_id=after_id):
        yield AgentFrame(id=item.id, data=item.data)
