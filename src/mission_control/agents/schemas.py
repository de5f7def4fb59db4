"""Agent-facing request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mission_control.agents.service import RESERVED_STATUSES

AgentKind = Literal["board_lead", "board_worker", "gateway_main"]


class AgentSelf(BaseModel):
    id: uuid.UUID
    name: str
    kind: AgentKind
    status: str
    is_board_lead: bool
    is_gateway_main: bool
    session_key: str | None
    last_seen_at: datetime | None


class BoardRef(BaseModel):
    id: uuid.UUID
    name: str
    slug: str


class GatewayRef(BaseModel):
    id: uuid.UUID
    name: str


class AgentWhoAmI(BaseModel):
    ok: bool = True
    agent: AgentSelf
    board: BoardRef | None
    gateway: GatewayRef
    organization_id: uuid.UUID


class AgentCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(
        default=None,
        max_length=40,
        description="Optional status to report (default 'online'); cannot be one of "
        "Mission Control's own lifecycle statuses.",
    )

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().lower()
        if value in RESERVED_STATUSES:
            raise ValueError(
                f"'{value}' is set by Mission Control itself; report e.g. 'online' or 'busy'"
            )
        return value
