"""Run tests: one real gateway for the session (its default agent on the scripted model),
Mission Control in-process on a migrated SQLite database, and a fresh board world per test."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from mission_control.agents.models import Agent
from mission_control.app import build_runtime, create_app
from mission_control.boards.models import Board
from mission_control.core.runtime import Runtime
from mission_control.demo.model import ScriptedModelServer
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.connection import GatewayTarget
from mission_control.gateway.dev import DevGateway
from mission_control.gateways.models import Gateway
from mission_control.organizations.models import Role
from mission_control.runs.executor import RunManager, Timing, manager_for
from mission_control.runs.models import TaskRun, TaskRunLogEntry
from mission_control.settings import Settings
from mission_control.tasks.models import Task
from tests.e2e.gateway_setup import claimed_ports, use_scripted_model
from tests.gateway.conftest import gateway_install
from tests.runs.script import RunScript
from tests.support import factories
from tests.support.dev_gateways import running_gateway
from tests.support.factories import Person

__all__ = ["gateway_install"]

MODEL_ID = "scripted-run"
FAST = Timing(lease_seconds=6.0, scan_seconds=1.0, poll_seconds=0.5, unknown_grace_seconds=8.0)


@pytest.fixture(scope="session")
def runs_gateway(
    gateway_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    yield from running_gateway(gateway_install, tmp_path_factory.mktemp("openclaw-runs"))


@pytest.fixture(scope="session")
def runs_model(runs_gateway: DevGateway) -> Iterator[ScriptedModelServer]:
    server = ScriptedModelServer(
        model_id=MODEL_ID, script=RunScript(), avoid_ports=[claimed_ports(runs_gateway)]
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def runs_runtime(
    sqlite_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Runtime]:
    settings = Settings(
        auth_token=secrets.token_urlsafe(48),
        data_dir=tmp_path_factory.mktemp("runs-mc"),
        database_url=sqlite_url,
        reconciler_enabled=False,
    )
    runtime = build_runtime(settings)
    fast_manager(runtime)
    try:
        yield runtime
    finally:
        await manager_for(runtime).close()
        await runtime.gateway_pool.close()
        await runtime.database.dispose()


async def configure_gateway(
    runtime: Runtime, gateway: DevGateway, model: ScriptedModelServer
) -> GatewayClient:
    target = GatewayTarget(
        url=gateway.url, token=gateway.token, identity_path=runtime.device_identity_path
    )
    client = await runtime.gateway_pool.client(target)
    await use_scripted_model(client, model.base_url, MODEL_ID, run_timeout_seconds=90)
    return client


@pytest.fixture(scope="session")
async def runs_client(
    runs_runtime: Runtime, runs_gateway: DevGateway, runs_model: ScriptedModelServer
) -> GatewayClient:
    return await configure_gateway(runs_runtime, runs_gateway, runs_model)


@pytest.fixture(scope="session")
async def http(runs_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime=runs_runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://mc.test") as client:
        yield client


@dataclass
class World:
    board: Board
    gateway: Gateway
    writer: Person
    reader: Person
    worker: Agent
    worker_token: str
    lead: Agent
    lead_token: str
    other: Agent
    other_token: str

    def runs_url(self, task_id: uuid.UUID) -> str:
        return f"/api/v1/boards/{self.board.id}/tasks/{task_id}/runs"

    def agent_runs_url(self, task_id: uuid.UUID) -> str:
        return f"/api/v1/agent/boards/{self.board.id}/tasks/{task_id}/runs"

    @property
    def policy_url(self) -> str:
        return f"/api/v1/boards/{self.board.id}/run-policy"


async def make_world(
    runtime: Runtime,
    gateway: DevGateway | None = None,
    gateway_agent: str = "main",
    *,
    url: str | None = None,
    token: str | None = None,
) -> World:
    """An organisation whose gateway row points at ``gateway``; the worker is the gateway's
    ``gateway_agent`` (its main session is the runs' parent)."""
    async with runtime.database.unit_of_work() as session:
        org = await factories.organization(session, f"Runs {uuid.uuid4().hex[:6]}")
        gw = await factories.gateway(session, org, name=f"gw-{uuid.uuid4().hex[:6]}")
        gw.url = gateway.url if gateway else str(url)
        gw.token_ciphertext = runtime.secrets.encrypt(gateway.token if gateway else str(token))
        board = await factories.board(session, org, gw, name="Runs")
        writer = await factories.person(session, org, Role.MEMBER, grants={board.id: (True, True)})
        reader = await factories.person(session, org, Role.MEMBER, grants={board.id: (True, False)})
        worker, worker_token = await factories.agent(session, gw, board, name="Runner")
        worker.openclaw_session_id = f"agent:{gateway_agent}:main"
        lead, lead_token = await factories.agent(session, gw, board, name="Lead", lead=True)
        lead.openclaw_session_id = f"agent:{gateway_agent}:lead-{uuid.uuid4().hex[:6]}"
        other, other_token = await factories.agent(session, gw, board, name="Other")
        other.openclaw_session_id = f"agent:{gateway_agent}:other-{uuid.uuid4().hex[:6]}"
    return World(
        board, gw, writer, reader, worker, worker_token, lead, lead_token, other, other_token
    )


@pytest.fixture
async def world(
    runs_runtime: Runtime, runs_gateway: DevGateway, runs_client: GatewayClient
) -> World:
    return await make_world(runs_runtime, runs_gateway)


async def make_task(
    runtime: Runtime, world: World, title: str, *, assignee: Agent | None = None
) -> Task:
    async with runtime.database.unit_of_work() as session:
        task = Task(
            board_id=world.board.id,
            title=title,
            description="Do it carefully.",
            assigned_agent_id=(assignee or world.worker).id,
        )
        session.add(task)
        await session.flush()
        session.expunge(task)
    return task


async def wait_run(
    runtime: Runtime, run_id: uuid.UUID | str, statuses: set[str], timeout: float = 240.0
) -> TaskRun:
    run_id = uuid.UUID(str(run_id))
    deadline = time.monotonic() + timeout
    while True:
        async with runtime.database.sessions() as session:
            run = await session.get(TaskRun, run_id)
            assert run is not None
            if run.status in statuses:
                session.expunge(run)
                return run
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} still {run.status} after {timeout}s (wanted {statuses})")
        await asyncio.sleep(0.2)


def fast_manager(runtime: Runtime) -> RunManager:
    """The runtime's run manager with short leases and scans, its supervisor running (what
    the app's lifespan does)."""
    manager = manager_for(runtime)
    manager.timing = FAST
    manager.start_supervisor()
    return manager


async def wait_log(
    runtime: Runtime, run_id: uuid.UUID | str, text: str, timeout: float = 240.0
) -> None:
    """Until the run's log has an entry containing ``text``."""
    run_id = uuid.UUID(str(run_id))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with runtime.database.sessions() as session:
            rows = await session.execute(
                select(TaskRunLogEntry.text).where(TaskRunLogEntry.run_id == run_id)
            )
            if any(text in row for row in rows.scalars()):
                return
        await asyncio.sleep(0.2)
    pytest.fail(f"run {run_id} logged nothing with {text!r} in {timeout}s")


async def ledger_runs(client: GatewayClient, session_key: str) -> list[str]:
    """The agent-run ids the gateway's ledger recorded for a session."""
    return [t.run_id or "" for t in await client.ledger_tasks(session_key) if t.kind == "cli"]
