"""Session fixtures for gateway tests: real OpenClaw gateways (current and legacy) from the
project's own install, one per version per session, and connected clients for them."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Literal

import pytest

from mission_control.gateway import GatewayClient, GatewayConnection, GatewayTarget
from mission_control.gateway.connection import ConnectionOptions
from mission_control.gateway.dev import DevGateway, DevGatewayError, start_dev_gateway
from tests.support.dev_gateways import running_gateway

REPO = Path(__file__).resolve().parents[2]
INSTALL_DIR = REPO / ".cache" / "gateway"
INSTALL_SCRIPT = REPO / "scripts" / "install-gateway.sh"
VERSIONS = ("current", "legacy")
EXPECTED_SERVER_VERSION = {"current": "2026.9.6", "legacy": "2026.5.7"}


@pytest.fixture(scope="session")
def gateway_install() -> Path:
    """The pinned install under .cache/gateway; the script is a no-op when it is complete."""
    result = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            "OpenClaw gateway install failed (scripts/install-gateway.sh):\n"
            f"{result.stdout}\n{result.stderr}",
            pytrace=False,
        )
    return INSTALL_DIR


def _run_gateway(
    version: Literal["current", "legacy"], install_dir: Path, factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    yield from running_gateway(install_dir, factory.mktemp(f"openclaw-{version}"), version)


@pytest.fixture(scope="session")
def current_gateway(
    gateway_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    yield from _run_gateway("current", gateway_install, tmp_path_factory)


@pytest.fixture(scope="session")
def legacy_gateway(
    gateway_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    yield from _run_gateway("legacy", gateway_install, tmp_path_factory)


@pytest.fixture(scope="session")
def tls_gateway(
    gateway_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    """A current gateway serving wss:// with the self-signed certificate it generates."""
    state_dir = tmp_path_factory.mktemp("openclaw-tls")
    try:
        gateway = start_dev_gateway(gateway_install, state_dir, version="current", tls=True)
    except DevGatewayError as exc:
        pytest.fail(f"OpenClaw gateway (wss) did not start: {exc}", pytrace=False)
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture(scope="session", params=VERSIONS)
def any_gateway(request: pytest.FixtureRequest) -> DevGateway:
    """Each contract test runs once against the current and once against the legacy gateway."""
    gateway: DevGateway = request.getfixturevalue(f"{request.param}_gateway")
    return gateway


@pytest.fixture(scope="session")
def identity_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("identity") / "device.pem"


def target_for(gateway: DevGateway, identity_path: Path, **overrides: object) -> GatewayTarget:
    values: dict[str, object] = {
        "url": gateway.url,
        "token": gateway.token,
        "identity_path": identity_path,
    }
    values.update(overrides)
    return GatewayTarget(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def any_client(any_gateway: DevGateway, identity_path: Path) -> AsyncIterator[GatewayClient]:
    """One shared, connected client per gateway version, like the app's pool provides."""
    connection = GatewayConnection(
        target_for(any_gateway, identity_path), ConnectionOptions(request_timeout=60.0)
    )
    await connection.connect()
    try:
        yield GatewayClient(connection)
    finally:
        await connection.close()
