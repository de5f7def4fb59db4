"""Rows for memory, chat, group and stream tests, written straight through the ORM."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.boards.models import Board, BoardGroup
from mission_control.memory.models import BoardMemory
from mission_control.notifications.models import Notification
from mission_control.organizations.models import Organization


async def board_group(session: AsyncSession, org: Organization, name: str = "Group") -> BoardGroup:
    row = BoardGroup(organization_id=org.id, name=name, slug=f"group-{uuid.uuid4().hex[:6]}")
    session.add(row)
    await session.flush()
    return row


async def join_group(session: AsyncSession, group: BoardGroup, *boards: Board) -> None:
    for board in boards:
        board.board_group_id = group.id
    await session.flush()


async def memory(
    session: AsyncSession,
    board: Board,
    content: str,
    *,
    is_chat: bool = True,
    created_at: datetime | None = None,
) -> BoardMemory:
    row = BoardMemory(board_id=board.id, content=content, is_chat=is_chat, tags=[])
    if created_at is not None:
        row.created_at = created_at
    session.add(row)
    await session.flush()
    return row


async def notifications(session: AsyncSession) -> list[Notification]:
    rows = await session.scalars(select(Notification).order_by(Notification.created_at))
    return list(rows)
