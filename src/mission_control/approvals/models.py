"""Approval tables: the request, its linked tasks, and the one-pending-per-task guarantee."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from mission_control.core.db import Base, Timestamps, UUIDPrimaryKey
from mission_control.core.types import JSONType, UTCDateTime


class Approval(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "approvals"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        CheckConstraint(
            "confidence IS NULL OR (confidence >= 0 AND confidence <= 100)",
            name="confidence_range",
        ),
        Index("ix_approvals_board_id_status", "board_id", "status"),
    )

    board_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    action_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    confidence: Mapped[int | None] = mapped_column(Integer)
    rubric_scores: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    resolved_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_note: Mapped[str | None] = mapped_column(String(2000))


class ApprovalTaskLink(Base):
    __tablename__ = "approval_task_links"
    __table_args__ = (
        # At most one pending approval per task, even when two requests race.
        Index(
            "uq_approval_task_links_one_pending_per_task",
            "task_id",
            unique=True,
            postgresql_where=text("pending"),
            sqlite_where=text("pending = 1"),
        ),
    )

    approval_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("approvals.id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # Mirrors approvals.status == 'pending' so the unique index above can see it.
    pending: Mapped[bool] = mapped_column(Boolean, default=True)
