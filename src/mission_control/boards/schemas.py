"""Board request and response models, with rule flags and the heartbeat governor policy."""

from __future__ import annotations

import uuid
from datetime import datetime
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from mission_control.core.inputs import UtcInstant
from mission_control.core.text import DURATION_PATTERN, MAX_HEARTBEAT_SECONDS, duration_seconds


def _heartbeat_range(text: str) -> str:
    """Zero would switch the agent's heartbeat off (the governor's job, never the policy's);
    a huge one overflows date arithmetic."""
    try:
        seconds = duration_seconds(text)
    except ValueError:  # more digits than int() takes
        seconds = MAX_HEARTBEAT_SECONDS + 1
    if not 0 < seconds <= MAX_HEARTBEAT_SECONDS:
        raise ValueError(
            f"{text!r} is out of range: a duration must be more than 0 and at most 30d "
            "(e.g. 30s, 10m, 1h, 30d)"
        )
    return text


Duration = Annotated[
    str,
    Field(pattern=DURATION_PATTERN, examples=["10m"]),
    AfterValidator(_heartbeat_range),
]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=200)]
BoardType = Literal["goal", "general"]
ActivityTrigger = Literal["chat", "chat_or_tasks"]


class HeartbeatPolicy(BaseModel):
    """How the governor paces this board's agents (docs/governor.md#policy-api)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    active_every: Duration = "5m"
    ladder: list[Duration] = Field(
        default_factory=lambda: ["10m", "30m", "1h", "3h", "6h"], min_length=1, max_length=20
    )
    lead_cap: Duration = "1h"
    activity_trigger: ActivityTrigger = "chat_or_tasks"
    active_window_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)

    @field_validator("ladder")
    @classmethod
    def _increasing(cls, ladder: list[str]) -> list[str]:
        seconds = [duration_seconds(step) for step in ladder]
        if any(later <= earlier for earlier, later in pairwise(seconds)):
            raise ValueError("ladder steps must be strictly increasing, e.g. 10m, 30m, 1h")
        return ladder


class HeartbeatPolicyUpdate(BaseModel):
    """Only the fields present change; the merged policy is validated as a whole."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    active_every: Duration | None = None
    ladder: list[Duration] | None = Field(default=None, min_length=1, max_length=20)
    lead_cap: Duration | None = None
    activity_trigger: ActivityTrigger | None = None
    active_window_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)

    @model_validator(mode="after")
    def _not_null(self) -> HeartbeatPolicyUpdate:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep the current value")
        return self


class BoardFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=10_000)
    gateway_id: uuid.UUID | None = None
    board_group_id: uuid.UUID | None = None
    board_type: BoardType = "goal"
    objective: str | None = Field(default=None, max_length=10_000)
    success_metrics: dict[str, Any] | None = None
    target_date: UtcInstant | None = None
    goal_confirmed: bool = False
    require_approval_for_done: bool = True
    require_review_before_done: bool = False
    comment_required_for_review: bool = False
    block_status_changes_with_pending_approval: bool = False
    only_lead_can_change_status: bool = False
    max_agents: int = Field(default=1, ge=0, le=1000)
    heartbeat_policy: HeartbeatPolicy | None = None


class BoardCreate(BoardFields):
    name: str = Field(min_length=1, max_length=200)
    slug: Slug | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class BoardUpdate(BaseModel):
    """Only the fields present change; null clears optional fields."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    slug: Slug | None = None
    description: str | None = Field(default=None, max_length=10_000)
    gateway_id: uuid.UUID | None = None
    board_group_id: uuid.UUID | None = None
    board_type: BoardType | None = None
    objective: str | None = Field(default=None, max_length=10_000)
    success_metrics: dict[str, Any] | None = None
    target_date: UtcInstant | None = None
    goal_confirmed: bool | None = None
    require_approval_for_done: bool | None = None
    require_review_before_done: bool | None = None
    comment_required_for_review: bool | None = None
    block_status_changes_with_pending_approval: bool | None = None
    only_lead_can_change_status: bool | None = None
    max_agents: int | None = Field(default=None, ge=0, le=1000)
    heartbeat_policy: HeartbeatPolicy | None = None

    @model_validator(mode="after")
    def _required_not_null(self) -> BoardUpdate:
        for field in (
            "name",
            "slug",
            "board_type",
            "goal_confirmed",
            "require_approval_for_done",
            "require_review_before_done",
            "comment_required_for_review",
            "block_status_changes_with_pending_approval",
            "only_lead_can_change_status",
            "max_agents",
            "heartbeat_policy",
        ):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class BoardRead(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    slug: str
    description: str | None
    gateway_id: uuid.UUID | None
    board_group_id: uuid.UUID | None
    board_type: str
    objective: str | None
    success_metrics: dict[str, Any] | None
    target_date: datetime | None
    goal_confirmed: bool
    require_approval_for_done: bool
    require_review_before_done: bool
    comment_required_for_review: bool
    block_status_changes_with_pending_approval: bool
    only_lead_can_change_status: bool
    max_agents: int
    heartbeat_policy: HeartbeatPolicy
    created_at: datetime
    updated_at: datetime
