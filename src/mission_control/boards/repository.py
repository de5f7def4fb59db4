"""Queries for boards and board groups, always scoped by organisation."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.boards.models import Board, BoardGroup


async def get(session: AsyncSession, board_id: uuid.UUID) -> Board | None:
    return await session.get(Board, board_id)


async def in_organization(
    session: AsyncSession, org_id: uuid.UUID, board_id: uuid.UUID
) -> Board | None:
    result = await session.execute(
        select(Board).where(Board.id == board_id, Board.organization_id == org_id)
    )
    return result.scalar_one_or_none()


async def page(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    board_ids: Collection[uuid.UUID] | None,
    gateway_id: uuid.UUID | None,
    board_group_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[Board], int]:
    """Boards of an organisation, newest first; ``board_ids`` None means no access filter."""
    query = select(Board).where(Board.organization_id == org_id)
    if board_ids is not None:
        if not board_ids:
            return [], 0
        query = query.where(Board.id.in_(board_ids))
    if gateway_id is not None:
        query = query.where(Board.gateway_id == gateway_id)
    if board_group_id is not None:
        query = query.where(Board.board_group_id == board_group_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    result = await session.execute(
        query.order_by(Board.created_at.desc(), Board.id).limit(limit).offset(offset)
    )
    return list(result.scalars()), int(total or 0)


async def ids_in_organization(session: AsyncSession, org_id: uuid.UUID) -> set[uuid.UUID]:
    result = await session.execute(select(Board.id).where(Board.organization_id == org_id))
    return set(result.scalars())


async def ids_on_gateway(session: AsyncSession, gateway_id: uuid.UUID) -> set[uuid.UUID]:
    result = await session.execute(select(Board.id).where(Board.gateway_id == gateway_id))
    return set(result.scalars())


async def slug_taken(
    session: AsyncSession, org_id: uuid.UUID, slug: str, *, except_id: uuid.UUID | None = None
) -> bool:
    query = select(Board.id).where(Board.organization_id == org_id, Board.slug == slug)
    if except_id is not None:
        query = query.where(Board.id != except_id)
    return (await session.scalar(query.limit(1))) is not None


async def group_in_organization(
    session: AsyncSession, org_id: uuid.UUID, group_id: uuid.UUID
) -> BoardGroup | None:
    result = await session.execute(
        select(BoardGroup).where(BoardGroup.id == group_id, BoardGroup.organization_id == org_id)
    )
    return result.scalar_one_or_none()


async def groups_page(
    session: AsyncSession, org_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[BoardGroup], int]:
    query = select(BoardGroup).where(BoardGroup.organization_id == org_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    result = await session.execute(
        query.order_by(BoardGroup.name, BoardGroup.id).limit(limit).offset(offset)
    )
    return list(result.scalars()), int(total or 0)


async def group_slug_taken(
    session: AsyncSession, org_id: uuid.UUID, slug: str, *, except_id: uuid.UUID | None = None
) -> bool:
    query = select(BoardGroup.id).where(
        BoardGroup.organization_id == org_id, BoardGroup.slug == slug
    )
    if except_id is not None:
        query = query.where(BoardGroup.id != except_id)
    return (await session.scalar(query.limit(1))) is not None


async def board_ids_by_group(
    session: AsyncSession, group_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    if not group_ids:
        return {}
    result = await session.execute(
        select(Board.board_group_id, Board.id)
        .where(Board.board_group_id.in_(group_ids))
        .order_by(Board.created_at, Board.id)
    )
    grouped: dict[uuid.UUID, list[uuid.UUID]] = {group_id: [] for group_id in group_ids}
    for group_id, board_id in result.all():
        if group_id is not None:
            grouped[group_id].append(board_id)
    return grouped


async def detach_group(session: AsyncSession, group_id: uuid.UUID) -> None:
    """Boards leave the group (not left to ON DELETE SET NULL: the ORM may hold them)."""
    await session.execute(
        update(Board).where(Board.board_group_id == group_id).values(board_group_id=None)
    )
