"""Queries for approvals and their task links, scoped by board."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.approvals.models import Approval, ApprovalTaskLink


async def get(
    session: AsyncSession, board_id: uuid.UUID, approval_id: uuid.UUID, *, lock: bool = False
) -> Approval | None:
    query = select(Approval).where(Approval.id == approval_id, Approval.board_id == board_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def page(
    session: AsyncSession,
    board_id: uuid.UUID,
    *,
    status: str | None,
    task_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[Approval], int]:
    query = select(Approval).where(Approval.board_id == board_id)
    if status is not None:
        query = query.where(Approval.status == status)
    if task_id is not None:
        query = query.where(
            exists().where(
                ApprovalTaskLink.approval_id == Approval.id, ApprovalTaskLink.task_id == task_id
            )
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    result = await session.execute(
        query.order_by(Approval.created_at.desc(), Approval.id).limit(limit).offset(offset)
    )
    return list(result.scalars()), int(total or 0)


async def task_ids_of(
    session: AsyncSession, approval_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if not approval_ids:
        return found
    result = await session.execute(
        select(ApprovalTaskLink.approval_id, ApprovalTaskLink.task_id)
        .where(ApprovalTaskLink.approval_id.in_(approval_ids))
        .order_by(ApprovalTaskLink.task_id)
    )
    for approval_id, task_id in result.all():
        found[approval_id].append(task_id)
    return found


async def pending_links(
    session: AsyncSession, task_ids: Collection[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(task id, approval id) of pending approvals linked to any of ``task_ids``."""
    if not task_ids:
        return []
    result = await session.execute(
        select(ApprovalTaskLink.task_id, ApprovalTaskLink.approval_id)
        .where(ApprovalTaskLink.task_id.in_(task_ids), ApprovalTaskLink.pending.is_(True))
        .order_by(ApprovalTaskLink.task_id)
    )
    return [(row[0], row[1]) for row in result.all()]


async def has_approved(session: AsyncSession, task_id: uuid.UUID) -> bool:
    query = (
        select(Approval.id)
        .join(ApprovalTaskLink, ApprovalTaskLink.approval_id == Approval.id)
        .where(ApprovalTaskLink.task_id == task_id, Approval.status == "approved")
    )
    return (await session.scalar(query.limit(1))) is not None


async def add_links(
    session: AsyncSession, approval_id: uuid.UUID, task_ids: Collection[uuid.UUID]
) -> None:
    """Inserts the links; the partial unique index refuses a second pending one per task."""
    session.add_all(
        ApprovalTaskLink(approval_id=approval_id, task_id=t, pending=True) for t in task_ids
    )
    await session.flush()


async def clear_pending(session: AsyncSession, approval_id: uuid.UUID) -> None:
    await session.execute(
        update(ApprovalTaskLink)
        .where(ApprovalTaskLink.approval_id == approval_id)
        .values(pending=False)
        .execution_options(synchronize_session=False)
    )
