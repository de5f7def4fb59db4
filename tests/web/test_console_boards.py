"""Boards in the browser: create a board and tasks, move them through the board's rules
(the API's refusals shown next to the card), live changes from an agent, approvals."""

from __future__ import annotations

import time

from playwright.async_api import Page, expect

from mission_control.tasks.models import Task
from tests.support import task_factories
from tests.support.browser import save_screenshot
from tests.web.conftest import Console, board_team


def column(page: Page, label: str):  # type: ignore[no-untyped-def]
    return page.get_by_role("region", name=label, exact=False).filter(
        has=page.get_by_role("heading", name=label)
    )


def card(page: Page, title: str):  # type: ignore[no-untyped-def]
    return page.locator("li.card").filter(has=page.get_by_role("heading", name=title, exact=True))


async def create_task(page: Page, title: str, depends_on: str | None = None) -> None:
    details = page.locator("details").filter(has_text="New task")
    if await details.get_attribute("open") is None:
        await page.get_by_text("New task", exact=True).click()
    await page.locator("#new-task-title").fill(title)
    if depends_on is not None:
        await page.locator("#new-task-deps").select_option(label=depends_on)
    await page.get_by_role("button", name="Create task").click()
    # The live stream can show the card before the form's own answer replaces the page (and
    # closes the form): wait for that answer, not just the card.
    await expect(page.locator("#new-task-form[aria-busy]")).to_have_count(0)
    await expect(card(page, title)).to_be_visible()


async def test_create_board_and_tasks_and_move_through_the_rules(console: Console) -> None:
    page = await console.signed_in_page()
    await page.get_by_role("link", name="Boards", exact=True).click()
    await page.get_by_role("link", name="New board").click()
    await page.get_by_label("Name").fill("Launch site")
    await page.get_by_label("Objective").fill("Ship the launch page")
    await page.get_by_label("Success metrics").fill("not json")
    await page.get_by_role("button", name="Create board").click()
    # The form's own error, next to the form, and nothing created.
    await expect(page.get_by_role("alert")).to_contain_text("success_metrics: not valid JSON")
    await page.get_by_label("Success metrics").fill('{"signups": 100}')
    await page.get_by_label("Target date").fill("2027-01-31")
    await page.get_by_role("button", name="Create board").click()
    await expect(page.get_by_role("heading", name="Launch site", level=1)).to_be_visible()
    await expect(page).to_have_title("Launch site · Mission Control")

    await create_task(page, "Write copy")
    await create_task(page, "Publish", depends_on="Write copy")
    publish = card(page, "Publish")
    await expect(publish.locator("[data-blocked-by]")).to_have_text("Blocked by: Write copy")
    inbox = page.locator('[data-drop-status="inbox"]')
    await expect(inbox.locator("li.card")).to_have_count(2)

    # A blocked task cannot start: the API's message shows on its card.
    await publish.get_by_role("button", name="Move Publish to In progress").click()
    blocked = card(page, "Publish").get_by_role("alert")
    await expect(blocked).to_contain_text("The task is blocked by unfinished dependencies")
    # The message names the blocking task and its status (what the API tells an agent too).
    await expect(blocked).to_contain_text("'Write copy'")
    await expect(blocked).to_contain_text("is inbox")
    # Done needs an approved approval on this board (the default rule).
    write = card(page, "Write copy")
    await write.get_by_role("button", name="Move Write copy to In progress").click()
    await expect(page.locator('[data-drop-status="in_progress"]')).to_contain_text("Write copy")
    await card(page, "Write copy").get_by_role("button", name="Move Write copy to Done").click()
    await expect(card(page, "Write copy").get_by_role("alert")).to_contain_text(
        "This board requires an approved approval linked to the task before done"
    )
    await expect(page.locator('[data-drop-status="done"] li.card')).to_have_count(0)

    # Drag and drop moves a card too.
    await card(page, "Write copy").drag_to(page.locator('[data-drop-status="review"]'))
    await expect(page.locator('[data-drop-status="review"]')).to_contain_text("Write copy")
    await save_screenshot(page, "console-board-rules")


async def test_agent_change_shows_without_reload(console: Console) -> None:
    team = await board_team(console)
    async with console.database.unit_of_work() as session:
        board = team.board
        task = await task_factories.task(session, board, title="Draft plan", assignee=team.worker)
        task_id = task.id
    page = await console.signed_in_page()
    await page.goto(f"/boards/{team.board.id}")
    await expect(page.locator("body")).to_have_attribute("data-live", "open")
    marker = await page.evaluate("() => (window.__notReloaded = true)")
    assert marker is True
    async with console.api() as api:
        started = time.monotonic()
        response = await api.patch(
            f"/api/v1/agent/boards/{team.board.id}/tasks/{task_id}",
            json={"status": "in_progress"},
            headers={"X-Agent-Token": team.worker_token, "Authorization": ""},
        )
        assert response.status_code == 200, response.text
    await expect(page.locator('[data-drop-status="in_progress"]')).to_contain_text(
        "Draft plan", timeout=2_000
    )
    assert time.monotonic() - started < 2.0
    assert await page.evaluate("() => window.__notReloaded === true")
    await save_screenshot(page, "console-live-agent-change")


async def test_approve_from_queue_then_task_moves_to_done(console: Console) -> None:
    team = await board_team(console, name="Review board")
    async with console.database.unit_of_work() as session:
        task = await task_factories.task(
            session, team.board, title="Release notes", status="review", assignee=team.worker
        )
        task_id = task.id
    page = await console.signed_in_page()
    await page.goto("/approvals")
    await expect(page.get_by_text("Nothing waits for a decision.")).to_be_visible()
    await expect(page.locator("body")).to_have_attribute("data-live", "open")
    async with console.api() as api:
        raised = await api.post(
            f"/api/v1/agent/boards/{team.board.id}/approvals",
            json={
                "action_type": "mark_done",
                "payload": {"reason": "Notes reviewed by two people."},
                "confidence": 82,
                "rubric_scores": {"clarity": 90, "accuracy": 75},
                "task_id": str(task_id),
            },
            headers={"X-Agent-Token": team.lead_token, "Authorization": ""},
        )
        assert raised.status_code == 201, raised.text
    # The open queue shows the new approval without a reload.
    await expect(page.locator("article")).to_contain_text(
        "Notes reviewed by two people.", timeout=2_000
    )

    await page.goto(f"/boards/{team.board.id}")
    release = card(page, "Release notes")
    await expect(release.get_by_role("link", name="approval pending")).to_be_visible()
    await release.get_by_role("button", name="Move Release notes to Done").click()
    await expect(card(page, "Release notes").get_by_role("alert")).to_contain_text(
        "approved approval"
    )

    await page.get_by_role("link", name="Approvals", exact=True).first.click()
    await expect(page.get_by_role("heading", name="Approvals", level=1)).to_be_visible()
    entry = page.locator("article").filter(has_text="Notes reviewed by two people.")
    await expect(entry).to_contain_text("82")
    await expect(entry).to_contain_text("clarity: 90")
    await expect(entry.get_by_role("link", name="Release notes")).to_be_visible()
    await entry.get_by_label("Comment").fill("Looks good")
    await entry.get_by_role("button", name="Approve").click()
    await expect(page.get_by_text("Nothing waits for a decision.")).to_be_visible()

    await page.goto(f"/boards/{team.board.id}")
    await (
        card(page, "Release notes").get_by_role("button", name="Move Release notes to Done").click()
    )
    await expect(page.locator('[data-drop-status="done"]')).to_contain_text("Release notes")
    async with console.database.sessions() as session:
        stored = await session.get(Task, task_id)
        assert stored is not None
        assert stored.status == "done"
    await save_screenshot(page, "console-approved-done")


async def test_task_with_tags_and_custom_fields_and_board_edit(console: Console) -> None:
    team = await board_team(console, name="Fields board")
    board_id = team.board.id
    async with console.api() as api:
        tag = await api.post("/api/v1/tags", json={"name": "Backend"})
        assert tag.status_code == 201, tag.text
        field = await api.post(
            "/api/v1/custom-fields",
            json={"key": "estimate_hours", "label": "Estimate (hours)", "field_type": "integer"},
        )
        assert field.status_code == 201, field.text
        bound = await api.put(f"/api/v1/boards/{board_id}/custom-fields/{field.json()['id']}")
        assert bound.status_code == 200, bound.text
    page = await console.signed_in_page()
    await page.goto(f"/boards/{board_id}")
    await page.get_by_text("New task", exact=True).click()
    await page.locator("#new-task-title").fill("Build the API")
    await page.get_by_label("Backend").check()
    await page.locator("#new-task-assignee").select_option(label="Worker")
    # The browser's own number check is bypassed: the API's refusal must show instead.
    await page.locator("#new-task-cf-estimate_hours").evaluate("e => e.type = 'text'")
    await page.locator("#new-task-cf-estimate_hours").fill("lots")
    await page.get_by_role("button", name="Create task").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Custom field 'estimate_hours' must be an integer."
    )
    await page.locator("#new-task-title").fill("Build the API")
    await page.locator("#new-task-cf-estimate_hours").fill("8")
    await page.get_by_role("button", name="Create task").click()
    built = card(page, "Build the API")
    await expect(built).to_contain_text("Backend")
    await expect(built).to_contain_text("Worker")
    await built.get_by_role("link", name="Build the API").click()
    await expect(page.locator("dl.facts")).to_contain_text("estimate_hours")
    await expect(page.locator("dl.facts")).to_contain_text("8")

    await page.goto(f"/boards/{board_id}/edit")
    await page.get_by_label("Name").fill("Fields board, renamed")
    await page.get_by_label("Tasks pass through review before done").check()
    await page.get_by_role("button", name="Save board").click()
    await expect(page.get_by_role("heading", name="Fields board, renamed", level=1)).to_be_visible()
    await save_screenshot(page, "console-board-fields")
