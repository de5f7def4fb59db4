"""Activity event table; integer ids give streams a monotonic resume cursor."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mission_control.core.clock import utcnow
from mission_control.core.db import Base
from mission_control.core.types import BigIntId, JSONType, UTCDateTime


class ActivityEvent(Base):
    __tablename__ = "activity_events"
    __table_args__ = (
        Index("ix_activity_events_organization_id_id", "organization_id", "id"),
        Index("ix_activity_events_board_id_id", "board_id", "id"),
        Index("ix_activity_events_agent_id_id", "agent_id", "id"),
        Index("ix_activity_events_event_type", "event_type"),
        Index("ix_activity_events_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    board_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("boards.id", ondelete="SET NULL"))
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="SET NULL"), index=True
    )
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    event_type: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    # "user", "agent" or "system".
    actor_type: Mapped[str] = mapped_column(String(20), default="system")
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
