"""Onboarding session table: the conversation state, questions, answers and draft."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mission_control.core.db import Base, Timestamps, UUIDPrimaryKey
from mission_control.core.types import JSONType


class BoardOnboardingSession(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "board_onboarding_sessions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('active', 'draft_ready', 'confirmed', 'abandoned')", name="status_known"
        ),
        Index("ix_board_onboarding_sessions_board_id_status", "board_id", "status"),
    )

    board_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    session_key: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="active")
    # [{"role": "agent"|"user", "kind": "question"|"answer"|..., "content": ..., "at": ...}]
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
