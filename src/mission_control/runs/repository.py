"""SQL for runs: rows, counts for the limits, log entries, leases and per-task usage."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.runs.models import (
    ACTIVE_STATUSES,
    BoardRunPolicy,
    TaskRun,
    TaskRunLogEntry,
)


async def policy_of(session: AsyncSession, board_id: uuid.UUID) -> BoardRunPolicy | None:
    return await session.get(BoardRunPolicy, board_id)


async def by_request_key(
    session: AsyncSession, task_id: uuid.UUID, request_key: str
) -> TaskRun | None:
    query = select(TaskRun).where(TaskRun.task_id == task_id, TaskRun.request_key == request_key)
    return (await session.execute(query)).scalar_one_or_none()


async def get(session: AsyncSession, run_id: uuid.UUID) -> TaskRun | None:
    return await session.get(TaskRun, run_id, populate_existing=True)


async def active_count(
    session: AsyncSession, *, board_id: uuid.UUID | None = None, agent_id: uuid.UUID | None = None
) -> int:
    query = select(func.count()).select_from(TaskRun).where(TaskRun.status.in_(ACTIVE_STATUSES))
    if board_id is not None:
        query = query.where(TaskRun.board_id == board_id)
    if agent_id is not None:
        query = query.where(TaskRun.agent_id == agent_id)
    return int((await session.execute(query)).scalar_one())


async def page_for_task(
    session: AsyncSession, task_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[TaskRun], int]:
    base = select(TaskRun).where(TaskRun.task_id == task_id)
    total = (await session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
    rows = await session.execute(
        base.order_by(TaskRun.created_at.desc(), TaskRun.id).limit(limit).offset(offset)
    )
    return list(rows.scalars()), int(total)


async def log_after(
    session: AsyncSession, run_id: uuid.UUID, after_seq: int, *, limit: int
) -> list[TaskRunLogEntry]:
    query = (
        select(TaskRunLogEntry)
        .where(TaskRunLogEntry.run_id == run_id, TaskRunLogEntry.seq > after_seq)
        .order_by(TaskRunLogEntry.seq)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def usage_of_task(
    session: AsyncSession, task_id: uuid.UUID
) -> tuple[int, int, int, int, float]:
    query = select(
        func.count(TaskRun.id),
        func.coalesce(func.sum(TaskRun.input_tokens), 0),
        func.coalesce(func.sum(TaskRun.output_tokens), 0),
        func.coalesce(func.sum(TaskRun.total_tokens), 0),
        func.coalesce(func.sum(TaskRun.cost_usd), 0.0),
    ).where(TaskRun.task_id == task_id)
    count, inp, out, total, cost = (await session.execute(query)).one()
    return int(count), int(inp or 0), int(out or 0), int(total or 0), float(cost or 0.0)


async def claim(
    session: AsyncSession, run_id: uuid.UUID, owner: str, now: datetime, until: datetime
) -> bool:
    """Take (or renew) the lease of an unfinished run: free, lapsed, or already ours."""
    statement = (
        update(TaskRun)
        .where(
            TaskRun.id == run_id,
            TaskRun.status.in_(ACTIVE_STATUSES),
            or_(
                TaskRun.lease_owner.is_(None),
                TaskRun.lease_until.is_(None),
                TaskRun.lease_until < now,
                TaskRun.lease_owner == owner,
            ),
        )
        .values(lease_owner=owner, lease_until=until)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(statement)
    return isinstance(result, CursorResult) and result.rowcount == 1


async def unowned_active(
    session: AsyncSession, now: datetime, *, limit: int = 100
) -> Sequence[uuid.UUID]:
    """Unfinished runs nobody drives: never leased or their lease lapsed."""
    query = (
        select(TaskRun.id)
        .where(
            TaskRun.status.in_(ACTIVE_STATUSES),
            or_(TaskRun.lease_until.is_(None), TaskRun.lease_until < now),
        )
        .order_by(TaskRun.created_at)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())
