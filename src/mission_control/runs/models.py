"""Run tables: one row per task run, its progress log, and each board's run policy."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mission_control.core.clock import utcnow
from mission_control.core.db import Base, Timestamps, UUIDPrimaryKey
from mission_control.core.types import BigIntId, JSONType, UTCDateTime

RUN_MODES = ("run", "session")
RUN_STATUSES = ("queued", "running", "succeeded", "failed", "timed_out", "cancelled", "lost")
ACTIVE_STATUSES = ("queued", "running")
TERMINAL_STATUSES = ("succeeded", "failed", "timed_out", "cancelled", "lost")


class TaskRun(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "task_runs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', "
            "'lost')",
            name="status_known",
        ),
        CheckConstraint("mode IN ('run', 'session')", name="mode_known"),
        CheckConstraint("sandbox IN ('inherit', 'require')", name="sandbox_known"),
        CheckConstraint("timeout_seconds > 0", name="timeout_positive"),
        # One run per client key and task: a retried request finds the run it started.
        UniqueConstraint("task_id", "request_key"),
        UniqueConstraint("dispatch_key"),
        Index("ix_task_runs_task_id_created_at", "task_id", "created_at"),
        Index("ix_task_runs_board_id_status", "board_id", "status"),
        Index("ix_task_runs_agent_id_status", "agent_id", "status"),
        Index("ix_task_runs_status_lease_until", "status", "lease_until"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    board_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    gateway_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("gateways.id", ondelete="SET NULL"), index=True
    )
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    requested_by_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    mode: Mapped[str] = mapped_column(String(20), default="run")
    runtime: Mapped[str | None] = mapped_column(String(200))
    sandbox: Mapped[str] = mapped_column(String(20), default="inherit")
    label: Mapped[str | None] = mapped_column(String(200))
    cwd: Mapped[str | None] = mapped_column(String(1000))
    timeout_seconds: Mapped[int] = mapped_column(Integer, default=600)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    request_key: Mapped[str | None] = mapped_column(String(200))
    # The gateway idempotency key: one per run, reused by every retry of its dispatch.
    dispatch_key: Mapped[str] = mapped_column(String(64))
    child_session_key: Mapped[str | None] = mapped_column(String(300))
    parent_session_key: Mapped[str | None] = mapped_column(String(300))
    gateway_run_id: Mapped[str | None] = mapped_column(String(200))
    history_cursor: Mapped[str | None] = mapped_column(Text)
    log_count: Mapped[int] = mapped_column(Integer, default=0)
    final_reply: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(60))
    error: Mapped[str | None] = mapped_column(Text)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    total_tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    child_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Which process drives the run, until when: another process takes over after it lapses.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TaskRunLogEntry(Base):
    """Progress of one run: assistant text, tool calls, lifecycle, in the order relayed."""

    __tablename__ = "task_run_log"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("task_runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BoardRunPolicy(Timestamps, Base):
    """What runs a board allows; a board without a row has the defaults."""

    __tablename__ = "board_run_policies"
    __table_args__ = (
        CheckConstraint("max_runs_per_agent > 0", name="agent_limit_positive"),
        CheckConstraint("max_runs_per_board > 0", name="board_limit_positive"),
        CheckConstraint("default_timeout_seconds > 0", name="timeout_positive"),
    )

    board_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    allowed_runtimes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    sandbox_available: Mapped[bool] = mapped_column(Boolean, default=False)
    keep_sessions: Mapped[bool] = mapped_column(Boolean, default=False)
    delete_finished_sessions: Mapped[bool] = mapped_column(Boolean, default=True)
    paused_agent_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    max_runs_per_agent: Mapped[int] = mapped_column(Integer, default=1)
    max_runs_per_board: Mapped[int] = mapped_column(Integer, default=4)
    default_timeout_seconds: Mapped[int] = mapped_column(Integer, default=600)
