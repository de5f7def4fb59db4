"""Queries for agents."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.gateways.models import Gateway


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


@dataclass(frozen=True, slots=True)
class AgentVisibility:
    """Which agents of one organisation a reader sees (docs/agents.md#who-sees-which-agents)."""

    organization_id: uuid.UUID
    # None: every board of the organisation.
    board_ids: Collection[uuid.UUID] | None
    # Gateway-main agents (no board): organisation admins only.
    include_main: bool


def _visible(query: Select[Any], visibility: AgentVisibility) -> Select[Any]:
    board_clause = and_(
        Agent.board_id.is_not(None), Board.organization_id == visibility.organization_id
    )
    if visibility.board_ids is not None:
        board_clause = and_(board_clause, Agent.board_id.in_(list(visibility.board_ids)))
    clauses = [board_clause]
    if visibility.include_main:
        clauses.append(
            and_(Agent.board_id.is_(None), Gateway.organization_id == visibility.organization_id)
        )
    return (
        query.outerjoin(Board, Agent.board_id == Board.id)
        .join(Gateway, Agent.gateway_id == Gateway.id)
        .where(or_(*clauses))
    )


async def page(
    session: AsyncSession,
    visibility: AgentVisibility,
    *,
    board_id: uuid.UUID | None,
    gateway_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[Agent], int]:
    """Visible agents, newest first; ``gateway_id`` keeps its boards' agents and its main agent."""
    nothing = visibility.board_ids is not None and not visibility.board_ids
    if nothing and not visibility.include_main:
        return [], 0
    query = _visible(select(Agent), visibility)
    if board_id is not None:
        query = query.where(Agent.board_id == board_id)
    if gateway_id is not None:
        query = query.where(
            or_(
                Board.gateway_id == gateway_id,
                and_(Agent.board_id.is_(None), Agent.gateway_id == gateway_id),
            )
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    result = await session.execute(
        query.order_by(Agent.created_at.desc(), Agent.id.desc()).limit(limit).offset(offset)
    )
    return list(result.scalars()), int(total or 0)


async def changed_since(
    session: AsyncSession,
    visibility: AgentVisibility,
    since: datetime,
    *,
    board_id: uuid.UUID | None,
) -> list[Agent]:
    """Visible agents changed or seen since ``since``, oldest change first (stream catch-up)."""
    query = _visible(select(Agent), visibility).where(
        or_(Agent.updated_at >= since, Agent.last_seen_at >= since)
    )
    if board_id is not None:
        query = query.where(Agent.board_id == board_id)
    result = await session.execute(query.order_by(Agent.updated_at, Agent.id))
    return list(result.scalars())


async def on_board(session: AsyncSession, board_id: uuid.UUID) -> list[Agent]:
    result = await session.execute(
        select(Agent)
        .where(Agent.board_id == board_id)
        .order_by(Agent.is_board_lead.desc(), Agent.created_at, Agent.id)
    )
    return list(result.scalars())


async def count_workers_on_board(
    session: AsyncSession, board_id: uuid.UUID, *, except_id: uuid.UUID | None = None
) -> int:
    """Agents on the board besides its lead (what ``max_agents`` caps)."""
    query = (
        select(func.count())
        .select_from(Agent)
        .where(Agent.board_id == board_id, Agent.is_board_lead.is_(False))
    )
    if except_id is not None:
        query = query.where(Agent.id != except_id)
    return int(await session.scalar(query) or 0)


async def name_holder(
    session: AsyncSession,
    gateway_id: uuid.UUID,
    name_key: str,
    *,
    except_id: uuid.UUID | None = None,
) -> Agent | None:
    """The board agent on this gateway already called ``name_key`` (an exact key comparison:
    no pattern matching, so ``%`` and ``_`` in names are plain characters,
    docs/agents.md#agent-names-are-unique-per-gateway)."""
    query = select(Agent).where(
        Agent.gateway_id == gateway_id, Agent.board_id.is_not(None), Agent.name_key == name_key
    )
    if except_id is not None:
        query = query.where(Agent.id != except_id)
    result = await session.execute(query.limit(1))
    return result.scalar_one_or_none()


async def by_name_in_organization(
    session: AsyncSession,
    organization_id: uuid.UUID,
    name: str,
    *,
    board_id: uuid.UUID | None,
) -> Agent | None:
    """The first agent with exactly this name within one organisation
    (docs/agents.md#check-in-or-create-by-name)."""
    query = (
        select(Agent)
        .join(Gateway, Agent.gateway_id == Gateway.id)
        .where(Gateway.organization_id == organization_id, Agent.name == name)
    )
    if board_id is not None:
        query = query.where(Agent.board_id == board_id)
    result = await session.execute(query.order_by(Agent.created_at, Agent.id).limit(1))
    return result.scalar_one_or_none()


async def lead_of(session: AsyncSession, board_id: uuid.UUID) -> Agent | None:
    result = await session.execute(
        select(Agent).where(Agent.board_id == board_id, Agent.is_board_lead.is_(True))
    )
    return result.scalar_one_or_none()


async def main_of(session: AsyncSession, gateway_id: uuid.UUID) -> Agent | None:
    result = await session.execute(
        select(Agent).where(Agent.gateway_id == gateway_id, Agent.board_id.is_(None))
    )
    return result.scalar_one_or_none()
