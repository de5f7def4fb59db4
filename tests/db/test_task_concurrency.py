"""Concurrent patches of one task never lose an update: on PostgreSQL the row lock runs them one
after the other (both apply); a write from a stale read is refused by the version column."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from mission_control.core.db import Database
from mission_control.core.errors import Conflict
from mission_control.tasks import service
from mission_control.tasks.actors import agent_caller
from mission_control.tasks.models import Task
from mission_control.tasks.schemas import TaskUpdate
from tests.support import task_factories


async def _stored(database: Database, task_id: object) -> Task:
    async with database.unit_of_work() as session:
        task = await session.get(Task, task_id)
        assert task is not None
        return task


async def test_row_lock_serialises_patches_on_postgresql(pg_database: Database) -> None:
    team = await task_factories.team(pg_database)
    async with pg_database.unit_of_work() as session:
        task = await task_factories.task(session, team.board, title="Old")
    caller = agent_caller(team.lead)

    async def patch(data: TaskUpdate) -> None:
        async with pg_database.unit_of_work() as session:
            await service.update_task(session, caller, team.board.id, task.id, data)

    async with pg_database.unit_of_work() as session:
        await service.update_task(session, caller, team.board.id, task.id, TaskUpdate(title="New"))
        racing = asyncio.create_task(patch(TaskUpdate(priority="urgent")))
        await task_factories.wait_for_lock_waiters(pg_database)
    await racing
    stored = await _stored(pg_database, task.id)
    assert (stored.title, stored.priority, stored.version) == ("New", "urgent", 3)


async def test_stale_version_is_a_409(database: Database) -> None:
    """Without the lock (a write prepared from a stale read), the version column refuses it."""
    team = await task_factories.team(database)
    async with database.unit_of_work() as session:
        task = await task_factories.task(session, team.board, title="Old")
    async with database.unit_of_work() as session:
        await service.update_task(
            session, agent_caller(team.lead), team.board.id, task.id, TaskUpdate(title="New")
        )
    with pytest.raises(Conflict) as refused:
        async with database.unit_of_work() as session:
            stale = await session.get(Task, task.id)
            assert stale is not None
            await session.execute(
                text("UPDATE tasks SET version = version + 1 WHERE id = :id"),
                {"id": task.id.hex if database.dialect == "sqlite" else task.id},
            )
            stale.priority = "urgent"
            await service._flush(session)
    assert refused.value.code == "task_conflict"
    stored = await _stored(database, task.id)
    assert (stored.title, stored.priority) == ("New", "medium")
