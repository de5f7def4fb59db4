"""End-to-end wiring, once per session: a real OpenClaw gateway (its own, since its default model
is changed), the scripted model server, and Mission Control served over real HTTP by a separate
uvicorn process on a migrated SQLite database. The test process provisions with Mission
Control's own engine through a Runtime on the same database and secret key.

Every server listens on a free loopback port outside the gateway's claimed range and is stopped
by its own handle at the end of the session.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from mission_control.app import build_runtime
from mission_control.core import migrations
from mission_control.core.runtime import Runtime
from mission_control.demo.model import HeartbeatScript, ScriptedModelServer
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.connection import GatewayTarget
from mission_control.gateway.dev import DevGateway, DevGatewayError, start_dev_gateway
from mission_control.settings import Settings
from tests.e2e.gateway_setup import claimed_ports, use_scripted_model
from tests.gateway.conftest import gateway_install  # the pinned install, shared
from tests.support.mc_server import McServerError, McServerProcess

__all__ = ["gateway_install"]

MODEL_ID = "scripted-heartbeat"
# A wake turn must end well inside the test's check-in timeout.
RUN_TIMEOUT_SECONDS = 90


@dataclass
class E2ETimings:
    """Figures printed at the end of the run (for the note, not asserted)."""

    lines: list[str] = field(default_factory=list)


TIMINGS_KEY = pytest.StashKey[E2ETimings]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[TIMINGS_KEY] = E2ETimings()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    timings = terminalreporter.config.stash.get(TIMINGS_KEY, None)
    if timings and timings.lines:
        terminalreporter.section("end-to-end timings")
        for line in timings.lines:
            terminalreporter.write_line(line)


@pytest.fixture
def e2e_timings(request: pytest.FixtureRequest) -> E2ETimings:
    return request.config.stash[TIMINGS_KEY]


@dataclass(frozen=True)
class E2ESecrets:
    operator_token: str = field(repr=False)
    secret_key: str = field(repr=False)


@pytest.fixture(scope="session")
def e2e_secrets() -> E2ESecrets:
    return E2ESecrets(
        operator_token=secrets.token_urlsafe(48), secret_key=Fernet.generate_key().decode()
    )


@pytest.fixture(scope="session")
def e2e_gateway(
    gateway_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    """This session's own current gateway: the e2e config (a default model, exec without
    prompts) must not leak into the gateway contract tests."""
    state_dir = tmp_path_factory.mktemp("openclaw-e2e")
    try:
        gateway = start_dev_gateway(gateway_install, state_dir, version="current")
    except DevGatewayError as exc:
        pytest.fail(f"OpenClaw gateway (e2e) did not start: {exc}", pytrace=False)
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="session")
def scripted_model(e2e_gateway: DevGateway) -> Iterator[ScriptedModelServer]:
    server = ScriptedModelServer(
        model_id=MODEL_ID,
        script=HeartbeatScript(max_tool_calls_per_turn=3),
        avoid_ports=[claimed_ports(e2e_gateway)],
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def e2e_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('e2e-db') / 'mission-control.db'}"
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="session")
def e2e_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-mc")


@pytest.fixture(scope="session")
def mission_control(
    e2e_database_url: str,
    e2e_data_dir: Path,
    e2e_secrets: E2ESecrets,
    e2e_gateway: DevGateway,
) -> Iterator[McServerProcess]:
    """Mission Control as its own uvicorn process; its URL is what agents are told to call."""
    server = McServerProcess(
        database_url=e2e_database_url,
        data_dir=e2e_data_dir / "server",
        operator_token=e2e_secrets.operator_token,
        secret_key=e2e_secrets.secret_key,
        avoid_ports=[claimed_ports(e2e_gateway)],
        # The test drives provisioning itself; a background reconciler would race it.
        extra_env={"MC_RECONCILER_ENABLED": "false"},
    )
    try:
        server.start()
    except McServerError as exc:
        pytest.fail(f"Mission Control did not start: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def e2e_runtime(
    mission_control: McServerProcess,
    e2e_database_url: str,
    e2e_data_dir: Path,
    e2e_secrets: E2ESecrets,
) -> AsyncIterator[Runtime]:
    """Mission Control's engine in the test process: same database, secret key and base URL as
    the served process, its own gateway pool."""
    settings = Settings(
        auth_token=e2e_secrets.operator_token,
        secret_key=e2e_secrets.secret_key,
        data_dir=e2e_data_dir / "engine",
        database_url=e2e_database_url,
        base_url=mission_control.base_url,
        reconciler_enabled=False,
    )
    runtime = build_runtime(settings)
    try:
        yield runtime
    finally:
        await runtime.gateway_pool.close()
        await runtime.database.dispose()


def gateway_target(runtime: Runtime, gateway: DevGateway) -> GatewayTarget:
    """The pool key the engine uses for this gateway (see Runtime.gateway_target)."""
    return GatewayTarget(
        url=gateway.url, token=gateway.token, identity_path=runtime.device_identity_path
    )


@pytest.fixture(scope="session")
async def e2e_client(
    e2e_runtime: Runtime, e2e_gateway: DevGateway, scripted_model: ScriptedModelServer
) -> GatewayClient:
    """The engine's pooled client for the e2e gateway, with the scripted model configured."""
    client = await e2e_runtime.gateway_pool.client(gateway_target(e2e_runtime, e2e_gateway))
    await use_scripted_model(
        client, scripted_model.base_url, MODEL_ID, run_timeout_seconds=RUN_TIMEOUT_SECONDS
    )
    return client
