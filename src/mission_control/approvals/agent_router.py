"""Agent-facing approval endpoints: list and raise on the agent's own board (resolving is for
users); the OpenAPI tags name the agent kinds that may call each one."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Query, status

from mission_control.approvals import service
from mission_control.approvals.schemas import ApprovalCreate, ApprovalRead, ApprovalStatus
from mission_control.auth import AgentDep, SessionDep
from mission_control.core.api import AGENT_KINDS, API_PREFIX, BOARD_AGENT_KINDS
from mission_control.core.pagination import Page, PageDep
from mission_control.tasks.actors import agent_caller

router = APIRouter(prefix=f"{API_PREFIX}/agent/boards/{{board_id}}/approvals")

EVERY_KIND: list[str | Enum] = [*AGENT_KINDS]
BOARD_AGENTS: list[str | Enum] = [*BOARD_AGENT_KINDS]


@router.get("", response_model=Page[ApprovalRead], tags=EVERY_KIND)
async def agent_list_approvals(
    board_id: uuid.UUID,
    agent: AgentDep,
    session: SessionDep,
    page: PageDep,
    approval_status: Annotated[ApprovalStatus | None, Query(alias="status")] = None,
    task_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[ApprovalRead]:
    items, total = await service.list_approvals(
        session,
        agent_caller(agent),
        board_id,
        status=approval_status,
        task_id=task_id,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "", response_model=ApprovalRead, status_code=status.HTTP_201_CREATED, tags=BOARD_AGENTS
)
async def agent_raise_approval(
    board_id: uuid.UUID, data: ApprovalCreate, agent: AgentDep, session: SessionDep
) -> ApprovalRead:
    """Ask a user to approve an action on tasks of your board; `payload.reason` says why."""
    return await service.raise_approval(session, agent_caller(agent), board_id, data)


@router.get("/{approval_id}", response_model=ApprovalRead, tags=EVERY_KIND)
async def agent_get_approval(
    board_id: uuid.UUID, approval_id: uuid.UUID, agent: AgentDep, session: SessionDep
) -> ApprovalRead:
    return await service.get_approval(session, agent_caller(agent), board_id, approval_id)
