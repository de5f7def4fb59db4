"""Runs survive their drivers: Mission Control restarted mid-run catches the run up from the
gateway (history and ledger); a gateway killed and restarted mid-run leaves the run in a true
terminal state with no second run started (a test-local gateway for that one); a run the
gateway does not know at all ends `lost` after the grace."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.app import build_runtime
from mission_control.core.clock import utcnow
from mission_control.core.runtime import Runtime
from mission_control.demo.model import ScriptedModelServer
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.dev import DevGateway
from mission_control.runs.executor import child_session_key, manager_for
from mission_control.runs.models import TaskRun, TaskRunLogEntry
from mission_control.tasks.models import TaskComment
from tests.runs.conftest import (
    FAST,
    World,
    configure_gateway,
    fast_manager,
    ledger_runs,
    make_task,
    make_world,
    wait_log,
    wait_run,
)
from tests.runs.script import FINAL_PREFIX, NAP
from tests.support.dev_gateways import running_gateway

pytestmark = pytest.mark.gateway
TERMINAL = {"succeeded", "failed", "timed_out", "cancelled", "lost"}


async def _start(http: httpx.AsyncClient, world: World, task_id: uuid.UUID) -> uuid.UUID:
    response = await http.post(world.runs_url(task_id), json={}, headers=world.writer.headers)
    assert response.status_code == 202, response.text
    return uuid.UUID(response.json()["id"])


async def test_mission_control_restart_mid_run_catches_up(
    http: httpx.AsyncClient, runs_runtime: Runtime, world: World, runs_client: GatewayClient
) -> None:
    task = await make_task(runs_runtime, world, f"Nap then answer {NAP}")
    run_id = await _start(http, world, task.id)
    await wait_log(runs_runtime, run_id, "call exec")
    # The process driving the run goes away (its lease stays until it lapses).
    await manager_for(runs_runtime).close()
    async with runs_runtime.database.sessions() as session:
        before = await session.get(TaskRun, run_id)
        assert before is not None
        assert before.status == "running"
        logged_before = before.log_count
    restarted = build_runtime(runs_runtime.settings)
    try:
        fast_manager(restarted)
        run = await wait_run(restarted, run_id, TERMINAL)
        assert run.status == "succeeded", (run.status, run.error)
        assert run.final_reply is not None
        assert run.final_reply.startswith(FINAL_PREFIX)
        assert run.gateway_run_id is not None
        assert run.child_session_key is not None
        assert run.log_count > logged_before
        assert await ledger_runs(runs_client, run.child_session_key) in (
            [run.gateway_run_id],
            [],
        )
    finally:
        await manager_for(restarted).close()
        await restarted.gateway_pool.close()
        await restarted.database.dispose()
        fast_manager(runs_runtime)


@pytest.fixture
def local_gateway(gateway_install: Path, tmp_path: Path) -> Iterator[DevGateway]:
    yield from running_gateway(gateway_install, tmp_path / "openclaw-local")


@pytest.mark.timeout(900)  # two cold gateway starts and a cold agent turn on a loaded host
async def test_gateway_killed_mid_run_ends_terminal_without_a_second_run(
    http: httpx.AsyncClient,
    runs_runtime: Runtime,
    local_gateway: DevGateway,
    runs_model: ScriptedModelServer,
) -> None:
    client = await configure_gateway(runs_runtime, local_gateway, runs_model)
    world = await make_world(runs_runtime, local_gateway)
    task = await make_task(runs_runtime, world, f"Nap through a gateway restart {NAP}")
    run_id = await _start(http, world, task.id)
    await wait_log(runs_runtime, run_id, "call exec")
    # Killed, not stopped: no drain, no goodbye; then started again on the same port and state.
    assert local_gateway.pid is not None
    os.killpg(local_gateway.pid, signal.SIGKILL)
    local_gateway.ready_timeout = 400.0  # a cold start took over 120 s on a loaded 2-core host
    await asyncio.to_thread(local_gateway.restart)
    run = await wait_run(runs_runtime, run_id, TERMINAL)
    assert run.status in TERMINAL
    assert run.ended_at is not None
    assert run.child_session_key is not None
    assert run.gateway_run_id is not None
    await client.connection.wait_connected(60)
    # Never dispatched twice: across both lives of the gateway it answered exactly one `agent`
    # call, the one that started this run. (After its restart the gateway may resume the
    # interrupted turn under a run id of its own; that is the gateway's recovery, not a
    # second dispatch.)
    log_text = local_gateway.output_path.read_text(errors="replace")
    dispatched = re.findall(r"res \S+ agent \d+ms runId=(\S+)", log_text)
    assert dispatched == [run.gateway_run_id], (run.status, dispatched)
    assert run.gateway_run_id in await ledger_runs(client, run.child_session_key)
    async with runs_runtime.database.sessions() as session:
        texts = list(
            (
                await session.execute(
                    select(TaskRunLogEntry.text).where(TaskRunLogEntry.run_id == run_id)
                )
            ).scalars()
        )
    assert sum(text == "started" for text in texts) == 1, texts


async def test_run_the_gateway_does_not_know_ends_lost_after_the_grace(
    runs_runtime: Runtime, world: World, runs_gateway: DevGateway, runs_client: GatewayClient
) -> None:
    """A run Mission Control holds as running under a gateway run id the real gateway never
    issued (its state was lost, or the database came back from a backup): no `agent.wait`
    result, no ledger entry. The run manager picks it up, asks the gateway, and ends it `lost`
    once the grace has passed; it never dispatches it again."""
    task = await make_task(runs_runtime, world, "Forgotten by the gateway")
    assert world.worker.openclaw_session_id is not None
    run_id = uuid.uuid4()
    gateway_run_id = f"mc-unknown-{uuid.uuid4().hex}"
    async with runs_runtime.database.unit_of_work() as session:
        session.add(
            TaskRun(
                id=run_id,
                organization_id=world.board.organization_id,
                board_id=world.board.id,
                task_id=task.id,
                agent_id=world.worker.id,
                gateway_id=world.gateway.id,
                mode="run",
                timeout_seconds=600,
                status="running",
                dispatch_key=uuid.uuid4().hex,
                parent_session_key=world.worker.openclaw_session_id,
                child_session_key=child_session_key(world.worker.openclaw_session_id, run_id),
                gateway_run_id=gateway_run_id,
                started_at=utcnow(),
                deadline_at=utcnow() + timedelta(seconds=600),
                log_count=0,
            )
        )
    inserted = utcnow()
    # The gateway's own view first: it knows nothing of this run.
    assert (await runs_client.agent_wait(gateway_run_id, timeout=0.2)).status == "timeout"
    assert await runs_client.ledger_tasks(child_session_key("agent:main:main", run_id)) == []

    run = await wait_run(runs_runtime, run_id, TERMINAL, timeout=120)
    assert run.status == "lost", (run.status, run.error)
    assert run.error_code == "run_lost"
    assert run.error is not None
    assert "cannot account for this run" in run.error
    assert run.ended_at is not None
    assert run.lease_owner is None
    assert (run.ended_at - inserted).total_seconds() >= FAST.unknown_grace_seconds
    async with runs_runtime.database.sessions() as session:
        types = list(
            (
                await session.execute(
                    select(ActivityEvent.event_type).where(ActivityEvent.task_id == task.id)
                )
            ).scalars()
        )
        comment = (
            await session.execute(select(TaskComment).where(TaskComment.task_id == task.id))
        ).scalar_one()
    assert types == ["task.run.lost"], types
    assert "was lost" in comment.message
    # Never dispatched: the gateway answered no `agent` call and made no session for it.
    log_text = runs_gateway.output_path.read_text(errors="replace")
    dispatched = re.findall(r"res \S+ agent \d+ms runId=(\S+)", log_text)
    assert gateway_run_id not in dispatched
    assert run.child_session_key is not None
    listing = await runs_client.sessions_list(agent_id="main", limit=500)
    assert run.child_session_key not in [row.key for row in listing.sessions]
