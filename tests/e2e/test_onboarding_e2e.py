"""End to end: a user starts onboarding on the served Mission Control; the gateway-main agent it
provisioned reads the request in its session and, driven by the scripted model (which knows only
what the gateway sends it), posts a question through the agent API with its own token."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from mission_control.core.runtime import Runtime
from mission_control.demo.model import (
    Credentials,
    HeartbeatScript,
    Reply,
    ScriptedModelServer,
    find_credentials,
    is_real_user_message,
    message_text,
    tool_calls_in,
    tool_result_after_last_user,
)
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.dev import DevGateway
from mission_control.organizations.models import Organization
from mission_control.provisioning import service
from tests.e2e.conftest import E2ESecrets, E2ETimings
from tests.support import factories
from tests.support.mc_server import McServerProcess

pytestmark = pytest.mark.gateway

QUESTION_TIMEOUT = 120.0
_QUESTIONS_URL = re.compile(
    r"POST (https?://[A-Za-z0-9.:\-]+/api/v1/agent/boards/[0-9a-f\-]+/onboarding/questions)"
)
_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_.~\-]{16,512}$")


def _last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if is_real_user_message(message):
            return message_text(message)
    return ""


@dataclass
class OnboardingScript(HeartbeatScript):
    """Answers an onboarding request by asking the user one question through the agent API;
    anything else is the heartbeat script's business."""

    question: str = "Which launch should this board drive?"
    options: list[str] = field(default_factory=lambda: ["Public beta", "General availability"])

    def decide(self, request: Mapping[str, Any]) -> tuple[Reply, Credentials | None]:
        raw = request.get("messages")
        messages = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
        match = _QUESTIONS_URL.search(_last_user_text(messages))
        if match is None:
            return super().decide(request)
        if tool_result_after_last_user(messages):
            return Reply("final", "Asked the user the first onboarding question."), None
        credentials = find_credentials(messages)
        if credentials is None or not _SAFE_TOKEN.match(credentials.token):
            return Reply("refusal", "No usable AUTH_TOKEN in my workspace prompt."), None
        if tool_calls_in(messages) >= 50:
            return Reply("refusal", "Tool-call limit reached."), None
        body = json.dumps({"question": self.question, "options": self.options})
        command = (
            f"curl -s -X POST -H 'X-Agent-Token: {credentials.token}' "
            f"-H 'Content-Type: application/json' -d '{body}' {match.group(1)}"
        )
        return Reply("tool_call", command=command), credentials


async def _operator_board(
    runtime: Runtime, http: httpx.AsyncClient, operator: dict[str, str], gateway: DevGateway
) -> tuple[uuid.UUID, uuid.UUID]:
    """A gateway row for the real gateway and a board, in the operator's own organisation."""
    me = await http.get("/api/v1/organizations/me", headers=operator)
    assert me.status_code == 200, me.text
    async with runtime.database.unit_of_work() as session:
        org = await session.get(Organization, uuid.UUID(me.json()["id"]))
        assert org is not None
        gw = await factories.gateway(session, org, name=f"onboarding-{uuid.uuid4().hex[:6]}")
        gw.url = gateway.url
        gw.token_ciphertext = runtime.secrets.encrypt(gateway.token)
        gw.workspace_root = str(gateway.state_dir / "workspaces")
        board = await factories.board(session, org, gw, name="Onboarding E2E")
        return gw.id, board.id


async def _agent_question(
    http: httpx.AsyncClient, url: str, operator: dict[str, str], model: ScriptedModelServer
) -> dict[str, Any]:
    deadline = time.monotonic() + QUESTION_TIMEOUT
    while time.monotonic() < deadline:
        current = (await http.get(url, headers=operator)).json()
        questions = [m for m in current["messages"] if m["kind"] == "question"]
        if questions:
            question: dict[str, Any] = questions[0]
            return question
        await asyncio.sleep(0.25)
    pytest.fail(f"the main agent never posted a question.\n{model.summary()}")


async def test_main_agent_posts_a_question_through_the_agent_api(
    e2e_runtime: Runtime,
    e2e_client: GatewayClient,
    e2e_gateway: DevGateway,
    mission_control: McServerProcess,
    scripted_model: ScriptedModelServer,
    e2e_secrets: E2ESecrets,
    e2e_timings: E2ETimings,
) -> None:
    runtime, model = e2e_runtime, scripted_model
    operator = {"Authorization": f"Bearer {e2e_secrets.operator_token}"}
    script = OnboardingScript()
    previous = model.script
    async with httpx.AsyncClient(base_url=mission_control.base_url, timeout=90.0) as http:
        gateway_id, board_id = await _operator_board(runtime, http, operator, e2e_gateway)
        main_id = await service.ensure_gateway_main_agent(runtime, gateway_id)
        outcome = await service.apply_agent(runtime, main_id, service.ApplyOptions(wake=False))
        assert outcome.ok, f"provisioning the main agent failed: {outcome.error}"
        url = f"/api/v1/boards/{board_id}/onboarding"
        model.script = script
        try:
            started_at = time.monotonic()
            started = await http.post(url, headers=operator)
            assert started.status_code == 201, started.text
            question = await _agent_question(http, url, operator, model)
            asked_at = time.monotonic()
        finally:
            model.script = previous
    assert (question["role"], question["content"]) == ("agent", script.question)
    assert question["options"] == script.options
    curls = [
        r for r in model.requests if r.reply and r.reply.command and "/questions" in r.reply.command
    ]
    assert curls, model.summary()
    e2e_timings.lines.append(
        f"onboarding: start accepted -> agent's question stored {asked_at - started_at:.1f} s"
    )
