"""Queries for inbound webhooks and their payloads."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.webhooks.models import BoardWebhook, BoardWebhookPayload


async def by_public_id(session: AsyncSession, public_id: str) -> BoardWebhook | None:
    result = await session.execute(select(BoardWebhook).where(BoardWebhook.public_id == public_id))
    return result.scalar_one_or_none()


async def on_board(
    session: AsyncSession, board_id: uuid.UUID, webhook_id: uuid.UUID
) -> BoardWebhook | None:
    result = await session.execute(
        select(BoardWebhook).where(BoardWebhook.id == webhook_id, BoardWebhook.board_id == board_id)
    )
    return result.scalar_one_or_none()


async def page(
    session: AsyncSession, board_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[BoardWebhook], int]:
    query = select(BoardWebhook).where(BoardWebhook.board_id == board_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(BoardWebhook.created_at, BoardWebhook.id).limit(limit).offset(offset)
    )
    return list(rows), int(total or 0)


async def payloads_page(
    session: AsyncSession, webhook_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[BoardWebhookPayload], int]:
    query = select(BoardWebhookPayload).where(BoardWebhookPayload.webhook_id == webhook_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(BoardWebhookPayload.received_at.desc(), BoardWebhookPayload.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)
