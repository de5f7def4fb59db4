"""Read-only queries the console's summaries need and no API route has (SQL lives here)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.activity.models import ActivityEvent
from mission_control.approvals.models import Approval
from mission_control.boards.models import Board, BoardGroup
from mission_control.tasks.models import Task


def _board_condition(column: object, board_ids: Collection[uuid.UUID] | None) -> list[object]:
    return [] if board_ids is None else [column.in_(list(board_ids))]  # type: ignore[attr-defined]


async def moved_to_done(
    session: AsyncSession,
    organization_id: uuid.UUID,
    board_ids: Collection[uuid.UUID] | None,
    since: datetime,
) -> dict[uuid.UUID, dict[date, int]]:
    """Tasks moved to done since ``since``, per board and UTC day (from the activity log)."""
    query = select(ActivityEvent.board_id, ActivityEvent.created_at, ActivityEvent.details).where(
        ActivityEvent.organization_id == organization_id,
        ActivityEvent.event_type == "task.status_changed",
        ActivityEvent.created_at >= since,
        ActivityEvent.board_id.is_not(None),
        *_board_condition(ActivityEvent.board_id, board_ids),  # type: ignore[arg-type]
    )
    counts: dict[uuid.UUID, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for board_id, created_at, details in (await session.execute(query)).all():
        if isinstance(details, dict) and details.get("to") == "done" and board_id is not None:
            counts[board_id][created_at.date()] += 1
    return counts


async def pending_approvals(
    session: AsyncSession,
    organization_id: uuid.UUID,
    board_ids: Collection[uuid.UUID] | None,
    *,
    limit: int,
) -> tuple[list[Approval], int]:
    """Pending approvals of these boards (None: every board of the organisation), oldest first."""
    conditions = [
        Board.organization_id == organization_id,
        Approval.status == "pending",
        *_board_condition(Approval.board_id, board_ids),
    ]
    base = select(Approval).join(Board, Board.id == Approval.board_id).where(*conditions)  # type: ignore[arg-type]
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    rows = (
        await session.execute(base.order_by(Approval.created_at, Approval.id).limit(limit))
    ).scalars()
    return list(rows), int(total)


async def task_counts(
    session: AsyncSession, board_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Tasks per board and status."""
    if not board_ids:
        return {}
    query = (
        select(Task.board_id, Task.status, func.count())
        .where(Task.board_id.in_(list(board_ids)))
        .group_by(Task.board_id, Task.status)
    )
    counts: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for board_id, status, count in (await session.execute(query)).all():
        counts[board_id][status] = int(count)
    return counts


async def board_group(session: AsyncSession, group_id: uuid.UUID) -> BoardGroup | None:
    return await session.get(BoardGroup, group_id)


async def task_titles(
    session: AsyncSession, board_ids: Collection[uuid.UUID], task_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Titles of these tasks, only on these boards (the caller checked access to them)."""
    if not task_ids or not board_ids:
        return {}
    query = select(Task.id, Task.title).where(
        Task.id.in_(list(task_ids)), Task.board_id.in_(list(board_ids))
    )
    rows = (await session.execute(query)).all()
    return {row[0]: row[1] for row in rows}
