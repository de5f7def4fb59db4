"""Task rules for users and agents: create, list, change, delete, dependencies, tags, fields,
comments; every change goes through ``transitions`` and is recorded as activity."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from mission_control.activity import service as activity
from mission_control.agents.models import Agent
from mission_control.approvals import repository as approvals
from mission_control.boards.models import Board
from mission_control.core import events
from mission_control.core.clock import utcnow
from mission_control.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from mission_control.notifications.service import notify_agent
from mission_control.tasks import repository
from mission_control.tasks.actors import Actor, Caller, resolve_actor
from mission_control.tasks.custom_fields import FieldSpec, validate_values
from mission_control.tasks.models import Task, TaskComment
from mission_control.tasks.repository import REVIEW_REQUESTED, TaskFilter
from mission_control.tasks.schemas import CommentRead, TaskCreate, TaskRead, TaskUpdate
from mission_control.tasks.transitions import (
    DONE,
    INBOX,
    REVIEW,
    ActorRole,
    BoardRules,
    Change,
    Facts,
    Outcome,
    TaskState,
    authorize,
    has_cycle,
    settle,
)

PLAIN_FIELDS = ("title", "description", "priority", "due_at")


@dataclass(frozen=True, slots=True)
class TaskRequest:
    """A create or patch, normalised: only what the caller sent."""

    values: dict[str, Any] = field(default_factory=dict)
    status: str | None = None
    assignee_given: bool = False
    assignee_id: uuid.UUID | None = None
    depends_on: list[uuid.UUID] | None = None
    tag_ids: list[uuid.UUID] | None = None
    custom_fields: dict[str, Any] | None = None
    comment: str | None = None

    def change(self) -> Change:
        names = set(self.values)
        for name, present in (
            ("depends_on_task_ids", self.depends_on is not None),
            ("tag_ids", self.tag_ids is not None),
            ("custom_fields", self.custom_fields is not None),
            ("comment", self.comment is not None),
        ):
            if present:
                names.add(name)
        return Change(
            status=self.status,
            assignee_given=self.assignee_given,
            assignee_id=self.assignee_id,
            fields=frozenset(names),
            comment=self.comment,
        )


def request_of_create(data: TaskCreate) -> TaskRequest:
    return TaskRequest(
        values={name: getattr(data, name) for name in PLAIN_FIELDS},
        status=data.status,
        assignee_given=data.assigned_agent_id is not None,
        assignee_id=data.assigned_agent_id,
        depends_on=list(data.depends_on_task_ids) or None,
        tag_ids=list(data.tag_ids) or None,
        custom_fields=data.custom_fields,
    )


def request_of_update(data: TaskUpdate) -> TaskRequest:
    present = data.model_fields_set
    return TaskRequest(
        values={name: getattr(data, name) for name in PLAIN_FIELDS if name in present},
        status=data.status,
        assignee_given="assigned_agent_id" in present,
        assignee_id=data.assigned_agent_id,
        depends_on=data.depends_on_task_ids,
        tag_ids=data.tag_ids,
        custom_fields=data.custom_fields,
        comment=data.comment,
    )


def rules_of(board: Board) -> BoardRules:
    return BoardRules(
        only_lead_can_change_status=board.only_lead_can_change_status,
        require_review_before_done=board.require_review_before_done,
        require_approval_for_done=board.require_approval_for_done,
        block_status_changes_with_pending_approval=board.block_status_changes_with_pending_approval,
        comment_required_for_review=board.comment_required_for_review,
    )


def _role(actor: Actor) -> ActorRole:
    return ActorRole(kind=actor.kind, agent_id=actor.agent_id)


# Reading


async def read_tasks(
    session: AsyncSession, board_id: uuid.UUID, tasks: Sequence[Task]
) -> list[TaskRead]:
    """Response models for ``tasks`` with dependencies, tags and fields loaded in batches."""
    ids = [task.id for task in tasks]
    dependencies = await repository.dependencies_of(session, ids)
    tags = await repository.tag_ids_of(session, ids)
    values = await repository.values_of(session, ids)
    keys = {
        definition.id: definition.key
        for definition, _ in await repository.board_fields(session, board_id)
    }
    reads = []
    for task in tasks:
        deps = dependencies.get(task.id, [])
        blocking = [dep_id for dep_id, status in deps if status != DONE]
        stored = values.get(task.id, {})
        reads.append(
            TaskRead(
                id=task.id,
                board_id=task.board_id,
                title=task.title,
                description=task.description,
                status=task.status,
                priority=task.priority,
                due_at=task.due_at,
                assigned_agent_id=task.assigned_agent_id,
                created_by_user_id=task.created_by_user_id,
                created_by_agent_id=task.created_by_agent_id,
                in_progress_at=task.in_progress_at,
                version=task.version,
                depends_on_task_ids=[dep_id for dep_id, _ in deps],
                blocked_by_task_ids=blocking,
                is_blocked=bool(blocking),
                tag_ids=tags.get(task.id, []),
                custom_fields={
                    key: stored.get(definition_id) for definition_id, key in keys.items()
                },
                created_at=task.created_at,
                updated_at=task.updated_at,
            )
        )
    return reads


async def _read_one(session: AsyncSession, task: Task) -> TaskRead:
    return (await read_tasks(session, task.board_id, [task]))[0]


async def _task_or_404(
    session: AsyncSession, board_id: uuid.UUID, task_id: uuid.UUID, *, lock: bool = False
) -> Task:
    task = await repository.get(session, board_id, task_id, lock=lock)
    if task is None:
        raise NotFound("Task not found on this board.")
    return task


async def list_tasks(
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    where: TaskFilter,
    *,
    limit: int,
    offset: int,
) -> tuple[list[TaskRead], int]:
    await resolve_actor(session, caller, board_id, write=False)
    tasks, total = await repository.page(session, board_id, where, limit=limit, offset=offset)
    return await read_tasks(session, board_id, tasks), total


async def get_task(
    session: AsyncSession, caller: Caller, board_id: uuid.UUID, task_id: uuid.UUID
) -> TaskRead:
    await resolve_actor(session, caller, board_id, write=False)
    return await _read_one(session, await _task_or_404(session, board_id, task_id))


# Writing


async def create_task(
    session: AsyncSession, caller: Caller, board_id: uuid.UUID, data: TaskCreate
) -> TaskRead:
    actor = await resolve_actor(session, caller, board_id, write=True)
    if actor.kind not in ("user", "lead"):
        raise Forbidden(
            "Only users and the board lead create tasks; ask the lead in a comment or the "
            "board chat.",
            code="lead_only",
        )
    task = Task(
        id=uuid.uuid4(),
        board_id=board_id,
        status=INBOX,
        created_by_user_id=actor.user_id,
        created_by_agent_id=actor.agent_id,
    )
    await _apply(session, actor, task, request_of_create(data), creating=True)
    return await _read_one(session, task)


async def update_task(
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    data: TaskUpdate,
) -> TaskRead:
    actor = await resolve_actor(session, caller, board_id, write=True)
    task = await _task_or_404(session, board_id, task_id, lock=True)
    await _apply(session, actor, task, request_of_update(data), creating=False)
    return await _read_one(session, task)


async def tag_task(
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    tag_id: uuid.UUID,
    *,
    tagged: bool,
) -> TaskRead:
    """Adds (or removes) one tag; computed under the task's lock, so concurrent tag edits of
    one task do not overwrite each other's sets."""
    actor = await resolve_actor(session, caller, board_id, write=True)
    task = await _task_or_404(session, board_id, task_id, lock=True)
    current = (await repository.tag_ids_of(session, [task.id])).get(task.id, [])
    tag_ids = [*current, tag_id] if tagged else [t for t in current if t != tag_id]
    await _apply(session, actor, task, TaskRequest(tag_ids=tag_ids), creating=False)
    return await _read_one(session, task)


async def delete_task(
    session: AsyncSession, caller: Caller, board_id: uuid.UUID, task_id: uuid.UUID
) -> None:
    actor = await resolve_actor(session, caller, board_id, write=True)
    if actor.kind != "user":
        raise Forbidden("Only users delete tasks.", code="user_only")
    task = await _task_or_404(session, board_id, task_id, lock=True)
    await session.delete(task)
    await _flush(session)
    activity.record(
        session,
        "task.deleted",
        f"Task {task.title!r} deleted.",
        organization_id=actor.organization_id,
        board_id=board_id,
        actor_user_id=actor.user_id,
        details={"task_id": str(task.id)},
    )
    _publish(session, actor, "task.deleted", task, {"id": str(task.id), "title": task.title})


async def _apply(
    session: AsyncSession, actor: Actor, task: Task, request: TaskRequest, *, creating: bool
) -> None:
    """Authorise, validate, decide, write, then record and notify: the one path of every change."""
    before = TaskState(
        status=INBOX if creating else task.status, assignee_id=task.assigned_agent_id
    )
    change = request.change()
    rules = rules_of(actor.board)
    authorize(_role(actor), before, rules, change, change.target(before.status))
    if change.assignee_given and change.assignee_id is not None:
        await _check_assignee(session, actor.board.id, change.assignee_id)
    depends_on = await _checked_dependencies(session, actor.board.id, task.id, request.depends_on)
    tag_ids = await _checked_tags(session, actor, request.tag_ids)
    values = await _checked_values(
        session, actor.board.id, request.custom_fields, creating=creating
    )
    facts = await _facts(session, actor, task, before, change, depends_on, creating=creating)
    outcome = settle(_role(actor), before, rules, change, facts)
    for name, value in request.values.items():
        setattr(task, name, value)
    task.status = outcome.status
    task.assigned_agent_id = outcome.assignee_id
    if outcome.stamp_in_progress:
        task.in_progress_at = utcnow()
    if creating:
        session.add(task)
    await _flush(session)
    if depends_on is not None:
        await repository.replace_dependencies(session, task.id, depends_on)
    if tag_ids is not None:
        await repository.replace_tags(session, task.id, tag_ids)
    if values:
        await repository.write_values(session, task.id, values)
    if request.comment is not None:
        _add_comment(session, actor, task, request.comment)
    await _flush(session)
    await _record(session, actor, task, before, outcome, request, creating=creating)
    if before.status == DONE and outcome.status != DONE:
        await _send_back_dependents(session, actor, task)


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except StaleDataError as error:
        # The version column caught a concurrent write the row lock did not prevent (SQLite).
        raise Conflict(
            "The task was changed by another request at the same time; reload it and retry.",
            code="task_conflict",
        ) from error


async def _check_assignee(session: AsyncSession, board_id: uuid.UUID, agent_id: uuid.UUID) -> None:
    if await repository.agent_on_board(session, board_id, agent_id) is None:
        raise InvalidInput(
            "assigned_agent_id is not an agent of this board.",
            code="invalid_assignee",
            details=[
                {"field": "assigned_agent_id", "location": "body", "message": "unknown agent"}
            ],
        )


async def _checked_dependencies(
    session: AsyncSession,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    requested: list[uuid.UUID] | None,
) -> list[uuid.UUID] | None:
    if requested is None:
        return None
    depends_on = list(dict.fromkeys(requested))
    if task_id in depends_on:
        raise InvalidInput(
            "A task cannot depend on itself.",
            code="invalid_dependency",
            details=[{"field": "depends_on_task_ids", "location": "body", "message": "self"}],
        )
    found = await repository.ids_on_board(session, board_id, depends_on)
    missing = [str(i) for i in depends_on if i not in found]
    if missing:
        raise InvalidInput(
            f"Dependencies must be tasks of the same board; not found here: {', '.join(missing)}.",
            code="invalid_dependency",
            details=[
                {
                    "field": "depends_on_task_ids",
                    "location": "body",
                    "message": "not a task of this board",
                    "task_ids": missing,
                }
            ],
        )
    await repository.lock_board(session, board_id)
    if has_cycle(await repository.board_edges(session, board_id), task_id, depends_on):
        raise Conflict(
            "These dependencies would form a cycle (a task would wait on itself).",
            code="dependency_cycle",
            details={"depends_on_task_ids": [str(i) for i in depends_on]},
        )
    return depends_on


async def _checked_tags(
    session: AsyncSession, actor: Actor, requested: list[uuid.UUID] | None
) -> list[uuid.UUID] | None:
    if requested is None:
        return None
    tag_ids = list(dict.fromkeys(requested))
    found = await repository.tag_ids_in_org(session, actor.organization_id, tag_ids)
    missing = [str(i) for i in tag_ids if i not in found]
    if missing:
        raise InvalidInput(
            f"Unknown tags: {', '.join(missing)}.",
            code="invalid_tag",
            details=[{"field": "tag_ids", "location": "body", "message": "unknown tag"}],
        )
    return tag_ids


async def field_specs(
    session: AsyncSession, board_id: uuid.UUID
) -> dict[str, tuple[uuid.UUID, FieldSpec]]:
    specs = {}
    for definition, binding in await repository.board_fields(session, board_id):
        specs[definition.key] = (
            definition.id,
            FieldSpec(
                key=definition.key,
                field_type=definition.field_type,
                required=binding.required if binding.required is not None else definition.required,
                validation_regex=definition.validation_regex,
                default_value=definition.default_value,
            ),
        )
    return specs


async def _checked_values(
    session: AsyncSession,
    board_id: uuid.UUID,
    requested: dict[str, Any] | None,
    *,
    creating: bool,
) -> dict[uuid.UUID, Any]:
    if requested is None and not creating:
        return {}
    specs = await field_specs(session, board_id)
    if not specs and not requested:
        return {}
    values = validate_values(
        {key: spec for key, (_, spec) in specs.items()}, requested or {}, creating=creating
    )
    return {specs[key][0]: value for key, value in values.items()}


async def _facts(
    session: AsyncSession,
    actor: Actor,
    task: Task,
    before: TaskState,
    change: Change,
    depends_on: list[uuid.UUID] | None,
    *,
    creating: bool,
) -> Facts:
    """Only the facts this change needs, so a title edit costs no extra queries."""
    board = actor.board
    target = change.target(before.status)
    lead_id = None
    if target == REVIEW:
        lead = await repository.lead_of(session, board.id)
        lead_id = lead.id if lead else None
    blocking: list[uuid.UUID] = []
    if target is not None or change.assignee_given or depends_on is not None:
        if depends_on is None and not creating:
            depends_on = [
                d for d, _ in (await repository.dependencies_of(session, [task.id]))[task.id]
            ]
        blocking = await repository.unfinished(session, depends_on or [])
    pending: list[uuid.UUID] = []
    if target is not None and board.block_status_changes_with_pending_approval and not creating:
        pending = [a for _, a in await approvals.pending_links(session, [task.id])]
    approved = False
    if target == DONE and board.require_approval_for_done and not creating:
        approved = await approvals.has_approved(session, task.id)
    commented = False
    if (
        target == REVIEW
        and board.comment_required_for_review
        and before.assignee_id
        and not creating
    ):
        commented = await repository.has_comment_by(
            session, task.id, before.assignee_id, task.in_progress_at
        )
    sender = None
    if actor.kind == "lead" and before.status == REVIEW and target == INBOX:
        sender = await repository.review_sender(session, task.id)
    return Facts(
        lead_id=lead_id,
        blocking_task_ids=blocking,
        blocking_tasks=await repository.summaries(session, blocking),
        pending_approval_ids=pending,
        has_approved_approval=approved,
        assignee_commented=commented,
        review_sender_id=sender,
    )


def _add_comment(session: AsyncSession, actor: Actor, task: Task, message: str) -> TaskComment:
    comment = TaskComment(
        id=uuid.uuid4(),
        task_id=task.id,
        author_user_id=actor.user_id,
        author_agent_id=actor.agent_id,
        message=message.strip(),
    )
    session.add(comment)
    activity.record(
        session,
        "task.commented",
        f"{actor.label} commented on {task.title!r}.",
        organization_id=actor.organization_id,
        board_id=task.board_id,
        task_id=task.id,
        actor_user_id=actor.user_id,
        actor_agent_id=actor.agent_id,
        details={"comment_id": str(comment.id)},
    )
    events.emit(
        session,
        "task.comment.created",
        organization_id=actor.organization_id,
        board_id=task.board_id,
        agent_id=actor.agent_id,
        task_id=task.id,
        data=lambda: CommentRead.model_validate(comment).model_dump(mode="json"),
    )
    return comment


async def _record(
    session: AsyncSession,
    actor: Actor,
    task: Task,
    before: TaskState,
    outcome: Outcome,
    request: TaskRequest,
    *,
    creating: bool,
) -> None:
    """Activity for each step, notifications for the agents the change concerns, one event."""
    if creating:
        _log(session, actor, task, "task.created", f"Task {task.title!r} created.")
    elif request.values or request.depends_on is not None or request.tag_ids is not None:
        changed = sorted(request.change().fields - {"comment", "custom_fields"})
        _log(
            session,
            actor,
            task,
            "task.updated",
            f"Task {task.title!r} updated ({', '.join(changed)}).",
            details={"fields": changed},
        )
    if outcome.status != before.status:
        _log(
            session,
            actor,
            task,
            "task.status_changed",
            f"Task {task.title!r} moved from {before.status} to {outcome.status}.",
            details={"from": before.status, "to": outcome.status},
        )
    if outcome.status == REVIEW and before.status != REVIEW:
        _log(
            session,
            actor,
            task,
            REVIEW_REQUESTED,
            f"Task {task.title!r} sent to review.",
            agent_id=outcome.review_sender_id,
        )
    await _notify_assignment(session, actor, task, before, outcome)
    _publish(session, actor, "task.created" if creating else "task.updated", task, _task_data(task))


def _log(
    session: AsyncSession,
    actor: Actor,
    task: Task,
    event_type: str,
    message: str,
    *,
    agent_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    activity.record(
        session,
        event_type,
        message,
        organization_id=actor.organization_id,
        board_id=task.board_id,
        task_id=task.id,
        agent_id=agent_id,
        actor_user_id=actor.user_id,
        actor_agent_id=actor.agent_id,
        details=details,
    )


async def _notify_assignment(
    session: AsyncSession, actor: Actor, task: Task, before: TaskState, outcome: Outcome
) -> None:
    assignee_id = outcome.assignee_id
    if assignee_id == before.assignee_id and not outcome.rework:
        return
    if outcome.rework:
        message = f"Task {task.title!r} sent back for rework."
        _log(session, actor, task, "task.rework", message, agent_id=assignee_id)
    elif assignee_id is not None:
        message = f"Task {task.title!r} assigned."
        _log(session, actor, task, "task.assigned", message, agent_id=assignee_id)
    if assignee_id is None or assignee_id == actor.agent_id:
        return
    agent = await session.get(Agent, assignee_id)
    if agent is None:
        return
    kind, message = _assignment_message(task, outcome)
    await notify_agent(
        session,
        agent=agent,
        kind=kind,
        message=message,
        organization_id=actor.organization_id,
        board_id=task.board_id,
        task_id=task.id,
    )


def _assignment_message(task: Task, outcome: Outcome) -> tuple[str, str]:
    if outcome.rework:
        return "rework", (
            f"Task {task.title!r} ({task.id}) came back from review for rework; read the "
            "latest comments, fix it and send it to review again."
        )
    if outcome.status == REVIEW:
        return "assignment", f"Task {task.title!r} ({task.id}) is waiting for your review."
    return "assignment", f"Task {task.title!r} ({task.id}) is assigned to you ({task.status})."


async def _send_back_dependents(session: AsyncSession, actor: Actor, task: Task) -> None:
    """A reopened dependency: its unfinished dependents return to inbox, unassigned."""
    for dependent in await repository.unfinished_dependents(session, task.id):
        if dependent.status == INBOX and dependent.assigned_agent_id is None:
            continue
        previous = dependent.status
        dependent.status = INBOX
        dependent.assigned_agent_id = None
        activity.record(
            session,
            "task.sent_back",
            f"Task {dependent.title!r} returned to inbox: its dependency {task.title!r} was "
            "reopened.",
            organization_id=actor.organization_id,
            board_id=dependent.board_id,
            task_id=dependent.id,
            actor_user_id=actor.user_id,
            actor_agent_id=actor.agent_id,
            details={"from": previous, "reopened_task_id": str(task.id)},
        )
        _publish(session, actor, "task.updated", dependent, _task_data(dependent))
    await _flush(session)


def _task_data(task: Task) -> dict[str, Any]:
    return {
        "id": str(task.id),
        "title": task.title,
        "status": task.status,
        "priority": task.priority,
        "assigned_agent_id": str(task.assigned_agent_id) if task.assigned_agent_id else None,
        "version": task.version,
    }


def _publish(
    session: AsyncSession, actor: Actor, kind: str, task: Task, data: dict[str, Any]
) -> None:
    """The one place task changes reach the live streams."""
    events.emit(
        session,
        kind,
        organization_id=actor.organization_id,
        board_id=task.board_id,
        agent_id=task.assigned_agent_id,
        task_id=task.id,
        data=data,
    )


# Comments


async def list_comments(
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    *,
    limit: int,
    offset: int,
) -> tuple[list[TaskComment], int]:
    await resolve_actor(session, caller, board_id, write=False)
    await _task_or_404(session, board_id, task_id)
    return await repository.comments_page(session, task_id, limit=limit, offset=offset)


async def add_comment(
    session: AsyncSession, caller: Caller, board_id: uuid.UUID, task_id: uuid.UUID, message: str
) -> TaskComment:
    actor = await resolve_actor(session, caller, board_id, write=True)
    task = await _task_or_404(session, board_id, task_id)
    # Commenting is a worker's change like any other: only on its own or unassigned tasks.
    authorize(
        _role(actor),
        TaskState(task.status, task.assigned_agent_id),
        rules_of(actor.board),
        Change(fields=frozenset({"comment"}), comment=message),
        None,
    )
    comment = _add_comment(session, actor, task, message)
    await session.flush()
    return comment
