"""HTTP endpoints for users: a board's approvals, and resolving them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from mission_control.approvals import service
from mission_control.approvals.schemas import (
    ApprovalCreate,
    ApprovalRead,
    ApprovalResolve,
    ApprovalStatus,
)
from mission_control.auth import SessionDep, UserDep
from mission_control.core.api import API_PREFIX
from mission_control.core.pagination import Page, PageDep
from mission_control.tasks.actors import user_caller

router = APIRouter(prefix=f"{API_PREFIX}/boards/{{board_id}}/approvals", tags=["approvals"])


@router.get("", response_model=Page[ApprovalRead])
async def list_approvals(
    board_id: uuid.UUID,
    context: UserDep,
    session: SessionDep,
    page: PageDep,
    approval_status: Annotated[ApprovalStatus | None, Query(alias="status")] = None,
    task_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[ApprovalRead]:
    items, total = await service.list_approvals(
        session,
        user_caller(context),
        board_id,
        status=approval_status,
        task_id=task_id,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("", response_model=ApprovalRead, status_code=status.HTTP_201_CREATED)
async def raise_approval(
    board_id: uuid.UUID, data: ApprovalCreate, context: UserDep, session: SessionDep
) -> ApprovalRead:
    return await service.raise_approval(session, user_caller(context), board_id, data)


@router.get("/{approval_id}", response_model=ApprovalRead)
async def get_approval(
    board_id: uuid.UUID, approval_id: uuid.UUID, context: UserDep, session: SessionDep
) -> ApprovalRead:
    return await service.get_approval(session, user_caller(context), board_id, approval_id)


@router.post("/{approval_id}/resolve", response_model=ApprovalRead)
async def resolve_approval(
    board_id: uuid.UUID,
    approval_id: uuid.UUID,
    data: ApprovalResolve,
    context: UserDep,
    session: SessionDep,
) -> ApprovalRead:
    """Approve or reject (users with write access to the board only)."""
    return await service.resolve_approval(
        session, user_caller(context), board_id, approval_id, data
    )
