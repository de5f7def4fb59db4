"""HTTP endpoints for board and board-group memory and chat, for users and for agents."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from mission_control.auth import AgentDep, RuntimeDep, SessionDep, UserDep
from mission_control.core.api import AGENT_KINDS, API_PREFIX
from mission_control.core.pagination import Page, PageDep
from mission_control.memory import service
from mission_control.memory.models import BoardGroupMemory, BoardMemory
from mission_control.memory.repository import MemoryFilters
from mission_control.memory.schemas import ChatState, GroupMemoryRead, MemoryCreate, MemoryRead
from mission_control.memory.service import Author

router = APIRouter(prefix=API_PREFIX, tags=["memory"])
agent_router = APIRouter(prefix=f"{API_PREFIX}/agent", tags=list(AGENT_KINDS))


def memory_filters(
    is_chat: Annotated[
        bool | None, Query(description="true: chat only; false: notes only.")
    ] = None,
    source: Annotated[str | None, Query(max_length=200)] = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    since: Annotated[datetime | None, Query(description="Items created at or after.")] = None,
) -> MemoryFilters:
    return MemoryFilters(is_chat=is_chat, source=source, tag=tag, since=since)


FiltersDep = Annotated[MemoryFilters, Depends(memory_filters)]


def _board_page(items: list[BoardMemory], total: int, page: PageDep) -> Page[MemoryRead]:
    return Page(
        items=[MemoryRead.model_validate(item) for item in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


def _group_page(items: list[BoardGroupMemory], total: int, page: PageDep) -> Page[GroupMemoryRead]:
    return Page(
        items=[GroupMemoryRead.model_validate(item) for item in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


# -- users -------------------------------------------------------------------------------------


@router.get("/boards/{board_id}/memory", response_model=Page[MemoryRead])
async def list_board_memory(
    board_id: uuid.UUID, context: UserDep, session: SessionDep, page: PageDep, filters: FiltersDep
) -> Page[MemoryRead]:
    """Board memory and chat, newest first."""
    board = await service.board_for_user(session, context, board_id, write=False)
    items, total = await service.list_board_memory(
        session, board, filters, limit=page.limit, offset=page.offset
    )
    return _board_page(items, total, page)


@router.post(
    "/boards/{board_id}/memory", response_model=MemoryRead, status_code=status.HTTP_201_CREATED
)
async def create_board_memory(
    board_id: uuid.UUID,
    body: MemoryCreate,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> MemoryRead:
    """Write a note or a chat message; mentions notify agents, '/pause' and '/resume' chat
    messages pause and resume the board."""
    board = await service.board_for_user(session, context, board_id, write=True)
    item = await service.create_board_memory(
        session, board, Author.of_user(context), body, base_url=runtime.settings.agent_base_url
    )
    return MemoryRead.model_validate(item)


@router.get("/boards/{board_id}/chat/state", response_model=ChatState)
async def board_chat_state(board_id: uuid.UUID, context: UserDep, session: SessionDep) -> ChatState:
    """Whether the board is paused by its chat ('/pause' ... '/resume')."""
    board = await service.board_for_user(session, context, board_id, write=False)
    return ChatState(board_id=board.id, paused=await service.is_paused(session, board.id))


@router.get("/board-groups/{group_id}/memory", response_model=Page[GroupMemoryRead])
async def list_group_memory(
    group_id: uuid.UUID, context: UserDep, session: SessionDep, page: PageDep, filters: FiltersDep
) -> Page[GroupMemoryRead]:
    scope = await service.group_for_user(session, context, group_id, write=False)
    items, total = await service.list_group_memory(
        session, scope, filters, limit=page.limit, offset=page.offset
    )
    return _group_page(items, total, page)


@router.post(
    "/board-groups/{group_id}/memory",
    response_model=GroupMemoryRead,
    status_code=status.HTTP_201_CREATED,
)
async def create_group_memory(
    group_id: uuid.UUID,
    body: MemoryCreate,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> GroupMemoryRead:
    """Write to the group: '@all' and plain chat reach every board's lead."""
    scope = await service.group_for_user(session, context, group_id, write=True)
    item = await service.create_group_memory(
        session, scope, Author.of_user(context), body, base_url=runtime.settings.agent_base_url
    )
    return GroupMemoryRead.model_validate(item)


# -- agents ------------------------------------------------------------------------------------


@agent_router.get("/boards/{board_id}/memory", response_model=Page[MemoryRead])
async def agent_list_board_memory(
    board_id: uuid.UUID, agent: AgentDep, session: SessionDep, page: PageDep, filters: FiltersDep
) -> Page[MemoryRead]:
    """Your board's memory and chat, newest first (is_chat=true: chat only)."""
    board = await service.board_for_agent(session, agent, board_id)
    items, total = await service.list_board_memory(
        session, board, filters, limit=page.limit, offset=page.offset
    )
    return _board_page(items, total, page)


@agent_router.post(
    "/boards/{board_id}/memory", response_model=MemoryRead, status_code=status.HTTP_201_CREATED
)
async def agent_create_board_memory(
    board_id: uuid.UUID,
    body: MemoryCreate,
    agent: AgentDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> MemoryRead:
    """Leave a durable note or reply (non-chat), or talk in the board chat (is_chat=true);
    @name and @lead notify those agents."""
    board = await service.board_for_agent(session, agent, board_id)
    item = await service.create_board_memory(
        session, board, Author.of_agent(agent), body, base_url=runtime.settings.agent_base_url
    )
    return MemoryRead.model_validate(item)


@agent_router.get("/board-groups/{group_id}/memory", response_model=Page[GroupMemoryRead])
async def agent_list_group_memory(
    group_id: uuid.UUID, agent: AgentDep, session: SessionDep, page: PageDep, filters: FiltersDep
) -> Page[GroupMemoryRead]:
    """Memory of the board group your board belongs to."""
    scope = await service.group_for_agent(session, agent, group_id)
    items, total = await service.list_group_memory(
        session, scope, filters, limit=page.limit, offset=page.offset
    )
    return _group_page(items, total, page)


@agent_router.post(
    "/board-groups/{group_id}/memory",
    response_model=GroupMemoryRead,
    status_code=status.HTTP_201_CREATED,
)
async def agent_create_group_memory(
    group_id: uuid.UUID,
    body: MemoryCreate,
    agent: AgentDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> GroupMemoryRead:
    """Write to your board group; '@all' reaches every board's lead."""
    scope = await service.group_for_agent(session, agent, group_id)
    item = await service.create_group_memory(
        session, scope, Author.of_agent(agent), body, base_url=runtime.settings.agent_base_url
    )
    return GroupMemoryRead.model_validate(item)
