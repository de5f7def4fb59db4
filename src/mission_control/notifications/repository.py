"""Queries for the notification outbox: due rows, claiming an attempt, recording its outcome."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.notifications.models import Notification, NotificationStatus


async def due_ids(session: AsyncSession, now: datetime, *, limit: int) -> list[uuid.UUID]:
    result = await session.scalars(
        select(Notification.id)
        .where(
            Notification.status == NotificationStatus.PENDING,
            Notification.next_attempt_at <= now,
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
    )
    return list(result)


async def claim(
    session: AsyncSession, notification_id: uuid.UUID, now: datetime, lease_until: datetime
) -> bool:
    """Take the next attempt of a due notification; False if another worker has it or it is
    not due. One conditional UPDATE, so it is safe across processes on both databases."""
    result = await session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status == NotificationStatus.PENDING,
            Notification.next_attempt_at <= now,
        )
        .values(next_attempt_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def get(session: AsyncSession, notification_id: uuid.UUID) -> Notification | None:
    return await session.get(Notification, notification_id)


async def for_agent(session: AsyncSession, agent_id: uuid.UUID) -> list[Notification]:
    result = await session.scalars(
        select(Notification)
        .where(Notification.agent_id == agent_id)
        .order_by(Notification.created_at, Notification.id)
    )
    return list(result)
