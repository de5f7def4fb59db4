"""Task detail, board chat with /pause and /resume, the activity feed, and every page at
phone width (no horizontal scrolling) with a title and landmarks."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.support import task_factories
from tests.support.browser import PHONE, save_screenshot
from tests.web.conftest import Console, board_team


async def assert_fits(page: Page) -> None:
    """No horizontal scrolling, a title, a banner, a main navigation and one main region."""
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths}"
    assert (await page.title()).endswith("· Mission Control")
    await expect(page.get_by_role("main")).to_have_count(1)
    await expect(page.get_by_role("banner")).to_have_count(1)
    await expect(page.get_by_role("navigation", name="Main")).to_have_count(1)
    await expect(page.get_by_role("heading", level=1)).to_have_count(1)


async def test_task_detail_comments_and_chat_pause(console: Console) -> None:
    team = await board_team(console, name="Detail board")
    async with console.database.unit_of_work() as session:
        first = await task_factories.task(session, team.board, title="Research")
        second = await task_factories.task(session, team.board, title="Write up")
        await task_factories.depend(session, second, first)
    page = await console.signed_in_page()
    await page.goto(f"/boards/{team.board.id}/tasks/{first.id}")
    await expect(page.get_by_role("heading", name="Research", level=1)).to_be_visible()
    await expect(page.locator("dd").filter(has_text="Write up")).to_be_visible()  # needed by
    await page.get_by_label("Comment (@name mentions an agent)").fill("@Worker please start")
    await page.get_by_role("button", name="Post comment").click()
    await expect(page.locator("#comment-list")).to_contain_text("@Worker please start")
    await page.get_by_role("link", name="Write up").first.click()
    await expect(page.locator("[data-blocked-by]")).to_have_text("Blocked by: Research")
    await page.get_by_text("Edit task", exact=True).click()
    await page.locator("#edit-task-title").fill("Write up the findings")
    await page.get_by_role("button", name="Save task").click()
    await expect(page.get_by_role("heading", name="Write up the findings", level=1)).to_be_visible()

    await page.goto(f"/boards/{team.board.id}")
    await page.get_by_label("Message").fill("/pause")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#board-state")).to_contain_text("This board is paused")
    await page.get_by_label("Message").fill("/resume")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#board-state")).not_to_contain_text("paused")
    await expect(page.locator("#chat-messages")).to_contain_text("/resume")

    await page.goto(f"/activity?board_id={team.board.id}&type=task.")
    await expect(page.locator("#activity-feed")).to_contain_text("Write up the findings")
    await expect(page.locator("#activity-feed")).not_to_contain_text("paused")
    await expect(page.locator("body")).to_have_attribute("data-live", "open")
    async with console.api() as api:
        moved = await api.patch(
            f"/api/v1/boards/{team.board.id}/tasks/{first.id}", json={"status": "in_progress"}
        )
        assert moved.status_code == 200, moved.text
    # The filtered feed takes the new event live.
    await expect(page.locator("#activity-feed")).to_contain_text(
        "moved from inbox to in_progress", timeout=2_000
    )
    await save_screenshot(page, "console-activity-filtered")


async def test_pages_fit_a_phone_and_have_landmarks(console: Console) -> None:
    team = await board_team(console, name="A board with a rather long name for a phone")
    async with console.database.unit_of_work() as session:
        task = await task_factories.task(
            session, team.board, title="A task title that goes on and on " * 3
        )
        await task_factories.approval(session, team.board, [task])
    page = await console.signed_in_page(viewport=PHONE)
    for path in (
        "/",
        "/boards",
        "/boards/new",
        f"/boards/{team.board.id}",
        f"/boards/{team.board.id}/edit",
        f"/boards/{team.board.id}/tasks/{task.id}",
        "/approvals",
        "/activity",
    ):
        await page.goto(path)
        await assert_fits(page)
    # Keyboard: the skip link is the first stop and moves focus to the main region.
    await page.goto("/approvals")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#main")).to_be_focused()
    await save_screenshot(page, "console-phone-approvals")


async def test_an_unknown_page_is_a_page_and_an_unknown_api_path_stays_json(
    console: Console,
) -> None:
    page = await console.signed_in_page()
    answer = await page.goto("/boards-typo/42")
    assert answer is not None
    assert answer.status == 404
    await expect(page.get_by_role("heading", name="Not found", level=1)).to_be_visible()
    await expect(page.get_by_role("alert")).to_have_text("There is no such page.")
    await expect(page).to_have_title("Not found · Mission Control")
    await page.get_by_role("link", name="Back to the dashboard").click()
    await expect(page).to_have_url(console.url("/"))

    api = await page.request.get("/api/v1/no-such-thing", headers={"Accept": "text/html"})
    assert api.status == 404
    assert (await api.json())["error"]["code"] == "not_found"
