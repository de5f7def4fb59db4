"""Issue 11: a gateway that accepts the connection and never answers (hung, or a proxy in front
of a dead one) must not hold a request: each answers within REQUEST_BOUND with the work queued
and says so. Before, POST and PATCH /agents answered after 157 s."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable

import httpx
import pytest

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.db import Database
from mission_control.gateways.models import Gateway
from tests.support.actors import Actor, World, build_world

REQUEST_BOUND = 15.0  # the issue asks for about 10 s; slack for a loaded 2-core machine


@pytest.fixture
async def silent_url() -> AsyncIterator[str]:
    """A loopback listener that accepts TCP connections, reads, and never writes a byte."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def _silent_world(database: Database, url: str) -> World:
    async with database.unit_of_work() as session:
        built = await build_world(session)
        gateway = await session.get(Gateway, built.gateway.id)
        board = await session.get(Board, built.board.id)
        assert gateway is not None
        assert board is not None
        gateway.url = url
        board.max_agents = 10
    return built


async def _timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


async def test_every_request_answers_in_bounded_time_while_the_gateway_is_silent(
    client: httpx.AsyncClient, database: Database, silent_url: str
) -> None:
    w = await _silent_world(database, silent_url)
    admin = w.as_(Actor.ADMIN)

    created, took = await _timed(
        client.post(
            "/api/v1/agents", json={"name": "Patient", "board_id": str(w.board.id)}, headers=admin
        )
    )
    assert created.status_code == 201, created.text
    assert took < REQUEST_BOUND, took
    assert created.json()["provision_pending"] is True
    assert "reconciler applies this" in created.json()["next_step"]
    agent_id = created.json()["id"]

    updated, took = await _timed(
        client.patch(
            f"/api/v1/agents/{agent_id}", json={"heartbeat_config": {"every": "20m"}}, headers=admin
        )
    )
    assert updated.status_code == 200, updated.text
    assert took < REQUEST_BOUND, took
    assert updated.json()["provision_pending"] is True

    moved, took = await _timed(
        client.patch(f"/api/v1/gateways/{w.gateway.id}", json={"name": "silent-one"}, headers=admin)
    )
    assert moved.status_code == 200, moved.text
    assert took < REQUEST_BOUND, took
    status = moved.json()["status"]
    assert status["connected"] is False
    assert status["error"]["message"], status

    checked, took = await _timed(
        client.get(f"/api/v1/gateways/{w.gateway.id}/status", headers=admin)
    )
    assert checked.status_code == 200, checked.text
    assert took < REQUEST_BOUND, took
    assert checked.json()["connected"] is False

    deleted, took = await _timed(client.delete(f"/api/v1/agents/{agent_id}", headers=admin))
    assert deleted.status_code in (200, 202), deleted.text
    assert took < REQUEST_BOUND, took
    async with database.unit_of_work() as session:
        row = await session.get(Agent, uuid.UUID(agent_id))
        # Nothing lost: the agent is still there with its deletion queued for the reconciler.
        assert row is not None
        assert row.delete_requested_at is not None
