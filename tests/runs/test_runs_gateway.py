"""Runs against a real gateway with the scripted model: success, model failure, cancel,
timeout, and one dispatch per idempotency key."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.core.events import StreamEvent
from mission_control.core.runtime import Runtime
from mission_control.gateway.client import GatewayClient
from mission_control.runs.models import TaskRunLogEntry
from mission_control.tasks.models import TaskComment
from tests.runs.conftest import World, ledger_runs, make_task, wait_log, wait_run
from tests.runs.script import FAIL, FINAL_PREFIX, SLEEP

pytestmark = pytest.mark.gateway
TERMINAL = {"succeeded", "failed", "timed_out", "cancelled", "lost"}


async def _start(
    http: httpx.AsyncClient, world: World, task_id: uuid.UUID, **body: object
) -> dict[str, Any]:
    response = await http.post(world.runs_url(task_id), json=body, headers=world.writer.headers)
    assert response.status_code == 202, response.text
    started: dict[str, Any] = response.json()
    return started


async def test_run_succeeds_with_log_reply_usage_and_task_summary(
    http: httpx.AsyncClient, runs_runtime: Runtime, world: World, runs_client: GatewayClient
) -> None:
    task = await make_task(runs_runtime, world, "Write the release notes")
    started = await _start(http, world, task.id, label="notes")
    assert started["status"] == "queued"
    run = await wait_run(runs_runtime, started["id"], TERMINAL)
    assert run.status == "succeeded", run.error
    assert run.final_reply is not None
    assert run.final_reply.startswith(FINAL_PREFIX)
    assert "# Task: Write the release notes" in run.final_reply
    assert run.child_session_key == f"agent:main:mcrun:{run.id}"
    assert run.gateway_run_id
    assert run.total_tokens is not None
    assert run.total_tokens > 0
    async with runs_runtime.database.sessions() as session:
        log = list(
            (
                await session.execute(
                    select(TaskRunLogEntry)
                    .where(TaskRunLogEntry.run_id == run.id)
                    .order_by(TaskRunLogEntry.seq)
                )
            ).scalars()
        )
        kinds = [entry.kind for entry in log]
        assert {"tool", "assistant", "lifecycle"} <= set(kinds), kinds
        assert any("exec" in entry.text for entry in log if entry.kind == "tool")
        assert any(
            entry.text.startswith(FINAL_PREFIX) for entry in log if entry.kind == "assistant"
        )
        comments = list(
            (
                await session.execute(select(TaskComment).where(TaskComment.task_id == task.id))
            ).scalars()
        )
        assert len(comments) == 1
        assert "succeeded" in comments[0].message
        assert FINAL_PREFIX in comments[0].message
        types = [
            e.event_type
            for e in (
                await session.execute(
                    select(ActivityEvent)
                    .where(ActivityEvent.task_id == task.id)
                    .order_by(ActivityEvent.created_at, ActivityEvent.id)
                )
            ).scalars()
        ]
        assert types == ["task.run.queued", "task.run.running", "task.run.succeeded"], types
        streamed = [
            e.kind
            for e in (
                await session.execute(select(StreamEvent).where(StreamEvent.task_id == task.id))
            ).scalars()
        ]
        assert "run.log" in streamed
        assert "run.updated" in streamed
    # One-shot runs delete their child session (board default).
    listing = await runs_client.sessions_list(agent_id="main", limit=500)
    keys = [row.key for row in listing.sessions]
    assert run.child_session_key not in keys
    read = await http.get(f"{world.runs_url(task.id)}/{run.id}/log", headers=world.reader.headers)
    assert read.status_code == 200
    assert [e["seq"] for e in read.json()] == list(range(1, len(log) + 1))
    usage = await http.get(f"{world.runs_url(task.id)}/usage", headers=world.reader.headers)
    assert usage.json()["total_tokens"] == run.total_tokens


async def test_model_failure_fails_the_run_with_the_reason(
    http: httpx.AsyncClient, runs_runtime: Runtime, world: World
) -> None:
    task = await make_task(runs_runtime, world, f"Break on purpose {FAIL}")
    started = await _start(http, world, task.id)
    run = await wait_run(runs_runtime, started["id"], TERMINAL)
    assert run.status == "failed", (run.status, run.error)
    assert run.error_code == "run_failed"
    assert run.error is not None
    assert "LLM request failed" in run.error
    async with runs_runtime.database.sessions() as session:
        comment = (
            await session.execute(select(TaskComment).where(TaskComment.task_id == task.id))
        ).scalar_one()
    assert "failed" in comment.message
    assert "Reason:" in comment.message


async def test_cancel_stops_the_gateway_run_and_one_key_starts_one_run(
    http: httpx.AsyncClient, runs_runtime: Runtime, world: World, runs_client: GatewayClient
) -> None:
    task = await make_task(runs_runtime, world, f"Long job {SLEEP}")
    url = world.runs_url(task.id)
    headers = {**world.writer.headers, "Idempotency-Key": "long-job-1"}
    first = await http.post(url, json={}, headers=headers)
    assert first.status_code == 202, first.text
    # A retry with the same key answers the same run and starts nothing new.
    again = await http.post(url, json={}, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    run_id = first.json()["id"]
    await wait_log(runs_runtime, run_id, "call exec")
    cancel = await http.post(f"{url}/{run_id}/cancel", headers=world.writer.headers)
    assert cancel.status_code == 202, cancel.text
    run = await wait_run(runs_runtime, run_id, TERMINAL, timeout=60)
    assert run.status == "cancelled", (run.status, run.error)
    assert run.child_session_key is not None
    assert run.gateway_run_id is not None
    # The gateway's own view: its run ended (agent.wait answers at once, not "timeout").
    waited = await runs_client.agent_wait(run.gateway_run_id, timeout=5)
    assert waited.status != "timeout", waited.payload
    assert await ledger_runs(runs_client, run.child_session_key) in ([run.gateway_run_id], [])
    finished = await http.post(f"{url}/{run_id}/cancel", headers=world.writer.headers)
    assert finished.status_code == 409
    assert finished.json()["error"]["code"] == "run_finished"


async def test_timeout_aborts_the_run(
    http: httpx.AsyncClient, runs_runtime: Runtime, world: World, runs_client: GatewayClient
) -> None:
    task = await make_task(runs_runtime, world, f"Slow job {SLEEP}")
    started = await _start(http, world, task.id, timeout_seconds=4)
    run = await wait_run(runs_runtime, started["id"], TERMINAL, timeout=120)
    assert run.status == "timed_out", (run.status, run.error)
    assert run.error_code == "timeout"
    assert run.gateway_run_id is not None
    waited = await runs_client.agent_wait(run.gateway_run_id, timeout=5)
    assert waited.status != "timeout", waited.payload
