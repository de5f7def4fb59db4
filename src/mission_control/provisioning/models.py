"""The template sync table: one row per requested sync, its options, its report so far and the
lease of the process running it (docs/provisioning.md#template-sync)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mission_control.core.clock import utcnow
from mission_control.core.db import Base, UUIDPrimaryKey
from mission_control.core.types import JSONType, UTCDateTime

SYNC_STATUSES = ("queued", "running", "succeeded", "failed")
FINISHED_STATUSES = ("succeeded", "failed")


class TemplateSync(UUIDPrimaryKey, Base):
    __tablename__ = "template_syncs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')", name="status_known"
        ),
        Index("ix_template_syncs_gateway_id_requested_at", "gateway_id", "requested_at"),
        Index("ix_template_syncs_status_lease_until", "status", "lease_until"),
    )

    gateway_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gateways.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    include_main: Mapped[bool] = mapped_column(Boolean, default=True)
    reset_sessions: Mapped[bool] = mapped_column(Boolean, default=False)
    rotate_tokens: Mapped[bool] = mapped_column(Boolean, default=False)
    force_bootstrap: Mapped[bool] = mapped_column(Boolean, default=False)
    board_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("boards.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    # The report so far, in SyncReportRead's fields; written after each phase of the run.
    report: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who runs it and until when; a lapsed lease on a running sync lets another process take
    # it over.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
