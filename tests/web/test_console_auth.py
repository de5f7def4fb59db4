"""Sign-in, sign-out, a refused token, and CSRF: the console's session foundation."""

from __future__ import annotations

import httpx
from playwright.async_api import expect

from mission_control.web.sessions import SESSION_COOKIE
from tests.support.browser import save_screenshot
from tests.web.conftest import Console


async def test_sign_in_and_sign_out(console: Console) -> None:
    page = await console.new_page()
    await page.goto("/")
    # Signed out: the dashboard sends the browser to the sign-in form.
    await expect(page).to_have_url(console.url("/sign-in?next=%2F"))
    await expect(page).to_have_title("Sign in · Mission Control")
    await console.sign_in(page)
    await expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    await expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    by_name = {c.get("name"): c for c in await page.context.cookies()}
    session_cookie = by_name[SESSION_COOKIE]
    assert session_cookie.get("httpOnly") is True
    assert session_cookie.get("sameSite") == "Lax"
    assert console.operator_token not in session_cookie.get("value", "")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    # The old cookie is revoked server side, not only forgotten by the browser.
    cookies = {SESSION_COOKIE: str(session_cookie.get("value", ""))}
    async with httpx.AsyncClient(base_url=console.base_url, cookies=cookies) as client:
        response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")
    await save_screenshot(page, "console-signed-out")


async def test_wrong_token_is_refused(console: Console) -> None:
    page = await console.new_page()
    await console.sign_in(page, "not-the-operator-token")
    alert = page.get_by_role("alert")
    await expect(alert).to_have_text("The operator token is not valid.")
    await expect(page.get_by_label("Token")).to_have_attribute("aria-invalid", "true")
    assert SESSION_COOKIE not in {c["name"] for c in await page.context.cookies()}
    await page.goto("/boards")
    await expect(page).to_have_url(console.url("/sign-in?next=%2Fboards"))
    await save_screenshot(page, "console-wrong-token")


async def test_post_without_csrf_token_is_refused(console: Console) -> None:
    page = await console.signed_in_page()
    # A form another site could send: the session cookie rides along, the CSRF token cannot.
    response = await page.request.post(
        "/boards/new", form={"name": "Forged board", "slug": "forged"}
    )
    assert response.status == 403
    assert "CSRF" in await response.text()
    wrong = await page.request.post("/sign-out", form={"csrf_token": "0" * 64})
    assert wrong.status == 403
    await page.goto("/boards")
    await expect(page.get_by_role("heading", name="Boards", level=1)).to_be_visible()
    await expect(page.get_by_text("Forged board")).to_have_count(0)
    await save_screenshot(page, "console-csrf-refused")
