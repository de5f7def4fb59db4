"""Leader election: one holder per job, and a holder whose lock vanished steps down."""

from __future__ import annotations

from sqlalchemy import text

from mission_control.core.db import Database
from mission_control.core.leader import LeaderLock, lock_key


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
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
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
