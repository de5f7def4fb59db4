"""The end-to-end proof (issue 4, E2E.md): an agent Mission Control provisions onto a real
OpenClaw gateway wakes up, reads its workspace, and checks in over Mission Control's real HTTP
API by itself. Its "model" is the scripted server, which knows only what the gateway sends it,
so the base URL and token in the curl come from the workspace Mission Control wrote."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent, AgentStatus
from mission_control.boards.models import Board
from mission_control.core.runtime import Runtime
from mission_control.core.security import verify_secret
from mission_control.demo.model import HEARTBEAT_PATH, ScriptedModelServer, message_text
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.dev import DevGateway
from mission_control.gateways.models import Gateway
from mission_control.provisioning import service
from mission_control.provisioning.context import AgentKind, RenderInputs, agent_ref
from mission_control.provisioning.identities import gateway_agent_id
from mission_control.provisioning.plan import plan_agent
from mission_control.provisioning.repository import organization_owner
from mission_control.provisioning.tokens import read_auth_token
from tests.e2e.conftest import E2ETimings
from tests.support import factories
from tests.support.mc_server import McServerProcess

pytestmark = pytest.mark.gateway

BOOTSTRAP = "BOOTSTRAP.md"
CHECK_IN_TIMEOUT = 120.0
FINAL_ANSWER_TIMEOUT = 30.0


async def _create_agent(runtime: Runtime, gateway: DevGateway, kind: AgentKind) -> uuid.UUID:
    """Organisation, gateway row (pointing at the real gateway) and board straight in the
    database; the agent as Mission Control creates it (its own flows for leads and gateway-main
    agents, a plain row for a worker)."""
    async with runtime.database.unit_of_work() as session:
        org = await factories.organization(session, f"E2E {uuid.uuid4().hex[:6]}")
        gw = await factories.gateway(session, org, name="e2e-gateway")
        gw.url = gateway.url
        gw.token_ciphertext = runtime.secrets.encrypt(gateway.token)
        gw.workspace_root = str(gateway.state_dir / "workspaces")
        board = await factories.board(session, org, gw, name="E2E Board")
        worker = None
        if kind == "board_worker":
            worker, _token = await factories.agent(session, gw, board, name="Scout")
    if worker is not None:
        return worker.id
    if kind == "board_lead":
        lead_id, created = await service.ensure_board_lead(runtime, board.id)
        assert created
        return lead_id
    return await service.ensure_gateway_main_agent(runtime, gw.id)


async def _wait_online(
    runtime: Runtime, agent_id: uuid.UUID, server: McServerProcess, model: ScriptedModelServer
) -> float:
    """Polls the database the served Mission Control writes to; returns the monotonic time the
    agent was first seen online."""
    deadline = time.monotonic() + CHECK_IN_TIMEOUT
    while time.monotonic() < deadline:
        async with runtime.database.unit_of_work() as session:
            agent = await session.get(Agent, agent_id, populate_existing=True)
            assert agent is not None
            if agent.status == AgentStatus.ONLINE and agent.last_seen_at is not None:
                return time.monotonic()
        if not server.running():
            pytest.fail(f"Mission Control exited while waiting:\n{server.log_tail()}")
        await asyncio.sleep(0.1)
    pytest.fail(
        f"the agent did not check in within {CHECK_IN_TIMEOUT:.0f} s.\n"
        f"Scripted model requests:\n{model.summary()}\n"
        f"Tool results it saw:\n{_tool_results(model)}\n"
        f"Mission Control log tail:\n{server.log_tail()[-2000:]}"
    )


def _model_saw(model: ScriptedModelServer, since: int, content: str) -> bool:
    """Whether ``content`` (whitespace-normalised) was in any message the model received."""
    wanted = " ".join(content.split())
    for request in model.requests[since:]:
        for message in (request.body or {}).get("messages", []):
            if isinstance(message, dict) and wanted in " ".join(message_text(message).split()):
                return True
    return False


def _tool_results(model: ScriptedModelServer) -> str:
    seen: list[str] = []
    for request in model.chat_requests():
        assert request.body is not None
        for message in request.body.get("messages", []):
            if isinstance(message, dict) and message.get("role") == "tool":
                text = str(message.get("content"))[:300]
                if text not in seen:
                    seen.append(text)
    return "\n".join(seen) or "(none)"


async def _wait_final_answer(model: ScriptedModelServer, since: int) -> None:
    """The turn ends: after the tool result the script answers a final text."""
    deadline = time.monotonic() + FINAL_ANSWER_TIMEOUT
    while time.monotonic() < deadline:
        replies = [r.reply for r in model.requests[since:] if r.reply is not None]
        if any(reply.kind == "final" for reply in replies):
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"the agent's turn did not end with a final answer:\n{model.summary()}")


async def _expected_plan_files(
    runtime: Runtime, client: GatewayClient, agent_id: uuid.UUID
) -> tuple[dict[str, str], dict[str, Any], str, str]:
    """The plan for the agent as stored now, rendered with the token its workspace holds (and
    which must be the one Mission Control stored). Returns files, heartbeat, id, token."""
    async with runtime.database.unit_of_work() as session:
        agent = await session.get(Agent, agent_id, populate_existing=True)
        assert agent is not None
        board = await session.get(Board, agent.board_id) if agent.board_id else None
        gateway = await session.get(Gateway, agent.gateway_id)
        assert gateway is not None
        user = await organization_owner(session, gateway.organization_id)
    caps = service.capabilities(client.profile)
    token_file = "TOOLS.md" if "TOOLS.md" in caps.workspace_files else "AGENTS.md"
    ref_id = gateway_agent_id(agent_ref(agent))
    stored = await client.files_get(ref_id, token_file)
    token = read_auth_token(stored.content or "")
    assert token is not None, f"no AUTH_TOKEN line in the gateway's {token_file}"
    assert agent.agent_token_hash is not None
    assert verify_secret(token, agent.agent_token_hash), (
        f"the token in {token_file} is not the one Mission Control stored for the agent"
    )
    plan = plan_agent(
        RenderInputs(agent, board, gateway, user, runtime.settings.agent_base_url, token),
        caps,
        action="provision",
    )
    return dict(plan.files), dict(plan.heartbeat), plan.gateway_agent_id, token


@pytest.mark.parametrize("kind", ["board_worker", "board_lead", "gateway_main"])
async def test_provisioned_agent_checks_in_by_itself(
    kind: AgentKind,
    e2e_runtime: Runtime,
    e2e_client: GatewayClient,
    e2e_gateway: DevGateway,
    mission_control: McServerProcess,
    scripted_model: ScriptedModelServer,
    e2e_timings: E2ETimings,
) -> None:
    runtime, client, model = e2e_runtime, e2e_client, scripted_model
    assert runtime.settings.agent_base_url == mission_control.base_url
    requests_before = len(model.requests)

    started = time.monotonic()
    agent_id = await _create_agent(runtime, e2e_gateway, kind)
    outcome = await service.apply_agent(runtime, agent_id)
    applied, applied_wall = time.monotonic(), time.time()
    assert outcome.ok, f"provisioning failed: {outcome.error}"
    assert outcome.woke

    online = await _wait_online(runtime, agent_id, mission_control, model)
    await _wait_final_answer(model, requests_before)

    # The check-in came from the agent's own curl, with what Mission Control wrote.
    files, heartbeat, gw_agent_id, token = await _expected_plan_files(runtime, client, agent_id)
    calls = [r for r in model.requests[requests_before:] if r.reply and r.reply.command]
    assert calls, model.summary()
    expected_command = (
        f"curl -s -X POST -H 'X-Agent-Token: {token}' {mission_control.base_url}{HEARTBEAT_PATH}"
    )
    assert all(r.reply is not None and r.reply.command == expected_command for r in calls)
    assert len(calls) <= model.script.max_tool_calls_per_turn, model.summary()
    async with runtime.database.unit_of_work() as session:
        beats = (
            await session.scalars(
                select(ActivityEvent).where(
                    ActivityEvent.agent_id == agent_id,
                    ActivityEvent.event_type == "agent.heartbeat",
                )
            )
        ).all()
        row = await session.get(Agent, agent_id, populate_existing=True)
    assert beats, "no agent.heartbeat activity: the agent was not marked online by a check-in"
    # Converged: the applied generation caught up, and the check-in (after the wake was
    # recorded) cleared the wake deadline, so the reconciler will not wake it again.
    assert row is not None
    assert row.last_provision_error is None
    assert row.applied_generation >= row.generation
    assert row.checkin_deadline_at is None
    assert row.wake_attempts == 0

    # The gateway holds exactly the planned workspace files...
    # The gateway 2026.9.6 removes BOOTSTRAP.md at a run's start once SOUL/IDENTITY/USER differ
    # from its starter templates (docs: reference/templates/BOOTSTRAP.md); checked below.
    held = {name: (await client.files_get(gw_agent_id, name)).content for name in files}
    bootstrap = files.pop(BOOTSTRAP, None)
    held_bootstrap = held.pop(BOOTSTRAP, None)
    assert held == files
    assert held_bootstrap in (None, bootstrap)
    # ...and the agent's heartbeat entry.
    config = (await client.config_get()).config
    entry = config.get("agents", {}).get("entries", {}).get(gw_agent_id, {})
    assert entry.get("heartbeat") == heartbeat, entry

    first_model_call = model.requests[requests_before].at - applied_wall
    figure = (
        f"create -> online ({kind}): {online - started:.2f} s "
        f"(provisioning {applied - started:.2f} s, wake -> first model call "
        f"{first_model_call:.2f} s, wake -> check-in {online - applied:.2f} s, "
        f"{len(calls)} tool call(s))"
    )
    e2e_timings.lines.append(figure)
    print(figure)

    # No gateway cleanup: agents.delete costs 4-7 s and the gateway lives for this session only.
    if bootstrap is not None and not _model_saw(model, requests_before, bootstrap):
        pytest.xfail(
            "provisioning gap: the gateway deleted the lead's BOOTSTRAP.md before its first turn "
            "(it removes the file once SOUL/IDENTITY/USER.md differ from its starter templates), "
            "so the bootstrap instructions never reached the agent's prompt"
        )
