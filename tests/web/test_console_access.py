"""A member without a grant sees no trace of a board: 404 on its pages, absent from lists."""

from __future__ import annotations

from playwright.async_api import expect

from mission_control.organizations.models import Role
from tests.support import factories, task_factories
from tests.support.browser import save_screenshot
from tests.web.conftest import Console, board_team


async def test_member_without_grant_cannot_see_the_board(console: Console) -> None:
    team = await board_team(console, name="Secret launch")
    async with console.database.unit_of_work() as session:
        task = await task_factories.task(session, team.board, title="Hidden task")
        granted = await factories.board(session, team.organization, name="Open board")
        member = await factories.person(
            session, team.organization, Role.MEMBER, grants={granted.id: (True, False)}
        )
    board_id, task_id = team.board.id, task.id

    page = await console.signed_in_page(token=member.token)
    await expect(page.get_by_role("link", name="Open board").first).to_be_visible()
    await expect(page.get_by_text("Secret launch")).to_have_count(0)
    await page.goto("/boards")
    await expect(page.get_by_role("link", name="Open board")).to_be_visible()
    await expect(page.get_by_text("Secret launch")).to_have_count(0)

    for path in (
        f"/boards/{board_id}",
        f"/boards/{board_id}/edit",
        f"/boards/{board_id}/tasks/{task_id}",
        f"/approvals?board_id={board_id}",
        f"/activity?board_id={board_id}",
        f"/live/events?board_id={board_id}",
    ):
        response = await page.request.get(path)
        assert response.status == 404, path
        assert "Secret launch" not in await response.text()
    # A post to the hidden board is refused the same way (and creates nothing).
    csrf = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    response = await page.request.post(
        f"/boards/{board_id}/tasks", form={"csrf_token": csrf or "", "title": "Sneaky"}
    )
    assert response.status == 404
    # A board the member may only read shows no change controls; a forged move is refused
    # with the API's own message.
    await page.goto(f"/boards/{granted.id}")
    await expect(page.get_by_role("button", name="Create task")).to_have_count(0)
    response = await page.request.post(
        f"/boards/{granted.id}/chat", form={"csrf_token": csrf or "", "content": "hi"}
    )
    assert response.status == 403
    assert "You may read this board but not change it" in await response.text()

    await page.goto(f"/boards/{board_id}")
    await expect(page.get_by_role("heading", name="Not found", level=1)).to_be_visible()
    await expect(page.get_by_text("Secret launch")).to_have_count(0)
    await save_screenshot(page, "console-member-no-grant-404")
