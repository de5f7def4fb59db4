"""Queries for board and board-group memory, including the paused-boards query
(docs/provisioning.md#paused-boards)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.memory.models import BoardGroupMemory, BoardMemory

PAUSE = "/pause"
RESUME = "/resume"


@dataclass(frozen=True, slots=True)
class MemoryFilters:
    is_chat: bool | None = None
    source: str | None = None
    tag: str | None = None
    since: datetime | None = None


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(
    model: type[BoardMemory] | type[BoardGroupMemory], filters: MemoryFilters
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.is_chat is not None:
        conditions.append(model.is_chat.is_(filters.is_chat))
    if filters.source is not None:
        conditions.append(model.source == filters.source)
    if filters.since is not None:
        conditions.append(model.created_at >= filters.since)
    if filters.tag is not None:
        # Tags are a JSON list; its text holds each tag JSON-quoted on both databases.
        pattern = f"%{_like_escaped(json.dumps(filters.tag))}%"
        conditions.append(cast(model.tags, Text).like(pattern, escape="\\"))
    return conditions


async def board_page(
    session: AsyncSession, board_id: uuid.UUID, filters: MemoryFilters, *, limit: int, offset: int
) -> tuple[list[BoardMemory], int]:
    """Newest first."""
    query = select(BoardMemory).where(
        BoardMemory.board_id == board_id, *_conditions(BoardMemory, filters)
    )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(BoardMemory.created_at.desc(), BoardMemory.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


async def group_page(
    session: AsyncSession, group_id: uuid.UUID, filters: MemoryFilters, *, limit: int, offset: int
) -> tuple[list[BoardGroupMemory], int]:
    query = select(BoardGroupMemory).where(
        BoardGroupMemory.board_group_id == group_id, *_conditions(BoardGroupMemory, filters)
    )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(BoardGroupMemory.created_at.desc(), BoardGroupMemory.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


def _command_text(column: InstrumentedAttribute[str]) -> ColumnElement[str]:
    # lower(strip(content)) the same way on both databases: trim() only strips spaces, so
    # tabs and line breaks become spaces first.
    spaced = func.replace(func.replace(func.replace(column, "\n", " "), "\r", " "), "\t", " ")
    return func.lower(func.trim(spaced))


async def paused_board_ids(
    session: AsyncSession, board_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    """Boards whose latest exact ``/pause`` or ``/resume`` chat item is ``/pause``.

    The latest item per board comes from a window function (row_number over the board),
    which SQLite and PostgreSQL both run; no DISTINCT ON.
    """
    if not board_ids:
        return set()
    command = _command_text(BoardMemory.content).label("command")
    ranked = (
        select(
            BoardMemory.board_id,
            command,
            func.row_number()
            .over(
                partition_by=BoardMemory.board_id,
                order_by=(BoardMemory.created_at.desc(), BoardMemory.id.desc()),
            )
            .label("position"),
        )
        .where(
            BoardMemory.board_id.in_(board_ids),
            BoardMemory.is_chat.is_(True),
            func.length(BoardMemory.content) <= 64,
            _command_text(BoardMemory.content).in_((PAUSE, RESUME)),
        )
        .subquery()
    )
    rows = await session.scalars(
        select(ranked.c.board_id).where(ranked.c.position == 1, ranked.c.command == PAUSE)
    )
    return set(rows)


async def agents_on_boards(session: AsyncSession, board_ids: Collection[uuid.UUID]) -> list[Agent]:
    if not board_ids:
        return []
    rows = await session.scalars(
        select(Agent).where(Agent.board_id.in_(board_ids)).order_by(Agent.created_at, Agent.id)
    )
    return list(rows)


async def boards_in_group(session: AsyncSession, group_id: uuid.UUID) -> list[Board]:
    rows = await session.scalars(
        select(Board).where(Board.board_group_id == group_id).order_by(Board.created_at, Board.id)
    )
    return list(rows)
