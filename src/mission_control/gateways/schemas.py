"""Gateway request and response models; the token is write-only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

Name = Annotated[str, Field(min_length=1, max_length=200)]


def _check_url(value: str) -> str:
    value = value.strip()
    parsed = urlparse(value)
    if parsed.scheme not in ("ws", "wss") or not parsed.hostname:
        raise ValueError("must be a ws:// or wss:// URL with a host, e.g. ws://127.0.0.1:18789")
    try:
        port = parsed.port  # urllib checks the port only when it is read
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError(
            "has an invalid port; use a number from 1 to 65535, e.g. ws://127.0.0.1:18789"
        )
    return value


def _check_root(value: str) -> str:
    value = value.strip()
    if not value.startswith("/"):
        raise ValueError("must be an absolute path on the gateway host, e.g. /srv/openclaw")
    return value.rstrip("/") or "/"


class GatewayCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    url: str = Field(max_length=2048)
    token: SecretStr | None = Field(default=None, max_length=4096)
    workspace_root: str = Field(max_length=1024)
    allow_insecure_tls: bool = False
    disable_device_pairing: bool = False

    _url = field_validator("url")(_check_url)
    _root = field_validator("workspace_root")(_check_root)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class GatewayUpdate(BaseModel):
    """Fields to change; ``token: null`` removes the stored token."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    url: str | None = Field(default=None, max_length=2048)
    token: SecretStr | None = Field(default=None, max_length=4096)
    workspace_root: str | None = Field(default=None, max_length=1024)
    allow_insecure_tls: bool | None = None
    disable_device_pairing: bool | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value)

    @field_validator("workspace_root")
    @classmethod
    def _root(cls, value: str | None) -> str | None:
        return None if value is None else _check_root(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return None if value is None else value.strip()


class GatewayRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    url: str
    has_token: bool
    workspace_root: str
    allow_insecure_tls: bool
    disable_device_pairing: bool
    created_at: datetime
    updated_at: datetime


class GatewayProbe(BaseModel):
    """An ad-hoc connection check of a gateway that is not registered (org admins only)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2048)
    token: SecretStr | None = Field(default=None, max_length=4096)
    allow_insecure_tls: bool = False

    _url = field_validator("url")(_check_url)


PairingState = Literal["approved", "approval_required", "scope_upgrade_required", "unknown"]


class PairingRead(BaseModel):
    """Whether the gateway accepted Mission Control's device, and how to approve it if not."""

    state: PairingState
    device_id: str | None = None
    granted_scopes: list[str] = Field(default_factory=list)
    missing_scopes: list[str] = Field(default_factory=list)
    request_id: str | None = None
    approve_commands: list[str] = Field(default_factory=list)


class ProblemRead(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class GatewayAgentEntry(BaseModel):
    id: str
    name: str | None = None
    workspace: str | None = None


class GatewaySessionRead(BaseModel):
    """A session on the gateway in our own shape (docs/gateway.md#session-lists-and-history)."""

    key: str
    agent_id: str | None = Field(
        default=None, description="The gateway agent the session belongs to."
    )
    label: str | None = None
    display_name: str | None = None
    kind: str | None = Field(default=None, description="The gateway's kind, e.g. `direct`.")
    session_id: str | None = Field(
        default=None, description="The gateway's id of the session's current transcript."
    )
    parent_session_key: str | None = None
    model: str | None = None
    updated_at: datetime | None = None


class HistoryMessageRead(BaseModel):
    """One message of a session's history: who spoke and the text of what was said."""

    role: str
    text: str
    timestamp: datetime | None = None


class GatewayStatusRead(BaseModel):
    connected: bool
    gateway_id: uuid.UUID | None = None
    gateway_url: str
    server_version: str | None = None
    protocol: int | None = None
    pairing: PairingRead
    agents_count: int = 0
    agents: list[GatewayAgentEntry] = Field(default_factory=list)
    sessions_count: int = 0
    sessions: list[GatewaySessionRead] = Field(default_factory=list)
    main_agent_gateway_id: str | None = None
    main_agent_present: bool | None = None
    main_session: GatewaySessionRead | None = None
    error: ProblemRead | None = None


class MainAgentRead(BaseModel):
    id: uuid.UUID
    name: str
    provisioned: bool
    error: str | None = None


class GatewayDeleted(BaseModel):
    """What a delete answers: the registration is gone; whether the gateway-main agent and its
    workspace left the gateway too (``warning`` says what to do by hand when not)."""

    id: uuid.UUID
    deleted: bool = True
    main_agent_removed: bool
    warning: str | None = None


class GatewayAdminRead(GatewayRead):
    """What create and update answer: the stored gateway, the connection check, and the
    gateway-main agent they ensured."""

    status: GatewayStatusRead
    main_agent: MainAgentRead | None = None
    agents_reprovisioning: int = Field(
        default=0,
        description="Agents (main included) provisioned again because the gateway's URL or "
        "workspace root changed; the reconciler applies them without waking anyone.",
    )


class SyncErrorRead(BaseModel):
    message: str
    agent_id: uuid.UUID | None = None
    agent_name: str | None = None
    board_id: uuid.UUID | None = None


class SyncReportRead(BaseModel):
    id: uuid.UUID = Field(description="The sync: read it at .../templates/syncs/{id}.")
    status: Literal["queued", "running", "succeeded", "failed"] = Field(
        description="queued or running: the report is what is done so far; failed: its "
        "errors list what went wrong."
    )
    requested_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    gateway_id: uuid.UUID
    include_main: bool
    reset_sessions: bool
    agents_updated: int
    agents_skipped: int
    main_updated: bool
    config_patched: bool
    kept_heartbeating: list[str]
    errors: list[SyncErrorRead]
    warnings: list[SyncErrorRead] = Field(
        default_factory=list,
        description="Agents given a new token because the one in their workspace no longer "
        "matched (their old token stops working).",
    )


class SessionListRead(BaseModel):
    sessions: list[GatewaySessionRead]
    main_session: GatewaySessionRead | None = None


class SessionRead(BaseModel):
    session: GatewaySessionRead


class SessionHistoryRead(BaseModel):
    history: list[HistoryMessageRead]


class SessionMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=100_000)

    @field_validator("content")
    @classmethod
    def _content(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class OkRead(BaseModel):
    ok: bool = True
