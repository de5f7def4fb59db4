"""Console browser tests: Mission Control served as its own process on a real PostgreSQL
database, driven by headless Chromium (tests/support/browser.py).

Session-wide: the database, the server and the browser. Per test: the tables are emptied,
each test opens its own browser contexts (cookies isolated) and closes them.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core import migrations
from mission_control.core.db import Database
from mission_control.organizations.models import Organization
from mission_control.organizations.service import ensure_local_owner, user_context
from tests.support import factories
from tests.support.browser import DESKTOP
from tests.support.database import create_postgres_database, empty_all_tables
from tests.support.mc_server import McServerError, McServerProcess

# Playwright's own waits: a live change must show within 2 s; page loads get more.
expect.set_options(timeout=5_000)


@dataclass
class Console:
    """The served console: its URL, the operator token, and browser helpers."""

    base_url: str
    operator_token: str = field(repr=False)
    database: Database
    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    async def new_page(self, viewport: dict[str, int] | None = None) -> Page:
        size = viewport or DESKTOP
        context = await self.browser.new_context(
            viewport=ViewportSize(width=size["width"], height=size["height"]),
            base_url=self.base_url,
        )
        self.contexts.append(context)
        return await context.new_page()

    async def sign_in(self, page: Page, token: str | None = None) -> None:
        """Pastes ``token`` (default: the operator token) into the sign-in form."""
        await page.goto("/sign-in")
        await page.get_by_label("Token").fill(token if token is not None else self.operator_token)
        await page.get_by_role("button", name="Sign in").click()

    async def signed_in_page(
        self, token: str | None = None, viewport: dict[str, int] | None = None
    ) -> Page:
        """A new browser context signed in (as the operator by default), on the dashboard."""
        page = await self.new_page(viewport)
        await self.sign_in(page, token)
        await expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
        return page

    def api(self, token: str | None = None) -> httpx.AsyncClient:
        """An HTTP client for Mission Control's API (as the operator unless a token is given)."""
        headers = {"Authorization": f"Bearer {token or self.operator_token}"}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=15.0)

    async def operator_organization(self) -> Organization:
        """The operator's organisation (created on first use, as a first sign-in would)."""
        async with self.database.unit_of_work() as session:
            owner = await ensure_local_owner(session)
            return (await user_context(session, owner, None)).organization


@pytest.fixture(scope="session")
def console_database_url(postgres_admin_url: str) -> str:
    url = asyncio.run(create_postgres_database(postgres_admin_url, "mc_console"))
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="session")
def console_server(
    console_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[McServerProcess]:
    """Mission Control as its own uvicorn process (the reconciler off: no gateway here)."""
    server = McServerProcess(
        database_url=console_database_url,
        data_dir=Path(tmp_path_factory.mktemp("console-mc")),
        operator_token=secrets.token_urlsafe(48),
        secret_key=Fernet.generate_key().decode("ascii"),
        extra_env={"MC_RECONCILER_ENABLED": "false"},
    )
    try:
        server.start()
    except McServerError as error:
        pytest.fail(f"Mission Control did not start: {error}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def console_database(console_database_url: str) -> AsyncIterator[Database]:
    """The served database, for arranging rows the way tests/api does (ORM factories)."""
    database = Database(console_database_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def console(
    console_server: McServerProcess, console_database: Database, browser: Browser
) -> AsyncIterator[Console]:
    """A clean database and the console helpers; browser contexts closed after the test."""
    await empty_all_tables(console_database)
    helper = Console(
        base_url=console_server.base_url,
        operator_token=console_server.operator_token,
        database=console_database,
        browser=browser,
    )
    try:
        yield helper
    finally:
        for context in helper.contexts:
            await context.close()


@dataclass
class BoardTeam:
    """A board of the operator's organisation with a lead and a worker (agent tokens)."""

    organization: Organization
    board: Board
    lead: Agent
    lead_token: str = field(repr=False)
    worker: Agent
    worker_token: str = field(repr=False)

    def agent_headers(self, token: str) -> dict[str, str]:
        return {"X-Agent-Token": token}


async def board_team(console: Console, name: str = "Launch") -> BoardTeam:
    """Rows written through the ORM as tests/api does. The gateway's URL is a closed port:
    nothing here talks to a gateway (notifications to agents simply fail to deliver)."""
    organization = await console.operator_organization()
    async with console.database.unit_of_work() as session:
        gateway = await factories.gateway(session, organization)
        gateway.url = "ws://127.0.0.1:9"
        board = await factories.board(session, organization, gateway, name=name)
        lead, lead_token = await factories.agent(session, gateway, board, name="Lead", lead=True)
        worker, worker_token = await factories.agent(session, gateway, board, name="Worker")
    return BoardTeam(organization, board, lead, lead_token, worker, worker_token)
