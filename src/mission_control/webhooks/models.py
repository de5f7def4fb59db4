"""Webhook tables: per-board endpoints (optional HMAC secret) and the payloads received."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mission_control.core.clock import utcnow
from mission_control.core.db import Base, Timestamps, UUIDPrimaryKey
from mission_control.core.types import JSONType, UTCDateTime


class BoardWebhook(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "board_webhooks"

    board_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("boards.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # Public path segment of the endpoint; unguessable.
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    # Encrypted HMAC-SHA256 secret; null means signatures are not required.
    secret_ciphertext: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    target_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    instructions: Mapped[str | None] = mapped_column(Text)


class BoardWebhookPayload(UUIDPrimaryKey, Base):
    __tablename__ = "board_webhook_payloads"
    __table_args__ = (
        Index("ix_board_webhook_payloads_webhook_id_received_at", "webhook_id", "received_at"),
    )

    webhook_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("board_webhooks.id", ondelete="CASCADE")
    )
    board_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("boards.id", ondelete="CASCADE"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    content_type: Mapped[str | None] = mapped_column(String(200))
    headers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    body: Mapped[str] = mapped_column(Text)
    signature_valid: Mapped[bool | None] = mapped_column(Boolean)
    memory_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("board_memory.id", ondelete="SET NULL"), index=True
    )
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivery_error: Mapped[str | None] = mapped_column(Text)
