"""Convergence is a guarantee (issue 11): fault injection on a real gateway with the scripted
model, against Mission Control served as its own process (its reconciler on).

- 10 concurrent creates, SIGKILL of the gateway mid-provisioning, restart on the same port and
  state dir: every agent online, none lost, none duplicated on the gateway, none pending.
- The same with a SIGKILL of Mission Control instead, restarted on the same port.
- A wrong gateway token fixed by PATCH: the queued agents converge without further action.
- A model failure on the gateway reaches the agent's error and its activity in words.
The two kills run on SQLite and on PostgreSQL.

Each timing is printed (the figure for the issue note). The issue's goal is 60 s after the
restart; CONVERGE_SECONDS, the bound asserted, is looser because on a loaded shared 2-core
machine the gateway alone takes 10-70 s per agents.create and over a minute to restart.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mission_control.agents.models import Agent
from mission_control.core.db import Database
from mission_control.demo.model import (
    Credentials,
    HeartbeatScript,
    Reply,
    ScriptedModelServer,
    _last_real_user_index,
    message_text,
)
from mission_control.gateway import GatewayClient, GatewayConnection, GatewayTarget
from mission_control.gateway.connection import ConnectionOptions
from mission_control.gateway.dev import DevGateway
from tests.support import fleet
from tests.support.database import create_postgres_database
from tests.support.mc_server import McServerProcess

pytestmark = [pytest.mark.gateway, pytest.mark.timeout(900)]

FLEET = 10
CONVERGE_SECONDS = 240.0


@pytest.fixture(scope="module")
def fault_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevGateway]:
    gateway = fleet.start_gateway(tmp_path_factory.mktemp("faults-gw"), "current")
    gateway.ready_timeout = 300.0  # a restart on a loaded 2-core machine can take minutes
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="module")
async def fault_model(
    fault_gateway: DevGateway, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ScriptedModelServer]:
    model = fleet.start_model(fault_gateway)
    try:
        await fleet.configure_model(
            fault_gateway, model, tmp_path_factory.mktemp("faults-id") / "probe.json"
        )
        yield model
    finally:
        model.stop()


@dataclass
class Served:
    server: McServerProcess
    world: fleet.FleetWorld
    http: httpx.AsyncClient
    database_url: str


async def _serve(
    database_url: str, data_dir: Path, gateway: DevGateway, *, token: str | None = None
) -> Served:
    operator, key = fleet.new_secrets()
    await asyncio.to_thread(fleet.migrate, database_url)
    world = await fleet.seed_world(database_url, key, gateway, token=token)
    server = fleet.mc_process(database_url, data_dir, operator, key, gateway)
    server.keep_port = True
    await asyncio.to_thread(server.start)
    http = httpx.AsyncClient(base_url=server.base_url, timeout=30.0)
    return Served(server, world, http, database_url)


async def _close(served: Served) -> None:
    await served.http.aclose()
    await asyncio.to_thread(served.server.stop)


async def _converged(
    served: Served, gateway: DevGateway, expected: set[uuid.UUID], timeout: float
) -> float:
    """Polls until every expected agent is online with nothing pending; returns the seconds
    it took. Fails naming the agents that did not get there."""
    started = time.monotonic()
    items: list[dict[str, object]] = []
    while time.monotonic() - started < timeout:
        try:
            items = await fleet.list_agents(served.http, served.world)
        except httpx.TransportError:
            items = []
        done = {
            uuid.UUID(str(a["id"]))
            for a in items
            if a["status"] == "online" and not a["provision_pending"]
        }
        if expected <= done:
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    stuck = [
        (a["name"], a["status"], a["provision_pending"], a["last_provision_error"])
        for a in items
        if uuid.UUID(str(a["id"])) in expected and a["status"] != "online"
    ]
    pytest.fail(
        f"not converged within {timeout:.0f} s: {stuck}\n"
        f"Mission Control log:\n{served.server.log_tail(chars=3000)}"
    )


async def _gateway_ids(gateway: DevGateway, identity: Path) -> list[str]:
    connection = GatewayConnection(
        GatewayTarget(url=gateway.url, token=gateway.token, identity_path=identity),
        ConnectionOptions(request_timeout=60.0),
    )
    await connection.connect()
    try:
        client = GatewayClient(connection)
        config = (await client.config_get()).config
        listed = [a.id for a in (await client.agents_list()).agents if a.id.startswith("mc-")]
    finally:
        await connection.close()
    return fleet.gateway_agent_ids(config) + [f"listed:{agent_id}" for agent_id in listed]


async def _assert_exactly_once(
    gateway: DevGateway, identity: Path, expected: set[uuid.UUID], served: Served
) -> None:
    ids = await _gateway_ids(gateway, identity)
    wanted = {f"mc-{agent_id}" for agent_id in expected}
    configured = [i for i in ids if not i.startswith("listed:")]
    listed = [i.removeprefix("listed:") for i in ids if i.startswith("listed:")]
    assert wanted <= set(configured)
    assert all(configured.count(i) == 1 for i in wanted), configured  # none duplicated
    assert all(listed.count(i) == 1 for i in wanted), listed
    items = await fleet.list_agents(served.http, served.world)
    assert {uuid.UUID(str(a["id"])) for a in items} == expected  # none lost, none extra


async def _mid_provisioning(served: Served, created: set[uuid.UUID]) -> None:
    """Waits until the reconciler holds the fleet's apply leases (its batch is running on the
    gateway) and has not yet applied all of it."""
    database = Database(served.database_url)
    try:
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            async with database.sessions() as session:
                rows = (
                    await session.execute(
                        select(
                            Agent.provision_lease_owner, Agent.generation, Agent.applied_generation
                        ).where(Agent.id.in_(created))
                    )
                ).all()
            pending = [row for row in rows if row.generation > row.applied_generation]
            if any(row.provision_lease_owner for row in pending):
                return
            if rows and not pending:
                pytest.fail("the whole fleet provisioned before the fault could be injected")
            await asyncio.sleep(0.05)
        pytest.fail("provisioning did not start within 60 s")
    finally:
        await database.dispose()


async def _create_fleet(served: Served) -> set[uuid.UUID]:
    started = time.monotonic()
    answers = await fleet.create_agents_concurrently(served.http, served.world, FLEET)
    took = time.monotonic() - started
    assert [a.status_code for a in answers] == [201] * FLEET, [a.text for a in answers]
    assert all(a.json()["provision_pending"] for a in answers)
    print(f"{FLEET} concurrent creates answered in {took:.2f} s")
    return {uuid.UUID(a.json()["id"]) for a in answers}


async def _database_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh database of ``kind`` for one served Mission Control."""
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'mc.db'}"
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    return await create_postgres_database(admin_url, f"mc_faults_{uuid.uuid4().hex[:8]}")


async def _kill_and_restart(victim: str, served: Served, gateway: DevGateway) -> None:
    """SIGKILL of the gateway or of Mission Control, then a restart on the same port (the
    gateway keeps its state dir; Mission Control's port keeps the agents' URL valid)."""
    if victim == "gateway":
        await asyncio.to_thread(fleet.kill_gateway, gateway)
        await asyncio.sleep(1.0)  # the crash is noticed by Mission Control's connection
        await asyncio.to_thread(gateway.start)
    else:
        await asyncio.to_thread(served.server.kill)
        await asyncio.to_thread(served.server.start)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("victim", ["gateway", "mission_control"])
async def test_killed_mid_provisioning_converges(
    victim: str,
    kind: str,
    fault_gateway: DevGateway,
    fault_model: ScriptedModelServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    served = await _serve(
        await _database_url(kind, tmp_path, request), tmp_path / "mc", fault_gateway
    )
    try:
        created = await _create_fleet(served)
        await _mid_provisioning(served, created)
        await _kill_and_restart(victim, served, fault_gateway)
        took = await _converged(served, fault_gateway, created, CONVERGE_SECONDS)
        print(f"{victim} SIGKILL ({kind}): {FLEET} agents online {took:.1f} s after the restart")
        await _assert_exactly_once(fault_gateway, tmp_path / "id.json", created, served)
    finally:
        await _close(served)


async def test_wrong_gateway_token_fixed_by_patch_converges(
    fault_gateway: DevGateway, fault_model: ScriptedModelServer, tmp_path: Path
) -> None:
    served = await _serve(
        f"sqlite+aiosqlite:///{tmp_path / 'mc.db'}",
        tmp_path / "mc",
        fault_gateway,
        token="not-the-gateway-token",
    )
    try:
        answers = await fleet.create_agents_concurrently(served.http, served.world, 3)
        assert [a.status_code for a in answers] == [201] * 3
        created = {uuid.UUID(a.json()["id"]) for a in answers}
        deadline = time.monotonic() + 60.0
        while True:  # the reconciler tried and says why it cannot apply them
            items = await fleet.list_agents(served.http, served.world)
            errors = [str(a["last_provision_error"] or "") for a in items]
            if all(errors) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert all(errors), errors
        assert all(a["provision_pending"] for a in items)
        fixed = await served.http.patch(
            f"/api/v1/gateways/{served.world.gateway_id}",
            json={"token": fault_gateway.token},
            headers=served.world.headers,
            timeout=120.0,
        )
        assert fixed.status_code == 200, fixed.text
        took = await _converged(served, fault_gateway, created, CONVERGE_SECONDS)
        print(f"wrong token fixed by PATCH: 3 agents online {took:.1f} s after the fix")
    finally:
        await _close(served)


BROKEN = "Brokenmodel"
MODEL_ERROR = "scripted provider outage: quota exhausted for this key"
WAKE_FAILED = f"Wake turn ended in error for {BROKEN}: "


class FailForBroken(HeartbeatScript):
    """The model call fails (HTTP 400 with MODEL_ERROR) for turns addressed to BROKEN."""

    def decide(self, request: Mapping[str, Any]) -> tuple[Reply, Credentials | None]:
        raw = request.get("messages")
        messages = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
        index = _last_real_user_index(messages)
        if index >= 0 and BROKEN in message_text(messages[index]):
            return Reply("error", MODEL_ERROR), None
        return super().decide(request)


async def test_model_failure_reaches_the_agents_error_and_activity_in_words(
    fault_gateway: DevGateway, fault_model: ScriptedModelServer, tmp_path: Path
) -> None:
    served = await _serve(
        f"sqlite+aiosqlite:///{tmp_path / 'mc.db'}", tmp_path / "mc", fault_gateway
    )
    original = fault_model.script
    fault_model.script = FailForBroken(max_tool_calls_per_turn=original.max_tool_calls_per_turn)
    try:
        created = await served.http.post(
            "/api/v1/agents",
            json={"name": BROKEN, "board_id": str(served.world.board_id)},
            headers=served.world.headers,
        )
        assert created.status_code == 201, created.text
        agent_id = created.json()["id"]
        deadline = time.monotonic() + CONVERGE_SECONDS
        agent: dict[str, Any] = {}
        while time.monotonic() < deadline:
            read = await served.http.get(f"/api/v1/agents/{agent_id}", headers=served.world.headers)
            agent = read.json()
            if str(agent.get("last_provision_error") or "").startswith(WAKE_FAILED):
                break
            await asyncio.sleep(0.5)
        error = str(agent.get("last_provision_error") or "")
        assert error.startswith(WAKE_FAILED), (agent, served.server.log_tail(chars=3000))
        # The gateway's own words for the provider's refusal, and what happens next.
        assert "LLM request failed" in error, error
        assert "woken again in" in error or "retries are used up" in error, error
        assert agent["status"] != "online"
        events = await served.http.get(
            "/api/v1/activity",
            params={"agent_id": agent_id, "event_type": "agent.wakeup.failed"},
            headers=served.world.headers,
        )
        assert events.status_code == 200, events.text
        messages = [item["message"] for item in events.json()["items"]]
        assert any("LLM request failed" in message for message in messages), messages
    finally:
        fault_model.script = original
        await _close(served)
