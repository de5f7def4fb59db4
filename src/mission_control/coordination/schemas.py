"""Request and response models of the coordination endpoints (docs/coordination.md#routes)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mission_control.coordination.messages import LeadMessageKind

Content = Annotated[str, Field(min_length=1, max_length=50_000)]
CorrelationId = Annotated[str | None, Field(default=None, max_length=200)]
USER_REPLY_TAGS = ("gateway_main", "user_reply")
USER_REPLY_SOURCE = "user_via_gateway_main"
LEAD_REPLY_TAGS = ("gateway_main", "lead_reply")
LEAD_REPLY_SOURCE = "lead_to_gateway_main"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NudgeRequest(_Body):
    message: Content

    _message = field_validator("message")(_not_blank)


class SoulWrite(_Body):
    content: Annotated[str, Field(min_length=1, max_length=200_000)]
    source_url: Annotated[str | None, Field(default=None, max_length=2048)] = None
    reason: Annotated[str | None, Field(default=None, max_length=2000)] = None

    _content = field_validator("content")(_not_blank)


class _Reply(_Body):
    correlation_id: CorrelationId = None
    content: Content
    reply_tags: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=20
    )
    reply_source: Annotated[str, Field(max_length=200)] = ""

    _content = field_validator("content")(_not_blank)


class AskUserRequest(_Reply):
    preferred_channel: Annotated[str | None, Field(default=None, max_length=100)] = None

    @field_validator("reply_tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return [t.strip() for t in value if t.strip()] or list(USER_REPLY_TAGS)

    @field_validator("reply_source")
    @classmethod
    def _source(cls, value: str) -> str:
        return value.strip() or USER_REPLY_SOURCE


class LeadMessageRequest(_Reply):
    kind: LeadMessageKind = "question"

    @field_validator("reply_tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return [t.strip() for t in value if t.strip()] or list(LEAD_REPLY_TAGS)

    @field_validator("reply_source")
    @classmethod
    def _source(cls, value: str) -> str:
        return value.strip() or LEAD_REPLY_SOURCE


class BroadcastRequest(LeadMessageRequest):
    board_ids: list[uuid.UUID] | None = Field(default=None, max_length=500)


class OkResponse(BaseModel):
    ok: bool = True


class AskUserResponse(OkResponse):
    board_id: uuid.UUID
    main_agent_id: uuid.UUID | None = None
    main_agent_name: str | None = None


class LeadMessageResponse(OkResponse):
    board_id: uuid.UUID
    lead_agent_id: uuid.UUID
    lead_agent_name: str
    lead_created: bool


class BroadcastResult(BaseModel):
    board_id: uuid.UUID
    ok: bool
    lead_agent_id: uuid.UUID | None = None
    lead_agent_name: str | None = None
    error: str | None = None


class BroadcastResponse(OkResponse):
    sent: int
    failed: int
    results: list[BroadcastResult]
