"""Agent-facing request and response models."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mission_control.agents.models import Agent
from mission_control.agents.service import RESERVED_STATUSES
from mission_control.agents.status import computed_status, effective_heartbeat_every, offline_after
from mission_control.core.text import DURATION_PATTERN, MAX_HEARTBEAT_SECONDS, duration_seconds
from mission_control.provisioning.context import normalize_identity_profile
from mission_control.provisioning.templates import check_override

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


# -- the operator-facing lifecycle API (docs/agents.md#request-and-answer-bodies) --------------

NAME_FIELD = Field(min_length=1, max_length=200, description="Display name (unique per gateway).")
HeartbeatEvery = Field(
    default=None,
    description='Gateway heartbeat overrides, e.g. {"every": "30m", "target": "last"}.',
)


def _clean_template(value: str | None) -> str | None:
    """Checked here, so a template that would never render is refused before anything is
    stored (a 422 that says which construct or variable is wrong)."""
    if value is None:
        return None
    value = value.strip()
    if value:
        check_override(value)
    return value or None


def _clean_profile(value: dict[str, Any] | None) -> dict[str, str] | None:
    if value is None:
        return None
    return normalize_identity_profile(value) or None


def _clean_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("the name must not be blank")
    return value


def _clean_heartbeat(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    every = value.get("every")
    if every is not None:
        text = str(every).strip().lower()
        if not re.fullmatch(DURATION_PATTERN, text):
            raise ValueError("heartbeat_config.every must be a duration like 30s, 10m, 1h or 0m")
        if len(text) > 12 or duration_seconds(text) > MAX_HEARTBEAT_SECONDS:
            raise ValueError(
                f"heartbeat_config.every {text!r} is too long: at most 30d (0m switches it off)"
            )
        value = {**value, "every": text}
    return value


def _check_status(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip().lower()
    if value in RESERVED_STATUSES:
        raise ValueError(f"'{value}' is set by Mission Control itself; report e.g. 'online'")
    return value


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    board_id: uuid.UUID | None = None
    name: str = NAME_FIELD
    is_board_lead: bool = Field(
        default=False,
        description="Create the board's lead (org admins; one per board, 409 if it has one). "
        "Leads do not count against max_agents.",
    )
    status: str | None = Field(
        default=None, description="Ignored: a new agent is always 'provisioning'."
    )
    heartbeat_config: dict[str, Any] | None = HeartbeatEvery
    identity_profile: dict[str, Any] | None = None
    identity_template: str | None = Field(default=None, max_length=100_000)
    soul_template: str | None = Field(default=None, max_length=100_000)

    _name = field_validator("name")(_clean_name)
    _templates = field_validator("identity_template", "soul_template")(_clean_template)
    _profile = field_validator("identity_profile")(_clean_profile)
    _heartbeat = field_validator("heartbeat_config")(_clean_heartbeat)


class AgentUpdate(BaseModel):
    """Only the fields present in the request count."""

    model_config = ConfigDict(extra="forbid")

    board_id: uuid.UUID | None = None
    is_gateway_main: bool | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    status: str | None = None
    heartbeat_config: dict[str, Any] | None = HeartbeatEvery
    identity_profile: dict[str, Any] | None = None
    identity_template: str | None = Field(default=None, max_length=100_000)
    soul_template: str | None = Field(default=None, max_length=100_000)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else _clean_name(value)

    _templates = field_validator("identity_template", "soul_template")(_clean_template)
    _profile = field_validator("identity_profile")(_clean_profile)
    _heartbeat = field_validator("heartbeat_config")(_clean_heartbeat)


class AgentHeartbeat(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(default=None, max_length=40)

    _status = field_validator("status")(_check_status)


class AgentHeartbeatCreate(AgentHeartbeat):
    name: str = NAME_FIELD
    board_id: uuid.UUID | None = None

    _name = field_validator("name")(_clean_name)


class AgentRead(BaseModel):
    id: uuid.UUID
    board_id: uuid.UUID | None
    gateway_id: uuid.UUID
    name: str
    # docs/agents.md#computed-status
    status: str = Field(description="Computed: 'offline' after missed heartbeats.")
    is_board_lead: bool
    is_gateway_main: bool
    openclaw_session_id: str | None
    heartbeat_config: dict[str, Any] | None
    heartbeat_every: str | None = Field(description="Effective cadence; null when off.")
    offline_after_seconds: int | None
    identity_profile: dict[str, Any] | None
    identity_template: str | None
    soul_template: str | None
    provision_pending: bool = Field(description="A provision/update waits to reach the gateway.")
    provision_action: str | None
    next_step: str | None = Field(
        default=None,
        description="What happens next to a pending change, in words (null when none is pending).",
    )
    last_provision_error: str | None
    last_provisioned_at: datetime | None
    last_seen_at: datetime | None
    created_at: datetime
    updated_at: datetime


class OkResponse(BaseModel):
    ok: bool = True


def next_step(agent: Agent) -> str | None:
    """Says what Mission Control does next with the agent's pending change."""
    if agent.delete_requested_at is not None:
        return (
            "Deletion queued: Mission Control's reconciler removes the agent from its gateway, "
            "then deletes it."
        )
    if (agent.generation or 0) <= (agent.applied_generation or 0):
        return None
    if agent.provision_parked_generation == agent.generation:
        return (
            "Waiting for a fix: the last attempt failed for a reason retrying cannot change "
            "(see last_provision_error); update the agent or its gateway to try again."
        )
    wakes = agent.provision_action == "provision" or "wake" in (agent.provision_flags or "")
    then = " and then wakes the agent, which checks in" if wakes else ""
    retrying = " (retried with backoff after the error below)" if agent.last_provision_error else ""
    return (
        f"Queued: Mission Control's reconciler applies this to the gateway{then}{retrying}; "
        "watch status and last_provision_error."
    )


def agent_read(agent: Agent, now: datetime) -> AgentRead:
    """The agent as the API shows it, with its computed status (the row is only read)."""
    threshold = offline_after(agent)
    return AgentRead(
        id=agent.id,
        board_id=agent.board_id,
        gateway_id=agent.gateway_id,
        name=agent.name,
        status=computed_status(agent, now),
        is_board_lead=agent.is_board_lead,
        is_gateway_main=agent.board_id is None,
        openclaw_session_id=agent.openclaw_session_id,
        heartbeat_config=agent.heartbeat_config,
        heartbeat_every=effective_heartbeat_every(agent),
        offline_after_seconds=int(threshold.total_seconds()) if threshold else None,
        identity_profile=agent.identity_profile,
        identity_template=agent.identity_template,
        soul_template=agent.soul_template,
        provision_pending=(agent.generation or 0) > (agent.applied_generation or 0),
        provision_action=agent.provision_action,
        next_step=next_step(agent),
        last_provision_error=agent.last_provision_error,
        last_provisioned_at=agent.last_provisioned_at,
        last_seen_at=agent.last_seen_at,
        created_at=agent.created_at,
        updated_at=agent.updated_at,
    )
