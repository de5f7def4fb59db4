"""The pool against a real gateway whose token changes under a live connection: the connection
that stopped reconnecting is dropped and a fresh one serves once the token matches again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from mission_control.gateway import GatewayAuthFailed
from mission_control.gateway.connection import ConnectionOptions
from mission_control.gateway.dev import DevGateway
from mission_control.gateway.pool import open_pool
from tests.gateway.conftest import target_for
from tests.support.dev_gateways import running_gateway

FAST_RECONNECT = ConnectionOptions(backoff_initial=0.05, backoff_max=0.5)


@pytest.fixture
def own_gateway(gateway_install: Path, tmp_path: Path) -> Iterator[DevGateway]:
    """A gateway of this test alone: the test restarts it with other tokens."""
    yield from running_gateway(gateway_install, tmp_path / "gateway")


def restart_with_token(gateway: DevGateway, token: str) -> None:
    gateway.stop()
    gateway.token = token
    gateway.start()


async def test_pool_replaces_a_connection_that_stopped_on_a_refused_token(
    own_gateway: DevGateway, tmp_path: Path
) -> None:
    token = own_gateway.token
    target = target_for(own_gateway, tmp_path / "device.pem")
    async with open_pool(FAST_RECONNECT) as pool:
        first = await pool.client(target)
        await first.health()

        await asyncio.to_thread(restart_with_token, own_gateway, token + "-rotated")
        with pytest.raises(GatewayAuthFailed):
            # Waits out the reconnects while the gateway restarts, until it refuses the token.
            await first.health(timeout=60.0)
        assert first.connection.closed
        with pytest.raises(GatewayAuthFailed):
            # A fresh attempt, refused the same way while the tokens differ.
            await pool.client(target)

        await asyncio.to_thread(restart_with_token, own_gateway, token)
        second = await pool.client(target)
        assert second is not first
        assert not second.connection.closed
        assert (await second.agents_list()).agents
        assert await pool.client(target) is second
        assert len(pool) == 1
