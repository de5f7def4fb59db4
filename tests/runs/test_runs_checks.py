"""The checks before a run is created (docs/runs.md#checks-in-order-before-anything-is-created),
in order, each a 4xx with its own code; and who may start runs. No gateway is reached: every
request here is refused before the gateway preflight."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from mission_control.core.clock import utcnow
from mission_control.core.runtime import Runtime
from mission_control.runs.models import TaskRun
from mission_control.tasks.models import Task
from tests.runs.conftest import World, make_world
from tests.support import board_factories, task_factories


@pytest.fixture
async def offline_world(runs_runtime: Runtime) -> World:
    """Its gateway row points at a closed port: a request that got past the checks would
    fail with gateway_unreachable, never with a check's code."""
    return await make_world(runs_runtime, url="ws://127.0.0.1:9", token="unused-token")


async def _task(runtime: Runtime, world: World, **values: object) -> Task:
    async with runtime.database.unit_of_work() as session:
        task = Task(board_id=world.board.id, title="Checked", **values)
        session.add(task)
        await session.flush()
        session.expunge(task)
    return task


async def _run_count(runtime: Runtime, task_id: uuid.UUID) -> int:
    async with runtime.database.sessions() as session:
        query = select(func.count()).select_from(TaskRun).where(TaskRun.task_id == task_id)
        return int((await session.execute(query)).scalar_one())


async def _active_run(runtime: Runtime, world: World, agent_id: uuid.UUID | None) -> None:
    """An unfinished run of another task, leased far ahead so no driver picks it up."""
    async with runtime.database.unit_of_work() as session:
        other = Task(board_id=world.board.id, title="Busy", assigned_agent_id=agent_id)
        session.add(other)
        await session.flush()
        session.add(
            TaskRun(
                organization_id=world.board.organization_id,
                board_id=world.board.id,
                task_id=other.id,
                agent_id=agent_id,
                status="running",
                dispatch_key=uuid.uuid4().hex,
                timeout_seconds=600,
                lease_owner="elsewhere",
                lease_until=utcnow() + timedelta(hours=1),
            )
        )


async def test_checks_refuse_in_order_each_with_its_code(
    http: httpx.AsyncClient, runs_runtime: Runtime, offline_world: World
) -> None:
    world = offline_world
    blocker = await _task(runs_runtime, world)
    async with runs_runtime.database.unit_of_work() as session:
        task = Task(board_id=world.board.id, title="Blocked one")
        session.add(task)
        await session.flush()
        await task_factories.depend(session, task, blocker)
        session.expunge(task)
    body: dict[str, object] = {"runtime": "codex", "sandbox": "require", "mode": "session"}
    url = world.runs_url(task.id)

    async def refused(expected: str, status: int, payload: dict[str, object]) -> None:
        response = await http.post(url, json=payload, headers=world.writer.headers)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == expected, error
        assert error["message"]

    async def policy(**values: object) -> None:
        response = await http.patch(world.policy_url, json=values, headers=world.writer.headers)
        assert response.status_code == 200, response.text

    await policy(enabled=False)
    await refused("runs_disabled", 403, body)
    await policy(enabled=True)
    await refused("runtime_not_allowed", 403, body)
    await policy(allowed_runtimes=["codex"])
    # An ACP harness runs on the host: a sandbox cannot be required for it.
    await refused("sandbox_unavailable", 422, body)
    body.pop("runtime")
    await refused("sandbox_unavailable", 422, body)
    await policy(sandbox_available=True)
    await refused("session_mode_unavailable", 422, body)
    await policy(keep_sessions=True)
    async with runs_runtime.database.unit_of_work() as session:
        await board_factories.memory(session, world.board, "/pause", is_chat=True)
    await refused("board_paused", 409, body)
    async with runs_runtime.database.unit_of_work() as session:
        await board_factories.memory(session, world.board, "/resume", is_chat=True)
    await refused("task_unassigned", 409, body)
    async with runs_runtime.database.unit_of_work() as session:
        stored = await session.get(Task, task.id)
        assert stored is not None
        stored.assigned_agent_id = world.worker.id
    await policy(paused_agent_ids=[str(world.worker.id)])
    await refused("agent_paused", 409, body)
    await policy(paused_agent_ids=[])
    await _active_run(runs_runtime, world, world.worker.id)
    await refused("agent_run_limit", 429, body)
    await policy(max_runs_per_agent=2, max_runs_per_board=1)
    await refused("board_run_limit", 429, body)
    await policy(max_runs_per_board=5)
    await refused("task_blocked", 409, body)
    async with runs_runtime.database.unit_of_work() as session:
        done = await session.get(Task, blocker.id)
        assert done is not None
        done.status = "done"
    # Every check passed: the next step is the gateway (unreachable here), still no row.
    response = await http.post(url, json=body, headers=world.writer.headers)
    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "gateway_unreachable"
    assert await _run_count(runs_runtime, task.id) == 0


async def test_agent_without_a_gateway_session_is_refused(
    http: httpx.AsyncClient, runs_runtime: Runtime, offline_world: World
) -> None:
    world = offline_world
    async with runs_runtime.database.unit_of_work() as session:
        task = Task(board_id=world.board.id, title="No parent", assigned_agent_id=world.worker.id)
        session.add(task)
        worker = await session.get(type(world.worker), world.worker.id)
        assert worker is not None
        worker.openclaw_session_id = None
        await session.flush()
        task_id = task.id
    response = await http.post(world.runs_url(task_id), json={}, headers=world.writer.headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "agent_unavailable"


async def test_who_may_start_runs(
    http: httpx.AsyncClient, runs_runtime: Runtime, offline_world: World
) -> None:
    world = offline_world
    task = await _task(runs_runtime, world, assigned_agent_id=world.worker.id)
    await http.patch(world.policy_url, json={"enabled": False}, headers=world.writer.headers)
    reader = await http.post(world.runs_url(task.id), json={}, headers=world.reader.headers)
    assert reader.status_code == 403
    other = await http.post(
        world.agent_runs_url(task.id), json={}, headers={"X-Agent-Token": world.other_token}
    )
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "not_assigned_to_you"
    # The assigned worker and the lead get past access (to the policy's refusal).
    for token in (world.worker_token, world.lead_token):
        response = await http.post(
            world.agent_runs_url(task.id), json={}, headers={"X-Agent-Token": token}
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "runs_disabled"
    # An agent of another board reaches nothing here.
    stranger = await make_world(runs_runtime, url="ws://127.0.0.1:9", token="unused-token")
    response = await http.post(
        world.agent_runs_url(task.id), json={}, headers={"X-Agent-Token": stranger.worker_token}
    )
    assert response.status_code == 403
    bad = await http.post(
        world.runs_url(task.id), json={"cwd": "relative/path"}, headers=world.writer.headers
    )
    assert bad.status_code == 422
    assert await _run_count(runs_runtime, task.id) == 0
