"""Deleting a gateway in the browser when the gateway does not answer: the registration goes,
and the page says what is left on the gateway and how to remove it there (the API's warning)."""

from __future__ import annotations

from playwright.async_api import expect

from mission_control.gateways.models import Gateway
from mission_control.provisioning.identities import gateway_main_agent_id
from tests.support import factories
from tests.web.conftest import Console


async def test_deleting_an_unreachable_gateway_says_what_is_left_on_it(console: Console) -> None:
    organization = await console.operator_organization()
    async with console.database.unit_of_work() as session:
        gateway = await factories.gateway(session, organization, name="Gone quiet")
        gateway.url = "ws://127.0.0.1:9"  # nothing listens there
    gateway_id = gateway.id

    page = await console.signed_in_page()
    await page.goto(f"/gateways/{gateway_id}")
    await page.get_by_role("button", name="Delete gateway Gone quiet").click()

    warning = page.get_by_role("alert")
    await expect(warning).to_contain_text("Gateway deleted.", timeout=30_000)
    await expect(warning).to_contain_text(gateway_main_agent_id(gateway_id))
    await expect(warning).to_contain_text(
        f"openclaw agents delete {gateway_main_agent_id(gateway_id)}"
    )
    await expect(page.get_by_role("heading", name="Gateways", level=1)).to_be_visible()
    await expect(page.get_by_role("link", name="Gone quiet")).to_have_count(0)
    async with console.database.unit_of_work() as session:
        assert await session.get(Gateway, gateway_id) is None
