"""The unit of work on both databases: services only flush (the caller's transaction decides),
effects run after the commit and never after a rollback."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from mission_control.agents import lifecycle
from mission_control.agents.models import Agent, AgentStatus
from mission_control.app import build_runtime
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.core.unit_of_work import after_commit
from mission_control.settings import Settings
from tests.support import task_factories


class Boom(Exception):
    pass


@pytest.fixture
def runtime(database: Database, tmp_path: Path) -> Runtime:
    settings = Settings(
        auth_token=secrets.token_urlsafe(48), data_dir=tmp_path, database_url=database.url
    )
    return build_runtime(settings, database)


async def _status(database: Database, agent: Agent) -> str:
    async with database.unit_of_work() as session:
        row = await session.get(Agent, agent.id)
        assert row is not None
        return row.status


async def test_a_service_leaves_the_commit_to_its_caller(
    database: Database, runtime: Runtime
) -> None:
    team = await task_factories.team(database)
    with pytest.raises(Boom):
        async with database.unit_of_work() as session:
            await lifecycle.delete_agent(session, runtime, team.lead, team.worker.id)
            raise Boom  # the caller's work fails after the service returned
    assert await _status(database, team.worker) != AgentStatus.DELETING
    assert not runtime.reconcile_soon.is_set()  # its effect was dropped with the rollback


async def test_a_services_work_commits_with_its_caller(
    database: Database, runtime: Runtime
) -> None:
    team = await task_factories.team(database)
    async with database.unit_of_work() as session:
        await lifecycle.delete_agent(session, runtime, team.lead, team.worker.id)
        assert not runtime.reconcile_soon.is_set()  # nothing runs before the commit
    assert await _status(database, team.worker) == AgentStatus.DELETING
    assert runtime.reconcile_soon.is_set()


async def test_effects_run_after_the_commit_and_see_its_rows(database: Database) -> None:
    team = await task_factories.team(database)
    seen: list[str] = []

    async def effect() -> None:
        seen.append(await _status(database, team.worker))

    async with database.unit_of_work() as session:
        row = await session.get(Agent, team.worker.id)
        assert row is not None
        row.status = AgentStatus.DELETING
        after_commit(session, effect)
        assert seen == []
    assert seen == [AgentStatus.DELETING]


async def test_an_effect_of_a_failed_unit_of_work_never_runs(database: Database) -> None:
    ran: list[bool] = []

    async def effect() -> None:
        ran.append(True)

    with pytest.raises(Boom):
        async with database.unit_of_work() as session:
            after_commit(session, effect)
            raise Boom
    assert ran == []


async def test_a_failing_effect_fails_the_caller_but_keeps_the_commit(
    database: Database,
) -> None:
    team = await task_factories.team(database)

    async def effect() -> None:
        raise Boom

    with pytest.raises(Boom):
        async with database.unit_of_work() as session:
            row = await session.get(Agent, team.worker.id)
            assert row is not None
            row.status = AgentStatus.DELETING
            after_commit(session, effect)
    assert await _status(database, team.worker) == AgentStatus.DELETING
