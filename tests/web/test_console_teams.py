"""Console teams pages: invite a member, sign them in through single sign-on (a real OIDC
provider on loopback, authorization code with PKCE), accept, and see only the granted board;
organisation switch and board groups pages."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from playwright.async_api import Browser, Page, Route, expect

from mission_control.core.db import Database
from tests.support import factories
from tests.support.browser import save_screenshot
from tests.support.database import empty_all_tables
from tests.support.mc_server import McServerError, McServerProcess
from tests.support.oidc import CLIENT_SECRET, Issuer, running_issuer
from tests.web.conftest import Console


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


@pytest.fixture(scope="module")
def sso_server(
    console_database_url: str, tmp_path_factory: pytest.TempPathFactory, issuer: Issuer
) -> Iterator[McServerProcess]:
    """Mission Control with the operator token and single sign-on (local+oidc)."""
    server = McServerProcess(
        database_url=console_database_url,
        data_dir=Path(tmp_path_factory.mktemp("teams-mc")),
        operator_token=secrets.token_urlsafe(48),
        secret_key=Fernet.generate_key().decode("ascii"),
        extra_env={
            "MC_RECONCILER_ENABLED": "false",
            "MC_AUTH_MODE": "local+oidc",
            "MC_OIDC_ISSUER": issuer.url,
            "MC_OIDC_AUDIENCE": "mission-control",
            "MC_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        },
    )
    try:
        server.start()
    except McServerError as error:
        pytest.fail(f"Mission Control did not start: {error}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def sso_console(
    sso_server: McServerProcess, console_database: Database, browser: Browser
) -> AsyncIterator[Console]:
    await empty_all_tables(console_database)
    helper = Console(
        base_url=sso_server.base_url,
        operator_token=sso_server.operator_token,
        database=console_database,
        browser=browser,
    )
    try:
        yield helper
    finally:
        for context in helper.contexts:
            await context.close()


async def _offline(page: Page) -> None:
    # The provider's pages link a stylesheet on a CDN; nothing here reaches the internet.
    async def refuse(route: Route) -> None:
        await route.abort()

    await page.context.route("https://**/*", refuse)


async def test_invite_sign_in_with_sso_and_see_only_the_granted_board(
    sso_console: Console, issuer: Issuer
) -> None:
    console = sso_console
    organization = await console.operator_organization()
    async with console.database.unit_of_work() as session:
        granted = await factories.board(session, organization, name="Granted")
        hidden = await factories.board(session, organization, name="Hidden")

    admin = await console.signed_in_page()
    await admin.goto("/team")
    invite = admin.get_by_role("region", name="Invite someone")
    await invite.get_by_label("Email").fill("olivia@example.com")
    await invite.locator(f'input[name="read:{granted.id}"]').check()
    await invite.get_by_role("button", name="Send invite").click()
    link = await admin.locator("#invite-link").inner_text()
    assert "/invites/accept?token=mci_" in link
    await save_screenshot(admin, "console-team-invite")

    async with httpx.AsyncClient(base_url=issuer.url) as provider:
        claims = {"email": "olivia@example.com", "name": "Olivia"}
        assert (await provider.put("/users/olivia", json=claims)).status_code == 204

    member = await console.new_page()
    await _offline(member)
    await member.goto(link)
    await expect(member.get_by_role("heading", name="Sign in")).to_be_visible()
    await member.get_by_role("link", name="Sign in with single sign-on").click()
    # At the identity provider: the person signs in as olivia.
    await member.locator('input[name="sub"]').fill("olivia")
    await member.get_by_role("button", name="Authorize").click()
    await expect(member.get_by_role("heading", name="Accept invite")).to_be_visible()
    await member.get_by_role("button", name="Accept invite").click()
    await expect(member.get_by_role("heading", name="Boards", level=1)).to_be_visible()
    await expect(member.get_by_role("link", name="Granted")).to_be_visible()
    await expect(member.get_by_role("link", name="Hidden")).to_have_count(0)
    await expect(member.locator(".who")).to_contain_text(organization.name)
    await save_screenshot(member, "console-invited-member-boards")
    hidden_page = await member.goto(f"/boards/{hidden.id}")
    assert hidden_page is not None
    assert hidden_page.status == 404
    # The invite is used: the admin sees it accepted.
    await admin.goto("/team")
    await expect(admin.get_by_role("region", name="Invites")).to_contain_text("accepted")
    await expect(admin.get_by_role("region", name="Members")).to_contain_text("olivia@example.com")


async def test_switch_organisation_and_manage_board_groups(sso_console: Console) -> None:
    console = sso_console
    organization = await console.operator_organization()
    async with console.database.unit_of_work() as session:
        await factories.board(session, organization, name="Alpha")
    page = await console.signed_in_page()

    await page.goto("/board-groups")
    await page.get_by_label("Name", exact=True).fill("Launch crew")
    await page.get_by_role("button", name="Create group").click()
    await page.get_by_label("Board to move into Launch crew").select_option(label="Alpha")
    await page.get_by_role("button", name="Move into Launch crew").click()
    group = page.get_by_role("region", name="Launch crew")
    await expect(group.get_by_role("button", name="Take Alpha out")).to_be_visible()
    await save_screenshot(page, "console-board-groups")

    await page.goto("/team")
    await page.get_by_label("New organisation").fill("Side project")
    await page.get_by_role("button", name="Create organisation").click()
    await expect(page.locator(".who")).to_contain_text("Side project")
    await page.goto("/boards")
    await expect(page.get_by_role("link", name="Alpha")).to_have_count(0)
    await page.goto("/team")
    await page.get_by_role("button", name=f"Switch to {organization.name}").click()
    await expect(page.locator(".who")).to_contain_text(organization.name)
    await page.goto("/boards")
    await expect(page.get_by_role("link", name="Alpha")).to_be_visible()
