"""Tenancy tables: organisations, memberships with roles, per-board grants, invites."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mission_control.core.db import Base, Timestamps, UUIDPrimaryKey
from mission_control.core.types import JSONType, UTCDateTime


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


ROLE_ENUM = Enum(
    Role,
    name="member_role",
    native_enum=False,
    length=20,
    values_callable=lambda roles: [r.value for r in roles],
)


class Organization(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200))


class OrganizationMember(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "organization_members"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(ROLE_ENUM, default=Role.MEMBER)
    all_boards_read: Mapped[bool] = mapped_column(Boolean, default=False)
    all_boards_write: Mapped[bool] = mapped_column(Boolean, default=False)


class BoardAccessGrant(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "board_access_grants"
    __table_args__ = (UniqueConstraint("member_id", "board_id"),)

    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organization_members.id", ondelete="CASCADE")
    )
    board_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("boards.id", ondelete="CASCADE"), index=True
    )
    can_read: Mapped[bool] = mapped_column(Boolean, default=True)
    can_write: Mapped[bool] = mapped_column(Boolean, default=False)


class OrganizationInvite(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "organization_invites"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[Role] = mapped_column(ROLE_ENUM, default=Role.MEMBER)
    all_boards_read: Mapped[bool] = mapped_column(Boolean, default=False)
    all_boards_write: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{"board_id": "...", "can_read": true, "can_write": false}, ...] applied on accept.
    board_grants: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    token_id: Mapped[str] = mapped_column(String(32), unique=True)
    token_hash: Mapped[str] = mapped_column(String(200))
    invited_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    accepted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
