"""Minting a token hashes it with PBKDF2; the hash must not stall the event loop meanwhile."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

import pytest

from mission_control.core.db import Database
from mission_control.core.security import hash_secret
from mission_control.organizations.models import Role
from mission_control.organizations.service import user_context
from mission_control.users.service import create_token
from tests.support import factories

TICK_SECONDS = 0.001


async def _longest_stall(work: Awaitable[Any]) -> float:
    """The longest the loop went without running a ticker that sleeps 1 ms, while ``work``
    was awaited."""
    loop = asyncio.get_running_loop()
    last = loop.time()
    longest = 0.0

    async def tick() -> None:
        nonlocal last, longest
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = loop.time()
            longest = max(longest, now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    last = loop.time()
    try:
        await work
    finally:
        ticker.cancel()
    return longest


def _hash_seconds() -> float:
    """How long one PBKDF2 hash takes here (the slowest of three, as the machine is shared)."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        hash_secret("a secret to time")
        timings.append(time.perf_counter() - started)
    return max(timings)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_loop_keeps_ticking_while_a_new_api_token_is_hashed(database: Database) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        person = await factories.person(session, org, Role.OWNER)
        context = await user_context(session, person.user, org.id)
        hash_seconds = _hash_seconds()
        stall = await _longest_stall(create_token(session, context, "laptop"))
    # On the loop, the hash would stall it for about hash_seconds; in a thread it barely does.
    assert stall < hash_seconds / 2, (stall, hash_seconds)
