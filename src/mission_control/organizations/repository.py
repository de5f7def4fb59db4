"""Queries for users, organisations, memberships and board grants."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.organizations.models import (
    BoardAccessGrant,
    Organization,
    OrganizationMember,
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
