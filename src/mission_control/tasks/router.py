"""HTTP endpoints for users: board tasks and comments, tags, custom fields."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import AfterValidator, AwareDatetime

from mission_control.auth import SessionDep, UserDep
from mission_control.core.api import API_PREFIX
from mission_control.core.pagination import Page, PageDep
from mission_control.tasks import catalog, service
from mission_control.tasks.actors import user_caller
from mission_control.tasks.repository import TaskFilter
from mission_control.tasks.schemas import (
    BoardFieldBind,
    BoardFieldRead,
    CommentCreate,
    CommentRead,
    CustomFieldCreate,
    CustomFieldRead,
    TagCreate,
    TagRead,
    TaskCreate,
    TaskRead,
    TaskStatus,
    TaskUpdate,
    in_utc,
)

router = APIRouter(prefix=API_PREFIX, tags=["tasks"])
UtcInstant = Annotated[AwareDatetime, AfterValidator(in_utc)]
TASKS = "/boards/{board_id}/tasks"


def task_filter(
    status: Annotated[list[TaskStatus] | None, Query(description="Any of these statuses.")] = None,
    assigned_agent_id: Annotated[uuid.UUID | None, Query()] = None,
    tag_id: Annotated[uuid.UUID | None, Query()] = None,
    due_before: Annotated[UtcInstant | None, Query()] = None,
    due_after: Annotated[UtcInstant | None, Query()] = None,
    blocked: Annotated[bool | None, Query(description="Has an unfinished dependency.")] = None,
    search: Annotated[str | None, Query(max_length=200, description="In title or text.")] = None,
) -> TaskFilter:
    return TaskFilter(
        statuses=tuple(status or ()),
        assigned_agent_id=assigned_agent_id,
        tag_id=tag_id,
        due_before=due_before,
        due_after=due_after,
        blocked=blocked,
        search=search.strip() if search and search.strip() else None,
    )


TaskFilterDep = Annotated[TaskFilter, Depends(task_filter)]


@router.get(TASKS, response_model=Page[TaskRead])
async def list_tasks(
    board_id: uuid.UUID, where: TaskFilterDep, context: UserDep, session: SessionDep, page: PageDep
) -> Page[TaskRead]:
    items, total = await service.list_tasks(
        session, user_caller(context), board_id, where, limit=page.limit, offset=page.offset
    )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(TASKS, response_model=TaskRead, status_code=status.HTTP_201_CREATED)
async def create_task(
    board_id: uuid.UUID, data: TaskCreate, context: UserDep, session: SessionDep
) -> TaskRead:
    return await service.create_task(session, user_caller(context), board_id, data)


@router.get(TASKS + "/{task_id}", response_model=TaskRead)
async def get_task(
    board_id: uuid.UUID, task_id: uuid.UUID, context: UserDep, session: SessionDep
) -> TaskRead:
    return await service.get_task(session, user_caller(context), board_id, task_id)


@router.patch(TASKS + "/{task_id}", response_model=TaskRead)
async def update_task(
    board_id: uuid.UUID, task_id: uuid.UUID, data: TaskUpdate, context: UserDep, session: SessionDep
) -> TaskRead:
    return await service.update_task(session, user_caller(context), board_id, task_id, data)


@router.delete(TASKS + "/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(
    board_id: uuid.UUID, task_id: uuid.UUID, context: UserDep, session: SessionDep
) -> None:
    await service.delete_task(session, user_caller(context), board_id, task_id)


@router.put(TASKS + "/{task_id}/tags/{tag_id}", response_model=TaskRead)
async def tag_task(
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    tag_id: uuid.UUID,
    context: UserDep,
    session: SessionDep,
) -> TaskRead:
    """Adds one tag to the task (idempotent)."""
    caller = user_caller(context)
    return await service.tag_task(session, caller, board_id, task_id, tag_id, tagged=True)


@router.delete(TASKS + "/{task_id}/tags/{tag_id}", response_model=TaskRead)
async def untag_task(
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    tag_id: uuid.UUID,
    context: UserDep,
    session: SessionDep,
) -> TaskRead:
    """Removes one tag from the task (idempotent)."""
    caller = user_caller(context)
    return await service.tag_task(session, caller, board_id, task_id, tag_id, tagged=False)


@router.get(TASKS + "/{task_id}/comments", response_model=Page[CommentRead])
async def list_comments(
    board_id: uuid.UUID, task_id: uuid.UUID, context: UserDep, session: SessionDep, page: PageDep
) -> Page[CommentRead]:
    items, total = await service.list_comments(
        session, user_caller(context), board_id, task_id, limit=page.limit, offset=page.offset
    )
    reads = [CommentRead.model_validate(c) for c in items]
    return Page(items=reads, total=total, limit=page.limit, offset=page.offset)


@router.post(
    TASKS + "/{task_id}/comments", response_model=CommentRead, status_code=status.HTTP_201_CREATED
)
async def add_comment(
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    data: CommentCreate,
    context: UserDep,
    session: SessionDep,
) -> CommentRead:
    comment = await service.add_comment(
        session, user_caller(context), board_id, task_id, data.message
    )
    return CommentRead.model_validate(comment)


@router.get("/boards/{board_id}/custom-fields", response_model=list[BoardFieldRead])
async def board_fields(
    board_id: uuid.UUID, context: UserDep, session: SessionDep
) -> list[BoardFieldRead]:
    return await catalog.board_fields(session, user_caller(context), board_id)


@router.put("/boards/{board_id}/custom-fields/{definition_id}", response_model=BoardFieldRead)
async def bind_field(
    board_id: uuid.UUID,
    definition_id: uuid.UUID,
    context: UserDep,
    session: SessionDep,
    data: BoardFieldBind | None = None,
) -> BoardFieldRead:
    return await catalog.bind_field(
        session, user_caller(context), board_id, definition_id, data or BoardFieldBind()
    )


@router.delete(
    "/boards/{board_id}/custom-fields/{definition_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def unbind_field(
    board_id: uuid.UUID, definition_id: uuid.UUID, context: UserDep, session: SessionDep
) -> None:
    await catalog.unbind_field(session, user_caller(context), board_id, definition_id)


@router.get("/tags", response_model=Page[TagRead])
async def list_tags(context: UserDep, session: SessionDep, page: PageDep) -> Page[TagRead]:
    items, total = await catalog.list_tags(
        session, context.organization.id, limit=page.limit, offset=page.offset
    )
    reads = [TagRead.model_validate(t) for t in items]
    return Page(items=reads, total=total, limit=page.limit, offset=page.offset)


@router.post("/tags", response_model=TagRead, status_code=status.HTTP_201_CREATED)
async def create_tag(data: TagCreate, context: UserDep, session: SessionDep) -> TagRead:
    return TagRead.model_validate(await catalog.create_tag(session, context, data))


@router.delete("/tags/{tag_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_tag(tag_id: uuid.UUID, context: UserDep, session: SessionDep) -> None:
    await catalog.delete_tag(session, context, tag_id)


@router.get("/custom-fields", response_model=Page[CustomFieldRead])
async def list_definitions(
    context: UserDep, session: SessionDep, page: PageDep
) -> Page[CustomFieldRead]:
    items, total = await catalog.list_definitions(
        session, context, limit=page.limit, offset=page.offset
    )
    reads = [CustomFieldRead.model_validate(d) for d in items]
    return Page(items=reads, total=total, limit=page.limit, offset=page.offset)


@router.post("/custom-fields", response_model=CustomFieldRead, status_code=status.HTTP_201_CREATED)
async def create_definition(
    data: CustomFieldCreate, context: UserDep, session: SessionDep
) -> CustomFieldRead:
    return CustomFieldRead.model_validate(await catalog.create_definition(session, context, data))


@router.delete("/custom-fields/{definition_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_definition(
    definition_id: uuid.UUID, context: UserDep, session: SessionDep
) -> None:
    await catalog.delete_definition(session, context, definition_id)
