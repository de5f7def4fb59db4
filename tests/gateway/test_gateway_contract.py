"""Contract tests against real OpenClaw gateways (current 2026.9.6 and legacy 2026.5.7)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from mission_control.gateway import (
    AgentFile,
    GatewayAlreadyExists,
    GatewayAuthFailed,
    GatewayClient,
    GatewayConfigConflict,
    GatewayConnection,
    GatewayError,
    GatewayFileConflict,
    GatewayHealth,
    GatewayMissingScope,
    GatewayNotFound,
    GatewayUnreachable,
    GatewayUnsupportedFile,
)
from mission_control.gateway.connection import ConnectionOptions
from mission_control.gateway.dev import DevGateway, descendants
from tests.gateway.conftest import EXPECTED_SERVER_VERSION, target_for

pytestmark = pytest.mark.gateway

T = TypeVar("T")


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


async def eventually(action: Callable[[], Awaitable[T]], timeout: float = 20.0) -> T:
    """Retry while the gateway's runtime config catches up with a write (measured 1-3 s)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await action()
        except GatewayNotFound:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.25)


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.25)
    return True


async def test_handshake_builds_profile(any_client: GatewayClient, any_gateway: DevGateway) -> None:
    profile = any_client.profile
    assert profile.server_version == EXPECTED_SERVER_VERSION[any_gateway.version]
    if any_gateway.version == "current":
        assert profile.protocol == 4
        assert profile.config_shape == "agents.entries"
        assert "TOOLS.md" not in profile.workspace_files
        assert profile.file_hashes
    else:
        assert profile.protocol == 3
        assert profile.config_shape == "agents.list"
        assert "TOOLS.md" in profile.workspace_files
        assert profile.create_requires_workspace
    assert {"agents.list", "agents.files.set", "config.patch", "agent", "agent.wait"} <= (
        profile.methods
    )
    assert {"agent", "chat", "tick"} <= profile.events
    assert set(profile.scopes) >= {"operator.read", "operator.write", "operator.admin"}
    assert profile.files_delete is False
    assert profile.heartbeat_off == {"every": "0m"}
    assert profile.child_session == "sessions.create"
    assert profile.tick_interval_ms == 30_000
    assert profile.main_session_key == f"agent:{profile.default_agent_id}:{profile.main_key}"
    health = await any_client.health()
    assert health.ok is True
    agents = await any_client.agents_list()
    assert agents.get(profile.default_agent_id) is not None


async def test_wrong_token_is_an_auth_error_an_operator_understands(
    any_gateway: DevGateway, identity_path: Path
) -> None:
    connection = GatewayConnection(target_for(any_gateway, identity_path, token="not-the-token"))
    with pytest.raises(GatewayAuthFailed) as caught:
        await connection.connect()
    assert "check the gateway token" in str(caught.value).lower()
    assert caught.value.details.get("code") == "AUTH_TOKEN_MISMATCH"
    assert not connection.connected


async def test_connection_without_scopes_reports_missing_scope(
    any_gateway: DevGateway, identity_path: Path
) -> None:
    connection = GatewayConnection(target_for(any_gateway, identity_path, scopes=()))
    await connection.connect()
    try:
        client = GatewayClient(connection)
        assert (await client.health()).ok is True
        with pytest.raises(GatewayMissingScope) as caught:
            await client.agents_list()
        assert "operator.read" in str(caught.value)
    finally:
        await connection.close()


async def test_fifty_concurrent_calls_share_one_connection(any_client: GatewayClient) -> None:
    handshakes = any_client.connection.handshakes
    agent_id = any_client.profile.default_agent_id
    names = sorted(any_client.profile.workspace_files)

    async def read_file(index: int) -> tuple[str, AgentFile]:
        name = names[index % len(names)]
        return name, await any_client.files_get(agent_id, name)

    results = await asyncio.gather(
        *(read_file(i) for i in range(25)), *(any_client.health() for _ in range(25))
    )
    files = [r for r in results if isinstance(r, tuple)]
    healths = [r for r in results if isinstance(r, GatewayHealth)]
    assert len(files) == 25
    assert len(healths) == 25
    # Each answer reached the caller that asked for it (responses are matched by id).
    assert all(asked == got.name for asked, got in files)
    assert all(h.ok is True for h in healths)
    assert any_client.connection.handshakes == handshakes


async def test_client_reconnects_after_gateway_restart(
    any_gateway: DevGateway, identity_path: Path
) -> None:
    connection = GatewayConnection(
        target_for(any_gateway, identity_path), ConnectionOptions(request_timeout=90.0)
    )
    await connection.connect()
    try:
        client = GatewayClient(connection)
        assert (await client.health()).ok is True
        old_group = any_gateway.pid
        assert old_group is not None
        old_processes = [old_group, *descendants(old_group)]
        # Restart in a thread so the event loop keeps running and sees the socket drop.
        await asyncio.to_thread(any_gateway.restart)
        # Nothing of the old gateway survives: its whole process group is gone.
        with pytest.raises(ProcessLookupError):
            os.killpg(old_group, 0)
        assert [pid for pid in old_processes if pid_alive(pid)] == []
        assert any_gateway.pid != old_group
        health = await client.health(timeout=90.0)
        assert health.ok is True
        assert connection.handshakes == 2
        assert (await client.agents_list()).default_id == client.profile.default_agent_id
    finally:
        await connection.close()


async def test_agent_create_update_files_delete_round_trip(
    any_client: GatewayClient, any_gateway: DevGateway
) -> None:
    client = any_client
    agent_id = f"mc-{uuid.uuid4().hex[:8]}"
    workspace = str(any_gateway.state_dir / f"workspace-{agent_id}")
    created = await client.agents_create(agent_id, workspace=workspace)
    assert created == agent_id
    with pytest.raises(GatewayAlreadyExists):
        await client.agents_create(agent_id, workspace=workspace)

    await eventually(lambda: client.agents_update(agent_id, name="Mission Agent"))
    listed = (await client.agents_list()).get(agent_id)
    assert listed is not None
    assert listed.workspace == workspace

    content = f"# {agent_id}\nRules from Mission Control.\n"
    written = await eventually(lambda: client.files_set(agent_id, "AGENTS.md", content))
    read = await client.files_get(agent_id, "AGENTS.md")
    assert read.content == content
    assert not read.missing
    if client.profile.file_hashes:
        digest = hashlib.sha256(content.encode()).hexdigest()
        assert written.hash == digest
        assert read.hash == digest
        stale = hashlib.sha256(b"something else").hexdigest()
        with pytest.raises(GatewayFileConflict) as conflict:
            await client.files_set(agent_id, "AGENTS.md", "lost update", expected_hash=stale)
        assert conflict.value.current_hash == digest
        again = await client.files_set(
            agent_id, "AGENTS.md", content + "more\n", expected_hash=digest
        )
        assert again.hash == hashlib.sha256((content + "more\n").encode()).hexdigest()

    snapshot = await client.config_get()
    agents_config = snapshot.config["agents"]
    if client.profile.config_shape == "agents.entries":
        assert agent_id in agents_config["entries"]
        assert "list" not in agents_config
    else:
        assert agent_id in [entry["id"] for entry in agents_config["list"]]

    await eventually(lambda: client.agents_delete(agent_id))

    async def gone() -> bool:
        return (await client.agents_list()).get(agent_id) is None

    # The runtime agent list lags the config write by a moment, as after create.
    assert await until(gone)
    with pytest.raises(GatewayNotFound):
        await client.agents_delete(agent_id)


async def test_stale_config_hash_is_a_config_conflict(any_client: GatewayClient) -> None:
    client = any_client
    before = await client.config_get()
    current = before.config.get("agents", {}).get("defaults", {}).get("maxConcurrent")
    value = 3 if current != 3 else 5
    patched = await client.config_patch(
        {"agents": {"defaults": {"maxConcurrent": value}}}, base_hash=before.hash
    )
    with pytest.raises(GatewayConfigConflict) as caught:
        await client.config_patch(
            {"agents": {"defaults": {"maxConcurrent": value + 1}}}, base_hash=before.hash
        )
    assert caught.value.method == "config.patch"
    after = await client.config_get()
    assert after.hash != before.hash
    # Current gateways answer the new hash (the one config.get then reports); 2026.5.7 none.
    assert patched.hash == (after.hash if client.profile.protocol >= 4 else None)
    assert after.config["agents"]["defaults"]["maxConcurrent"] == value
    if client.profile.protocol >= 4:
        # 2026.5.7 allows only 3 control-plane writes a minute; the helper is exercised on current.
        await client.config_patch_fresh(
            {"agents": {"defaults": {"maxConcurrent": 4}}}, base_hash=before.hash
        )
        final = await client.config_get()
        assert final.config["agents"]["defaults"]["maxConcurrent"] == 4


async def test_agent_run_without_model_is_accepted_then_fails(any_client: GatewayClient) -> None:
    client = any_client
    agent_id = client.profile.default_agent_id
    idempotency_key = uuid.uuid4().hex
    subscription = client.connection.subscribe({"agent", "chat"}, run_id=idempotency_key)
    try:
        run = await client.agent("Say hello.", agent_id=agent_id, idempotency_key=idempotency_key)
        assert run.status == "accepted"
        assert run.run_id == idempotency_key
        result = await run.result(timeout=180.0)
        assert result.status == "error"
        assert not result.ok
        assert isinstance(result.error, GatewayError)
        assert result.summary
        waited = await client.agent_wait(run.run_id, timeout=10.0)
        assert waited.status == "error"
        assert waited.error is not None
        assert waited.summary
        event = await subscription.next(timeout=30.0)
        assert event.event in {"agent", "chat"}
        assert isinstance(event.payload, dict)
        assert event.payload["runId"] == run.run_id
    finally:
        subscription.close()


async def test_unsupported_workspace_file_has_its_own_error(any_client: GatewayClient) -> None:
    client = any_client
    agent_id = client.profile.default_agent_id
    refused = "TOOLS.md" if client.profile.protocol >= 4 else "BOOT.md"
    # The gateway's own refusal is classified ...
    with pytest.raises(GatewayUnsupportedFile):
        await client.call(
            "agents.files.set", {"agentId": agent_id, "name": refused, "content": "x"}
        )
    # ... and the typed method refuses the same name before sending anything.
    with pytest.raises(GatewayUnsupportedFile) as caught:
        await client.files_set(agent_id, refused, "x")
    assert refused in str(caught.value)
    if client.profile.protocol < 4:
        written = await client.files_set(agent_id, "TOOLS.md", "legacy tools\n")
        assert written.content == "legacy tools\n"


async def test_sessions_and_chat(any_client: GatewayClient) -> None:
    client = any_client
    agent_id = client.profile.default_agent_id
    main_key = client.profile.main_session_key
    patched = await client.call(
        "sessions.patch", {"key": main_key, "label": "Mission Control main"}
    )
    assert patched["key"] == main_key
    listed = await client.sessions_list(agent_id=agent_id, limit=20)
    assert main_key in [session.key for session in listed.sessions]

    # Without a key of ours, sessions.create names the child session itself.
    child = await client.call(
        "sessions.create", {"agentId": agent_id, "parentSessionKey": main_key, "label": "mc-child"}
    )
    child_key = child["key"]
    assert child_key.startswith(f"agent:{agent_id}:")
    assert child_key != main_key
    rows = await client.sessions_list(agent_id=agent_id, limit=50)
    main, child_row = rows.get(main_key), rows.get(child_key)
    assert main is not None
    assert (main.agent_id, main.label, main.kind) == (agent_id, "Mission Control main", "direct")
    assert main.updated_at is not None
    assert child_row is not None
    assert (child_row.agent_id, child_row.parent_session_key) == (agent_id, main_key)

    idempotency_key = uuid.uuid4().hex
    with client.subscribe_run(run_id=idempotency_key) as events:
        sent = await client.chat_send(main_key, "ping", idempotency_key=idempotency_key)
        assert sent.run_id == idempotency_key
        assert sent.status == "started"
        event = await events.next(timeout=60.0)
        assert event.payload["runId"] == idempotency_key
    history = await client.chat_history(main_key, limit=10)
    assert history.session_key == main_key
    assert isinstance(history.messages, tuple)

    reset = await client.call("sessions.reset", {"key": main_key})
    assert reset["ok"] is True
    deleted = await client.call("sessions.delete", {"key": child_key})
    assert deleted["deleted"] is True
    with pytest.raises(GatewayError, match="main session"):
        await client.sessions_delete(main_key)


async def test_wss_with_self_signed_certificate(
    tls_gateway: DevGateway, identity_path: Path
) -> None:
    assert tls_gateway.url.startswith("wss://")
    strict = GatewayConnection(target_for(tls_gateway, identity_path))
    with pytest.raises(GatewayUnreachable, match="certificate verify failed"):
        await strict.connect()
    relaxed = GatewayConnection(target_for(tls_gateway, identity_path, allow_self_signed=True))
    await relaxed.connect()
    try:
        assert (await GatewayClient(relaxed).health()).ok is True
    finally:
        await relaxed.close()
