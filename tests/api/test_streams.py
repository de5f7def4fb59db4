"""SSE streams on a real uvicorn server: a subscriber sees the events it may see and none it
may not, topics filter, resume with Last-Event-ID, agents on their own board only, and on
PostgreSQL an event committed by another engine (another process) arrives via LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from mission_control.app import build_runtime, create_app
from mission_control.core.db import Database
from mission_control.core.events import bus_for, emit
from mission_control.organizations.models import Role
from mission_control.settings import Settings
from tests.support import factories


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The app on a real uvicorn server on a free loopback port, in this event loop."""
    port = _free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers only this flag
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def live(app: FastAPI) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


class EventReader:
    """Reads Server-Sent Events (skipping keep-alive comments) from a streaming response."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self, timeout: float = 10.0) -> dict[str, Any]:
        fields: dict[str, str] = {}
        async with asyncio.timeout(timeout):
            async for line in self._lines:
                if not line:
                    if "data" in fields:
                        return {
                            "id": int(fields["id"]) if "id" in fields else None,
                            "event": fields["event"],
                            "data": json.loads(fields["data"]),
                        }
                    continue
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        raise AssertionError("stream ended")

    async def nothing_within(self, seconds: float) -> bool:
        try:
            await self.next(timeout=seconds)
        except TimeoutError:
            return True
        return False


@asynccontextmanager
async def stream(
    base: str, path: str, headers: dict[str, str], **params: str
) -> AsyncIterator[EventReader]:
    async with (
        httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(30.0)) as http,
        http.stream("GET", path, headers=headers, params=params) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventReader(response)


async def _post_memory(
    client: httpx.AsyncClient, board_id: object, headers: dict[str, str], content: str
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/boards/{board_id}/memory", json={"content": content}, headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_subscribers_see_only_what_they_may_read(
    client: httpx.AsyncClient, database: Database, live: str
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        granted = await factories.board(session, org, name="Granted")
        hidden = await factories.board(session, org, name="Hidden")
        owner = await factories.person(session, org, Role.OWNER)
        member = await factories.person(session, org, grants={granted.id: (True, False)})
        elsewhere = await factories.organization(session, "Elsewhere")
        foreign_board = await factories.board(session, elsewhere, name="Foreign")
        foreign_owner = await factories.person(session, elsewhere, Role.OWNER)
    async with (
        stream(live, "/api/v1/stream", member.headers) as member_events,
        stream(live, "/api/v1/stream", owner.headers) as owner_events,
    ):
        await _post_memory(client, hidden.id, owner.headers, "on the hidden board")
        await _post_memory(client, foreign_board.id, foreign_owner.headers, "other tenant")
        gateway = await client.post(
            "/api/v1/gateways",
            json={"name": "gw", "url": "ws://127.0.0.1:1", "workspace_root": "/srv/openclaw"},
            headers=owner.headers,
        )
        assert gateway.status_code == 201, gateway.text
        await _post_memory(client, granted.id, owner.headers, "on the granted board")

        # Events arrive in commit order: the member's first event is the last one written.
        seen = await member_events.next()
        assert seen["event"] == "memory.created"
        assert seen["data"]["board_id"] == str(granted.id)
        assert seen["data"]["data"]["content"] == "on the granted board"
        assert await member_events.nothing_within(0.5)

        # Creating a gateway also writes its gateway-main agent (agent.* events) and activity.
        owner_seen = [await owner_events.next()]
        while owner_seen[-1]["data"].get("board_id") != str(granted.id) and len(owner_seen) < 20:
            owner_seen.append(await owner_events.next())
        assert (owner_seen[0]["event"], owner_seen[0]["data"]["board_id"]) == (
            "memory.created",
            str(hidden.id),
        )
        assert (owner_seen[-1]["event"], owner_seen[-1]["data"]["board_id"]) == (
            "memory.created",
            str(granted.id),
        )
        middle = owner_seen[1:-1]
        assert {e["event"].split(".")[0] for e in middle} <= {"activity", "agent"}
        assert "gateway.created" in [
            e["data"]["data"].get("event_type") for e in middle if e["event"] == "activity.created"
        ]
        assert "agent.created" in [e["event"] for e in middle]
        assert all(e["data"]["organization_id"] == str(org.id) for e in owner_seen)
        assert await owner_events.nothing_within(0.5)

    denied = await client.get(f"/api/v1/boards/{hidden.id}/stream", headers=member.headers)
    assert denied.status_code == 403
    bad_topic = await client.get("/api/v1/stream?topics=weather", headers=member.headers)
    assert bad_topic.status_code == 422


async def test_resume_with_last_event_id_then_live(
    client: httpx.AsyncClient, database: Database, live: str
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        board = await factories.board(session, org)
        owner = await factories.person(session, org, Role.OWNER)
    path = f"/api/v1/boards/{board.id}/stream"
    async with stream(live, path, owner.headers, topics="memory") as events:
        for n in range(3):
            await _post_memory(client, board.id, owner.headers, f"item {n}")
        first = [await events.next() for _ in range(3)]
    assert [e["data"]["data"]["content"] for e in first] == ["item 0", "item 1", "item 2"]

    # Written while nobody listened: a webhook (activity, filtered out) and a memory item.
    webhook = await client.post(
        f"/api/v1/boards/{board.id}/webhooks", json={"name": "ci"}, headers=owner.headers
    )
    assert webhook.status_code == 201
    await _post_memory(client, board.id, owner.headers, "item 3")

    resumed_headers = {**owner.headers, "Last-Event-ID": str(first[0]["id"])}
    async with stream(live, path, resumed_headers, topics="memory") as events:
        replayed = [await events.next() for _ in range(3)]
        assert [e["data"]["data"]["content"] for e in replayed] == ["item 1", "item 2", "item 3"]
        assert [e["id"] for e in replayed[:2]] == [e["id"] for e in first[1:]]
        await _post_memory(client, board.id, owner.headers, "item 4")
        live_event = await events.next()
        assert live_event["data"]["data"]["content"] == "item 4"
        assert await events.nothing_within(0.5)

    # The query parameter works too (for EventSource clients that cannot set headers).
    async with stream(
        live, path, owner.headers, topics="memory", after=str(first[2]["id"])
    ) as events:
        contents = [(await events.next())["data"]["data"]["content"] for _ in range(2)]
        assert contents == ["item 3", "item 4"]


async def test_last_event_id_beyond_any_event_starts_from_now(
    client: httpx.AsyncClient, database: Database, live: str
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        board = await factories.board(session, org)
        owner = await factories.person(session, org, Role.OWNER)
    await _post_memory(client, board.id, owner.headers, "before")
    path = f"/api/v1/boards/{board.id}/stream"
    # Larger than a 64-bit event id: no event can follow it, so nothing is replayed.
    for huge in (str(2**63), str(10**40)):
        headers = {**owner.headers, "Last-Event-ID": huge}
        async with stream(live, path, headers, topics="memory") as events:
            await _post_memory(client, board.id, owner.headers, f"live {huge[:3]}")
            live_event = await events.next()
            assert live_event["data"]["data"]["content"] == f"live {huge[:3]}"


async def test_agents_stream_their_own_board_only(
    client: httpx.AsyncClient, database: Database, live: str
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        own = await factories.board(session, org, gw, name="Own")
        other = await factories.board(session, org, gw, name="Other")
        _, token = await factories.agent(session, gw, own, name="Worker")
        owner = await factories.person(session, org, Role.OWNER)
    agent_headers = {"X-Agent-Token": token}
    denied = await client.get(f"/api/v1/agent/boards/{other.id}/stream", headers=agent_headers)
    assert denied.status_code == 403
    async with stream(live, f"/api/v1/agent/boards/{own.id}/stream", agent_headers) as events:
        await _post_memory(client, other.id, owner.headers, "not yours")
        await _post_memory(client, own.id, owner.headers, "yours")
        seen = await events.next()
        assert seen["data"]["data"]["content"] == "yours"
        assert await events.nothing_within(0.5)


async def test_event_from_another_process_reaches_sse_subscribers(
    postgresql_url: str, tmp_path: Path
) -> None:
    """The server's Database and the writer's are different engines (as two processes would
    be); the event crosses through PostgreSQL LISTEN/NOTIFY, not the in-process bus."""
    server_db = Database(postgresql_url)
    writer = Database(postgresql_url)
    token = secrets.token_urlsafe(48)
    runtime = build_runtime(
        Settings(auth_token=token, data_dir=tmp_path, database_url=postgresql_url), server_db
    )
    try:
        async with writer.unit_of_work() as session:
            org = await factories.organization(session)
            board = await factories.board(session, org)
            owner = await factories.person(session, org, Role.OWNER)
        async with (
            serving(create_app(runtime=runtime)) as live,
            stream(live, f"/api/v1/boards/{board.id}/stream", owner.headers) as events,
        ):
            async with writer.unit_of_work() as session:
                emit(
                    session,
                    "task.created",
                    organization_id=org.id,
                    board_id=board.id,
                    data={"title": "from another process"},
                )
            seen = await events.next()
            assert seen["event"] == "task.created"
            assert seen["data"]["data"] == {"title": "from another process"}
    finally:
        await bus_for(server_db).stop()
        await writer.dispose()
        await server_db.dispose()


async def test_disconnected_clients_leave_the_bus(
    client: httpx.AsyncClient, database: Database, live: str
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        board = await factories.board(session, org)
        owner = await factories.person(session, org, Role.OWNER)
    bus = bus_for(database)
    before = bus.subscriber_count
    async with stream(live, f"/api/v1/boards/{board.id}/stream", owner.headers) as events:
        assert bus.subscriber_count == before + 1
        await _post_memory(client, board.id, owner.headers, "hello")
        assert (await events.next())["event"] == "memory.created"
    async with asyncio.timeout(5):
        while bus.subscriber_count != before:  # noqa: ASYNC110 - the server notices the close
            await asyncio.sleep(0.05)
