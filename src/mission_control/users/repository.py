"""Queries for users' personal API tokens."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.users.models import UserToken


async def tokens_of(session: AsyncSession, user_id: uuid.UUID) -> list[UserToken]:
    result = await session.execute(
        select(UserToken)
        .where(UserToken.user_id == user_id, UserToken.revoked_at.is_(None))
        .order_by(UserToken.created_at.desc())
    )
    return list(result.scalars())


async def token_of(
    session: AsyncSession, user_id: uuid.UUID, token_row_id: uuid.UUID
) -> UserToken | None:
    result = await session.execute(
        select(UserToken).where(UserToken.id == token_row_id, UserToken.user_id == user_id)
    )
    return result.scalar_one_or_none()
