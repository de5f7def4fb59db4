"""The notification outbox: one row per message to an agent, with its delivery attempts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mission_control.core.db import Base, Timestamps, UUIDPrimaryKey
from mission_control.core.types import UTCDateTime


class NotificationStatus:
    PENDING = "pending"
    SENT = "sent"
    ABANDONED = "abandoned"


class Notification(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "agent_notifications"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'abandoned')", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The retry loop's query: due pending rows.
        Index("ix_agent_notifications_status_next_attempt_at", "status", "next_attempt_at"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    board_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("boards.id", ondelete="SET NULL"), index=True
    )
    # Not a foreign key: a message about a task may outlive the task.
    task_id: Mapped[uuid.UUID | None] = mapped_column()
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # While an attempt runs this is its lease: another process skips the row until then.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    gateway_run_id: Mapped[str | None] = mapped_column(String(200))

    @property
    def idempotency_key(self) -> str:
        """Sent with every attempt, so the gateway runs a re-sent message only once."""
        return f"mc-notification-{self.id.hex}"
