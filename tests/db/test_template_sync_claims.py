"""A template sync row is claimed by one conditional UPDATE: of two runners (any process)
exactly one runs it, a running sync under a live lease is left alone, and one whose runner died
(its lease lapsed) is taken over and finished. On both databases."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from mission_control.app import build_runtime
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.provisioning import repository, sync_jobs
from mission_control.provisioning.models import TemplateSync
from mission_control.provisioning.sync import SyncOptions
from mission_control.settings import Settings
from tests.support import factories

NO_URL = "Gateway URL is not configured for this gateway."


@pytest.fixture
async def runtime(database: Database, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(
        auth_token=secrets.token_urlsafe(48), data_dir=tmp_path, database_url=database.url
    )
    runtime = build_runtime(settings, database)
    yield runtime
    await runtime.gateway_pool.close()


async def _queued_sync(database: Database) -> uuid.UUID:
    """A sync of a gateway with no URL: it runs in no time and reports why it did nothing."""
    async with database.unit_of_work() as session:
        org = await factories.organization(session, "Syncers")
        gateway = await factories.gateway(session, org, f"gw-{uuid.uuid4().hex[:6]}")
        gateway.url = ""
        row = await sync_jobs.record_sync(
            session, gateway.id, org.id, None, SyncOptions(include_main=False)
        )
        return row.id


async def _row(database: Database, sync_id: uuid.UUID) -> TemplateSync:
    async with database.unit_of_work() as session:
        row = await session.get(TemplateSync, sync_id)
        assert row is not None
        return row


async def test_of_two_concurrent_claims_exactly_one_wins(database: Database) -> None:
    sync_id = await _queued_sync(database)
    now = utcnow()

    async def claim(owner: str) -> bool:
        async with database.unit_of_work() as session:
            return await repository.claim_sync(
                session, sync_id, owner, now, now + timedelta(seconds=30)
            )

    won = await asyncio.gather(claim("runner-0"), claim("runner-1"))
    assert sorted(won) == [False, True]
    row = await _row(database, sync_id)
    assert row.status == "running"
    assert row.lease_owner == f"runner-{won.index(True)}"
    assert row.started_at is not None


async def test_of_two_runners_exactly_one_runs_the_sync(
    runtime: Runtime, database: Database
) -> None:
    sync_id = await _queued_sync(database)
    ran = await asyncio.gather(
        sync_jobs.run_sync(runtime, sync_id, "one"), sync_jobs.run_sync(runtime, sync_id, "two")
    )
    assert sorted(ran) == [False, True]
    row = await _row(database, sync_id)
    assert row.status == "failed"
    assert [e["message"] for e in row.report["errors"]] == [NO_URL]
    assert row.finished_at is not None
    assert row.lease_owner is None
    # A finished sync is never run again.
    assert await sync_jobs.run_sync(runtime, sync_id, "three") is False


async def test_a_sync_whose_runner_died_is_taken_over_and_finishes(
    runtime: Runtime, database: Database
) -> None:
    sync_id = await _queued_sync(database)
    started = utcnow() - timedelta(minutes=5)
    async with database.unit_of_work() as session:
        row = await session.get(TemplateSync, sync_id)
        assert row is not None
        row.status, row.started_at = "running", started
        row.lease_owner, row.lease_until = "request-dead", started + timedelta(seconds=30)
    assert await sync_jobs.run_due_syncs(runtime) == 1
    row = await _row(database, sync_id)
    assert row.status == "failed"
    assert [e["message"] for e in row.report["errors"]] == [NO_URL]
    assert row.started_at == started  # the run it took over started then


async def test_a_running_sync_under_a_live_lease_is_left_alone(
    runtime: Runtime, database: Database
) -> None:
    sync_id = await _queued_sync(database)
    async with database.unit_of_work() as session:
        row = await session.get(TemplateSync, sync_id)
        assert row is not None
        row.status, row.started_at = "running", utcnow()
        row.lease_owner, row.lease_until = "request-alive", utcnow() + timedelta(seconds=30)
    assert await sync_jobs.run_due_syncs(runtime) == 0
    row = await _row(database, sync_id)
    assert row.status == "running"
    assert row.lease_owner == "request-alive"
