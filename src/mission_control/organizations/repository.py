"""Queries for users, organisations, memberships and board grants."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.boards.models import Board, BoardGroup
from mission_control.gateways.models import Gateway
from mission_control.organizations.models import (
    BoardAccessGrant,
    Organization,
    OrganizationInvite,
    OrganizationMember,
    Role,
)
from mission_control.users.models import User, UserToken


async def user_by_subject(session: AsyncSession, subject: str) -> User | None:
    result = await session.execute(select(User).where(User.auth_subject == subject))
    return result.scalar_one_or_none()


async def memberships_of(session: AsyncSession, user_id: uuid.UUID) -> list[OrganizationMember]:
    result = await session.execute(
        select(OrganizationMember)
        .where(OrganizationMember.user_id == user_id)
        .order_by(OrganizationMember.created_at, OrganizationMember.id)
    )
    return list(result.scalars())


async def organization(session: AsyncSession, org_id: uuid.UUID) -> Organization | None:
    return await session.get(Organization, org_id)


async def members_with_users(
    session: AsyncSession, org_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[tuple[OrganizationMember, User]], int]:
    base = (
        select(OrganizationMember, User)
        .join(User, User.id == OrganizationMember.user_id)
        .where(OrganizationMember.organization_id == org_id)
    )
    total = await count_members(session, org_id)
    result = await session.execute(
        base.order_by(OrganizationMember.created_at, OrganizationMember.id)
        .limit(limit)
        .offset(offset)
    )
    return [(row[0], row[1]) for row in result.all()], total


async def count_members(session: AsyncSession, org_id: uuid.UUID) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(OrganizationMember)
        .where(OrganizationMember.organization_id == org_id)
    )
    return int(result.scalar_one())


async def grants_of(session: AsyncSession, member_id: uuid.UUID) -> list[BoardAccessGrant]:
    result = await session.execute(
        select(BoardAccessGrant).where(BoardAccessGrant.member_id == member_id)
    )
    return list(result.scalars())


async def grant_for(
    session: AsyncSession, member_id: uuid.UUID, board_id: uuid.UUID
) -> BoardAccessGrant | None:
    result = await session.execute(
        select(BoardAccessGrant).where(
            BoardAccessGrant.member_id == member_id, BoardAccessGrant.board_id == board_id
        )
    )
    return result.scalar_one_or_none()


async def user_token(session: AsyncSession, token_id: str) -> UserToken | None:
    result = await session.execute(select(UserToken).where(UserToken.token_id == token_id))
    return result.scalar_one_or_none()


async def organizations_of(
    session: AsyncSession, user_id: uuid.UUID
) -> list[tuple[OrganizationMember, Organization]]:
    """The user's memberships with their organisations, oldest membership first."""
    result = await session.execute(
        select(OrganizationMember, Organization)
        .join(Organization, Organization.id == OrganizationMember.organization_id)
        .where(OrganizationMember.user_id == user_id)
        .order_by(OrganizationMember.created_at, OrganizationMember.id)
    )
    return [(row[0], row[1]) for row in result.all()]


async def member_in_organization(
    session: AsyncSession, org_id: uuid.UUID, member_id: uuid.UUID
) -> tuple[OrganizationMember, User] | None:
    result = await session.execute(
        select(OrganizationMember, User)
        .join(User, User.id == OrganizationMember.user_id)
        .where(OrganizationMember.id == member_id, OrganizationMember.organization_id == org_id)
    )
    row = result.one_or_none()
    return (row[0], row[1]) if row is not None else None


async def membership(
    session: AsyncSession, org_id: uuid.UUID, user_id: uuid.UUID
) -> OrganizationMember | None:
    result = await session.execute(
        select(OrganizationMember).where(
            OrganizationMember.organization_id == org_id, OrganizationMember.user_id == user_id
        )
    )
    return result.scalar_one_or_none()


async def count_owners(session: AsyncSession, org_id: uuid.UUID) -> int:
    result = await session.execute(
        select(func.count())
        .select_from(OrganizationMember)
        .where(OrganizationMember.organization_id == org_id, OrganizationMember.role == Role.OWNER)
    )
    return int(result.scalar_one())


async def contents_count(session: AsyncSession, org_id: uuid.UUID) -> dict[str, int]:
    """What an organisation still holds: boards, board groups and gateways."""
    counts: dict[str, int] = {}
    for label, model in (("boards", Board), ("board_groups", BoardGroup), ("gateways", Gateway)):
        total = await session.scalar(
            select(func.count()).select_from(model).where(model.organization_id == org_id)
        )
        counts[label] = int(total or 0)
    return counts


async def replace_grants(
    session: AsyncSession, member_id: uuid.UUID, grants: list[BoardAccessGrant]
) -> None:
    await session.execute(delete(BoardAccessGrant).where(BoardAccessGrant.member_id == member_id))
    session.add_all(grants)
    await session.flush()


async def board_ids_in(
    session: AsyncSession, org_id: uuid.UUID, board_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    if not board_ids:
        return set()
    result = await session.execute(
        select(Board.id).where(Board.organization_id == org_id, Board.id.in_(board_ids))
    )
    return set(result.scalars())


async def invites_page(
    session: AsyncSession, org_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[OrganizationInvite], int]:
    query = select(OrganizationInvite).where(OrganizationInvite.organization_id == org_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    result = await session.execute(
        query.order_by(OrganizationInvite.created_at.desc(), OrganizationInvite.id)
        .limit(limit)
        .offset(offset)
    )
    return list(result.scalars()), int(total or 0)


async def invite_in_organization(
    session: AsyncSession, org_id: uuid.UUID, invite_id: uuid.UUID
) -> OrganizationInvite | None:
    result = await session.execute(
        select(OrganizationInvite).where(
            OrganizationInvite.id == invite_id, OrganizationInvite.organization_id == org_id
        )
    )
    return result.scalar_one_or_none()


async def invite_by_token_id(session: AsyncSession, token_id: str) -> OrganizationInvite | None:
    result = await session.execute(
        select(OrganizationInvite).where(OrganizationInvite.token_id == token_id)
    )
    return result.scalar_one_or_none()


async def claim_invite(
    session: AsyncSession, invite_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> bool:
    """Marks the invite accepted unless it already is (or was revoked, or expired): one
    conditional UPDATE, so two concurrent accepts cannot both win."""
    result = await session.execute(
        update(OrganizationInvite)
        .where(
            OrganizationInvite.id == invite_id,
            OrganizationInvite.accepted_at.is_(None),
            OrganizationInvite.revoked_at.is_(None),
            OrganizationInvite.expires_at > now,
        )
        .values(accepted_at=now, accepted_by_user_id=user_id)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def member_with_email(
    session: AsyncSession, org_id: uuid.UUID, email: str
) -> OrganizationMember | None:
    result = await session.execute(
        select(OrganizationMember)
        .join(User, User.id == OrganizationMember.user_id)
        .where(OrganizationMember.organization_id == org_id, func.lower(User.email) == email)
    )
    return result.scalars().first()
