"""Pairing against the real current gateway: a connection that reaches it through a trusted
reverse proxy counts as remote, so Mission Control's device must be approved with the commands
the error names, run with the real openclaw CLI."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mission_control.gateway import (
    GatewayClient,
    GatewayConnection,
    GatewayPairingRequired,
    GatewayTarget,
    GatewayUnreachable,
)
from mission_control.gateway.dev import DevGateway
from tests.gateway.conftest import target_for

pytestmark = pytest.mark.gateway


class ForwardingProxy:
    """A loopback TCP proxy that adds `X-Forwarded-For` to the WebSocket upgrade request, as a
    reverse proxy in front of the gateway would."""

    def __init__(self, upstream_port: int, client_ip: str = "203.0.113.7") -> None:
        self.upstream_port = upstream_port
        self.client_ip = client_ip
        self.server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def close(self) -> None:
        for writer in list(self._writers):
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers.update({writer, up_writer})
        head = await reader.readuntil(b"\r\n\r\n")
        up_writer.write(head[:-2] + f"X-Forwarded-For: {self.client_ip}\r\n\r\n".encode())
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()
        self._writers.discard(writer)


@pytest.fixture
async def proxy(current_gateway: DevGateway) -> AsyncIterator[ForwardingProxy]:
    forwarding = ForwardingProxy(current_gateway.port)
    await forwarding.start()
    yield forwarding
    await forwarding.close()


def run_cli(gateway: DevGateway, command: str) -> subprocess.CompletedProcess[str]:
    """Run an `openclaw ...` command line as the operator would on the gateway host."""
    argv = shlex.split(command)
    assert argv[0] == "openclaw"
    return subprocess.run(
        [
            str(gateway.install.node),
            str(gateway.install.entry),
            *argv[1:],
            *("--url", f"ws://127.0.0.1:{gateway.port}", "--token", gateway.token),
        ],
        env=gateway.process_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def first_pairing_error(
    target: GatewayTarget, timeout: float = 30.0
) -> GatewayPairingRequired:
    """Connect until the gateway applies the trusted-proxy setting and asks for pairing."""
    deadline = time.monotonic() + timeout
    while True:
        connection = GatewayConnection(target)
        try:
            await connection.connect()
        except GatewayPairingRequired as exc:
            return exc
        except GatewayUnreachable:
            # HTTP 403 until the gateway trusts the proxy's forwarded header.
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
        else:
            await connection.close()
            pytest.fail("a remote device connected without pairing")


async def trust_local_proxy(gateway: DevGateway, identity_path: Path) -> None:
    local = GatewayConnection(target_for(gateway, identity_path))
    await local.connect()
    try:
        await GatewayClient(local).config_patch_fresh(
            {"gateway": {"trustedProxies": ["127.0.0.1"]}}
        )
    finally:
        await local.close()


async def test_remote_device_needs_pairing_and_the_named_commands_approve_it(
    current_gateway: DevGateway, identity_path: Path, proxy: ForwardingProxy, tmp_path: Path
) -> None:
    await trust_local_proxy(current_gateway, identity_path)
    remote = GatewayTarget(
        url=proxy.url, token=current_gateway.token, identity_path=tmp_path / "remote.pem"
    )

    error = await first_pairing_error(remote)
    assert error.request_id
    list_command, approve_command = error.approve_commands
    assert approve_command == f"openclaw devices approve {error.request_id}"
    assert approve_command in str(error)

    listed = run_cli(current_gateway, list_command)
    assert listed.returncode == 0, listed.stderr
    assert error.request_id in listed.stdout
    approved = run_cli(current_gateway, approve_command)
    assert approved.returncode == 0, approved.stdout + approved.stderr

    connection = GatewayConnection(remote)
    profile = await connection.connect()
    try:
        assert "operator.read" in profile.scopes
        assert (await GatewayClient(connection).agents_list()).default_id
    finally:
        await connection.close()
