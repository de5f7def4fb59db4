"""The apply lease is the one claim on an agent: of two workers claiming it at once (any
process), exactly one wins; a holder keeps it until it releases it."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import timedelta
from pathlib import Path

from mission_control.agents.models import Agent
from mission_control.app import build_runtime
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.provisioning import lease, repository, service
from mission_control.settings import Settings
from tests.support import task_factories


async def _owner(database: Database, agent_id: uuid.UUID) -> str | None:
    async with database.unit_of_work() as session:
        row = await session.get(Agent, agent_id)
        assert row is not None
        return row.provision_lease_owner


async def test_of_two_concurrent_claims_exactly_one_wins(database: Database) -> None:
    team = await task_factories.team(database)
    won = await asyncio.gather(
        *(lease.claim(database, team.worker.id, f"worker-{n}") for n in range(2))
    )
    assert sorted(won) == [False, True]
    assert await _owner(database, team.worker.id) == f"worker-{won.index(True)}"


async def test_a_claim_racing_an_open_one_loses_on_postgresql(pg_database: Database) -> None:
    """The second UPDATE waits for the first one's row lock, then re-checks its condition
    against the committed lease and takes nothing."""
    team = await task_factories.team(pg_database)
    now = utcnow()
    async with pg_database.unit_of_work() as session:
        assert await repository.claim(
            session, team.worker.id, "first", now, now + timedelta(seconds=30)
        )
        racing = asyncio.create_task(lease.claim(pg_database, team.worker.id, "second"))
        await task_factories.wait_for_lock_waiters(pg_database)
    assert await racing is False
    assert await _owner(pg_database, team.worker.id) == "first"


async def test_a_held_lease_is_released_on_the_way_out(database: Database) -> None:
    team = await task_factories.team(database)
    async with lease.held(database, team.worker.id, "apply") as first:
        async with lease.held(database, team.worker.id, "apply") as second:
            assert (first, second) == (True, False)
        assert (await _owner(database, team.worker.id) or "").startswith("apply-")
    assert await _owner(database, team.worker.id) is None


async def test_a_lapsed_lease_can_be_taken_over(database: Database) -> None:
    team = await task_factories.team(database)
    past = utcnow() - timedelta(minutes=5)
    async with database.unit_of_work() as session:
        assert await repository.claim(session, team.worker.id, "dead", past, past)
    assert await lease.claim(database, team.worker.id, "alive")
    assert await _owner(database, team.worker.id) == "alive"


async def test_apply_leaves_an_agent_another_worker_holds_alone(
    database: Database, tmp_path: Path
) -> None:
    """A worker in another process holds the lease: this process applies nothing."""
    team = await task_factories.team(database)
    settings = Settings(
        auth_token=secrets.token_urlsafe(48), data_dir=tmp_path, database_url=database.url
    )
    runtime = build_runtime(settings, database)
    assert await lease.claim(database, team.worker.id, "other-process")
    outcome = await service.apply_agent(runtime, team.worker.id)
    assert (outcome.ok, outcome.busy) == (False, True)
    assert await _owner(database, team.worker.id) == "other-process"
