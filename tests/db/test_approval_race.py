"""One pending approval per task under concurrency: the partial unique index decides the race,
and the loser gets the 409 naming the winner (PostgreSQL, separate sessions)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from mission_control.approvals import service
from mission_control.approvals.models import Approval, ApprovalTaskLink
from mission_control.approvals.schemas import ApprovalCreate, ApprovalRead
from mission_control.core.db import Database
from mission_control.core.errors import Conflict
from mission_control.tasks.actors import agent_caller
from tests.support import task_factories


def _request(task_id: object) -> ApprovalCreate:
    return ApprovalCreate.model_validate(
        {"action_type": "mark_done", "payload": {"reason": "done"}, "task_id": str(task_id)}
    )


async def test_blocked_insert_becomes_a_409(pg_database: Database) -> None:
    """The second request passes the pre-check (the first has not committed), waits on the
    unique index, and turns the unique violation into the 409 once the first commits."""
    team = await task_factories.team(pg_database)
    async with pg_database.unit_of_work() as session:
        task = await task_factories.task(session, team.board)

    async def raise_as_lead() -> ApprovalRead:
        async with pg_database.unit_of_work() as session:
            return await service.raise_approval(
                session, agent_caller(team.lead), team.board.id, _request(task.id)
            )

    async with pg_database.unit_of_work() as session:
        first = await service.raise_approval(
            session, agent_caller(team.worker), team.board.id, _request(task.id)
        )
        racing = asyncio.create_task(raise_as_lead())
        await task_factories.wait_for_lock_waiters(pg_database)
    with pytest.raises(Conflict) as refused:
        await racing
    assert refused.value.code == "pending_approval"
    assert refused.value.details["approval_ids"] == [str(first.id)]
    assert refused.value.details["task_ids"] == [str(task.id)]
    async with pg_database.unit_of_work() as session:
        approvals = list(await session.scalars(select(Approval.id)))
        links = list(await session.scalars(select(ApprovalTaskLink.approval_id)))
    assert approvals == [first.id]
    assert links == [first.id]


async def test_gathered_services_one_conflict(database: Database) -> None:
    team = await task_factories.team(database)
    async with database.unit_of_work() as session:
        task = await task_factories.task(session, team.board)

    async def raise_as(agent_index: int) -> ApprovalRead:
        agent = (team.worker, team.other)[agent_index]
        async with database.unit_of_work() as session:
            return await service.raise_approval(
                session, agent_caller(agent), team.board.id, _request(task.id)
            )

    results = await asyncio.gather(raise_as(0), raise_as(1), return_exceptions=True)
    conflicts = [r for r in results if isinstance(r, Conflict)]
    created = [r for r in results if isinstance(r, ApprovalRead)]
    assert (len(conflicts), len(created)) == (1, 1), results
    assert conflicts[0].details["approval_ids"] == [str(created[0].id)]
