"""Notifying agents: record the message in the outbox with the caller's transaction; once that
commits it is delivered through the gateway (see ``delivery``), retried until it is sent."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.agents.models import Agent
from mission_control.core.clock import utcnow
from mission_control.notifications import delivery
from mission_control.notifications.models import Notification, NotificationStatus


async def notify_agent(
    session: AsyncSession,
    *,
    agent: Agent,
    kind: str,
    message: str,
    organization_id: uuid.UUID,
    board_id: uuid.UUID | None,
    task_id: uuid.UUID | None = None,
) -> None:
    """Queue ``message`` for ``agent``'s gateway session (``agent.openclaw_session_id``).

    The outbox row is part of the caller's transaction: nothing is sent if it rolls back.
    After the commit the process's notifier sends it (``chat.send``, deliver=True, one
    idempotency key per notification); a failure is recorded (attempts, last error, next
    attempt with backoff) and retried by the retry loop. Every attempt is an activity event
    (``notification.sent`` / ``notification.failed``). ``kind`` says why, e.g. ``assignment``,
    ``rework``, ``mention``, ``approval_resolved``, ``chat``, ``webhook``.
    """
    notification = Notification(
        id=uuid.uuid4(),
        organization_id=organization_id,
        board_id=board_id,
        task_id=task_id,
        agent_id=agent.id,
        kind=kind,
        message=message,
        status=NotificationStatus.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(notification)
    delivery.deliver_after_commit(session, notification.id)
