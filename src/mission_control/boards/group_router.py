"""HTTP endpoints for board groups: list, create, rename, delete, move boards in and out.

Group memory and chat live in memory/router.py (/board-groups/{id}/memory)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from mission_control.auth import SessionDep, UserDep
from mission_control.boards import groups
from mission_control.boards.group_schemas import BoardGroupCreate, BoardGroupRead, BoardGroupUpdate
from mission_control.core.api import API_PREFIX
from mission_control.core.pagination import Page, PageDep

router = APIRouter(prefix=f"{API_PREFIX}/board-groups", tags=["board groups"])


@router.get("", response_model=Page[BoardGroupRead])
async def list_groups(context: UserDep, session: SessionDep, page: PageDep) -> Page[BoardGroupRead]:
    """The organisation's board groups, by name; each lists only boards you may read."""
    items, total = await groups.list_groups(session, context, limit=page.limit, offset=page.offset)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("", response_model=BoardGroupRead, status_code=status.HTTP_201_CREATED)
async def create_group(
    data: BoardGroupCreate, context: UserDep, session: SessionDep
) -> BoardGroupRead:
    """Create a group (admins); the slug defaults to one made from the name."""
    return await groups.create_group(session, context, data)


@router.get("/{group_id}", response_model=BoardGroupRead)
async def get_group(group_id: uuid.UUID, context: UserDep, session: SessionDep) -> BoardGroupRead:
    return await groups.get_group(session, context, group_id)


@router.patch("/{group_id}", response_model=BoardGroupRead)
async def update_group(
    group_id: uuid.UUID, data: BoardGroupUpdate, context: UserDep, session: SessionDep
) -> BoardGroupRead:
    """Rename a group or change its slug or description (admins)."""
    return await groups.update_group(session, context, group_id, data)


@router.delete("/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_group(group_id: uuid.UUID, context: UserDep, session: SessionDep) -> None:
    """Delete a group and its memory; its boards stay, outside any group (admins)."""
    await groups.delete_group(session, context, group_id)


@router.put("/{group_id}/boards/{board_id}", response_model=BoardGroupRead)
async def add_board(
    group_id: uuid.UUID, board_id: uuid.UUID, context: UserDep, session: SessionDep
) -> BoardGroupRead:
    """Move a board into the group (out of any other); its lead then gets group chat."""
    return await groups.move_board(session, context, group_id, board_id, into=True)


@router.delete("/{group_id}/boards/{board_id}", response_model=BoardGroupRead)
async def remove_board(
    group_id: uuid.UUID, board_id: uuid.UUID, context: UserDep, session: SessionDep
) -> BoardGroupRead:
    """Take a board out of the group."""
    return await groups.move_board(session, context, group_id, board_id, into=False)
