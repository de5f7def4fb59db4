"""Stream rules: which events a user or an agent may watch, and the resumable event sequence
(missed events from the database after Last-Event-ID, then live events from the bus)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import readable_board_ids, require_agent_board, require_board
from mission_control.agents.models import Agent
from mission_control.core import events
from mission_control.core.db import Database
from mission_control.core.errors import InvalidInput
from mission_control.core.events import Event, EventBus, EventScope, Subscription
from mission_control.organizations.service import UserContext

# Topic name -> event kind prefix.
TOPICS = {
    "tasks": "task.",
    "approvals": "approval.",
    "memory": "memory.",
    "activity": "activity.",
    "agents": "agent.",
    "onboarding": "onboarding.",
    "runs": "run.",
}
BACKLOG_PAGE = 500


def kinds_for(topics: Iterable[str]) -> tuple[str, ...]:
    """Kind prefixes for the topics asked for; none asked means every topic."""
    chosen = [topic.strip().lower() for topic in topics if topic.strip()]
    unknown = sorted(set(chosen) - TOPICS.keys())
    if unknown:
        raise InvalidInput(
            f"Unknown stream topic(s) {', '.join(unknown)}; use {', '.join(TOPICS)}.",
            details=[{"field": "topics", "location": "query", "message": "unknown topic"}],
        )
    return tuple(TOPICS[topic] for topic in dict.fromkeys(chosen))


async def user_scope(
    session: AsyncSession,
    context: UserContext,
    *,
    board_id: uuid.UUID | None,
    kinds: tuple[str, ...],
) -> EventScope:
    """One board the user may read, or every board it may read (admins: also events that
    belong to no board). Access is decided when the stream opens."""
    if board_id is not None:
        board = await require_board(session, context, board_id, write=False)
        return EventScope(context.organization.id, frozenset({board.id}), kinds=kinds)
    readable = await readable_board_ids(session, context)
    return EventScope(
        context.organization.id,
        frozenset(readable) if readable is not None else None,
        include_unboarded=context.is_admin,
        kinds=kinds,
    )


async def agent_scope(
    session: AsyncSession, agent: Agent, board_id: uuid.UUID, *, kinds: tuple[str, ...]
) -> EventScope:
    board = await require_agent_board(session, agent, board_id)
    return EventScope(board.organization_id, frozenset({board.id}), kinds=kinds)


async def open_stream(bus: EventBus, scope: EventScope) -> Subscription:
    """Subscribe before reading any backlog, so nothing committed in between is missed."""
    return await bus.subscribe(scope)


async def stream_events(
    database: Database,
    bus: EventBus,
    subscription: Subscription,
    *,
    after_id: int | None,
) -> AsyncIterator[Event]:
    """Missed events (id > after_id) from the database, then live ones from the bus, until
    the subscriber goes away or falls too far behind (then it reconnects and resumes)."""
    scope = subscription.scope
    replayed: set[int] = set()
    try:
        while after_id is not None:
            async with database.sessions() as session:
                page = await events.events_after(session, scope, after_id, limit=BACKLOG_PAGE)
            for item in page:
                replayed.add(item.id)
                yield item
            after_id = page[-1].id if len(page) == BACKLOG_PAGE else None
        while True:
            live = await subscription.next()
            if live is None:
                return
            if live.id not in replayed:
                yield live
    finally:
        bus.unsubscribe(subscription)
