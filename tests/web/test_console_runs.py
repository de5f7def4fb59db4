"""Task runs on the task page without a gateway: a refused start shows the check's reason in
words next to the form (and starts nothing); a run's log and outcome follow live from the
`runs` stream for a reader, who gets no start form and no cancel button. Runs on a real
gateway: tests/web/live/test_console_runs.py."""

from __future__ import annotations

import uuid
from datetime import timedelta

from playwright.async_api import Page, expect
from sqlalchemy import func, select

from mission_control.core import events
from mission_control.core.clock import utcnow
from mission_control.organizations.models import Role
from mission_control.runs import service as run_service
from mission_control.runs.models import TaskRun, TaskRunLogEntry
from tests.support import factories, task_factories
from tests.web.conftest import BoardTeam, Console, board_team


async def run_count(console: Console, task_id: uuid.UUID) -> int:
    async with console.database.sessions() as session:
        query = select(func.count()).select_from(TaskRun).where(TaskRun.task_id == task_id)
        return int((await session.execute(query)).scalar_one())


async def start_from_form(page: Page, mode: str, label: str = "") -> None:
    await page.locator("#run-mode").select_option(mode)
    await page.get_by_label("Label").fill(label)
    await page.get_by_role("button", name="Start run").click()


async def test_refused_start_shows_the_reason_and_starts_nothing(console: Console) -> None:
    team = await board_team(console, name="Refusals")
    async with console.database.unit_of_work() as session:
        task = await task_factories.task(
            session, team.board, title="Refused run", assignee=team.worker
        )
    page = await console.signed_in_page()
    await page.goto(f"/boards/{team.board.id}/tasks/{task.id}")
    runs = page.locator("#task-runs")
    await expect(runs).to_contain_text("No runs yet.")
    error = page.locator("#runs [role=alert]")

    # Check 4: the board keeps no sessions (the default policy).
    await start_from_form(page, "session", "kept")
    await expect(error).to_contain_text("Mode 'session' keeps the child session open")
    await expect(error).to_contain_text("(session_mode_unavailable)")
    # The form keeps what was sent.
    await expect(page.locator("#run-mode")).to_have_value("session")
    await expect(page.get_by_label("Label")).to_have_value("kept")

    # Check 8: the worker was never provisioned, so it has no session to be the parent.
    await start_from_form(page, "run")
    await expect(error).to_contain_text("has no session on its gateway")
    await expect(error).to_contain_text("(agent_unavailable)")

    # Check 1 comes first once the board's policy disables runs.
    async with console.api() as api:
        response = await api.patch(
            f"/api/v1/boards/{team.board.id}/run-policy", json={"enabled": False}
        )
        assert response.status_code == 200, response.text
    await start_from_form(page, "run")
    await expect(error).to_contain_text("Runs are disabled for this board")
    await expect(error).to_contain_text("(runs_disabled)")

    await expect(runs).to_contain_text("No runs yet.")
    assert await run_count(console, task.id) == 0


async def running_run(console: Console, team: BoardTeam, task_id: uuid.UUID) -> uuid.UUID:
    """A running run as the run manager records it, leased far ahead so the served process's
    manager leaves it alone (this test plays the driver)."""
    async with console.database.unit_of_work() as session:
        run = TaskRun(
            id=uuid.uuid4(),
            organization_id=team.organization.id,
            board_id=team.board.id,
            task_id=task_id,
            agent_id=team.worker.id,
            gateway_id=team.board.gateway_id,
            mode="run",
            label="nightly",
            timeout_seconds=300,
            status="running",
            dispatch_key=uuid.uuid4().hex,
            child_session_key=f"agent:worker:mcrun:{uuid.uuid4()}",
            started_at=utcnow(),
            log_count=0,
            lease_owner="test",
            lease_until=utcnow() + timedelta(hours=1),
        )
        session.add(run)
        await session.flush()
        run_service.record_transition(session, run, "Run started.")
        return run.id


async def append_log(console: Console, run_id: uuid.UUID, kind: str, text: str) -> None:
    """One log entry and its `run.log` event, committed together (what the driver does)."""
    async with console.database.unit_of_work() as session:
        run = await session.get(TaskRun, run_id)
        assert run is not None
        run.log_count += 1
        session.add(TaskRunLogEntry(run_id=run.id, seq=run.log_count, kind=kind, text=text))
        events.emit(
            session,
            "run.log",
            organization_id=run.organization_id,
            board_id=run.board_id,
            agent_id=run.agent_id,
            task_id=run.task_id,
            data={"run_id": str(run.id), "seq": run.log_count, "kind": kind, "text": text},
        )


async def test_reader_follows_a_runs_log_and_outcome_live(console: Console) -> None:
    team = await board_team(console, name="Live runs")
    async with console.database.unit_of_work() as session:
        task = await task_factories.task(
            session, team.board, title="Watched run", assignee=team.worker
        )
        reader = await factories.person(
            session, team.organization, Role.MEMBER, grants={team.board.id: (True, False)}
        )
    run_id = await running_run(console, team, task.id)
    page = await console.signed_in_page(token=reader.token)
    await page.goto(f"/boards/{team.board.id}/tasks/{task.id}")
    await expect(page.locator("body[data-live=open]")).to_have_count(1)
    run = page.locator(f"#run-{run_id}")
    await expect(run.locator("[data-run-status-label]")).to_have_text("running")
    await expect(run).to_contain_text("nightly")
    await expect(run).to_contain_text("one-shot (run)")
    await expect(run.locator("[data-run-log]")).to_contain_text("Nothing logged yet.")
    # A reader may watch, not start or cancel.
    await expect(page.locator("#start-run-form")).to_have_count(0)
    await expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)

    log = run.locator("[data-run-log] li")
    await append_log(console, run_id, "lifecycle", "started")
    await append_log(console, run_id, "tool", "call exec: echo hello")
    await expect(log).to_have_text(["lifecycle started", "tool call exec: echo hello"])
    await append_log(console, run_id, "assistant", "All done here.")
    await expect(log.nth(2)).to_have_text("assistant All done here.")
    await expect(log.nth(2)).to_have_attribute("data-log-kind", "assistant")

    async with console.database.unit_of_work() as session:
        row = await session.get(TaskRun, run_id)
        assert row is not None
        row.status = "succeeded"
        row.final_reply = "Deployed the nightly build."
        row.input_tokens, row.output_tokens, row.total_tokens = 120, 30, 150
        row.cost_usd = 0.0125
        row.ended_at = utcnow()
        row.lease_owner = row.lease_until = None
        await session.flush()
        run_service.record_transition(session, row, "Run succeeded.")
    await expect(run.locator("[data-run-status-label]")).to_have_text("succeeded")
    await expect(run.locator("[data-run-reply]")).to_contain_text("Deployed the nightly build.")
    await expect(run.locator("[data-run-tokens]")).to_contain_text("150 tokens (120 in, 30 out)")
    await expect(page.locator("[data-run-usage]")).to_contain_text("1 run · 150 tokens")
    await expect(page.locator("[data-run-usage]")).to_contain_text("$0.0125")


async def test_cancel_from_the_page_and_a_refused_cancel(console: Console) -> None:
    team = await board_team(console, name="Cancels")
    async with console.database.unit_of_work() as session:
        task = await task_factories.task(
            session, team.board, title="Cancelled run", assignee=team.worker
        )
    first = await running_run(console, team, task.id)
    page = await console.signed_in_page()
    await page.goto(f"/boards/{team.board.id}/tasks/{task.id}")
    await expect(page.locator("body[data-live=open]")).to_have_count(1)
    run = page.locator(f"#run-{first}")
    await run.get_by_role("button", name="Cancel run").click()
    await expect(run.locator("[data-cancel-requested]")).to_contain_text("Cancel requested")
    await expect(run.get_by_role("button", name="Cancel run")).to_have_count(0)
    async with console.database.sessions() as session:
        row = await session.get(TaskRun, first)
        assert row is not None
        assert row.cancel_requested_at is not None
        assert row.status == "running"  # the driver (not this page) ends it on the gateway

    # A run that ended while the page still offered its button: the page says so.
    async with console.database.unit_of_work() as session:
        row = await session.get(TaskRun, first)
        assert row is not None
        row.status, row.ended_at = "cancelled", utcnow()
    second = await running_run(console, team, task.id)
    await page.reload()
    other = page.locator(f"#run-{second}")
    await expect(other.get_by_role("button", name="Cancel run")).to_be_visible()
    async with console.database.unit_of_work() as session:
        row = await session.get(TaskRun, second)
        assert row is not None
        # Ended without an event, so the open page still shows the button.
        row.status, row.ended_at, row.final_reply = "succeeded", utcnow(), "Done already."
    await other.get_by_role("button", name="Cancel run").click()
    error = page.locator("#runs [role=alert]")
    await expect(error).to_contain_text("The run already ended (succeeded).")
    await expect(error).to_contain_text("(run_finished)")
    await expect(page.locator(f"#run-{second} [data-run-status-label]")).to_have_text("succeeded")
