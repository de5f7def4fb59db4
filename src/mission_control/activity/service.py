"""The activity log: writes events into the current unit of work (persisted and streamed with
its commit) and lists them for users (their readable boards) and agents (their own boards)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import agent_board_ids, readable_board_ids, require_board
from mission_control.activity import repository
from mission_control.activity.models import ActivityEvent
from mission_control.activity.repository import ActivityFilters, ActivityScope
from mission_control.activity.schemas import ActivityRead
from mission_control.agents.models import Agent
from mission_control.core import events
from mission_control.core.errors import Forbidden
from mission_control.organizations.service import UserContext


def record(
    session: AsyncSession,
    event_type: str,
    message: str,
    *,
    organization_id: uuid.UUID | None,
    board_id: uuid.UUID | None = None,
    agent_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
    actor_user_id: uuid.UUID | None = None,
    actor_agent_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> ActivityEvent:
    actor_type = "user" if actor_user_id else "agent" if actor_agent_id else "system"
    event = ActivityEvent(
        organization_id=organization_id,
        board_id=board_id,
        agent_id=agent_id,
        task_id=task_id,
        event_type=event_type,
        message=message,
        actor_type=actor_type,
        actor_user_id=actor_user_id,
        actor_agent_id=actor_agent_id,
        details=details,
    )
    session.add(event)
    if organization_id is not None:
        # Serialised at commit time, once the row has its id.
        events.emit(
            session,
            "activity.created",
            organization_id=organization_id,
            board_id=board_id,
            agent_id=agent_id,
            task_id=task_id,
            data=lambda: ActivityRead.model_validate(event).model_dump(mode="json"),
        )
    return event


async def list_for_user(
    session: AsyncSession,
    context: UserContext,
    filters: ActivityFilters,
    *,
    limit: int,
    offset: int,
) -> tuple[list[ActivityEvent], int]:
    """Events of the boards the user may read; admins also see organisation-level events."""
    if filters.board_id is not None:
        await require_board(session, context, filters.board_id, write=False)
    scope = ActivityScope(
        organization_id=context.organization.id,
        board_ids=await readable_board_ids(session, context),
        include_unboarded=context.is_admin,
    )
    return await repository.page(session, scope, filters, limit=limit, offset=offset)


async def list_for_agent(
    session: AsyncSession,
    agent: Agent,
    organization_id: uuid.UUID,
    filters: ActivityFilters,
    *,
    limit: int,
    offset: int,
) -> tuple[list[ActivityEvent], int]:
    """Events of the agent's own board (a gateway-main agent: its gateway's boards)."""
    boards = await agent_board_ids(session, agent)
    if filters.board_id is not None and filters.board_id not in boards:
        raise Forbidden("Agents may only read the activity of their own board.")
    scope = ActivityScope(
        organization_id=organization_id, board_ids=boards, include_unboarded=False
    )
    return await repository.page(session, scope, filters, limit=limit, offset=offset)
