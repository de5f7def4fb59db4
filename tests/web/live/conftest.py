"""Console tests against a real gateway (Web console II): ONE OpenClaw gateway for the session
(its default model is the scripted model server), Mission Control served as its own process on
a real PostgreSQL database with its reconciler on (as an operator runs it), and the session's
headless Chromium. Per test: the tables are emptied; the gateway keeps running.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from playwright.async_api import Browser

from mission_control.core import migrations
from mission_control.core.db import Database
from mission_control.demo.model import (
    Credentials,
    HeartbeatScript,
    Reply,
    ScriptedModelServer,
    _last_real_user_index,
    message_text,
)
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.connection import GatewayConnection, GatewayTarget
from mission_control.gateway.dev import DevGateway
from mission_control.gateways.models import Gateway
from mission_control.organizations.models import Organization
from tests.e2e.gateway_setup import claimed_ports, use_scripted_model
from tests.gateway.conftest import gateway_install
from tests.runs.script import RunScript
from tests.support import factories
from tests.support.database import create_postgres_database, empty_all_tables
from tests.support.dev_gateways import running_gateway
from tests.support.mc_server import McServerError, McServerProcess
from tests.web.conftest import Console

__all__ = ["gateway_install"]

MODEL_ID = "scripted-console"
RUN_TIMEOUT_SECONDS = 90
RUN_MESSAGE = "# Task: "  # what a task run's first message holds (runs.executor.task_message)


class ConsoleScript(HeartbeatScript):
    """Heartbeats as HeartbeatScript; a task run's turns as the run tests' script."""

    def decide(self, request: Mapping[str, Any]) -> tuple[Reply, Credentials | None]:
        raw = request.get("messages")
        messages = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
        index = _last_real_user_index(messages)
        if index >= 0 and RUN_MESSAGE in message_text(messages[index]):
            return RunScript().decide(request)
        return super().decide(request)


@pytest.fixture(scope="session")
def live_gateway(
    gateway_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    """The session's one gateway (its own state dir: its model config must not leak)."""
    yield from running_gateway(gateway_install, tmp_path_factory.mktemp("openclaw-console"))


@pytest.fixture(scope="session")
def live_model(live_gateway: DevGateway) -> Iterator[ScriptedModelServer]:
    server = ScriptedModelServer(
        model_id=MODEL_ID,
        script=ConsoleScript(max_tool_calls_per_turn=3),
        avoid_ports=[claimed_ports(live_gateway)],
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def live_gateway_configured(
    live_gateway: DevGateway,
    live_model: ScriptedModelServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> DevGateway:
    """Points the gateway's default model at the scripted server (config.patch, no restart)."""
    target = GatewayTarget(
        url=live_gateway.url,
        token=live_gateway.token,
        identity_path=tmp_path_factory.mktemp("console-identity") / "device.json",
    )
    connection = GatewayConnection(target)
    await connection.connect()
    try:
        await use_scripted_model(
            GatewayClient(connection),
            live_model.base_url,
            MODEL_ID,
            run_timeout_seconds=RUN_TIMEOUT_SECONDS,
        )
    finally:
        await connection.close()
    return live_gateway


@pytest.fixture(scope="session")
def live_database_url(postgres_admin_url: str) -> str:
    url = asyncio.run(create_postgres_database(postgres_admin_url, "mc_console_live"))
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="session")
def live_server(
    live_database_url: str,
    live_gateway: DevGateway,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[McServerProcess]:
    """Mission Control as its own process, reconciler and governor on (the default)."""
    server = McServerProcess(
        database_url=live_database_url,
        data_dir=Path(tmp_path_factory.mktemp("console-live-mc")),
        operator_token=secrets.token_urlsafe(48),
        secret_key=Fernet.generate_key().decode("ascii"),
        avoid_ports=[claimed_ports(live_gateway)],
    )
    try:
        server.start()
    except McServerError as error:
        pytest.fail(f"Mission Control did not start: {error}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def live_database(live_database_url: str) -> AsyncIterator[Database]:
    database = Database(live_database_url)
    try:
        yield database
    finally:
        await database.dispose()


@dataclass
class LiveConsole:
    """The console helpers (``console``) plus the real gateway, the scripted model and the
    served Mission Control."""

    console: Console
    gateway: DevGateway
    model: ScriptedModelServer
    server: McServerProcess

    def workspace_root(self) -> str:
        return str(self.gateway.state_dir / "workspaces")

    async def board_on(self, gateway_id: uuid.UUID, name: str = "Launch") -> uuid.UUID:
        """A board of the operator's organisation on that gateway (rows, as tests/api does)."""
        organization: Organization = await self.console.operator_organization()
        async with self.console.database.unit_of_work() as session:
            gateway = await session.get(Gateway, gateway_id)
            assert gateway is not None
            board = await factories.board(session, organization, gateway, name=name)
            board.max_agents = 10
            return board.id


@pytest.fixture
async def live(
    live_server: McServerProcess,
    live_database: Database,
    live_gateway_configured: DevGateway,
    live_model: ScriptedModelServer,
    browser: Browser,
) -> AsyncIterator[LiveConsole]:
    await empty_all_tables(live_database)
    console = Console(
        base_url=live_server.base_url,
        operator_token=live_server.operator_token,
        database=live_database,
        browser=browser,
    )
    try:
        yield LiveConsole(console, live_gateway_configured, live_model, live_server)
    finally:
        for context in console.contexts:
            await context.close()
