"""The API's own documentation works for an operator (issue 16, finding 6): /api/v1/docs
renders offline from files this process serves (headless Chromium with every non-loopback
request blocked, and none made), with the Authorize control; the OpenAPI document has our
security schemes and error body; an invalid JSON body names ``body``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from playwright.async_api import Browser, Route

from mission_control.app import create_app
from mission_control.core import migrations
from mission_control.settings import Settings
from tests.support.browser import save_screenshot
from tests.support.mc_server import InProcessMcServer

LOOPBACK = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("docs")
    url = f"sqlite+aiosqlite:///{root / 'mc.db'}"
    migrations.upgrade(url)
    settings = Settings(
        auth_token=secrets.token_urlsafe(48),
        secret_key=Fernet.generate_key().decode(),
        data_dir=root,
        database_url=url,
        reconciler_enabled=False,
    )
    with InProcessMcServer(create_app(settings)) as server:
        yield server.base_url


async def test_docs_render_offline_with_the_authorize_control(
    browser: Browser, docs_server: str
) -> None:
    blocked: list[str] = []
    served: list[str] = []

    async def only_loopback(route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in LOOPBACK:
            served.append(route.request.url)
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort("internetdisconnected")

    context = await browser.new_context()
    try:
        await context.route("**/*", only_loopback)
        page = await context.new_page()
        await page.goto(f"{docs_server}/api/v1/docs", wait_until="networkidle")
        authorize = page.locator("button.authorize")
        await authorize.wait_for(state="visible", timeout=30_000)
        await page.locator(".opblock-tag").first.wait_for(timeout=30_000)
        await authorize.click()
        dialog = page.locator(".modal-ux")
        await dialog.wait_for(state="visible", timeout=10_000)
        text = await dialog.inner_text()
        assert "operatorToken" in text
        assert "X-Agent-Token" in text
        await save_screenshot(page, "api-docs-offline")
    finally:
        await context.close()
    assert blocked == []
    assert any(url.endswith("/swagger-ui-bundle.js") for url in served)
    assert any(url.endswith("/api/v1/openapi.json") for url in served)


async def test_openapi_has_security_schemes_and_our_error_body(docs_server: str) -> None:
    async with httpx.AsyncClient(base_url=docs_server) as client:
        document = (await client.get("/api/v1/openapi.json")).json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["operatorToken"] == {**schemes["operatorToken"], "type": "http"}
    assert schemes["operatorToken"]["scheme"] == "bearer"
    assert schemes["agentToken"]["name"] == "X-Agent-Token"
    assert {"operatorToken": []} in document["security"]
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["ErrorBody"]["properties"]["error"]["required"]) == {
        "code",
        "message",
        "details",
    }
    create_board = document["paths"]["/api/v1/boards"]["post"]["responses"]
    for status in ("422", "4XX"):
        schema = create_board[status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}
    assert document["paths"]["/healthz"]["get"]["security"] == []


async def test_invalid_json_names_the_body(docs_server: str) -> None:
    async with httpx.AsyncClient(base_url=docs_server) as client:
        response = await client.post(
            "/api/v1/boards",
            content=b'{"name": "x",',
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {'x' * 60}"},
        )
    # The body is parsed before the route's dependencies run: a 422, never a position.
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    (detail,) = error["details"]
    assert detail["field"] == "body"
    assert detail["location"] == "body"
    assert "not valid JSON" in detail["message"]
    assert error["message"].startswith("Invalid request: body: The request body is not valid JSON")


def test_swagger_files_come_from_the_installed_package() -> None:
    from mission_control.core.openapi import SWAGGER_FILES

    assert (Path(str(SWAGGER_FILES)) / "swagger-ui-bundle.js").is_file()
