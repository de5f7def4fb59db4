"""Organisation, member, grant and invite request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from mission_control.organizations.models import Role

Name = Field(min_length=1, max_length=200)

# Deliberately loose (one @, a dot in the domain, no spaces): the mailbox proves the rest.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Email = Annotated[
    str,
    Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN, examples=["ada@example.com"]),
    AfterValidator(lambda text: text.strip().lower()),
]


class OrganizationRead(BaseModel):
    id: uuid.UUID
    name: str
    role: Role
    created_at: datetime


class OrganizationListItem(OrganizationRead):
    active: bool = Field(
        description="The organisation requests act in when they send no X-Organization-Id."
    )


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Name


class OrganizationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Name


class BoardGrant(BaseModel):
    """Read or write access to one board; write implies read."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    board_id: uuid.UUID
    can_read: bool = True
    can_write: bool = False

    @model_validator(mode="after")
    def _write_implies_read(self) -> BoardGrant:
        if self.can_write:
            self.can_read = True
        return self


def _unique_boards(grants: list[BoardGrant]) -> list[BoardGrant]:
    seen: set[uuid.UUID] = set()
    for grant in grants:
        if grant.board_id in seen:
            raise ValueError(f"board {grant.board_id} is listed twice")
        seen.add(grant.board_id)
    return grants


class MemberRead(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    email: str | None
    name: str | None
    role: Role
    all_boards_read: bool
    all_boards_write: bool
    created_at: datetime


class MemberDetail(MemberRead):
    board_grants: list[BoardGrant]


class MemberUpdate(BaseModel):
    """Change some of a member's role and all-boards flags."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    all_boards_read: bool | None = None
    all_boards_write: bool | None = None


class GrantsReplace(BaseModel):
    """The member's complete list of per-board grants (replaces the current one)."""

    model_config = ConfigDict(extra="forbid")

    board_grants: list[BoardGrant] = Field(max_length=1000)

    @model_validator(mode="after")
    def _unique(self) -> GrantsReplace:
        _unique_boards(self.board_grants)
        return self


class InviteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    role: Role = Role.MEMBER
    all_boards_read: bool = False
    all_boards_write: bool = False
    board_grants: list[BoardGrant] = Field(default_factory=list, max_length=1000)
    expires_in_hours: int | None = Field(
        default=None,
        ge=1,
        le=24 * 30,
        description="How long the invite may be accepted; default MC_INVITE_TTL_HOURS (72).",
    )

    @model_validator(mode="after")
    def _unique(self) -> InviteCreate:
        _unique_boards(self.board_grants)
        return self


class InviteRead(BaseModel):
    id: uuid.UUID
    email: str
    role: Role
    all_boards_read: bool
    all_boards_write: bool
    board_grants: list[BoardGrant]
    status: str = Field(description="pending, accepted, revoked or expired.")
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class InviteCreated(InviteRead):
    delivery: str = Field(
        description="'email' when the link was mailed (then token and accept_url are null), "
        "'shown' when it is shown only in this answer, 'failed' when mailing failed "
        "(then it is shown here instead)."
    )
    delivery_error: str | None = None
    token: str | None = Field(
        default=None, description="The invite token. Shown only in this response."
    )
    accept_url: str | None = None


class InviteAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)


class InviteAccepted(BaseModel):
    organization: OrganizationRead
    member: MemberDetail
