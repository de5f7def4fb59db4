"""Task request and response models: tasks, comments, tags and custom field definitions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

TaskStatus = Literal["inbox", "in_progress", "review", "done"]
TaskPriority = Literal["low", "medium", "high", "urgent"]
FieldType = Literal["text", "integer", "decimal", "boolean", "date", "datetime", "url", "json"]
FieldKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,99}$", examples=["estimate_hours"])]
Title = Annotated[str, Field(min_length=1, max_length=500)]
Message = Annotated[str, Field(min_length=1, max_length=20_000)]
IdList = Annotated[list[uuid.UUID], Field(max_length=200)]


def in_utc(value: datetime | None) -> datetime | None:
    """The same instant in UTC; instants UTC cannot represent (year 10000) are invalid."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("is out of range once converted to UTC") from error


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be blank")
    return value.strip() if value is not None else None


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: str | None = Field(default=None, max_length=50_000)
    status: TaskStatus = "inbox"
    priority: TaskPriority = "medium"
    due_at: AwareDatetime | None = None
    assigned_agent_id: uuid.UUID | None = None
    depends_on_task_ids: IdList = Field(default_factory=list)
    tag_ids: IdList = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict)

    _title = field_validator("title")(_not_blank)
    _due_at = field_validator("due_at")(in_utc)


class TaskUpdate(BaseModel):
    """Only the fields present change. ``comment`` adds a comment in the same call."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: str | None = Field(default=None, max_length=50_000)
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    due_at: AwareDatetime | None = None
    assigned_agent_id: uuid.UUID | None = None
    depends_on_task_ids: IdList | None = None
    tag_ids: IdList | None = None
    custom_fields: dict[str, Any] | None = None
    comment: Message | None = None

    _title = field_validator("title")(_not_blank)
    _due_at = field_validator("due_at")(in_utc)

    @model_validator(mode="after")
    def _required_not_null(self) -> TaskUpdate:
        for name in ("title", "status", "priority", "depends_on_task_ids", "tag_ids"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class TaskRead(BaseModel):
    id: uuid.UUID
    board_id: uuid.UUID
    title: str
    description: str | None
    status: str
    priority: str
    due_at: datetime | None
    assigned_agent_id: uuid.UUID | None
    created_by_user_id: uuid.UUID | None
    created_by_agent_id: uuid.UUID | None
    in_progress_at: datetime | None
    version: int
    depends_on_task_ids: list[uuid.UUID]
    blocked_by_task_ids: list[uuid.UUID]
    is_blocked: bool
    tag_ids: list[uuid.UUID]
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Message

    _message = field_validator("message")(_not_blank)


class CommentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_id: uuid.UUID
    author_user_id: uuid.UUID | None
    author_agent_id: uuid.UUID | None
    message: str
    created_at: datetime


class TagCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)]
    slug: Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=100)] | None = None
    color: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] | None = None
    description: str | None = Field(default=None, max_length=2000)

    _name = field_validator("name")(_not_blank)


class TagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    slug: str
    color: str | None
    description: str | None
    created_at: datetime


class CustomFieldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: FieldKey
    label: Annotated[str, Field(min_length=1, max_length=200)]
    field_type: FieldType
    description: str | None = Field(default=None, max_length=2000)
    validation_regex: str | None = Field(default=None, max_length=500)
    required: bool = False
    default_value: Any = None


class CustomFieldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: uuid.UUID
    key: str
    label: str
    field_type: str
    description: str | None
    validation_regex: str | None
    required: bool
    default_value: Any
    created_at: datetime


class BoardFieldBind(BaseModel):
    """Binds a field to a board; ``required`` overrides the definition's when given."""

    model_config = ConfigDict(extra="forbid")

    required: bool | None = None


class BoardFieldRead(BaseModel):
    definition: CustomFieldRead
    board_id: uuid.UUID
    required: bool
