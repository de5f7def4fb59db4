"""Gateway request and response models; the token is write-only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

Name = Annotated[str, Field(min_length=1, max_length=200)]


def _check_url(value: str) -> str:
    value = value.strip()
    parsed = urlparse(value)
    if parsed.scheme not in ("ws", "wss") or not parsed.hostname:
        raise ValueError("must be a ws:// or wss:// URL with a host, e.g. ws://127.0.0.1:18789")
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
