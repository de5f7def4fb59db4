"""Request and response models for inbound webhooks and the payloads they received."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


def _trimmed(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    signed: bool = Field(
        default=True,
        description="Require an HMAC-SHA256 signature; the secret is shown once in the answer.",
    )
    enabled: bool = True
    target_agent_id: uuid.UUID | None = Field(
        default=None, description="Agent of the board told to act; default: the board lead."
    )
    instructions: str | None = Field(default=None, max_length=4000)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value.strip()

    _description = field_validator("description", "instructions")(_trimmed)


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    enabled: bool | None = None
    target_agent_id: uuid.UUID | None = None
    instructions: str | None = Field(default=None, max_length=4000)
    signed: bool | None = Field(
        default=None, description="false removes the secret; true without one creates it."
    )
    rotate_secret: bool = Field(
        default=False, description="Replace the secret; the new one is shown once."
    )

    _trim = field_validator("name", "description", "instructions")(_trimmed)


class WebhookRead(BaseModel):
    id: uuid.UUID
    board_id: uuid.UUID
    name: str
    description: str | None
    public_id: str
    url: str
    signed: bool
    enabled: bool
    target_agent_id: uuid.UUID | None
    instructions: str | None
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookRead):
    """Returned when a secret is created or rotated; the only time it is shown."""

    secret: str | None = Field(
        description="Sign each body: header X-Mission-Control-Signature: sha256=<hex HMAC-SHA256>."
    )


class WebhookPayloadRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    webhook_id: uuid.UUID
    board_id: uuid.UUID
    received_at: datetime
    content_type: str | None
    headers: dict[str, Any]
    body: str
    signature_valid: bool | None
    memory_id: uuid.UUID | None
    delivery_error: str | None


class WebhookAccepted(BaseModel):
    ok: bool = True
    payload_id: uuid.UUID
