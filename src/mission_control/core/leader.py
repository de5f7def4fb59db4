"""Leader election for background controllers: exactly one active per job kind.

PostgreSQL: a session-level advisory lock held on a dedicated connection (released when the
connection ends, so a crashed process frees it). The holder checks that connection before each
round of work: when the server ended it (restart, idle timeout, an administrator's
pg_terminate_backend) the lock is already gone, so the holder steps down and campaigns again
instead of acting beside the new leader. SQLite: one process owns the file, so an in-process
lock per database and job suffices.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from types import TracebackType

import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from mission_control.core.db import Database
from mission_control.core.metrics import LeaderMetrics

log = structlog.get_logger(__name__)

_local_holders: set[tuple[str, str]] = set()
_LIVENESS_TIMEOUT_SECONDS = 10.0


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a job name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class LeaderLock:
    """``metrics``, when given, shows this process's standing (``mc_leader{job}``) after every
    campaign and release, so an operator can see which process leads."""

    def __init__(self, database: Database, name: str, metrics: LeaderMetrics | None = None) -> None:
        self.database = database
        self.name = name
        self.metrics = metrics
        self._connection: AsyncConnection | None = None
        self._held = False
        self._show(False)

    def _show(self, leading: bool) -> None:
        if self.metrics is not None:
            self.metrics.set_leading(self.name, leading)

    @property
    def held(self) -> bool:
        return self._held

    async def try_acquire(self) -> bool:
        """True when this holder leads now: still holds the lock, or has just taken it."""
        if self._held and await self._still_held():
            return True
        if self.database.dialect != "postgresql":
            key = (self.database.url, self.name)
            if key in _local_holders:
                return False
            _local_holders.add(key)
            self._held = True
            return True
        connection = await self.database.engine.connect()
        try:
            result = await connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(self.name)}
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await connection.close()
            raise
        if result.scalar_one():
            await connection.commit()
            self._connection, self._held = connection, True
            return True
        await connection.close()
        return False

    async def campaign(self) -> bool:
        """``try_acquire`` for a controller loop: a database it cannot reach this round means
        not leading this round (logged), never an exception that would end the loop."""
        try:
            leading = await self.try_acquire()
        except Exception as exc:
            message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            log.warning("leader_campaign_failed", job=self.name, error=message)
            leading = False
        self._show(leading)
        return leading

    async def _still_held(self) -> bool:
        """PostgreSQL: the lock lives as long as its connection; prove the connection alive."""
        connection = self._connection
        if connection is None:
            return True
        try:
            await asyncio.wait_for(
                connection.execute(text("SELECT 1")), timeout=_LIVENESS_TIMEOUT_SECONDS
            )
            await connection.commit()
        except (DBAPIError, OSError, TimeoutError) as exc:
            log.warning("leader_lock_lost", job=self.name, error=str(exc).splitlines()[0])
            self._connection, self._held = None, False
            with contextlib.suppress(Exception):
                await connection.invalidate()
            with contextlib.suppress(Exception):
                await connection.close()
            return False
        return True

    async def release(self) -> None:
        if not self._held:
            return
        self._held = False
        self._show(False)
        if self._connection is None:
            _local_holders.discard((self.database.url, self.name))
            return
        connection, self._connection = self._connection, None
        try:
            await connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(self.name)}
            )
            await connection.commit()
        finally:
            await connection.close()

    async def __aenter__(self) -> LeaderLock:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.shield(self.release())
