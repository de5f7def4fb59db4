"""A fleet world on real parts, for fault-injection tests and bench/fleet_create.py: a real
OpenClaw gateway (either release, from its bare default config plus the scripted model), the
scripted model server, a migrated database, Mission Control served as its own process (with its
reconciler), and an admin who creates agents through the HTTP API.

Every server listens on a free loopback port and is stopped by its own handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from mission_control.core import migrations
from mission_control.core.db import Database
from mission_control.core.security import SecretBox
from mission_control.demo.model import HeartbeatScript, ScriptedModelServer
from mission_control.gateway import GatewayClient, GatewayConnection, GatewayTarget
from mission_control.gateway.connection import ConnectionOptions
from mission_control.gateway.dev import (
    DevGateway,
    GatewayVersion,
    descendants,
    start_dev_gateway,
)
from mission_control.gateways.models import Gateway
from mission_control.organizations.models import Role
from tests.e2e.gateway_setup import claimed_ports, scripted_model_patch
from tests.support import factories
from tests.support.mc_server import McServerProcess

REPO = Path(__file__).resolve().parents[2]
INSTALL_DIR = REPO / ".cache" / "gateway"
MODEL_ID = "scripted-heartbeat"


@dataclass
class FleetWorld:
    """Ids and credentials of the seeded organisation."""

    board_id: uuid.UUID
    gateway_id: uuid.UUID
    headers: dict[str, str] = field(repr=False)


def start_gateway(state_dir: Path, version: GatewayVersion, port: int | None = None) -> DevGateway:
    return start_dev_gateway(INSTALL_DIR, state_dir, version=version, port=port)


def start_model(gateway: DevGateway) -> ScriptedModelServer:
    model = ScriptedModelServer(
        model_id=MODEL_ID,
        script=HeartbeatScript(max_tool_calls_per_turn=3),
        max_total_tool_calls=100_000,
        avoid_ports=[claimed_ports(gateway)],
    )
    model.start()
    return model


async def configure_model(gateway: DevGateway, model: ScriptedModelServer, identity: Path) -> None:
    """Points the gateway at the scripted model with a client of its own (then closed). 2026.5.7
    has no ``tools.exec.mode``: its unprompted exec is ``security: full`` with ``ask: off``."""
    patch = scripted_model_patch(model.base_url, MODEL_ID)
    if gateway.version == "legacy":
        patch["tools"] = {"exec": {"host": "gateway", "security": "full", "ask": "off"}}
    connection = GatewayConnection(
        GatewayTarget(url=gateway.url, token=gateway.token, identity_path=identity),
        ConnectionOptions(request_timeout=60.0),
    )
    await connection.connect()
    try:
        await GatewayClient(connection).config_patch_fresh(patch, note="scripted model")
    finally:
        await connection.close()


async def seed_world(
    database_url: str,
    secret_key: str,
    gateway: DevGateway,
    *,
    max_agents: int = 1000,
    token: str | None = None,
) -> FleetWorld:
    """Organisation, admin, gateway row and a board allowing ``max_agents`` workers;
    ``token`` replaces the gateway's real token (to inject a wrong one)."""
    database = Database(database_url)
    box = SecretBox(secret_key)
    try:
        async with database.unit_of_work() as session:
            org = await factories.organization(session, f"Fleet {uuid.uuid4().hex[:6]}")
            admin = await factories.person(session, org, Role.OWNER)
            row = Gateway(
                organization_id=org.id,
                name="fleet",
                url=gateway.url,
                token_ciphertext=box.encrypt(token or gateway.token),
                workspace_root=str(gateway.state_dir / "workspaces"),
            )
            session.add(row)
            await session.flush()
            board = await factories.board(session, org, row, name="Fleet")
            board.max_agents = max_agents
            return FleetWorld(board_id=board.id, gateway_id=row.id, headers=admin.headers)
    finally:
        await database.dispose()


def new_secrets() -> tuple[str, str]:
    """(operator token, secret key) for a served Mission Control."""
    return secrets.token_urlsafe(48), Fernet.generate_key().decode()


def mc_process(
    database_url: str,
    data_dir: Path,
    operator_token: str,
    secret_key: str,
    gateway: DevGateway,
    **env: str,
) -> McServerProcess:
    return McServerProcess(
        database_url=database_url,
        data_dir=data_dir,
        operator_token=operator_token,
        secret_key=secret_key,
        avoid_ports=[claimed_ports(gateway)],
        extra_env={"MC_RECONCILER_INTERVAL_SECONDS": "1", **env},
    )


def migrate(database_url: str) -> None:
    migrations.upgrade(database_url)


async def create_agents(
    http: httpx.AsyncClient, world: FleetWorld, count: int, *, prefix: str = "Fleet"
) -> dict[uuid.UUID, float]:
    """``count`` creates back to back; returns agent id -> monotonic time its create was sent."""
    sent: dict[uuid.UUID, float] = {}
    for index in range(count):
        started = time.monotonic()
        response = await http.post(
            "/api/v1/agents",
            json={"name": f"{prefix} {index:03d}", "board_id": str(world.board_id)},
            headers=world.headers,
        )
        if response.status_code != 201:
            raise AssertionError(f"create {index} answered {response.status_code}: {response.text}")
        sent[uuid.UUID(response.json()["id"])] = started
    return sent


async def create_agents_concurrently(
    http: httpx.AsyncClient, world: FleetWorld, count: int, *, prefix: str = "Fleet"
) -> list[httpx.Response]:
    async def one(index: int) -> httpx.Response:
        return await http.post(
            "/api/v1/agents",
            json={"name": f"{prefix} {index:03d}", "board_id": str(world.board_id)},
            headers=world.headers,
        )

    return list(await asyncio.gather(*(one(index) for index in range(count))))


async def list_agents(http: httpx.AsyncClient, world: FleetWorld) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        response = await http.get(
            "/api/v1/agents",
            params={"board_id": str(world.board_id), "limit": 200, "offset": offset},
            headers=world.headers,
        )
        response.raise_for_status()
        page = response.json()
        items.extend(page["items"])
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return items


def gateway_agent_ids(gateway_config: dict[str, Any]) -> list[str]:
    """Mission Control's worker ids in a gateway config of either shape (duplicates kept)."""
    agents = gateway_config.get("agents", {})
    entries = agents.get("entries")
    if isinstance(entries, dict):
        ids = list(entries)
    else:
        ids = [str(e.get("id")) for e in agents.get("list", []) if isinstance(e, dict)]
    return [agent_id for agent_id in ids if agent_id.startswith("mc-")]


def kill_gateway(gateway: DevGateway) -> None:
    """SIGKILL of the gateway and every child, as a crash; its state dir and port are kept, so
    ``gateway.start()`` brings the same gateway back."""
    process, gateway.process = gateway.process, None
    if process is None:
        return
    groups = {process.pid} | {_group(pid) for pid in descendants(process.pid)}
    for group in groups - {None}:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)  # type: ignore[arg-type]
    process.wait(15.0)


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None
