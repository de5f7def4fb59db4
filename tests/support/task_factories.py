"""Task, approval, tag and custom field rows for tests, written straight through the ORM."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.approvals.models import Approval, ApprovalTaskLink
from mission_control.boards.models import Board
from mission_control.core.db import Database
from mission_control.organizations.models import Organization, Role
from mission_control.tasks.models import (
    BoardCustomField,
    CustomFieldDefinition,
    Tag,
    Task,
    TaskComment,
    TaskDependency,
)
from mission_control.tasks.repository import REVIEW_REQUESTED
from tests.support import factories

NO_RULES = {
    "require_approval_for_done": False,
    "require_review_before_done": False,
    "comment_required_for_review": False,
    "block_status_changes_with_pending_approval": False,
    "only_lead_can_change_status": False,
}


@dataclass
class Team:
    """A board with a lead, two workers, an admin user and the board's gateway-main agent."""

    org: Organization
    board: Board
    admin: factories.Person
    lead: Agent
    lead_token: str
    worker: Agent
    worker_token: str
    other: Agent
    other_token: str
    main: Agent
    main_token: str

    @property
    def user(self) -> dict[str, str]:
        return self.admin.headers

    def agent_headers(self, token: str) -> dict[str, str]:
        return {"X-Agent-Token": token}

    @property
    def tasks_url(self) -> str:
        return f"/api/v1/boards/{self.board.id}/tasks"

    @property
    def agent_tasks_url(self) -> str:
        return f"/api/v1/agent/boards/{self.board.id}/tasks"


async def team(
    database: Database, *, name: str = "Acme", rules: dict[str, bool] | None = None
) -> Team:
    """Every rule flag off unless given."""
    async with database.unit_of_work() as session:
        org = await factories.organization(session, name)
        gw = await factories.gateway(session, org, name=f"gw-{uuid.uuid4().hex[:6]}")
        brd = await factories.board(session, org, gw, name="Work")
        for flag, value in {**NO_RULES, **(rules or {})}.items():
            setattr(brd, flag, value)
        admin = await factories.person(session, org, Role.ADMIN)
        lead, lead_token = await factories.agent(session, gw, brd, name="Lead", lead=True)
        worker, worker_token = await factories.agent(session, gw, brd, name="Worker")
        other, other_token = await factories.agent(session, gw, brd, name="Other")
        main, main_token = await factories.agent(session, gw, name="Main")
    return Team(
        org,
        brd,
        admin,
        lead,
        lead_token,
        worker,
        worker_token,
        other,
        other_token,
        main,
        main_token,
    )


async def task(
    session: AsyncSession,
    board: Board,
    *,
    title: str = "Task",
    status: str = "inbox",
    assignee: Agent | None = None,
    in_progress_at: datetime | None = None,
    review_sender: Agent | None = None,
) -> Task:
    """``review_sender`` records who sent the task to review (where rework returns it)."""
    row = Task(
        board_id=board.id,
        title=title,
        status=status,
        assigned_agent_id=assignee.id if assignee else None,
        in_progress_at=in_progress_at,
    )
    session.add(row)
    await session.flush()
    if review_sender is not None:
        session.add(
            ActivityEvent(
                organization_id=board.organization_id,
                board_id=board.id,
                task_id=row.id,
                agent_id=review_sender.id,
                event_type=REVIEW_REQUESTED,
                message="sent to review",
            )
        )
        await session.flush()
    return row


async def depend(session: AsyncSession, dependent: Task, *on: Task) -> None:
    session.add_all(TaskDependency(task_id=dependent.id, depends_on_task_id=t.id) for t in on)
    await session.flush()


async def approval(
    session: AsyncSession, board: Board, tasks: list[Task], *, status: str = "pending"
) -> Approval:
    row = Approval(
        board_id=board.id, action_type="mark_done", payload={"reason": "test"}, status=status
    )
    session.add(row)
    await session.flush()
    session.add_all(
        ApprovalTaskLink(approval_id=row.id, task_id=t.id, pending=status == "pending")
        for t in tasks
    )
    await session.flush()
    return row


async def comment(
    session: AsyncSession, target: Task, message: str, *, author: Agent | None = None
) -> TaskComment:
    row = TaskComment(
        task_id=target.id, author_agent_id=author.id if author else None, message=message
    )
    session.add(row)
    await session.flush()
    return row


async def tag(session: AsyncSession, org: Organization, name: str = "Backend") -> Tag:
    row = Tag(organization_id=org.id, name=name, slug=name.lower())
    session.add(row)
    await session.flush()
    return row


async def field(
    session: AsyncSession,
    org: Organization,
    board: Board | None,
    key: str,
    field_type: str,
    *,
    required: bool = False,
    validation_regex: str | None = None,
    default_value: Any = None,
) -> CustomFieldDefinition:
    """A definition, bound to ``board`` when given."""
    row = CustomFieldDefinition(
        organization_id=org.id,
        key=key,
        label=key.replace("_", " ").title(),
        field_type=field_type,
        required=required,
        validation_regex=validation_regex,
        default_value=default_value,
    )
    session.add(row)
    await session.flush()
    if board is not None:
        session.add(BoardCustomField(board_id=board.id, definition_id=row.id))
        await session.flush()
    return row


async def wait_for_lock_waiters(database: Database, count: int = 1) -> None:
    """Polls pg_locks until ``count`` sessions wait for a lock (the racing request is blocked)."""
    async with database.engine.connect() as connection:
        for _ in range(500):
            waiting = await connection.scalar(
                text("SELECT count(*) FROM pg_locks WHERE NOT granted")
            )
            await connection.rollback()
            if int(waiting or 0) >= count:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("the second request never waited for the first one's lock")
