"""Approval request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ApprovalStatus = Literal["pending", "approved", "rejected"]
Score = Annotated[float, Field(ge=0, le=100)]


class ApprovalCreate(BaseModel):
    """Linked tasks are ``task_id`` and ``task_ids`` together (duplicates are merged)."""

    model_config = ConfigDict(extra="forbid")

    action_type: str = Field(min_length=1, max_length=100, examples=["mark_done"])
    payload: dict[str, Any] = Field(
        description="What to approve; must include a non-empty 'reason'.",
        examples=[{"reason": "Tests pass and the PR is merged."}],
    )
    confidence: int | None = Field(default=None, ge=0, le=100)
    rubric_scores: dict[str, Score] | None = Field(default=None, max_length=50)
    task_id: uuid.UUID | None = None
    task_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)

    @field_validator("payload")
    @classmethod
    def _reason(cls, payload: dict[str, Any]) -> dict[str, Any]:
        reason = payload.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError("must include a non-empty 'reason' (why this should be approved)")
        return payload

    def linked_task_ids(self) -> list[uuid.UUID]:
        ids = ([self.task_id] if self.task_id else []) + self.task_ids
        return list(dict.fromkeys(ids))


class ApprovalResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["approved", "rejected"]
    note: str | None = Field(default=None, max_length=2000)


class ApprovalRead(BaseModel):
    id: uuid.UUID
    board_id: uuid.UUID
    agent_id: uuid.UUID | None
    created_by_user_id: uuid.UUID | None
    action_type: str
    payload: dict[str, Any]
    confidence: int | None
    rubric_scores: dict[str, Any] | None
    status: str
    task_ids: list[uuid.UUID]
    resolved_by_user_id: uuid.UUID | None
    resolved_at: datetime | None
    resolution_note: str | None
    created_at: datetime
    updated_at: datetime
