"""The dashboard, a board and the approvals queue with realistic content, at desktop and
phone width: each fits its viewport and shows what it should; the screenshots are for a
person to look at (test-artifacts/screenshots/console-<page>-<width>.png)."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import expect

from mission_control.tasks.models import Task, TaskTag
from tests.support import board_factories, task_factories
from tests.support.browser import DESKTOP, PHONE, save_screenshot
from tests.web.conftest import Console, board_team
from tests.web.test_console_pages import assert_fits


async def arrange(console: Console) -> tuple[str, str]:
    team = await board_team(console, name="Website relaunch")
    async with console.database.unit_of_work() as session:
        board = team.board
        board.objective = "Relaunch the marketing site before the January campaign"
        copy = await task_factories.task(
            session,
            board,
            title="Write landing page copy",
            status="in_progress",
            assignee=team.worker,
        )
        design = await task_factories.task(
            session, board, title="Design hero section", status="review", assignee=team.worker
        )
        publish = await task_factories.task(session, board, title="Publish the new site")
        await task_factories.depend(session, publish, copy, design)
        await task_factories.task(session, board, title="Pick analytics tool", status="done")
        await task_factories.task(session, board, title="Draft launch email")
        tag = await task_factories.tag(session, team.organization, "Marketing")
        session.add(TaskTag(task_id=copy.id, tag_id=tag.id))
        approval = await task_factories.approval(session, board, [design])
        approval.confidence = 78
        approval.rubric_scores = {"quality": 85, "brand fit": 70}
        approval.payload = {"reason": "Hero matches the brand guide; two reviewers agreed."}
        await board_factories.memory(session, board, "Please prioritise the hero section")
        board_id = str(board.id)
    # One task reaches done through the API, so the dashboard's chart has a bar today.
    async with console.api() as api:
        created = await api.post(f"/api/v1/boards/{board_id}/tasks", json={"title": "Buy domain"})
        task_id = created.json()["id"]
        for status in ("in_progress", "review"):
            moved = await api.patch(
                f"/api/v1/boards/{board_id}/tasks/{task_id}", json={"status": status}
            )
            assert moved.status_code == 200, moved.text
    async with console.database.unit_of_work() as session:
        row = await session.get(Task, uuid.UUID(task_id))
        assert row is not None
        await task_factories.approval(session, team.board, [row], status="approved")
    async with console.api() as api:
        done = await api.patch(
            f"/api/v1/boards/{board_id}/tasks/{task_id}", json={"status": "done"}
        )
        assert done.status_code == 200, done.text
    return board_id, task_id


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
async def test_screenshots(console: Console, width: str, viewport: dict[str, int]) -> None:
    board_id, _ = await arrange(console)
    page = await console.signed_in_page(viewport=viewport)
    await expect(page.locator("#dash-throughput")).to_contain_text("1 done")
    await expect(page.locator("#dash-approvals")).to_contain_text("1")
    await expect(page.locator("#dash-agents")).to_contain_text("offline")
    await assert_fits(page)
    await save_screenshot(page, f"console-dashboard-{width}")

    await page.goto(f"/boards/{board_id}")
    await expect(page.locator('[data-drop-status="done"] li.card')).to_have_count(2)
    await expect(page.locator("[data-blocked-by]")).to_contain_text("Write landing page copy")
    await assert_fits(page)
    await save_screenshot(page, f"console-board-{width}")

    await page.goto("/approvals")
    await expect(page.locator("article")).to_contain_text("brand fit: 70")
    await assert_fits(page)
    await save_screenshot(page, f"console-approvals-{width}")
