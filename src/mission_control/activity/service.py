"""Writes activity events into the current unit of work (persisted with its commit)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.activity.models import ActivityEvent


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
    return event
