"""Onboarding queries: a board's latest session, its open one, and lead-name collisions."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.agents.models import Agent
from mission_control.onboarding.models import OPEN_STATUSES, BoardOnboardingSession


async def latest(
    session: AsyncSession, board_id: uuid.UUID, *, lock: bool = False
) -> BoardOnboardingSession | None:
    """The board's most recent onboarding session, open or not.

    ``lock`` holds the row until commit (PostgreSQL) and re-reads it, so concurrent answers,
    drafts and confirms of one session run one after the other on fresh state.
    """
    query = (
        select(BoardOnboardingSession)
        .where(BoardOnboardingSession.board_id == board_id)
        .order_by(BoardOnboardingSession.created_at.desc(), BoardOnboardingSession.id.desc())
        .limit(1)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def open_for_board(
    session: AsyncSession, board_id: uuid.UUID
) -> BoardOnboardingSession | None:
    query = select(BoardOnboardingSession).where(
        BoardOnboardingSession.board_id == board_id,
        BoardOnboardingSession.status.in_(OPEN_STATUSES),
    )
    return (await session.execute(query)).scalar_one_or_none()


async def board_agent_named(
    session: AsyncSession, gateway_id: uuid.UUID, name_key: str, *, except_id: uuid.UUID | None
) -> Agent | None:
    """A board agent on ``gateway_id`` whose collision key is ``name_key`` (exact match, no
    pattern: names with ``%`` or ``_`` are not wildcards)."""
    query = select(Agent).where(
        Agent.gateway_id == gateway_id,
        Agent.board_id.is_not(None),
        Agent.name_key == name_key,
    )
    if except_id is not None:
        query = query.where(Agent.id != except_id)
    return (await session.execute(query.limit(1))).scalar_one_or_none()
