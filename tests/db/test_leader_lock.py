"""Leader election: one holder per job, and a holder whose lock vanished steps down."""

from __future__ import annotations

import asyncio
import secrets
import socket
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.engine import make_url
from structlog.testing import capture_logs

from mission_control.app import build_runtime
from mission_control.core.db import Database
from mission_control.core.leader import LeaderLock, lock_key
from mission_control.core.metrics import LeaderMetrics
from mission_control.governor.service import Governor
from mission_control.provisioning.reconciler import Reconciler
from mission_control.settings import Settings


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_one_holder_per_job_and_release_hands_over(database: Database) -> None:
    other = Database(database.url)
    try:
        first, second = LeaderLock(database, "job-a"), LeaderLock(other, "job-a")
        unrelated = LeaderLock(other, "job-b")
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert await unrelated.try_acquire()
        assert await first.try_acquire()  # still the holder on its next round
        await first.release()
        assert await second.try_acquire()
        assert not await first.try_acquire()
        await second.release()
        await unrelated.release()
    finally:
        await other.dispose()


def _leading(registry: CollectorRegistry, job: str) -> float | None:
    return registry.get_sample_value("mc_leader", {"job": job})


async def test_the_leader_gauge_follows_each_campaign_and_release(database: Database) -> None:
    """``mc_leader{job}`` is how an operator (and the two-process test) sees who leads."""
    other = Database(database.url)
    mine, theirs = CollectorRegistry(), CollectorRegistry()
    try:
        first = LeaderLock(database, "job-gauge", LeaderMetrics(mine))
        second = LeaderLock(other, "job-gauge", LeaderMetrics(theirs))
        assert (_leading(mine, "job-gauge"), _leading(theirs, "job-gauge")) == (0.0, 0.0)
        assert await first.campaign()
        assert not await second.campaign()
        assert (_leading(mine, "job-gauge"), _leading(theirs, "job-gauge")) == (1.0, 0.0)
        await first.release()
        assert _leading(mine, "job-gauge") == 0.0
        assert await second.campaign()
        assert _leading(theirs, "job-gauge") == 1.0
        await second.release()
    finally:
        await other.dispose()


async def test_a_holder_whose_connection_was_ended_steps_down(postgresql_url: str) -> None:
    """The server ends the holder's connection (as a restart or pg_terminate_backend would):
    the lock is gone, another process takes it, and the old holder must not act as well."""
    database, other = Database(postgresql_url), Database(postgresql_url)
    try:
        first, second = LeaderLock(database, "job-lost"), LeaderLock(other, "job-lost")
        assert await first.try_acquire()
        key = lock_key("job-lost")
        async with other.engine.connect() as admin:
            ended = await admin.execute(
                text(
                    # With a timeout it waits until the backend is gone (and its lock freed).
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted "
                    "AND classid = ((CAST(:key AS bigint) >> 32) & 4294967295)::oid "
                    "AND objid = (CAST(:key AS bigint) & 4294967295)::oid"
                ),
                {"key": key},
            )
            assert ended.scalars().all() == [True]
        assert await second.try_acquire()
        assert not await first.try_acquire()
        assert not first.held
        await second.release()
        assert await first.try_acquire()  # campaigns again on a fresh connection
        await first.release()
    finally:
        await database.dispose()
        await other.dispose()


async def test_controller_loops_outlive_an_unreachable_database(
    postgresql_url: str, tmp_path: Path
) -> None:
    """PostgreSQL down when the loops campaign: each round is logged as a failed campaign and
    the loop keeps going at its interval instead of dying with the connection error."""
    url = make_url(postgresql_url).set(host="127.0.0.1", port=_closed_port())
    database = Database(url.render_as_string(hide_password=False))
    settings = Settings(
        auth_token=secrets.token_urlsafe(48),
        data_dir=tmp_path,
        database_url=database.url,
        reconciler_interval_seconds=0.05,
    )
    runtime = build_runtime(settings, database)
    stop = asyncio.Event()
    try:
        with capture_logs() as logs:
            loops = [
                asyncio.create_task(Governor(runtime, interval=0.05).run(stop)),
                asyncio.create_task(Reconciler(runtime).run(stop)),
            ]
            await asyncio.sleep(1.0)
            assert not any(loop.done() for loop in loops)
            stop.set()
            await asyncio.gather(*loops)  # a clean stop, no connection error raised
        failed = [entry for entry in logs if entry["event"] == "leader_campaign_failed"]
        jobs = {entry["job"] for entry in failed}
        assert jobs == {"heartbeat-governor", "provisioning-reconciler"}, jobs
        assert sum(1 for entry in failed if entry["job"] == "heartbeat-governor") >= 3
    finally:
        await runtime.gateway_pool.close()
        await database.dispose()
