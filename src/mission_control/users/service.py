"""Personal API tokens: minted once (shown once), listed without secrets, revoked."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.activity import service as activity
from mission_control.core.clock import utcnow
from mission_control.core.errors import NotFound
from mission_control.core.security import USER_TOKEN_PREFIX, mint_token_in_thread
from mission_control.organizations.service import UserContext
from mission_control.users import repository
from mission_control.users.models import UserToken


async def create_token(
    session: AsyncSession, context: UserContext, name: str
) -> tuple[UserToken, str]:
    minted = await mint_token_in_thread(USER_TOKEN_PREFIX)
    token = UserToken(
        user_id=context.user.id, name=name, token_id=minted.token_id, token_hash=minted.hash
    )
    session.add(token)
    await session.flush()
    activity.record(
        session,
        "user.token.created",
        f"API token {name!r} created.",
        organization_id=context.organization.id,
        actor_user_id=context.user.id,
    )
    return token, minted.raw


async def list_tokens(session: AsyncSession, context: UserContext) -> list[UserToken]:
    return await repository.tokens_of(session, context.user.id)


async def revoke_token(session: AsyncSession, context: UserContext, token_id: uuid.UUID) -> None:
    token = await repository.token_of(session, context.user.id, token_id)
    if token is None or token.revoked_at is not None:
        raise NotFound("API token not found.")
    token.revoked_at = utcnow()
    activity.record(
        session,
        "user.token.revoked",
        f"API token {token.name!r} revoked.",
        organization_id=context.organization.id,
        actor_user_id=context.user.id,
    )
    await session.flush()
