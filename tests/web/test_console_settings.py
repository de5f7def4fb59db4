"""Board settings and My account in the browser (no gateway needed): rules and heartbeat
policy saved through the page (a bad ladder refused with the API's words), a webhook created
with its URL and secret shown once, disabled, and its recent deliveries; personal API tokens
created (shown once, then usable on the API), listed and revoked."""

from __future__ import annotations

import hashlib
import hmac

from playwright.async_api import Page, expect

from tests.support.browser import save_screenshot
from tests.web.conftest import Console, board_team


async def saved(page: Page) -> None:
    """Waits until the form just submitted has been answered and its page swapped in: a field
    filled before that would be replaced by the answer."""
    await expect(page.locator("form[aria-busy]")).to_have_count(0)


async def test_board_rules_policy_and_webhooks(console: Console) -> None:
    team = await board_team(console)
    page = await console.signed_in_page()
    await page.goto(f"/boards/{team.board.id}")
    await page.get_by_role("link", name="Settings").click()
    await expect(page.get_by_role("heading", name="Settings · Launch", level=1)).to_be_visible()

    await page.get_by_label("Most agents on this board").fill("4")
    await page.get_by_role("button", name="Save rules").click()
    await saved(page)
    await expect(page.get_by_label("Most agents on this board")).to_have_value("4")

    await page.get_by_label("Ladder (comma separated, increasing)").fill("30m, 10m")
    await page.get_by_role("button", name="Save policy").click()
    await saved(page)
    await expect(page.locator("#policy-form [role=alert]")).to_contain_text("increasing")
    await page.get_by_label("Ladder (comma separated, increasing)").fill("10m, 1h, 6h")
    await page.get_by_label("Lead cap").fill("45m")
    await page.get_by_label("Governor on").uncheck()
    await page.get_by_role("button", name="Save policy").click()
    await saved(page)
    await expect(page.get_by_label("Lead cap")).to_have_value("45m")
    async with console.api() as api:
        policy = (await api.get(f"/api/v1/boards/{team.board.id}/heartbeat-policy")).json()
        board = (await api.get(f"/api/v1/boards/{team.board.id}")).json()
    assert policy["ladder"] == ["10m", "1h", "6h"]
    assert policy["enabled"] is False
    assert board["max_agents"] == 4

    await page.get_by_label("Name", exact=True).fill("Deploys")
    await page.get_by_role("button", name="Create webhook").click()
    created = page.locator("#webhook-created")
    await expect(created).to_contain_text("not shown again")
    url = await page.locator("#webhook-url").inner_text()
    secret = await page.locator("#webhook-secret").inner_text()
    assert "/api/v1/webhooks/" in url
    assert len(secret) >= 32
    await save_screenshot(page, "board-settings-webhook-created")

    # A signed delivery shows in the recent deliveries; the secret is never shown again.
    body = b'{"deploy": 1}'
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    async with console.api() as api:
        response = await api.post(
            url.replace(console.base_url, ""),
            content=body,
            headers={"X-Mission-Control-Signature": f"sha256={signature}"},
        )
        assert response.status_code < 300, response.text
    await page.reload()
    hook = page.locator("article", has_text="Deploys")
    await expect(hook.locator(".feed")).to_contain_text("signature valid")
    await expect(hook.locator("[data-webhook-state]")).to_have_text("enabled")
    await expect(page.locator("body")).not_to_contain_text(secret)
    await hook.get_by_role("button", name="Disable Deploys").click()
    await expect(
        page.locator("article", has_text="Deploys").locator("[data-webhook-state]")
    ).to_have_text("disabled")
    await save_screenshot(page, "board-settings")


async def test_personal_tokens_created_once_listed_and_revoked(console: Console) -> None:
    page = await console.signed_in_page()
    await page.get_by_role("link", name="Account").click()
    await page.get_by_label("New token for").fill("CI deploys")
    await page.get_by_role("button", name="Create token").click()
    token = await page.locator("#new-token").inner_text()
    assert token.startswith("mcu_")
    await expect(page.locator('[data-token-row="CI deploys"]')).to_be_visible()
    async with console.api(token) as api:
        assert (await api.get("/api/v1/boards")).status_code == 200

    await page.reload()
    await expect(page.locator("body")).not_to_contain_text(token)
    await save_screenshot(page, "account-tokens")
    await page.get_by_role("button", name="Revoke CI deploys").click()
    await expect(page.locator('[data-token-row="CI deploys"]')).to_have_count(0)
    async with console.api(token) as api:
        assert (await api.get("/api/v1/boards")).status_code == 401
