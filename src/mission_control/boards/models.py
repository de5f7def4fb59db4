"""Board and board group tables, with the rule flags and the heartbeat governor policy."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mission_control.core.db import Base, Timestamps, UUIDPrimaryKey
from mission_control.core.types import JSONType, UTCDateTime

DEFAULT_GOVERNOR_LADDER = ["10m", "30m", "1h", "3h", "6h"]


class BoardGroup(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "board_groups"
    __table_args__ = (UniqueConstraint("organization_id", "slug"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)


class Board(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "boards"
    __table_args__ = (
        UniqueConstraint("organization_id", "slug"),
        CheckConstraint("max_agents >= 0", name="max_agents_not_negative"),
        CheckConstraint("board_type IN ('goal', 'general')", name="board_type_known"),
        CheckConstraint(
            "governor_activity_trigger IN ('chat', 'chat_or_tasks')",
            name="governor_activity_trigger_known",
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    # A gateway that goes away leaves its boards without one (agents are cleaned up first).
    gateway_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("gateways.id", ondelete="SET NULL"), index=True
    )
    board_group_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("board_groups.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    board_type: Mapped[str] = mapped_column(String(20), default="goal")
    objective: Mapped[str | None] = mapped_column(Text)
    success_metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    target_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    goal_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)

    require_approval_for_done: Mapped[bool] = mapped_column(Boolean, default=True)
    require_review_before_done: Mapped[bool] = mapped_column(Boolean, default=False)
    comment_required_for_review: Mapped[bool] = mapped_column(Boolean, default=False)
    block_status_changes_with_pending_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    only_lead_can_change_status: Mapped[bool] = mapped_column(Boolean, default=False)
    max_agents: Mapped[int] = mapped_column(Integer, default=1)

    # Heartbeat governor policy (docs/governor.md#policy-api).
    governor_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    governor_active_every: Mapped[str] = mapped_column(String(20), default="5m")
    governor_ladder: Mapped[list[str]] = mapped_column(
        JSONType, default=lambda: list(DEFAULT_GOVERNOR_LADDER)
    )
    governor_lead_cap: Mapped[str] = mapped_column(String(20), default="1h")
    governor_activity_trigger: Mapped[str] = mapped_column(String(20), default="chat_or_tasks")
    governor_active_window_minutes: Mapped[int] = mapped_column(Integer, default=60)
