"""One unit of work per request: the request's session commits once, before the response goes
out (a client that got 201 reads what it created at once); effects run after that commit, and a
failed request runs none."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from starlette.types import Message, Receive, Scope, Send

from mission_control.agents.models import Agent, AgentStatus
from mission_control.auth import SessionDep
from mission_control.boards.models import Board
from mission_control.core.db import Database
from mission_control.core.errors import Conflict
from mission_control.core.runtime import Runtime
from mission_control.core.unit_of_work import after_commit
from tests.support import task_factories


@pytest.fixture
def commits(database: Database) -> Iterator[list[int]]:
    """Counts the database commits (COMMIT on a connection, not savepoints) while the test
    runs, whatever flow makes them."""
    seen: list[int] = []

    def count(connection: Connection) -> None:
        seen.append(id(connection))

    event.listen(database.engine.sync_engine, "commit", count)
    yield seen
    event.remove(database.engine.sync_engine, "commit", count)


class CommitsAtResponse:
    """Wraps the app: notes how many commits had happened when the response started."""

    def __init__(self, app: FastAPI, commits: list[int]) -> None:
        self.app, self.commits = app, commits
        self.at_start: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.at_start.append(len(self.commits))
            await send(message)

        await self.app(scope, receive, noting)


@pytest.fixture
async def watched(app: FastAPI, commits: list[int]) -> CommitsAtResponse:
    return CommitsAtResponse(app, commits)


def _client(app: CommitsAtResponse) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mc.test")


async def test_a_request_commits_once_before_its_response(
    watched: CommitsAtResponse, commits: list[int], operator: dict[str, str], database: Database
) -> None:
    async with _client(watched) as client:
        response = await client.post("/api/v1/boards", json={"name": "Plain"}, headers=operator)
    assert response.status_code == 201, response.text
    assert (len(commits), watched.at_start) == (1, [1])
    async with database.unit_of_work() as session:
        count = await session.scalar(select(func.count()).select_from(Board))
    assert count == 1


async def test_a_queued_change_commits_once_then_kicks_the_reconciler(
    watched: CommitsAtResponse, commits: list[int], runtime: Runtime, database: Database
) -> None:
    team = await task_factories.team(database)
    commits.clear()
    async with _client(watched) as client:
        response = await client.delete(f"/api/v1/agents/{team.worker.id}", headers=team.user)
    assert response.status_code == 200, response.text
    assert (len(commits), watched.at_start) == (1, [1])
    assert runtime.reconcile_soon.is_set()
    async with database.unit_of_work() as session:
        row = await session.get(Agent, team.worker.id)
        assert row is not None
        assert row.status == AgentStatus.DELETING


async def test_a_failed_request_commits_nothing_and_runs_no_effect(
    app: FastAPI, client: httpx.AsyncClient, commits: list[int], database: Database
) -> None:
    team = await task_factories.team(database)
    ran: list[bool] = []

    async def effect() -> None:
        ran.append(True)

    @app.post("/test/failing-change")
    async def failing_change(session: SessionDep) -> None:
        board = await session.get(Board, team.board.id)
        assert board is not None
        board.name = "Renamed"
        after_commit(session, effect)
        raise Conflict("refused after the change", code="refused")

    commits.clear()
    response = await client.post("/test/failing-change")
    assert response.status_code == 409, response.text
    assert (commits, ran) == ([], [])
    async with database.unit_of_work() as session:
        board = await session.get(Board, team.board.id)
        assert board is not None
        assert board.name == team.board.name
