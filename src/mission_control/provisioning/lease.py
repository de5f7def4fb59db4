"""The apply lease on an agent row: the one claim that lets a worker (a request, the reconciler,
a template sync, in any process) apply the agent; taken by one conditional UPDATE, renewed
while held, released when done."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.core.logging import get_logger
from mission_control.provisioning import repository

log = get_logger("mission_control.provisioning.lease")

LEASE_SECONDS = 30.0
RENEW_SECONDS = 10.0


def new_owner(kind: str) -> str:
    """A lease owner id no other worker shares (fits the 64-character column)."""
    return f"{kind}-{uuid.uuid4().hex[:16]}"


async def claim(database: Database, agent_id: uuid.UUID, owner: str) -> bool:
    """True when ``owner`` holds the agent's lease now (free, lapsed, or already its own)."""
    now = utcnow()
    async with database.unit_of_work() as session:
        return await repository.claim(
            session, agent_id, owner, now, now + timedelta(seconds=LEASE_SECONDS)
        )


async def release(database: Database, agent_id: uuid.UUID, owner: str) -> None:
    async with database.unit_of_work() as session:
        await repository.release(session, agent_id, owner)


async def _keep(database: Database, agent_id: uuid.UUID, owner: str) -> None:
    while True:
        await asyncio.sleep(RENEW_SECONDS)
        try:
            await claim(database, agent_id, owner)
        except Exception:  # a missed renewal shortens the lease; the next one may succeed
            log.exception("lease_renew_failed", agent_id=str(agent_id))


@asynccontextmanager
async def held(database: Database, agent_id: uuid.UUID, kind: str) -> AsyncIterator[bool]:
    """Yields whether this worker holds the agent's lease; while it does, the lease is renewed,
    and it is released on the way out."""
    owner = new_owner(kind)
    if not await claim(database, agent_id, owner):
        yield False
        return
    keeper = asyncio.get_running_loop().create_task(_keep(database, agent_id, owner))
    try:
        yield True
    finally:
        keeper.cancel()
        with suppress(asyncio.CancelledError):
            await keeper
        await release(database, agent_id, owner)
