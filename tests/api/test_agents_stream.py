"""The live agents stream (docs/agents.md#the-agents-stream) on a real uvicorn server: fed by
the event bus after commit, scoped by access (admins also see gateway-main agents), resumable
with Last-Event-ID, and a ``since`` catch-up when it opens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from mission_control.agents.models import Agent
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from tests.api.test_streams import serving, stream
from tests.support.actors import Actor, build_world

PATH = "/api/v1/agents/stream"


@pytest.fixture
async def live(app: FastAPI) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


async def _check_in(client: httpx.AsyncClient, headers: dict[str, str], status: str) -> None:
    answer = await client.post("/api/v1/agent/heartbeat", json={"status": status}, headers=headers)
    assert answer.status_code == 200, answer.text


async def test_agent_changes_reach_those_who_may_see_them(
    client: httpx.AsyncClient, database: Database, live: str
) -> None:
    async with database.unit_of_work() as session:
        w = await build_world(session)
    board = {"board_id": str(w.board.id)}
    async with (
        stream(live, PATH, w.as_(Actor.ADMIN)) as admin,
        stream(live, PATH, w.as_(Actor.MEMBER_READ), **board) as reader,
        stream(live, PATH, w.as_(Actor.MEMBER_NO_GRANT)) as outsider,
        stream(live, PATH, w.as_(Actor.OTHER_ORG_USER)) as foreigner,
    ):
        await _check_in(client, w.as_(Actor.BOARD_WORKER), "busy")
        seen = await admin.next()
        assert seen["event"] == "agent"
        assert seen["data"]["change"] == "updated"
        assert seen["data"]["agent"]["id"] == str(w.worker.id)
        assert seen["data"]["agent"]["status"] == "busy"
        assert (await reader.next())["id"] == seen["id"]

        await _check_in(client, w.as_(Actor.GATEWAY_MAIN), "online")
        main = await admin.next()
        assert main["data"]["agent"]["id"] == str(w.main.id)
        assert main["data"]["agent"]["is_gateway_main"] is True  # main agents stream too
        assert await reader.nothing_within(1.0)
        assert await outsider.nothing_within(0.5)
        assert await foreigner.nothing_within(0.5)

    # Resume after the first event: the main agent's change is replayed from the database.
    async with stream(
        live, PATH, {**w.as_(Actor.ADMIN), "Last-Event-ID": str(seen["id"])}
    ) as resumed:
        replayed = await resumed.next()
        assert replayed["id"] == main["id"]
        assert replayed["data"]["agent"]["id"] == str(w.main.id)


async def test_since_sends_recent_agents_once_then_live_events(
    client: httpx.AsyncClient, database: Database, live: str
) -> None:
    async with database.unit_of_work() as session:
        w = await build_world(session)
    since = (utcnow() - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    async with stream(live, PATH, w.as_(Actor.MEMBER_READ), since=since) as reader:
        first = await reader.next()
        second = await reader.next()
        assert {first["data"]["agent"]["name"], second["data"]["agent"]["name"]} == {
            "Matrix Lead",
            "Matrix Worker",
        }
        assert first["data"]["change"] == "snapshot"
        # Only the last catch-up frame carries the resume id: a client cut off before it
        # starts the catch-up again instead of skipping agents it has not seen.
        assert first["id"] is None
        assert second["id"] is not None
        await _check_in(client, w.as_(Actor.BOARD_LEAD), "online")
        live_event = await reader.next()
        # The next frame is the live change, not the snapshot again (no polling,
        # docs/agents.md#the-agents-stream).
        assert live_event["data"]["change"] == "updated"
        assert live_event["data"]["agent"]["id"] == str(w.lead.id)
        assert live_event["id"] > second["id"]


@pytest.mark.parametrize(
    "since", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "yesterday"]
)
async def test_since_out_of_range_or_invalid_means_now(
    client: httpx.AsyncClient, database: Database, live: str, since: str
) -> None:
    """An invalid ``since`` (here also one beyond datetime's range in UTC) starts the stream
    from now: no snapshot, just the live changes (docs/agents.md#catching-up-with-since)."""
    async with database.unit_of_work() as session:
        w = await build_world(session)
    async with stream(live, PATH, w.as_(Actor.MEMBER_READ), since=since) as reader:
        await _check_in(client, w.as_(Actor.BOARD_LEAD), "online")
        first = await reader.next()
        assert first["data"]["change"] == "updated"
        assert first["data"]["agent"]["id"] == str(w.lead.id)


async def test_deleted_agents_are_announced(
    client: httpx.AsyncClient, database: Database, live: str
) -> None:
    """Whatever flow removes an agent row, its readers hear of it (the ORM hook, not the
    route, announces changes)."""
    async with database.unit_of_work() as session:
        w = await build_world(session)
    async with stream(live, PATH, w.as_(Actor.ADMIN), board_id=str(w.board.id)) as admin:
        async with database.unit_of_work() as session:
            row = await session.get(Agent, w.worker.id)
            assert row is not None
            await session.delete(row)
        gone = await admin.next()
        assert gone["data"]["change"] == "deleted"
        assert gone["data"]["agent"]["id"] == str(w.worker.id)
        assert gone["data"]["agent"]["status"] == "deleted"
