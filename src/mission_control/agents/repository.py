"""Queries for agents."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.agents.models import Agent


async def by_token_id(session: AsyncSession, token_id: str) -> Agent | None:
    result = await session.execute(select(Agent).where(Agent.token_id == token_id))
    return result.scalar_one_or_none()


async def touch_last_seen(
    session: AsyncSession, agent_id: uuid.UUID, seen_at: datetime, *, older_than: datetime
) -> None:
    """Moves last_seen_at forward unless another request already did it recently."""
    await session.execute(
        update(Agent)
        .where(
            Agent.id == agent_id,
            (Agent.last_seen_at.is_(None)) | (Agent.last_seen_at < older_than),
        )
        .values(last_seen_at=seen_at)
        .execution_options(synchronize_session=False)
    )


async def count_board_agents_on_gateway(session: AsyncSession, gateway_id: uuid.UUID) -> int:
    result = await session.scalar(
        select(func.count())
        .select_from(Agent)
        .where(Agent.gateway_id == gateway_id, Agent.board_id.is_not(None))
    )
    return int(result or 0)


async def count_on_board(session: AsyncSession, board_id: uuid.UUID) -> int:
    result = await session.scalar(
        select(func.count()).select_from(Agent).where(Agent.board_id == board_id)
    )
    return int(result or 0)


async def delete_main_agents(session: AsyncSession, gateway_id: uuid.UUID) -> None:
    await session.execute(
        delete(Agent).where(Agent.gateway_id == gateway_id, Agent.board_id.is_(None))
    )
