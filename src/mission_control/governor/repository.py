"""Queries the heartbeat governor needs: the board agents it paces and the activity signals."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.gateways.models import Gateway
from mission_control.memory.models import BoardMemory
from mission_control.tasks.models import Task

BUSY_TASK_STATUSES = ("in_progress", "review")


async def board_agents(session: AsyncSession) -> list[tuple[Agent, Board, Gateway]]:
    """Every board agent on a board with a gateway, not being deleted (one query)."""
    result = await session.execute(
        select(Agent, Board, Gateway)
        .join(Board, Board.id == Agent.board_id)
        .join(Gateway, Gateway.id == Agent.gateway_id)
        .where(Agent.delete_requested_at.is_(None), Board.gateway_id.is_not(None))
        .order_by(Agent.gateway_id, Agent.created_at, Agent.id)
    )
    return [(agent, board, gateway) for agent, board, gateway in result.all()]


async def last_chat_at(
    session: AsyncSession, board_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, datetime]:
    """The newest chat message per board."""
    if not board_ids:
        return {}
    result = await session.execute(
        select(BoardMemory.board_id, func.max(BoardMemory.created_at))
        .where(BoardMemory.board_id.in_(board_ids), BoardMemory.is_chat.is_(True))
        .group_by(BoardMemory.board_id)
    )
    return {board_id: at for board_id, at in result.all() if at is not None}


async def agents_with_open_tasks(
    session: AsyncSession, agent_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Agents with an assigned task in progress or in review."""
    if not agent_ids:
        return set()
    result = await session.scalars(
        select(Task.assigned_agent_id)
        .where(Task.assigned_agent_id.in_(agent_ids), Task.status.in_(BUSY_TASK_STATUSES))
        .distinct()
    )
    return {agent_id for agent_id in result if agent_id is not None}
