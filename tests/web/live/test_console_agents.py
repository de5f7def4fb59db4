"""Agent pages against a real gateway and the scripted model: create a worker from the page
and watch it reach online without reload; run a template sync and read its report; open the
worker's session history and send a message into it; delete it and see it leave the gateway's
agent list."""

from __future__ import annotations

import os
import re
import statistics
import time
import uuid

import pytest
from playwright.async_api import Page, expect

from tests.support.browser import save_screenshot
from tests.web.live.conftest import LiveConsole

pytestmark = pytest.mark.gateway

# The agent's first turn (wake, read AGENTS.md, curl the heartbeat) on a loaded machine.
ONLINE_TIMEOUT_MS = 240_000
PAGE_TIMEOUT_MS = 180_000
# Set MC_CONSOLE_CREATE_RUNS=5 for the report's median; the suite creates one.
CREATE_RUNS = int(os.environ.get("MC_CONSOLE_CREATE_RUNS", "1"))


async def registered_gateway(live: LiveConsole) -> uuid.UUID:
    """The session gateway registered through the API (the page flow has its own test)."""
    async with live.console.api() as api:
        api.timeout = 120.0
        response = await api.post(
            "/api/v1/gateways",
            json={
                "name": "Fleet gateway",
                "url": live.gateway.url,
                "token": live.gateway.token,
                "workspace_root": live.workspace_root(),
            },
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"]["connected"], response.text
        return uuid.UUID(response.json()["id"])


async def create_worker(page: Page, board_id: uuid.UUID, name: str) -> float:
    """Creates a worker on the page; returns seconds from the click to "online" on screen."""
    await page.goto(f"/agents/new?board_id={board_id}")
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("Heartbeat every").fill("30m")
    started = time.monotonic()
    await page.get_by_role("button", name="Create and provision").click()
    await expect(page.get_by_role("heading", name=f"Agent {name}", level=1)).to_be_visible(
        timeout=PAGE_TIMEOUT_MS
    )
    status = page.locator("#agent-status [data-agent-status]")
    # No reload from here: the agents stream swaps the status region.
    await expect(status).to_have_text("online", timeout=ONLINE_TIMEOUT_MS)
    return time.monotonic() - started


@pytest.mark.timeout(420 + 300 * CREATE_RUNS)
async def test_worker_created_on_the_page_comes_online_then_sync_history_delete(
    live: LiveConsole,
) -> None:
    gateway_id = await registered_gateway(live)
    board_id = await live.board_on(gateway_id)
    page = await live.console.signed_in_page()

    seconds = [
        await create_worker(page, board_id, f"Scout {run + 1}") for run in range(CREATE_RUNS)
    ]
    print(
        f"\ncreate -> online in the browser: runs={len(seconds)} "
        f"median={statistics.median(seconds):.1f}s all={[round(s, 1) for s in seconds]}"
    )
    await expect(page.locator("#agent-status")).to_contain_text("Checked in recently")
    await expect(page.locator("#agent-activity")).to_contain_text("agent.heartbeat")
    await save_screenshot(page, "agent-online")
    agent_id = page.url.rsplit("/", 1)[-1]
    name = f"Scout {CREATE_RUNS}"

    # The list shows it with its cadence and governor step.
    await page.goto("/agents?kind=worker")
    row = page.locator(f'[data-agent-row="{name}"]')
    await expect(row).to_contain_text("online")
    await expect(row).to_contain_text("30m")

    # Template sync from the gateway page: options, then the report stays on the page.
    await page.goto(f"/gateways/{gateway_id}")
    await page.get_by_label("Include the gateway-main agent").uncheck()
    await page.get_by_role("button", name="Run template sync").click()
    report = page.locator("#sync-report")
    await expect(report).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    await expect(report.locator("[data-updated]")).to_have_text(str(CREATE_RUNS))
    await expect(report.locator("[data-errors]")).to_have_text("0")
    await save_screenshot(page, "gateway-sync-report")

    # The worker's session history holds the wake message Mission Control sent it.
    await page.goto(f"/agents/{agent_id}")
    await page.locator("section", has_text="Sessions").get_by_role("link").first.click()
    await expect(page.get_by_role("heading", name="Session history")).to_be_visible(
        timeout=PAGE_TIMEOUT_MS
    )
    await expect(page.locator("#session-history")).to_contain_text(f"Hello {name}")
    await page.get_by_role("textbox", name="Message").fill("Status report please.")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#session-message [role=status]")).to_contain_text(
        "Sent", timeout=PAGE_TIMEOUT_MS
    )
    # The gateway appends the message to the transcript on its own time: reload until it shows.
    history_url = page.url.replace("/message", "/history")
    deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
    while "Status report please." not in await page.locator("#session-history").inner_text():
        assert time.monotonic() < deadline, "the sent message never showed in the history"
        await page.goto(history_url)
    await save_screenshot(page, "session-history")

    # Delete: back on the gateway page, it is gone from both lists.
    await page.goto(f"/agents/{agent_id}")
    await page.get_by_role("button", name=f"Delete {name}").click()
    await expect(page.get_by_role("heading", name="Gateway Fleet gateway")).to_be_visible(
        timeout=PAGE_TIMEOUT_MS
    )
    # The reconciler deletes it from the gateway, then the row; the live region follows.
    await expect(page.locator(f'[data-agent-row="{name}"]')).to_have_count(
        0, timeout=PAGE_TIMEOUT_MS
    )
    await expect(page.locator("[data-gateway-agents]")).not_to_contain_text(
        re.compile(f"mc-{agent_id}"), timeout=PAGE_TIMEOUT_MS
    )
    await save_screenshot(page, "gateway-after-agent-delete")
