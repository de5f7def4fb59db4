"""Approval rules: raised by agents or users with a reason, linked to tasks of one board, at most
one pending per task, resolved by users only; the lead hears about every resolution."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.activity import service as activity
from mission_control.agents.models import Agent
from mission_control.approvals import repository
from mission_control.approvals.models import Approval
from mission_control.approvals.schemas import ApprovalCreate, ApprovalRead, ApprovalResolve
from mission_control.core import events
from mission_control.core.clock import utcnow
from mission_control.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from mission_control.notifications.service import notify_agent
from mission_control.tasks import repository as tasks
from mission_control.tasks.actors import Actor, Caller, resolve_actor


async def read_approvals(
    session: AsyncSession, approvals: Sequence[Approval]
) -> list[ApprovalRead]:
    links = await repository.task_ids_of(session, [a.id for a in approvals])
    return [
        ApprovalRead(
            id=a.id,
            board_id=a.board_id,
            agent_id=a.agent_id,
            created_by_user_id=a.created_by_user_id,
            action_type=a.action_type,
            payload=a.payload,
            confidence=a.confidence,
            rubric_scores=a.rubric_scores,
            status=a.status,
            task_ids=links.get(a.id, []),
            resolved_by_user_id=a.resolved_by_user_id,
            resolved_at=a.resolved_at,
            resolution_note=a.resolution_note,
            created_at=a.created_at,
            updated_at=a.updated_at,
        )
        for a in approvals
    ]


async def _read_one(session: AsyncSession, approval: Approval) -> ApprovalRead:
    return (await read_approvals(session, [approval]))[0]


async def _approval_or_404(
    session: AsyncSession, board_id: uuid.UUID, approval_id: uuid.UUID, *, lock: bool = False
) -> Approval:
    approval = await repository.get(session, board_id, approval_id, lock=lock)
    if approval is None:
        raise NotFound("Approval not found on this board.")
    return approval


async def list_approvals(
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    *,
    status: str | None,
    task_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[ApprovalRead], int]:
    await resolve_actor(session, caller, board_id, write=False)
    approvals, total = await repository.page(
        session, board_id, status=status, task_id=task_id, limit=limit, offset=offset
    )
    return await read_approvals(session, approvals), total


async def get_approval(
    session: AsyncSession, caller: Caller, board_id: uuid.UUID, approval_id: uuid.UUID
) -> ApprovalRead:
    await resolve_actor(session, caller, board_id, write=False)
    return await _read_one(session, await _approval_or_404(session, board_id, approval_id))


async def raise_approval(
    session: AsyncSession, caller: Caller, board_id: uuid.UUID, data: ApprovalCreate
) -> ApprovalRead:
    actor = await resolve_actor(session, caller, board_id, write=True)
    task_ids = await _checked_tasks(session, board_id, data.linked_task_ids())
    await _refuse_pending(session, task_ids)
    approval = Approval(
        id=uuid.uuid4(),
        board_id=board_id,
        agent_id=actor.agent_id,
        created_by_user_id=actor.user_id,
        action_type=data.action_type,
        payload=data.payload,
        confidence=data.confidence,
        rubric_scores=data.rubric_scores,
        status="pending",
    )
    session.add(approval)
    await session.flush()
    try:
        # A savepoint, so the transaction survives the unique violation and can say who won.
        async with session.begin_nested():
            await repository.add_links(session, approval.id, task_ids)
    except IntegrityError:
        await _refuse_pending(session, task_ids)
        raise
    _log(session, actor, approval, "approval.created", f"Approval requested: {data.action_type}.")
    read = await _read_one(session, approval)
    _publish(session, actor, "approval.created", read)
    return read


async def _checked_tasks(
    session: AsyncSession, board_id: uuid.UUID, task_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    if not task_ids:
        raise InvalidInput(
            "Link the approval to at least one task (task_id or task_ids).",
            details=[{"field": "task_ids", "location": "body", "message": "empty"}],
        )
    found = await tasks.ids_on_board(session, board_id, task_ids)
    missing = [str(i) for i in task_ids if i not in found]
    if missing:
        raise InvalidInput(
            f"Linked tasks must be tasks of this board; not found here: {', '.join(missing)}.",
            code="invalid_task",
            details=[
                {
                    "field": "task_ids",
                    "location": "body",
                    "message": "not a task of this board",
                    "task_ids": missing,
                }
            ],
        )
    return task_ids


async def _refuse_pending(session: AsyncSession, task_ids: list[uuid.UUID]) -> None:
    conflicts = await repository.pending_links(session, task_ids)
    if not conflicts:
        return
    raise Conflict(
        "A task may have only one pending approval (details name it); wait until a person "
        "resolves it, then raise a new one if you still need it.",
        code="pending_approval",
        details={
            "task_ids": sorted({str(t) for t, _ in conflicts}),
            "approval_ids": sorted({str(a) for _, a in conflicts}),
            "conflicts": [{"task_id": str(t), "approval_id": str(a)} for t, a in conflicts],
        },
    )


async def resolve_approval(
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    approval_id: uuid.UUID,
    data: ApprovalResolve,
) -> ApprovalRead:
    actor = await resolve_actor(session, caller, board_id, write=True)
    if actor.kind != "user":
        raise Forbidden("Only users resolve approvals.", code="user_only")
    approval = await _approval_or_404(session, board_id, approval_id, lock=True)
    if approval.status != "pending":
        raise Conflict(
            f"This approval was already {approval.status}.",
            code="approval_resolved",
            details={"status": approval.status},
        )
    approval.status = data.status
    approval.resolved_by_user_id = actor.user_id
    approval.resolved_at = utcnow()
    approval.resolution_note = data.note
    await session.flush()
    await repository.clear_pending(session, approval.id)
    _log(
        session,
        actor,
        approval,
        f"approval.{data.status}",
        f"Approval {approval.action_type} {data.status}.",
        details={"note": data.note} if data.note else None,
    )
    read = await _read_one(session, approval)
    _publish(session, actor, "approval.resolved", read)
    await _notify_resolution(session, actor, approval)
    return read


async def _notify_resolution(session: AsyncSession, actor: Actor, approval: Approval) -> None:
    """The lead always hears; so does the agent who asked, when it is not the lead."""
    recipients: list[Agent] = []
    lead = await tasks.lead_of(session, approval.board_id)
    if lead is not None:
        recipients.append(lead)
    if approval.agent_id is not None and (lead is None or lead.id != approval.agent_id):
        requester = await session.get(Agent, approval.agent_id)
        if requester is not None:
            recipients.append(requester)
    note = f" Note: {approval.resolution_note}" if approval.resolution_note else ""
    message = (
        f"Approval {approval.action_type} ({approval.id}) was {approval.status}.{note} "
        f"Reason given: {approval.payload.get('reason', '')}"
    )
    for agent in recipients:
        await notify_agent(
            session,
            agent=agent,
            kind="approval_resolved",
            message=message,
            organization_id=actor.organization_id,
            board_id=approval.board_id,
        )


def _log(
    session: AsyncSession,
    actor: Actor,
    approval: Approval,
    event_type: str,
    message: str,
    *,
    details: dict[str, Any] | None = None,
) -> None:
    activity.record(
        session,
        event_type,
        message,
        organization_id=actor.organization_id,
        board_id=approval.board_id,
        agent_id=approval.agent_id,
        actor_user_id=actor.user_id,
        actor_agent_id=actor.agent_id,
        details={"approval_id": str(approval.id), **(details or {})},
    )


def _publish(session: AsyncSession, actor: Actor, kind: str, read: ApprovalRead) -> None:
    """The one place approval changes reach the live streams."""
    events.emit(
        session,
        kind,
        organization_id=actor.organization_id,
        board_id=read.board_id,
        agent_id=read.agent_id,
        data=read.model_dump(mode="json"),
    )
