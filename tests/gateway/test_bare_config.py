"""Each gateway release started from its bare default config (only the offline settings the dev
gateway writes: no ``channels``, no ``tools``) accepts what provisioning writes: the gateway
profile decides every config key from the release's own schema (``config.schema.lookup``).

Issue 19: on 2026.5.7 every create failed with ``invalid config: channels.defaults:
Unrecognized key: "heartbeatVisibility"``; a config that already had a ``channels`` section hid
it from the tests."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mission_control.agents.models import Agent
from mission_control.app import build_runtime
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.gateway.dev import DevGateway, quiet_config
from mission_control.gateway.profile import WritableConfig
from mission_control.gateways.models import Gateway
from mission_control.provisioning import service
from mission_control.provisioning.context import agent_ref
from mission_control.provisioning.identities import gateway_agent_id
from mission_control.settings import Settings
from tests.support import factories
from tests.support.database import empty_all_tables
from tests.support.dev_gateways import running_gateway

pytestmark = pytest.mark.gateway

# The offline settings are the only keys the dev gateway writes before the first start.
OFFLINE_KEYS = {"update", "discovery", "logging", "agents", "models"}


@pytest.fixture(scope="module", params=["current", "legacy"])
def bare_gateway(
    request: pytest.FixtureRequest,
    gateway_install: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DevGateway]:
    version = request.param
    yield from running_gateway(gateway_install, tmp_path_factory.mktemp(f"bare-{version}"), version)


@pytest.fixture
async def runtime(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    database = Database(sqlite_url)
    await empty_all_tables(database)
    settings = Settings(
        auth_token=secrets.token_urlsafe(48),
        data_dir=tmp_path,
        database_url=sqlite_url,
        base_url="http://127.0.0.1:9/",
        reconciler_enabled=False,
    )
    runtime = build_runtime(settings, database)
    yield runtime
    await runtime.gateway_pool.close()
    await empty_all_tables(database)
    await database.dispose()


def test_the_dev_gateway_starts_from_a_bare_config(bare_gateway: DevGateway) -> None:
    written = json.loads((bare_gateway.state_dir / ".openclaw" / "openclaw.json").read_text())
    assert written == quiet_config(bare_gateway.state_dir, bare_gateway.version)
    assert set(written) <= OFFLINE_KEYS
    assert "channels" not in written
    assert "tools" not in written


async def test_bare_release_provisions_and_writes_only_keys_it_accepts(
    runtime: Runtime, bare_gateway: DevGateway
) -> None:
    async with runtime.database.unit_of_work() as session:
        org = await factories.organization(session)
        row = Gateway(
            organization_id=org.id,
            name=f"bare-{uuid.uuid4().hex[:6]}",
            url=bare_gateway.url,
            token_ciphertext=runtime.secrets.encrypt(bare_gateway.token),
            workspace_root=str(bare_gateway.state_dir / "workspaces"),
        )
        session.add(row)
        await session.flush()
        board = await factories.board(session, org, row, name="Bare")
        agent = Agent(gateway_id=row.id, board_id=board.id, name="Bare One", name_key="bare one")
        session.add(agent)
        service.request_apply(agent, "provision")
        await session.flush()
        agent_id = agent.id
        gateway_id = row.id

    outcome = await service.apply_agent(runtime, agent_id, service.ApplyOptions(wake=False))
    assert outcome.ok, outcome.error
    assert outcome.config_patched

    async with runtime.database.unit_of_work() as session:
        gw_row = await session.get(Gateway, gateway_id)
        stored = await session.get(Agent, agent_id)
        assert gw_row is not None
        assert stored is not None
        gid = gateway_agent_id(agent_ref(stored))
        assert stored.last_provision_error is None
        assert stored.applied_generation == stored.generation
    client = await runtime.gateway_pool.client(runtime.gateway_target(gw_row))
    writable = await client.writable_config()
    assert isinstance(writable, WritableConfig)
    assert writable.source == "schema"  # both releases serve config.schema.lookup
    config = (await client.config_get()).config
    visibility = config.get("channels", {}).get("defaults", {}).get("heartbeatVisibility")
    if bare_gateway.version == "legacy":
        assert writable.heartbeat_visibility == frozenset()
        assert visibility is None
        entries = {e["id"]: e for e in config["agents"]["list"]}
    else:
        assert {"showOk", "showAlerts", "useIndicator"} <= writable.heartbeat_visibility
        assert visibility == {"showOk": False, "showAlerts": True, "useIndicator": True}
        entries = config["agents"]["entries"]
    assert config["tools"]["exec"]["host"] == "gateway"
    beat = entries[gid]["heartbeat"]
    assert beat["every"] == "10m"
    assert writable.heartbeat_keys is not None
    assert set(beat) <= writable.heartbeat_keys
