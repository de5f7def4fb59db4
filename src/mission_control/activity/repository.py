"""Queries for the activity log, scoped to the boards the caller may read."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.activity.models import ActivityEvent


@dataclass(frozen=True, slots=True)
class ActivityFilters:
    board_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None
    task_id: uuid.UUID | None = None
    # Exact type, or a prefix when it ends with '.' or '*' ("task.", "notification.*").
    event_type: str | None = None
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class ActivityScope:
    organization_id: uuid.UUID
    # None: every board of the organisation.
    board_ids: Collection[uuid.UUID] | None
    # Events attached to no board (gateway changes, ...): admins only.
    include_unboarded: bool


def _scope_condition(scope: ActivityScope) -> ColumnElement[bool] | None:
    if scope.board_ids is None:
        return None if scope.include_unboarded else ActivityEvent.board_id.is_not(None)
    on_boards = ActivityEvent.board_id.in_(scope.board_ids)
    return (
        or_(on_boards, ActivityEvent.board_id.is_(None)) if scope.include_unboarded else on_boards
    )


def _filter_conditions(filters: ActivityFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.board_id is not None:
        conditions.append(ActivityEvent.board_id == filters.board_id)
    if filters.agent_id is not None:
        conditions.append(
            or_(
                ActivityEvent.agent_id == filters.agent_id,
                ActivityEvent.actor_agent_id == filters.agent_id,
            )
        )
    if filters.task_id is not None:
        conditions.append(ActivityEvent.task_id == filters.task_id)
    if filters.event_type:
        kind = filters.event_type
        if kind.endswith(("*", ".")):
            conditions.append(ActivityEvent.event_type.startswith(kind.rstrip("*")))
        else:
            conditions.append(ActivityEvent.event_type == kind)
    if filters.since is not None:
        conditions.append(ActivityEvent.created_at >= filters.since)
    return conditions


async def page(
    session: AsyncSession,
    scope: ActivityScope,
    filters: ActivityFilters,
    *,
    limit: int,
    offset: int,
) -> tuple[list[ActivityEvent], int]:
    """Newest first (by id, which is the order events were written)."""
    conditions = [ActivityEvent.organization_id == scope.organization_id]
    scoped = _scope_condition(scope)
    if scoped is not None:
        conditions.append(scoped)
    conditions.extend(_filter_conditions(filters))
    total = await session.scalar(select(func.count()).select_from(ActivityEvent).where(*conditions))
    rows = await session.scalars(
        select(ActivityEvent)
        .where(*conditions)
        .order_by(ActivityEvent.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)
