"""Queries for tasks, dependencies, comments, tags and custom fields, scoped by board or org."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.tasks.models import (
    BoardCustomField,
    CustomFieldDefinition,
    Tag,
    Task,
    TaskComment,
    TaskCustomFieldValue,
    TaskDependency,
    TaskTag,
)

# The activity event that remembers who sent a task to review (rework goes back to them).
REVIEW_REQUESTED = "task.review_requested"


@dataclass(frozen=True, slots=True)
class TaskFilter:
    statuses: Collection[str] = ()
    assigned_agent_id: uuid.UUID | None = None
    tag_id: uuid.UUID | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    blocked: bool | None = None
    search: str | None = None


async def get(
    session: AsyncSession, board_id: uuid.UUID, task_id: uuid.UUID, *, lock: bool = False
) -> Task | None:
    """The task on ``board_id``; ``lock`` holds its row until commit (PostgreSQL), so
    concurrent read-modify-writes of one task run one after the other."""
    query = select(Task).where(Task.id == task_id, Task.board_id == board_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


def _unfinished_dependency(task: Any) -> Any:
    dependency = aliased(Task)
    return exists(
        select(TaskDependency.task_id)
        .join(dependency, dependency.id == TaskDependency.depends_on_task_id)
        .where(TaskDependency.task_id == task.id, dependency.status != "done")
    )


async def page(
    session: AsyncSession, board_id: uuid.UUID, where: TaskFilter, *, limit: int, offset: int
) -> tuple[list[Task], int]:
    query = select(Task).where(Task.board_id == board_id)
    if where.statuses:
        query = query.where(Task.status.in_(where.statuses))
    if where.assigned_agent_id is not None:
        query = query.where(Task.assigned_agent_id == where.assigned_agent_id)
    if where.tag_id is not None:
        query = query.where(
            exists().where(TaskTag.task_id == Task.id, TaskTag.tag_id == where.tag_id)
        )
    if where.due_before is not None:
        query = query.where(Task.due_at < where.due_before)
    if where.due_after is not None:
        query = query.where(Task.due_at > where.due_after)
    if where.blocked is not None:
        blocked = _unfinished_dependency(Task)
        query = query.where(blocked if where.blocked else ~blocked)
    if where.search:
        pattern = f"%{where.search.lower()}%"
        query = query.where(
            or_(func.lower(Task.title).like(pattern), func.lower(Task.description).like(pattern))
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    result = await session.execute(
        query.order_by(Task.created_at.desc(), Task.id).limit(limit).offset(offset)
    )
    return list(result.scalars()), int(total or 0)


async def ids_on_board(
    session: AsyncSession, board_id: uuid.UUID, task_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    if not task_ids:
        return set()
    result = await session.execute(
        select(Task.id).where(Task.board_id == board_id, Task.id.in_(task_ids))
    )
    return set(result.scalars())


async def lock_board(session: AsyncSession, board_id: uuid.UUID) -> None:
    """Serialises dependency changes on one board (PostgreSQL), so two concurrent edits cannot
    each close half of a cycle."""
    await session.execute(select(Board.id).where(Board.id == board_id).with_for_update())


# Dependencies


async def dependencies_of(
    session: AsyncSession, task_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[uuid.UUID, str]]]:
    """For each task: (dependency id, dependency status) pairs."""
    found: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
    if not task_ids:
        return found
    result = await session.execute(
        select(TaskDependency.task_id, Task.id, Task.status)
        .join(Task, Task.id == TaskDependency.depends_on_task_id)
        .where(TaskDependency.task_id.in_(task_ids))
        .order_by(TaskDependency.created_at, Task.id)
    )
    for task_id, dependency_id, status in result.all():
        found[task_id].append((dependency_id, status))
    return found


async def unfinished(session: AsyncSession, task_ids: Collection[uuid.UUID]) -> list[uuid.UUID]:
    if not task_ids:
        return []
    result = await session.execute(
        select(Task.id).where(Task.id.in_(task_ids), Task.status != "done").order_by(Task.id)
    )
    return list(result.scalars())


async def summaries(
    session: AsyncSession, task_ids: Collection[uuid.UUID]
) -> list[tuple[uuid.UUID, str, str]]:
    """(id, title, status) of the given tasks, in id order."""
    if not task_ids:
        return []
    result = await session.execute(
        select(Task.id, Task.title, Task.status).where(Task.id.in_(task_ids)).order_by(Task.id)
    )
    return [(row[0], row[1], row[2]) for row in result.all()]


async def board_edges(
    session: AsyncSession, board_id: uuid.UUID
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    result = await session.execute(
        select(TaskDependency.task_id, TaskDependency.depends_on_task_id)
        .join(Task, Task.id == TaskDependency.task_id)
        .where(Task.board_id == board_id)
    )
    return [(row[0], row[1]) for row in result.all()]


async def replace_dependencies(
    session: AsyncSession, task_id: uuid.UUID, depends_on: Collection[uuid.UUID]
) -> None:
    await session.execute(delete(TaskDependency).where(TaskDependency.task_id == task_id))
    session.add_all(TaskDependency(task_id=task_id, depends_on_task_id=d) for d in depends_on)


async def unfinished_dependents(session: AsyncSession, task_id: uuid.UUID) -> list[Task]:
    result = await session.execute(
        select(Task)
        .join(TaskDependency, TaskDependency.task_id == Task.id)
        .where(TaskDependency.depends_on_task_id == task_id, Task.status != "done")
        .order_by(Task.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(result.scalars())


# Agents, comments and the review sender


async def agent_on_board(
    session: AsyncSession, board_id: uuid.UUID, agent_id: uuid.UUID
) -> Agent | None:
    result = await session.execute(
        select(Agent).where(Agent.id == agent_id, Agent.board_id == board_id)
    )
    return result.scalar_one_or_none()


async def lead_of(session: AsyncSession, board_id: uuid.UUID) -> Agent | None:
    result = await session.execute(
        select(Agent).where(Agent.board_id == board_id, Agent.is_board_lead.is_(True))
    )
    return result.scalar_one_or_none()


async def comments_page(
    session: AsyncSession, task_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[TaskComment], int]:
    base = select(TaskComment).where(TaskComment.task_id == task_id)
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    result = await session.execute(
        base.order_by(TaskComment.created_at, TaskComment.id).limit(limit).offset(offset)
    )
    return list(result.scalars()), int(total or 0)


async def has_comment_by(
    session: AsyncSession, task_id: uuid.UUID, agent_id: uuid.UUID, since: datetime | None
) -> bool:
    query = select(TaskComment.id).where(
        TaskComment.task_id == task_id, TaskComment.author_agent_id == agent_id
    )
    if since is not None:
        query = query.where(TaskComment.created_at >= since)
    return (await session.scalar(query.limit(1))) is not None


async def review_sender(session: AsyncSession, task_id: uuid.UUID) -> uuid.UUID | None:
    sender: uuid.UUID | None = await session.scalar(
        select(ActivityEvent.agent_id)
        .where(ActivityEvent.task_id == task_id, ActivityEvent.event_type == REVIEW_REQUESTED)
        .order_by(ActivityEvent.id.desc())
        .limit(1)
    )
    return sender


# Tags


async def tag_ids_of(
    session: AsyncSession, task_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if not task_ids:
        return found
    result = await session.execute(
        select(TaskTag.task_id, TaskTag.tag_id)
        .where(TaskTag.task_id.in_(task_ids))
        .order_by(TaskTag.tag_id)
    )
    for task_id, tag_id in result.all():
        found[task_id].append(tag_id)
    return found


async def replace_tags(
    session: AsyncSession, task_id: uuid.UUID, tag_ids: Collection[uuid.UUID]
) -> None:
    await session.execute(delete(TaskTag).where(TaskTag.task_id == task_id))
    session.add_all(TaskTag(task_id=task_id, tag_id=t) for t in tag_ids)


async def tag_ids_in_org(
    session: AsyncSession, org_id: uuid.UUID, tag_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    if not tag_ids:
        return set()
    result = await session.execute(
        select(Tag.id).where(Tag.organization_id == org_id, Tag.id.in_(tag_ids))
    )
    return set(result.scalars())


async def tag_in_org(session: AsyncSession, org_id: uuid.UUID, tag_id: uuid.UUID) -> Tag | None:
    result = await session.execute(
        select(Tag).where(Tag.organization_id == org_id, Tag.id == tag_id)
    )
    return result.scalar_one_or_none()


async def tag_by_slug(session: AsyncSession, org_id: uuid.UUID, slug: str) -> Tag | None:
    result = await session.execute(
        select(Tag).where(Tag.organization_id == org_id, Tag.slug == slug)
    )
    return result.scalar_one_or_none()


async def tags_page(
    session: AsyncSession, org_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[Tag], int]:
    base = select(Tag).where(Tag.organization_id == org_id)
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    result = await session.execute(base.order_by(Tag.slug).limit(limit).offset(offset))
    return list(result.scalars()), int(total or 0)


# Custom fields


async def definitions_page(
    session: AsyncSession, org_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[CustomFieldDefinition], int]:
    base = select(CustomFieldDefinition).where(CustomFieldDefinition.organization_id == org_id)
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    result = await session.execute(
        base.order_by(CustomFieldDefinition.key).limit(limit).offset(offset)
    )
    return list(result.scalars()), int(total or 0)


async def definition_in_org(
    session: AsyncSession, org_id: uuid.UUID, definition_id: uuid.UUID
) -> CustomFieldDefinition | None:
    result = await session.execute(
        select(CustomFieldDefinition).where(
            CustomFieldDefinition.organization_id == org_id,
            CustomFieldDefinition.id == definition_id,
        )
    )
    return result.scalar_one_or_none()


async def definition_key_taken(session: AsyncSession, org_id: uuid.UUID, key: str) -> bool:
    query = select(CustomFieldDefinition.id).where(
        CustomFieldDefinition.organization_id == org_id, CustomFieldDefinition.key == key
    )
    return (await session.scalar(query.limit(1))) is not None


async def board_fields(
    session: AsyncSession, board_id: uuid.UUID
) -> list[tuple[CustomFieldDefinition, BoardCustomField]]:
    result = await session.execute(
        select(CustomFieldDefinition, BoardCustomField)
        .join(BoardCustomField, BoardCustomField.definition_id == CustomFieldDefinition.id)
        .where(BoardCustomField.board_id == board_id)
        .order_by(CustomFieldDefinition.key)
    )
    return [(row[0], row[1]) for row in result.all()]


async def binding(
    session: AsyncSession, board_id: uuid.UUID, definition_id: uuid.UUID
) -> BoardCustomField | None:
    return await session.get(BoardCustomField, (board_id, definition_id))


async def values_of(
    session: AsyncSession, task_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, dict[uuid.UUID, Any]]:
    found: dict[uuid.UUID, dict[uuid.UUID, Any]] = defaultdict(dict)
    if not task_ids:
        return found
    result = await session.execute(
        select(
            TaskCustomFieldValue.task_id,
            TaskCustomFieldValue.definition_id,
            TaskCustomFieldValue.value,
        ).where(TaskCustomFieldValue.task_id.in_(task_ids))
    )
    for task_id, definition_id, value in result.all():
        found[task_id][definition_id] = value
    return found


async def write_values(
    session: AsyncSession, task_id: uuid.UUID, values: Mapping[uuid.UUID, Any]
) -> None:
    """Sets each value; ``None`` removes the stored value."""
    if not values:
        return
    await session.execute(
        delete(TaskCustomFieldValue).where(
            TaskCustomFieldValue.task_id == task_id,
            TaskCustomFieldValue.definition_id.in_(list(values)),
        )
    )
    session.add_all(
        TaskCustomFieldValue(task_id=task_id, definition_id=d, value=v)
        for d, v in values.items()
        if v is not None
    )
