"""Onboarding session table: the conversation state, questions, answers and draft."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from mission_control.core.db import Base, Timestamps, UUIDPrimaryKey
from mission_control.core.types import JSONType


class OnboardingStatus:
    ACTIVE = "active"
    DRAFT_READY = "draft_ready"
    CONFIRMED = "confirmed"
    ABANDONED = "abandoned"


OPEN_STATUSES = (OnboardingStatus.ACTIVE, OnboardingStatus.DRAFT_READY)


class BoardOnboardingSession(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "board_onboarding_sessions"
    __table_args__ = (
        CheckConstraint(
            "status IN ('active', 'draft_ready', 'confirmed', 'abandoned')", name="status_known"
        ),
        Index("ix_board_onboarding_sessions_board_id_status", "board_id", "status"),
        # At most one open onboarding per board, enforced by the database (two concurrent
        # starts cannot both interview the user).
        Index(
            "uq_board_onboarding_sessions_open_per_board",
            "board_id",
            unique=True,
            postgresql_where=text("status IN ('active', 'draft_ready')"),
            sqlite_where=text("status IN ('active', 'draft_ready')"),
        ),
    )

    board_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    session_key: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default=OnboardingStatus.ACTIVE)
    # [{"id", "role": "agent"|"user"|"system", "kind": "question"|"answer"|"draft"|...,
    #   "content", "options", "question_id", "at"}]
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
