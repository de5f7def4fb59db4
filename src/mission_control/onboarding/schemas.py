"""Onboarding request and response models: questions, answers, the draft and the session."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from mission_control.boards.schemas import BoardRead


def _stripped(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


def _blank_to_none(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return value.strip()


Text = Annotated[str, AfterValidator(_stripped)]
OptionalText = Annotated[str | None, AfterValidator(_blank_to_none)]
Option = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_stripped)]


class OnboardingQuestion(BaseModel):
    """A question the gateway-main agent asks the user, with optional choices."""

    model_config = ConfigDict(extra="forbid")

    question: Text = Field(min_length=1, max_length=2000, examples=["Who is the board for?"])
    options: list[Option] = Field(
        default_factory=list, max_length=12, examples=[["My team", "Customers", "Just me"]]
    )
    allow_free_text: bool = Field(
        default=True, description="Whether the user may answer in their own words."
    )

    @field_validator("options")
    @classmethod
    def _distinct(cls, options: list[str]) -> list[str]:
        if len({option.lower() for option in options}) != len(options):
            raise ValueError("options must be distinct")
        return options


class UserProfileDraft(BaseModel):
    """What the interview learnt about the user; rendered into agents' USER.md."""

    model_config = ConfigDict(extra="forbid")

    preferred_name: OptionalText = Field(default=None, max_length=200)
    pronouns: OptionalText = Field(default=None, max_length=100)
    timezone: OptionalText = Field(default=None, max_length=100, examples=["Europe/Paris"])
    notes: OptionalText = Field(default=None, max_length=4000)
    context: OptionalText = Field(default=None, max_length=10_000)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError("must be an IANA time zone name, e.g. Europe/Paris") from error
        return value


class LeadAgentDraft(BaseModel):
    """The board lead's identity (defaults: ``Lead Agent``, role ``Board Lead``)."""

    model_config = ConfigDict(extra="forbid")

    name: OptionalText = Field(default=None, max_length=200)
    role: OptionalText = Field(default=None, max_length=200)
    communication_style: OptionalText = Field(default=None, max_length=500)
    emoji: OptionalText = Field(default=None, max_length=50)

    def identity_overrides(self) -> dict[str, str]:
        values = {
            "role": self.role,
            "communication_style": self.communication_style,
            "emoji": self.emoji,
        }
        return {key: value for key, value in values.items() if value}


def _in_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("is out of range once converted to UTC") from error


class OnboardingDraft(BaseModel):
    """The goal the interview produced; confirming it writes it to the board."""

    model_config = ConfigDict(extra="forbid")

    board_type: Literal["goal", "general"] = "goal"
    objective: OptionalText = Field(default=None, max_length=10_000)
    success_metrics: dict[str, Any] | None = Field(
        default=None, examples=[{"weekly_active_users": 500}]
    )
    target_date: Annotated[AwareDatetime | None, AfterValidator(_in_utc)] = None
    fully_autonomous: bool = Field(
        default=False,
        description="True turns the board's require_approval_for_done off.",
    )
    user_profile: UserProfileDraft | None = None
    lead_agent: LeadAgentDraft | None = None

    @model_validator(mode="after")
    def _goal_needs_objective(self) -> OnboardingDraft:
        if self.board_type == "goal" and not self.objective:
            raise ValueError("a goal board needs an objective (or use board_type 'general')")
        return self


class OnboardingAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Text = Field(min_length=1, max_length=4000)
    question_id: str | None = Field(
        default=None, max_length=64, description="The question this answers, if one."
    )


class OnboardingConfirm(BaseModel):
    """Confirm the draft as it is, or send an edited one in its place."""

    model_config = ConfigDict(extra="forbid")

    draft: OnboardingDraft | None = None


MessageRole = Literal["agent", "user", "system"]
MessageKind = Literal["question", "answer", "draft", "note"]


class OnboardingMessage(BaseModel):
    id: str
    role: MessageRole
    kind: MessageKind
    content: str
    options: list[str] = Field(default_factory=list)
    allow_free_text: bool | None = None
    question_id: str | None = None
    user_id: uuid.UUID | None = None
    at: datetime


class OnboardingRead(BaseModel):
    id: uuid.UUID
    board_id: uuid.UUID
    status: Literal["active", "draft_ready", "confirmed", "abandoned"]
    session_key: str
    messages: list[OnboardingMessage]
    draft: OnboardingDraft | None
    created_by_user_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class OnboardingConfirmed(BaseModel):
    onboarding: OnboardingRead
    board: BoardRead
    lead_agent_id: uuid.UUID
    lead_created: bool
