"""The heartbeat governor against a real OpenClaw gateway (its own, so the config is ours): an
idle board walks the ladder, the lead stops at its cap, a worker goes off, a chat message brings
everyone back, quiet ticks patch nothing, provisioning keeps the governed cadence, and a dead
gateway next to it blocks nothing."""

from __future__ import annotations

import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.app import build_runtime
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.dev import DevGateway
from mission_control.gateways.models import Gateway
from mission_control.governor.service import EVENT_TYPE, Governor, TickReport
from mission_control.memory.models import BoardMemory
from mission_control.organizations.models import OrganizationMember, Role
from mission_control.provisioning import service
from mission_control.provisioning.context import agent_ref
from mission_control.provisioning.identities import gateway_agent_id
from mission_control.provisioning.sync import sync_templates
from mission_control.settings import Settings
from mission_control.users.models import User
from tests.support import factories
from tests.support.database import empty_all_tables
from tests.support.dev_gateways import config_patch_count, running_gateway

pytestmark = pytest.mark.gateway


@pytest.fixture(scope="module")
def gateway(
    gateway_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    yield from running_gateway(gateway_install, tmp_path_factory.mktemp("openclaw-governor"))


@pytest.fixture
async def runtime(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    database = Database(sqlite_url)
    await empty_all_tables(database)
    settings = Settings(
        auth_token=secrets.token_urlsafe(48),
        data_dir=tmp_path,
        database_url=sqlite_url,
        base_url="http://127.0.0.1:9/",
        governor_enabled=True,  # provisioning honours the governor's state only when it runs
    )
    runtime = build_runtime(settings, database)
    yield runtime
    await runtime.gateway_pool.close()
    await empty_all_tables(database)
    await database.dispose()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class World:
    gateway_id: uuid.UUID
    dead_gateway_id: uuid.UUID
    board_id: uuid.UUID
    lead: str
    worker: str
    worker_id: uuid.UUID
    agent_ids: list[uuid.UUID] = field(default_factory=list)


async def _world(runtime: Runtime, gw: DevGateway) -> World:
    """A lead and a worker on one board of the real gateway; an agent on a dead gateway."""
    async with runtime.database.unit_of_work() as session:
        org = await factories.organization(session)
        owner = User(auth_subject=f"t:{uuid.uuid4().hex}", name="Ana Lopez", email="ana@x.io")
        session.add(owner)
        await session.flush()
        session.add(OrganizationMember(organization_id=org.id, user_id=owner.id, role=Role.OWNER))
        row = Gateway(
            organization_id=org.id,
            name="edge",
            url=gw.url,
            token_ciphertext=runtime.secrets.encrypt(gw.token),
            workspace_root=str(gw.state_dir / "workspaces"),
        )
        dead = Gateway(
            organization_id=org.id,
            name="dead",
            url=f"ws://127.0.0.1:{_closed_port()}",
            workspace_root="/srv/nowhere",
        )
        session.add_all([row, dead])
        await session.flush()
        board = await factories.board(session, org, row, name="Quiet")
        dead_board = await factories.board(session, org, dead, name="Unreachable")
        await factories.agent(session, dead, dead_board, name="Stranded")
        ids = {}
        for name, lead in (("Quiet Lead", True), ("Quiet Worker", False)):
            agent = Agent(
                gateway_id=row.id,
                board_id=board.id,
                name=name,
                name_key=name.lower(),
                is_board_lead=lead,
            )
            session.add(agent)
            service.request_apply(agent, "provision")
            await session.flush()
            ids[name] = agent
        lead_gid = gateway_agent_id(agent_ref(ids["Quiet Lead"]))
        worker_gid = gateway_agent_id(agent_ref(ids["Quiet Worker"]))
        world = World(row.id, dead.id, board.id, lead_gid, worker_gid, ids["Quiet Worker"].id)
        world.agent_ids = [agent.id for agent in ids.values()]
    return world


async def _client(runtime: Runtime, gateway_id: uuid.UUID) -> GatewayClient:
    async with runtime.database.unit_of_work() as session:
        row = await session.get(Gateway, gateway_id)
        assert row is not None
    return await runtime.gateway_pool.client(runtime.gateway_target(row))


async def _entries(client: GatewayClient) -> dict[str, Any]:
    entries: dict[str, Any] = (await client.config_get()).config["agents"]["entries"]
    return entries


async def _cadence(client: GatewayClient, world: World) -> tuple[str | None, str | None]:
    entries = await _entries(client)
    return entries[world.lead]["heartbeat"]["every"], entries[world.worker]["heartbeat"]["every"]


async def _tick(
    governor: Governor, gw: DevGateway, world: World, now: datetime
) -> tuple[TickReport, int]:
    before = config_patch_count(gw)
    report = await governor.run_once(now)
    assert report.failed.keys() == {world.dead_gateway_id}  # the dead one fails, alone
    return report, config_patch_count(gw) - before


async def test_idle_board_walks_the_ladder_and_chat_brings_it_back(
    runtime: Runtime, gateway: DevGateway
) -> None:
    world = await _world(runtime, gateway)
    client = await _client(runtime, world.gateway_id)
    # The operator's default agent beats implicitly; the governor must never silence it.
    await client.config_patch_fresh({"agents": {"defaults": {"heartbeat": {"every": "30m"}}}})
    for agent_id in world.agent_ids:
        outcome = await service.apply_agent(runtime, agent_id, service.ApplyOptions(wake=False))
        assert outcome.ok, outcome.error
    main_before = (await _entries(client))["main"]
    assert await _cadence(client, world) == ("10m", "10m")

    governor = Governor(runtime)
    t0 = utcnow()
    walked: list[tuple[str | None, str | None]] = []
    for minutes in (0, 10, 40, 100, 280, 640):
        report, patches = await _tick(governor, gateway, world, t0 + timedelta(minutes=minutes))
        walked.append(await _cadence(client, world))
        # One config.patch when a cadence moved, none when it did not (10m -> 10m at first).
        assert patches == (1 if report.changed else 0), (minutes, report)
        assert (world.gateway_id in report.patched) == bool(report.changed)
    assert walked == [
        ("10m", "10m"),
        ("30m", "30m"),
        ("1h", "1h"),
        ("1h", "3h"),  # the lead stops at its 1h cap
        ("1h", "6h"),
        ("1h", "0m"),  # the worker is off in the gateway's own form; the lead never is
    ]
    cadences = await client.heartbeat_cadences()
    assert cadences[world.worker] is None
    assert cadences[world.lead] == "1h"
    assert cadences["main"] == "30m"
    assert (await _entries(client))["main"] == main_before

    # Nothing changes: two more ticks, zero config.patch calls.
    for minutes in (700, 760):
        report, patches = await _tick(governor, gateway, world, t0 + timedelta(minutes=minutes))
        assert patches == 0
        assert report.changed == []
        assert report.unchanged == [world.gateway_id]

    # Update, template sync: the governed cadence survives, and nothing is patched
    # (docs/governor.md#provisioning-keeps-the-governed-cadence).
    before = config_patch_count(gateway)
    updated = await service.apply_agent(
        runtime, world.worker_id, service.ApplyOptions(action="update", wake=False)
    )
    assert updated.ok, updated.error
    assert not updated.config_patched
    synced = await sync_templates(runtime, world.gateway_id)
    assert synced.agents_updated == 2, synced.errors
    assert not synced.config_patched
    assert config_patch_count(gateway) == before
    assert await _cadence(client, world) == ("1h", "0m")

    # A chat message on the board: back to the active cadence on the next tick, in one patch.
    chat_at = t0 + timedelta(minutes=765)
    async with runtime.database.unit_of_work() as session:
        session.add(
            BoardMemory(
                board_id=world.board_id, content="wake up", is_chat=True, created_at=chat_at
            )
        )
    report, patches = await _tick(governor, gateway, world, t0 + timedelta(minutes=766))
    assert patches == 1
    assert await _cadence(client, world) == ("5m", "5m")
    assert (await client.heartbeat_cadences())[world.worker] == "5m"
    assert (await _entries(client))["main"] == main_before

    async with runtime.database.unit_of_work() as session:
        events = list(
            await session.scalars(
                select(ActivityEvent)
                .where(ActivityEvent.event_type == EVENT_TYPE)
                .order_by(ActivityEvent.created_at)
            )
        )
    worker_path = [e.details["to"] for e in events if e.agent_id == world.worker_id and e.details]
    assert worker_path == ["30m", "1h", "3h", "6h", None, "5m"]
