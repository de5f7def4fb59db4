"""HTTP endpoints for boards."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from mission_control.auth import SessionDep, UserDep
from mission_control.boards import service
from mission_control.boards.schemas import (
    BoardCreate,
    BoardRead,
    BoardUpdate,
    HeartbeatPolicy,
    HeartbeatPolicyUpdate,
)
from mission_control.core.api import API_PREFIX
from mission_control.core.pagination import Page, PageDep

router = APIRouter(prefix=f"{API_PREFIX}/boards", tags=["boards"])


@router.get("", response_model=Page[BoardRead])
async def list_boards(
    context: UserDep,
    session: SessionDep,
    page: PageDep,
    gateway_id: Annotated[uuid.UUID | None, Query()] = None,
    board_group_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[BoardRead]:
    items, total = await service.list_boards(
        session,
        context,
        gateway_id=gateway_id,
        board_group_id=board_group_id,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[service.to_read(b) for b in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", response_model=BoardRead, status_code=status.HTTP_201_CREATED)
async def create_board(data: BoardCreate, context: UserDep, session: SessionDep) -> BoardRead:
    return service.to_read(await service.create_board(session, context, data))


@router.get("/{board_id}", response_model=BoardRead)
async def get_board(board_id: uuid.UUID, context: UserDep, session: SessionDep) -> BoardRead:
    return service.to_read(await service.get_board(session, context, board_id))


@router.patch("/{board_id}", response_model=BoardRead)
async def update_board(
    board_id: uuid.UUID, data: BoardUpdate, context: UserDep, session: SessionDep
) -> BoardRead:
    return service.to_read(await service.update_board(session, context, board_id, data))


@router.delete("/{board_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_board(board_id: uuid.UUID, context: UserDep, session: SessionDep) -> None:
    await service.delete_board(session, context, board_id)


@router.get("/{board_id}/heartbeat-policy", response_model=HeartbeatPolicy)
async def get_heartbeat_policy(
    board_id: uuid.UUID, context: UserDep, session: SessionDep
) -> HeartbeatPolicy:
    """How the heartbeat governor paces this board's agents (read access)."""
    return await service.get_heartbeat_policy(session, context, board_id)


@router.patch("/{board_id}/heartbeat-policy", response_model=HeartbeatPolicy)
async def update_heartbeat_policy(
    board_id: uuid.UUID, data: HeartbeatPolicyUpdate, context: UserDep, session: SessionDep
) -> HeartbeatPolicy:
    """Change some of the policy (write access); the governor applies it on its next tick."""
    return await service.update_heartbeat_policy(session, context, board_id, data)
