"""Task runs on the task page against the real gateway and the scripted model: a run started
through the API appears and its log and outcome follow live (no reload); a run started from
the page's form is cancelled from the page and stops on the gateway."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from playwright.async_api import Page, expect

from mission_control.core.security import SecretBox
from mission_control.runs.models import TaskRun
from mission_control.tasks.models import Task
from tests.runs.script import FINAL_PREFIX, SLEEP
from tests.support import factories
from tests.support.browser import save_screenshot
from tests.web.live.conftest import LiveConsole

pytestmark = pytest.mark.gateway

# A cold agent turn on a loaded 2-core host took up to 40 s (docs/runs.md); room for more.
TURN_TIMEOUT_MS = 240_000


@dataclass
class RunTask:
    board_id: uuid.UUID
    task_id: uuid.UUID

    @property
    def path(self) -> str:
        return f"/boards/{self.board_id}/tasks/{self.task_id}"


async def run_task(live: LiveConsole, title: str) -> RunTask:
    """A board on the session gateway (rows, as tests/api does) and a task assigned to a
    worker whose session is the gateway's own `main` agent: the parent of its runs."""
    organization = await live.console.operator_organization()
    async with live.console.database.unit_of_work() as session:
        gateway = await factories.gateway(session, organization, name=f"gw-{uuid.uuid4().hex[:6]}")
        gateway.url = live.gateway.url
        gateway.token_ciphertext = SecretBox(live.server.secret_key).encrypt(live.gateway.token)
        board = await factories.board(session, organization, gateway, name="Runs")
        worker, _token = await factories.agent(session, gateway, board, name="Runner")
        worker.openclaw_session_id = "agent:main:main"
        task = Task(
            board_id=board.id,
            title=title,
            description="Do it carefully.",
            assigned_agent_id=worker.id,
        )
        session.add(task)
        await session.flush()
        return RunTask(board.id, task.id)


async def open_task(live: LiveConsole, target: RunTask) -> Page:
    page = await live.console.signed_in_page()
    await page.goto(target.path)
    await expect(page.locator("#task-runs")).to_contain_text("No runs yet.")
    await expect(page.locator("body[data-live=open]")).to_have_count(1)
    return page


async def stored_run(live: LiveConsole, run_id: uuid.UUID) -> TaskRun:
    async with live.console.database.sessions() as session:
        run = await session.get(TaskRun, run_id)
        assert run is not None
        return run


@pytest.mark.timeout(600)
async def test_run_started_through_the_api_shows_its_log_and_outcome_live(
    live: LiveConsole,
) -> None:
    target = await run_task(live, "Write the console notes")
    page = await open_task(live, target)

    async with live.console.api() as api:
        response = await api.post(
            f"/api/v1/boards/{target.board_id}/tasks/{target.task_id}/runs",
            json={"label": "api run"},
        )
        assert response.status_code == 202, response.text
        run_id = uuid.UUID(response.json()["id"])

    # From here on no reload: the `runs` events swap the runs region.
    run = page.locator(f"#run-{run_id}")
    await expect(run).to_contain_text("api run")
    log = run.locator("[data-run-log]")
    await expect(log.locator("[data-log-kind=tool]").first).to_contain_text(
        "call exec", timeout=TURN_TIMEOUT_MS
    )
    await expect(run.locator("[data-run-status-label]")).to_have_text(
        "succeeded", timeout=TURN_TIMEOUT_MS
    )
    await expect(log.locator("[data-log-kind=lifecycle]").first).to_have_text("lifecycle started")
    await expect(log.locator("[data-log-kind=assistant]").last).to_contain_text(FINAL_PREFIX)
    # The scripted model's answer names the task's first line (the gateway stamps the time).
    reply = run.locator("[data-run-reply]")
    await expect(reply).to_contain_text(FINAL_PREFIX)
    await expect(reply).to_contain_text("# Task: Write the console notes")
    await expect(run.locator("[data-run-tokens]")).to_have_text(re.compile(r"^[1-9]\d* tokens"))
    await expect(page.locator("[data-run-usage]")).to_contain_text("1 run ·")
    stored = await stored_run(live, run_id)
    assert stored.status == "succeeded", stored.error
    await expect(run.locator("[data-run-log] li")).to_have_count(stored.log_count)
    await save_screenshot(page, "task-run-succeeded")


@pytest.mark.timeout(600)
async def test_run_started_from_the_form_is_cancelled_from_the_page(live: LiveConsole) -> None:
    target = await run_task(live, f"Sleep on it {SLEEP}")
    page = await open_task(live, target)

    await page.get_by_label("Label").fill("form run")
    await page.get_by_label("Timeout in seconds").fill("300")
    await page.get_by_role("button", name="Start run").click()
    run = page.locator("article.run").filter(has_text="form run")
    await expect(run).to_have_count(1)
    run_id = uuid.UUID(str(await run.get_attribute("data-run-id")))
    await expect(run).to_contain_text("300 s")
    await expect(run).to_contain_text("one-shot (run)")
    # The long tool call (sleep 60) is under way.
    await expect(run.locator("[data-log-kind=tool]").first).to_contain_text(
        "call exec", timeout=TURN_TIMEOUT_MS
    )
    await expect(run.locator("[data-run-status-label]")).to_have_text("running")

    await run.get_by_role("button", name="Cancel run").click()
    await expect(run.locator("[data-run-status-label]")).to_have_text("cancelled", timeout=120_000)
    await expect(run.get_by_role("button", name="Cancel run")).to_have_count(0)
    stored = await stored_run(live, run_id)
    assert stored.status == "cancelled", (stored.status, stored.error)
    assert stored.cancel_requested_at is not None
    assert (stored.mode, stored.label, stored.timeout_seconds) == ("run", "form run", 300)
    await save_screenshot(page, "task-run-cancelled")
