"""Gateway pages against a real OpenClaw gateway: register from the page and see it connected;
a wrong token shows what to do, fixing it on the page connects; an unreachable gateway the
operator fixes elsewhere turns connected on the open page by itself; template sync report;
a session's history and a message sent into it."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, Page, expect

from tests.support.browser import save_screenshot
from tests.web.live.conftest import LiveConsole

# Each test registers a gateway, which provisions its gateway-main agent (slow under load).
pytestmark = [pytest.mark.gateway, pytest.mark.timeout(600)]

# Registering a reachable gateway provisions its gateway-main agent before the page answers.
REGISTER_TIMEOUT_MS = 180_000
# A loaded gateway may take up to the status timeout (15 s) per listing.
LIST_TIMEOUT_MS = 60_000


async def register(page: Page, live: LiveConsole, name: str, url: str, token: str) -> None:
    await page.goto("/gateways/new")
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_label("URL").fill(url)
    await page.get_by_label("Token", exact=True).fill(token)
    await page.get_by_label("Workspace root on the gateway host").fill(live.workspace_root())
    await page.get_by_role("button", name="Register and check the connection").click()
    await expect(page.get_by_role("heading", name=f"Gateway {name}", level=1)).to_be_visible(
        timeout=REGISTER_TIMEOUT_MS
    )


def state(page: Page) -> Locator:
    return page.locator("#gateway-connection [data-connection-state]")


async def test_register_from_the_page_and_see_it_connected(live: LiveConsole) -> None:
    page = await live.console.signed_in_page()
    await register(page, live, "Home gateway", live.gateway.url, live.gateway.token)
    badge = page.locator("#gateway-connection [data-connection-state]")
    await expect(badge).to_have_attribute("data-connection-state", "connected")
    await expect(badge).to_have_text("Connected")
    await expect(page.locator("#gateway-connection")).to_contain_text(re.compile(r"OpenClaw \d"))
    await expect(page.locator("[data-pairing-state]")).to_have_text("approved")
    # The gateway-main agent it provisioned is in both lists.
    await expect(page.locator("[data-agent-row]")).to_have_count(1)
    # While the new agent's first turn runs the gateway may list slowly: the page polls.
    await expect(page.locator("[data-gateway-agents]")).to_contain_text(
        "mc-gateway-", timeout=LIST_TIMEOUT_MS
    )
    await save_screenshot(page, "gateway-connected")

    await page.get_by_role("link", name="Gateways", exact=True).click()
    row = page.locator("article", has_text="Home gateway")
    await expect(row.locator("[data-connection-state]")).to_have_text("Connected")
    await expect(row.locator("[data-agents-count]")).to_have_text(
        re.compile(r"^[1-9]"), timeout=LIST_TIMEOUT_MS
    )
    await save_screenshot(page, "gateway-list")


async def test_wrong_token_says_what_to_do_and_fixing_it_on_the_page_connects(
    live: LiveConsole,
) -> None:
    page = await live.console.signed_in_page()
    await register(page, live, "Typo gateway", live.gateway.url, "not-the-token")
    badge = state(page)
    await expect(badge).to_have_attribute("data-connection-state", "token_refused")
    problem = page.locator("#gateway-connection .problem")
    await expect(problem).to_contain_text("What to do:")
    await expect(problem).to_contain_text("token")
    await save_screenshot(page, "gateway-token-refused")

    await page.locator("#gateway-edit").get_by_label("Token", exact=True).fill(live.gateway.token)
    await page.get_by_role("button", name="Save and check the connection").click()
    await expect(state(page)).to_have_attribute(
        "data-connection-state", "connected", timeout=REGISTER_TIMEOUT_MS
    )


async def test_unreachable_gateway_turns_connected_by_itself_once_fixed(
    live: LiveConsole,
) -> None:
    page = await live.console.signed_in_page()
    await register(page, live, "Later gateway", "ws://127.0.0.1:9", live.gateway.token)
    await expect(state(page)).to_have_attribute("data-connection-state", "unreachable")
    await expect(page.locator("#gateway-connection .problem")).to_contain_text(
        "Start the gateway or correct its URL"
    )
    await save_screenshot(page, "gateway-unreachable")
    gateway_id = page.url.rsplit("/", 1)[-1]

    # The operator fixes the address somewhere else (the API); the open page is not reloaded.
    async with live.console.api() as api:
        api.timeout = 180.0  # the change provisions the gateway-main agent before answering
        response = await api.patch(f"/api/v1/gateways/{gateway_id}", json={"url": live.gateway.url})
        assert response.status_code == 200, response.text
    await expect(state(page)).to_have_attribute(
        "data-connection-state", "connected", timeout=LIST_TIMEOUT_MS
    )
