"""Agent-facing task endpoints (``/agent/boards/{board_id}/tasks...``); the OpenAPI tags name the
agent kinds that may call each one."""

from __future__ import annotations

import uuid
from enum import Enum

from fastapi import APIRouter, status

from mission_control.auth import AgentDep, SessionDep
from mission_control.core.api import AGENT_KINDS, AGENT_LEAD, API_PREFIX, BOARD_AGENT_KINDS
from mission_control.core.pagination import Page, PageDep
from mission_control.tasks import catalog, service
from mission_control.tasks.actors import agent_caller
from mission_control.tasks.router import TaskFilterDep
from mission_control.tasks.schemas import (
    BoardFieldRead,
    CommentCreate,
    CommentRead,
    TagRead,
    TaskCreate,
    TaskRead,
    TaskUpdate,
)

router = APIRouter(prefix=f"{API_PREFIX}/agent/boards/{{board_id}}")
TASKS = "/tasks"

EVERY_KIND: list[str | Enum] = [*AGENT_KINDS]
BOARD_AGENTS: list[str | Enum] = [*BOARD_AGENT_KINDS]
LEAD: list[str | Enum] = [AGENT_LEAD]


@router.get(TASKS, response_model=Page[TaskRead], tags=EVERY_KIND)
async def agent_list_tasks(
    board_id: uuid.UUID, where: TaskFilterDep, agent: AgentDep, session: SessionDep, page: PageDep
) -> Page[TaskRead]:
    """Tasks of the board, filtered (status, assignee, tag, due dates, blocked, search)."""
    items, total = await service.list_tasks(
        session, agent_caller(agent), board_id, where, limit=page.limit, offset=page.offset
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(TASKS, response_model=TaskRead, status_code=status.HTTP_201_CREATED, tags=LEAD)
async def agent_create_task(
    board_id: uuid.UUID, data: TaskCreate, agent: AgentDep, session: SessionDep
) -> TaskRead:
    """Create a task as the board lead (workers cannot)."""
    return await service.create_task(session, agent_caller(agent), board_id, data)


@router.get(TASKS + "/{task_id}", response_model=TaskRead, tags=EVERY_KIND)
async def agent_get_task(
    board_id: uuid.UUID, task_id: uuid.UUID, agent: AgentDep, session: SessionDep
) -> TaskRead:
    return await service.get_task(session, agent_caller(agent), board_id, task_id)


@router.patch(TASKS + "/{task_id}", response_model=TaskRead, tags=BOARD_AGENTS)
async def agent_update_task(
    board_id: uuid.UUID, task_id: uuid.UUID, data: TaskUpdate, agent: AgentDep, session: SessionDep
) -> TaskRead:
    """Change a task within your role: workers move their own (or unassigned) tasks and comment;
    the lead assigns, manages dependencies, tags and fields, and reviews."""
    return await service.update_task(session, agent_caller(agent), board_id, task_id, data)


@router.put(TASKS + "/{task_id}/tags/{tag_id}", response_model=TaskRead, tags=LEAD)
async def agent_tag_task(
    board_id: uuid.UUID, task_id: uuid.UUID, tag_id: uuid.UUID, agent: AgentDep, session: SessionDep
) -> TaskRead:
    """Adds one tag to the task (the lead manages tags)."""
    caller = agent_caller(agent)
    return await service.tag_task(session, caller, board_id, task_id, tag_id, tagged=True)


@router.delete(TASKS + "/{task_id}/tags/{tag_id}", response_model=TaskRead, tags=LEAD)
async def agent_untag_task(
    board_id: uuid.UUID, task_id: uuid.UUID, tag_id: uuid.UUID, agent: AgentDep, session: SessionDep
) -> TaskRead:
    """Removes one tag from the task."""
    caller = agent_caller(agent)
    return await service.tag_task(session, caller, board_id, task_id, tag_id, tagged=False)


@router.get(TASKS + "/{task_id}/comments", response_model=Page[CommentRead], tags=EVERY_KIND)
async def agent_list_comments(
    board_id: uuid.UUID, task_id: uuid.UUID, agent: AgentDep, session: SessionDep, page: PageDep
) -> Page[CommentRead]:
    items, total = await service.list_comments(
        session, agent_caller(agent), board_id, task_id, limit=page.limit, offset=page.offset
    )
    reads = [CommentRead.model_validate(c) for c in items]
    return Page(items=reads, total=total, limit=page.limit, offset=page.offset)


@router.post(
    TASKS + "/{task_id}/comments",
    response_model=CommentRead,
    status_code=status.HTTP_201_CREATED,
    tags=BOARD_AGENTS,
)
async def agent_add_comment(
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    data: CommentCreate,
    agent: AgentDep,
    session: SessionDep,
) -> CommentRead:
    comment = await service.add_comment(
        session, agent_caller(agent), board_id, task_id, data.message
    )
    return CommentRead.model_validate(comment)


@router.get("/tags", response_model=Page[TagRead], tags=EVERY_KIND)
async def agent_list_tags(
    board_id: uuid.UUID, agent: AgentDep, session: SessionDep, page: PageDep
) -> Page[TagRead]:
    """The organisation's tags (for tag_ids on tasks)."""
    items, total = await catalog.agent_tags(
        session, agent_caller(agent), board_id, limit=page.limit, offset=page.offset
    )
    reads = [TagRead.model_validate(t) for t in items]
    return Page(items=reads, total=total, limit=page.limit, offset=page.offset)


@router.get("/custom-fields", response_model=list[BoardFieldRead], tags=EVERY_KIND)
async def agent_board_fields(
    board_id: uuid.UUID, agent: AgentDep, session: SessionDep
) -> list[BoardFieldRead]:
    """The custom fields this board's tasks carry (keys for ``custom_fields``)."""
    return await catalog.board_fields(session, agent_caller(agent), board_id)
