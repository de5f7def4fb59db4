"""Onboarding through the page, driven by the scripted model: start it from the board page,
the gateway agent's question arrives live, answer it with an option, the draft arrives,
confirm it, and follow the lead until it is provisioned and online."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.async_api import expect

from mission_control.demo.model import (
    Credentials,
    HeartbeatScript,
    Reply,
    find_credentials,
    is_real_user_message,
    message_text,
    tool_result_after_last_user,
)
from tests.support.browser import save_screenshot
from tests.web.live.conftest import LiveConsole
from tests.web.live.test_console_agents import ONLINE_TIMEOUT_MS, registered_gateway

pytestmark = pytest.mark.gateway

QUESTION = "Which launch should this board drive?"
OPTIONS = ["Public beta", "General availability"]
OBJECTIVE = "Ship the public beta to the first hundred teams"
LEAD_NAME = "Beta Lead"
_ENDPOINT = re.compile(r"POST (https?://\S+/onboarding)/questions")
_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_.~\-]{16,512}$")


def _last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if is_real_user_message(message):
            return message_text(message)
    return ""


@dataclass
class InterviewScript(HeartbeatScript):
    """The gateway agent's side of a one-question interview: the request makes it ask
    ``QUESTION`` through the agent API, the answer makes it post a draft; anything else is a
    heartbeat turn."""

    def decide(self, request: Mapping[str, Any]) -> tuple[Reply, Credentials | None]:
        raw = request.get("messages")
        messages = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
        text = _last_user_text(messages)
        endpoint = _ENDPOINT.search(text)
        if endpoint is None:
            return super().decide(request)
        if tool_result_after_last_user(messages):
            return Reply("final", "Done for this step of the interview."), None
        credentials = find_credentials(messages)
        if credentials is None or not _SAFE_TOKEN.match(credentials.token):
            return Reply("refusal", "No usable AUTH_TOKEN in my workspace prompt."), None
        if "BOARD ONBOARDING ANSWER" in text:
            path = "draft"
            body: dict[str, Any] = {
                "board_type": "goal",
                "objective": OBJECTIVE,
                "lead_agent": {"name": LEAD_NAME},
            }
        else:
            path, body = "questions", {"question": QUESTION, "options": OPTIONS}
        command = (
            f"curl -s -X POST -H 'X-Agent-Token: {credentials.token}' "
            f"-H 'Content-Type: application/json' -d '{json.dumps(body)}' "
            f"{endpoint.group(1)}/{path}"
        )
        return Reply("tool_call", command=command), credentials


@pytest.mark.timeout(900)
async def test_onboarding_through_the_page_to_a_provisioned_lead(live: LiveConsole) -> None:
    gateway_id = await registered_gateway(live)
    board_id = await live.board_on(gateway_id, name="Beta board")
    previous = live.model.script
    live.model.script = InterviewScript(max_tool_calls_per_turn=3)
    try:
        page = await live.console.signed_in_page()
        await page.goto(f"/boards/{board_id}")
        await page.get_by_role("link", name="Onboarding").click()
        await page.get_by_role("button", name="Start onboarding").click()
        # The question arrives while the page is open (onboarding events, no reload).
        answer = page.locator("#answer-panel")
        await expect(answer).to_contain_text(QUESTION, timeout=ONLINE_TIMEOUT_MS)
        await save_screenshot(page, "onboarding-question")
        await answer.get_by_role("button", name="Public beta").click()
        await expect(page.locator("#onboarding-messages")).to_contain_text("Public beta")
        draft = page.locator("#onboarding-draft")
        await expect(draft).to_contain_text(OBJECTIVE, timeout=ONLINE_TIMEOUT_MS)
        await expect(draft).to_contain_text(LEAD_NAME)
        await save_screenshot(page, "onboarding-draft")
        await page.get_by_role("button", name="Confirm and provision the lead").click()
        await expect(page.get_by_role("heading", name=f"Agent {LEAD_NAME}")).to_be_visible(
            timeout=ONLINE_TIMEOUT_MS
        )
        lead_id = uuid.UUID(page.url.rsplit("/", 1)[-1])
        # The reconciler provisions the lead; its first turn checks in.
        status = page.locator("#agent-status [data-agent-status]")
        await expect(status).to_have_text("online", timeout=ONLINE_TIMEOUT_MS)
        await save_screenshot(page, "onboarding-lead-online")
    finally:
        live.model.script = previous
    async with live.console.api() as api:
        board = (await api.get(f"/api/v1/boards/{board_id}")).json()
        lead = (await api.get(f"/api/v1/agents/{lead_id}")).json()
    assert board["objective"] == OBJECTIVE
    assert lead["is_board_lead"]
    assert lead["name"] == LEAD_NAME
    assert lead["last_provisioned_at"] is not None
