"""Agent table: identity, token, desired/applied provisioning state and governor state."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mission_control.core.db import Base, Timestamps, UUIDPrimaryKey
from mission_control.core.types import JSONType, UTCDateTime


class AgentStatus:
    PROVISIONING = "provisioning"
    ONLINE = "online"
    OFFLINE = "offline"
    UPDATING = "updating"
    DELETING = "deleting"


class Agent(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "agents"
    __table_args__ = (
        # One lead per board, one gateway-main agent per gateway: enforced by the database.
        Index(
            "uq_agents_one_lead_per_board",
            "board_id",
            unique=True,
            postgresql_where=text("is_board_lead"),
            sqlite_where=text("is_board_lead = 1"),
        ),
        Index(
            "uq_agents_one_main_per_gateway",
            "gateway_id",
            unique=True,
            postgresql_where=text("board_id IS NULL"),
            sqlite_where=text("board_id IS NULL"),
        ),
        # Board agent names are unique per gateway, case-insensitively
        # (docs/agents.md#agent-names-are-unique-per-gateway).
        Index(
            "uq_agents_board_agent_name_per_gateway",
            "gateway_id",
            "name_key",
            unique=True,
            postgresql_where=text("board_id IS NOT NULL"),
            sqlite_where=text("board_id IS NOT NULL"),
        ),
        UniqueConstraint("gateway_id", "openclaw_session_id"),
        CheckConstraint("NOT is_board_lead OR board_id IS NOT NULL", name="lead_has_board"),
        CheckConstraint("wake_attempts >= 0", name="wake_attempts_not_negative"),
        Index("ix_agents_board_id_created_at", "board_id", "created_at"),
        Index("ix_agents_gateway_id_created_at", "gateway_id", "created_at"),
    )

    # Null board => the gateway-main agent of its gateway.
    board_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("boards.id", ondelete="RESTRICT"))
    gateway_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gateways.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200))
    # lower(trim(name)): the collision key, so the database enforces name uniqueness.
    name_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(40), default=AgentStatus.PROVISIONING, index=True)
    openclaw_session_id: Mapped[str | None] = mapped_column(String(300))
    is_board_lead: Mapped[bool] = mapped_column(Boolean, default=False)

    # Token: "<prefix>_<token_id>_<secret>"; token_id is public and indexed, the rest hashed.
    token_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    agent_token_hash: Mapped[str | None] = mapped_column(String(200))

    heartbeat_config: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    identity_profile: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    identity_template: Mapped[str | None] = mapped_column(Text)
    soul_template: Mapped[str | None] = mapped_column(Text)

    # Provisioning: desired generation vs the one a gateway last confirmed.
    provision_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provision_action: Mapped[str | None] = mapped_column(String(20))
    provision_confirm_token_hash: Mapped[str | None] = mapped_column(String(200))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    applied_generation: Mapped[int] = mapped_column(Integer, default=0)
    template_version: Mapped[str | None] = mapped_column(String(64))
    last_provision_error: Mapped[str | None] = mapped_column(Text)
    last_provisioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delete_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The generation whose apply failed for a cause only a change can fix (a broken template,
    # files or config the gateway refuses): not retried until the generation moves or the
    # parking is cleared (gateway settings change, template sync, reconciler start).
    provision_parked_generation: Mapped[int | None] = mapped_column(Integer)
    # How the pending intent is applied: comma-separated "wake", "reset", "bootstrap" (None:
    # the action's default, a provisioning wakes and an update does not).
    provision_flags: Mapped[str | None] = mapped_column(String(40))
    # A worker (reconciler, template sync) applying the agent holds it until this time; claimed
    # with a conditional UPDATE so one worker across processes applies an agent at a time.
    provision_lease_owner: Mapped[str | None] = mapped_column(String(64))
    provision_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Wake and check-in tracking.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    wake_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_wake_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checkin_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    # Heartbeat governor state (docs/governor.md#what-one-tick-does).
    auto_heartbeat_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    auto_heartbeat_step: Mapped[int] = mapped_column(Integer, default=0)
    auto_heartbeat_off: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_heartbeat_every: Mapped[str | None] = mapped_column(String(20))
    auto_heartbeat_last_active_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_gateway_main(self) -> bool:
        return self.board_id is None


def agent_name_key(name: str) -> str:
    return name.strip().lower()
