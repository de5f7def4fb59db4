"""Two concurrent PATCHes of one task over HTTP: no lost update on either backend."""

from __future__ import annotations

import asyncio

import httpx

from mission_control.core.db import Database
from mission_control.tasks.models import Task
from tests.support import task_factories


async def _stored(database: Database, task_id: object) -> Task:
    async with database.unit_of_work() as session:
        task = await session.get(Task, task_id)
        assert task is not None
        return task


async def test_concurrent_http_patches_lose_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    team = await task_factories.team(database)
    async with database.unit_of_work() as session:
        task = await task_factories.task(session, team.board, title="Old")
    url = f"{team.tasks_url}/{task.id}"
    first, second = await asyncio.gather(
        client.patch(url, json={"title": "New"}, headers=team.user),
        client.patch(url, json={"priority": "urgent"}, headers=team.user),
    )
    stored = await _stored(database, task.id)
    statuses = sorted([first.status_code, second.status_code])
    if database.dialect == "postgresql":
        assert statuses == [200, 200]
    if statuses == [200, 200]:
        assert (stored.title, stored.priority, stored.version) == ("New", "urgent", 3)
    else:
        # SQLite without a row lock: the version check refused the stale write.
        assert statuses == [200, 409]
        loser = first if first.status_code == 409 else second
        assert loser.json()["error"]["code"] == "task_conflict"
        applied = ("New", "medium") if loser is second else ("Old", "urgent")
        assert (stored.title, stored.priority, stored.version) == (*applied, 2)
