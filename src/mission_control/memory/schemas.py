"""Request and response models for board and board-group memory (notes and chat)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_CONTENT_LENGTH = 20_000


class MemoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=MAX_CONTENT_LENGTH)
    tags: list[str] = Field(default_factory=list, max_length=20)
    source: str | None = Field(default=None, max_length=200)
    is_chat: bool = Field(
        default=False,
        description="Chat is the human <-> agents channel; '/pause' and '/resume' chat "
        "messages pause and resume the board.",
    )

    @field_validator("content")
    @classmethod
    def _content(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content must not be blank")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, values: list[str]) -> list[str]:
        cleaned: list[str] = []
        for value in values:
            tag = value.strip()
            if not tag or len(tag) > 50:
                raise ValueError("each tag must be 1-50 characters")
            if tag not in cleaned:
                cleaned.append(tag)
        return cleaned

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class MemoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    board_id: uuid.UUID
    content: str
    tags: list[str]
    source: str | None
    is_chat: bool
    author_user_id: uuid.UUID | None
    author_agent_id: uuid.UUID | None
    created_at: datetime


class GroupMemoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    board_group_id: uuid.UUID
    content: str
    tags: list[str]
    source: str | None
    is_chat: bool
    author_user_id: uuid.UUID | None
    author_agent_id: uuid.UUID | None
    created_at: datetime


class ChatState(BaseModel):
    board_id: uuid.UUID
    paused: bool
