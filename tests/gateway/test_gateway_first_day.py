"""A gateway's registration as an operator lives it (issue 16, finding 5), against a real
OpenClaw gateway: a wrong token says precisely that it was refused and resolves by itself once
the token is PATCHed; deleting the gateway removes its gateway-main agent and workspace there."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.gateway.dev import DevGateway
from mission_control.organizations.models import Role
from mission_control.provisioning.identities import gateway_main_agent_id
from tests.support import factories
from tests.support.apps import app_runtime, asgi_client

pytestmark = [
    pytest.mark.gateway,
    # The gateway side is what is tested; one database is enough.
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
async def runtime(database: Database, tmp_path: Path) -> AsyncIterator[Runtime]:
    async with app_runtime(database, tmp_path, reconciler_enabled=False) as runtime:
        yield runtime


@pytest.fixture
async def http(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(runtime) as client:
        yield client


def _exists(path: str) -> bool:
    return Path(path).exists()


async def _admin(database: Database) -> dict[str, str]:
    async with database.unit_of_work() as session:
        org = await factories.organization(session, f"Ops {uuid.uuid4().hex[:6]}")
        admin = await factories.person(session, org, Role.ADMIN)
    return admin.headers


def _body(gateway: DevGateway, root: Path, token: str) -> dict[str, str]:
    return {
        "name": f"edge-{uuid.uuid4().hex[:6]}",
        "url": gateway.url,
        "token": token,
        "workspace_root": str(root),
    }


async def test_a_wrong_token_is_named_and_resolves_once_patched(
    http: httpx.AsyncClient, database: Database, current_gateway: DevGateway, tmp_path: Path
) -> None:
    headers = await _admin(database)
    root = current_gateway.state_dir / f"ws-{uuid.uuid4().hex[:6]}"
    created = await http.post(
        "/api/v1/gateways", json=_body(current_gateway, root, "wrong-token-123456"), headers=headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"]["error"]["code"] == "gateway_auth_failed"
    error = body["main_agent"]["error"]
    assert "refused the token" in error
    assert "PATCH /api/v1/gateways/" in error
    assert "Waiting for the gateway" not in error

    fixed = await http.patch(
        f"/api/v1/gateways/{body['id']}", json={"token": current_gateway.token}, headers=headers
    )
    assert fixed.status_code == 200
    assert fixed.json()["status"]["connected"] is True
    assert fixed.json()["main_agent"]["provisioned"] is True, fixed.json()["main_agent"]
    assert fixed.json()["main_agent"]["error"] is None


async def test_delete_removes_the_gateway_agent_and_its_workspace(
    http: httpx.AsyncClient, runtime: Runtime, database: Database, current_gateway: DevGateway
) -> None:
    headers = await _admin(database)
    root = current_gateway.state_dir / f"ws-{uuid.uuid4().hex[:6]}"
    created = await http.post(
        "/api/v1/gateways",
        json=_body(current_gateway, root, current_gateway.token),
        headers=headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["main_agent"]["provisioned"] is True, created.json()["main_agent"]
    gateway_id = uuid.UUID(created.json()["id"])
    main_id = gateway_main_agent_id(gateway_id)
    status = await http.get(f"/api/v1/gateways/{gateway_id}/status", headers=headers)
    (entry,) = [a for a in status.json()["agents"] if a["id"] == main_id]
    workspace = str(entry["workspace"])
    assert _exists(workspace)

    metrics = (await http.get("/metrics")).text
    assert f'gateway_id="{gateway_id}"}} 1.0' in metrics  # mc_gateway_connected

    deleted = await http.delete(f"/api/v1/gateways/{gateway_id}", headers=headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["main_agent_removed"] is True, deleted.json()
    assert deleted.json()["warning"] is None

    probe = await http.post(
        "/api/v1/gateways/probe",
        json={"url": current_gateway.url, "token": current_gateway.token},
        headers=headers,
    )
    assert main_id not in {a["id"] for a in probe.json()["agents"]}
    for _ in range(150):  # the gateway removes the files right after it answers
        if not _exists(workspace):
            break
        await asyncio.sleep(0.1)
    assert not _exists(workspace)
