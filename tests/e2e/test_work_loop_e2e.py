"""The work loop, end to end, on a real gateway (issue 15). A person creates a board that needs
an approval before done, a worker, and writes the plan in the board chat; from then on the lead
and the worker act only through their own turns, run by a scripted model that knows nothing
but what their workspace and Mission Control's answers tell it (tests/e2e/playbook_script.py).
The test only sends heartbeat beats (the prompt the gateway holds for each agent) and the
person's approvals, and asserts every step from Mission Control's state and activity."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.approvals.models import Approval, ApprovalTaskLink
from mission_control.core.runtime import Runtime
from mission_control.demo.model import ScriptedModelServer, is_real_user_message, message_text
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.dev import DevGateway
from mission_control.organizations.models import Organization
from mission_control.provisioning import service
from mission_control.provisioning.context import agent_ref
from mission_control.provisioning.identities import agent_session_key, gateway_agent_id
from mission_control.tasks.models import Task, TaskComment, TaskDependency
from tests.e2e.conftest import E2ESecrets, E2ETimings
from tests.e2e.playbook_script import SEND_BACK_NOTE, PlaybookScript
from tests.support import factories
from tests.support.mc_server import McServerProcess

pytestmark = [pytest.mark.gateway, pytest.mark.timeout(900)]

TITLES = ("Draft the release notes", "Publish the release notes")
PLAN = f"Plan this as two tasks, in this order:\n1. {TITLES[0]}\n2. {TITLES[1]}"
# Generous: on a loaded 2-core machine one agent turn of 6-10 commands can take a minute.
STEP_TIMEOUT = 240.0
REBEAT_AFTER = 45.0


@dataclass
class Loop:
    runtime: Runtime
    client: GatewayClient
    model: ScriptedModelServer
    server: McServerProcess
    board_id: uuid.UUID
    steps: list[str] = field(default_factory=list)
    beats: int = 0

    async def prompt_of(self, agent_id: uuid.UUID) -> tuple[str, str]:
        """The agent's session and the heartbeat prompt the gateway holds for it."""
        async with self.runtime.database.unit_of_work() as session:
            agent = await session.get(Agent, agent_id, populate_existing=True)
            assert agent is not None
        ref = agent_ref(agent)
        config = (await self.client.config_get()).config
        entry = config["agents"]["entries"][gateway_agent_id(ref)]
        prompt = entry["heartbeat"]["prompt"]
        assert isinstance(prompt, str)
        return agent_session_key(ref), prompt

    async def beat(self, agent_id: uuid.UUID) -> None:
        session_key, prompt = await self.prompt_of(agent_id)
        await self.client.chat_send(session_key, prompt, idempotency_key=uuid.uuid4().hex)
        self.beats += 1

    async def until(
        self,
        label: str,
        check: Callable[[], Awaitable[bool]],
        beat: uuid.UUID | None,
        first_beat_after: float = 0.0,
    ) -> None:
        """Beats ``beat`` (if any) and waits for ``check``; beats again if nothing moved."""
        started = time.monotonic()
        next_beat = started + first_beat_after
        while time.monotonic() - started < STEP_TIMEOUT:
            if await check():
                self.steps.append(f"{label} ({time.monotonic() - started:.1f} s)")
                print(f"work loop: {self.steps[-1]}, {self.beats} beats so far", flush=True)
                return
            if beat is not None and time.monotonic() >= next_beat:
                await self.beat(beat)
                next_beat = time.monotonic() + REBEAT_AFTER
            if not self.server.running():
                pytest.fail(f"Mission Control exited:\n{self.server.log_tail()}")
            await asyncio.sleep(0.3)
        pytest.fail(
            f"step {label!r} did not happen within {STEP_TIMEOUT:.0f} s; done so far: "
            f"{self.steps}\nScripted model:\n{self.model.summary()[-6000:]}"
        )

    async def moves(self, task_id: uuid.UUID) -> list[tuple[uuid.UUID | None, str, str]]:
        """(actor agent, from, to) of each status change of the task, in order."""
        async with self.runtime.database.unit_of_work() as session:
            rows = await session.scalars(
                select(ActivityEvent)
                .where(
                    ActivityEvent.task_id == task_id,
                    ActivityEvent.event_type == "task.status_changed",
                )
                .order_by(ActivityEvent.id)
            )
            return [
                (e.actor_agent_id, (e.details or {})["from"], (e.details or {})["to"]) for e in rows
            ]

    async def tasks(self) -> list[Task]:
        async with self.runtime.database.unit_of_work() as session:
            rows = await session.scalars(
                select(Task)
                .where(Task.board_id == self.board_id)
                .order_by(Task.created_at)
                .execution_options(populate_existing=True)
            )
            return list(rows)

    async def titled(self) -> tuple[Task, Task]:
        """The two planned tasks, in plan order (by title: creation times may tie)."""
        tasks = {t.title: t for t in await self.tasks()}
        return tasks[TITLES[0]], tasks[TITLES[1]]

    async def approvals(self, task_id: uuid.UUID) -> list[Approval]:
        async with self.runtime.database.unit_of_work() as session:
            rows = await session.scalars(
                select(Approval)
                .join(ApprovalTaskLink, ApprovalTaskLink.approval_id == Approval.id)
                .where(ApprovalTaskLink.task_id == task_id)
                .execution_options(populate_existing=True)
            )
            return list(rows)


async def _board_and_agents(
    runtime: Runtime, http: httpx.AsyncClient, person: dict[str, str], gateway: DevGateway
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """The person's board (approval before done, a comment to enter review, one worker), its
    lead (provisioned by Mission Control's engine) and a worker the person creates."""
    me = await http.get("/api/v1/organizations/me", headers=person)
    assert me.status_code == 200, me.text
    async with runtime.database.unit_of_work() as session:
        org = await session.get(Organization, uuid.UUID(me.json()["id"]))
        assert org is not None
        gw = await factories.gateway(session, org, name=f"loop-{uuid.uuid4().hex[:6]}")
        gw.url = gateway.url
        gw.token_ciphertext = runtime.secrets.encrypt(gateway.token)
        gw.workspace_root = str(gateway.state_dir / "workspaces")
    created = await http.post(
        "/api/v1/boards",
        headers=person,
        json={
            "name": f"Release notes {uuid.uuid4().hex[:4]}",
            "gateway_id": str(gw.id),
            "objective": "Publish the release notes",
            "require_approval_for_done": True,
            "comment_required_for_review": True,
            "max_agents": 1,
        },
    )
    assert created.status_code == 201, created.text
    board_id = uuid.UUID(created.json()["id"])
    lead_id, _new = await service.ensure_board_lead(runtime, board_id)
    outcome = await service.apply_agent(runtime, lead_id, service.ApplyOptions(wake=False))
    assert outcome.ok, outcome.error
    worker = await http.post(
        "/api/v1/agents", headers=person, json={"board_id": str(board_id), "name": "Writer"}
    )
    assert worker.status_code == 201, worker.text
    assert worker.json()["last_provision_error"] is None, worker.json()
    worker_id = uuid.UUID(worker.json()["id"])
    # Accepted at once; the served process runs no reconciler here, so the engine applies it.
    outcome = await service.apply_agent(runtime, worker_id, service.ApplyOptions(wake=False))
    assert outcome.ok, outcome.error
    return board_id, lead_id, worker_id


def _turns(model: ScriptedModelServer, since: int) -> int:
    """Agent turns the model served: requests with no tool result after the last user text."""
    count = 0
    for request in model.requests[since:]:
        messages = [m for m in (request.body or {}).get("messages", []) if isinstance(m, dict)]
        last_user = max((i for i, m in enumerate(messages) if is_real_user_message(m)), default=-1)
        tail = messages[last_user + 1 :]
        system = " ".join(message_text(m) for m in messages if m.get("role") == "system")
        if "AGENT_KIND=board_" in system and not any(m.get("role") == "tool" for m in tail):
            count += 1
    return count


async def _approve(
    http: httpx.AsyncClient, person: dict[str, str], loop: Loop, task_id: uuid.UUID
) -> None:
    pending = [a for a in await loop.approvals(task_id) if a.status == "pending"]
    assert len(pending) == 1
    answer = await http.post(
        f"/api/v1/boards/{loop.board_id}/approvals/{pending[0].id}/resolve",
        headers=person,
        json={"status": "approved", "note": "Looks good"},
    )
    assert answer.status_code == 200, answer.text
    loop.steps.append(f"person approved {task_id}")


async def _one_task_through(
    loop: Loop,
    http: httpx.AsyncClient,
    person: dict[str, str],
    task_id: uuid.UUID,
    lead_id: uuid.UUID,
    worker_id: uuid.UUID,
) -> None:
    async def moved(count: int, actor: uuid.UUID, to: str) -> bool:
        return sum(1 for a, _f, t in await loop.moves(task_id) if a == actor and t == to) >= count

    async def approval_raised() -> bool:
        return any(a.agent_id == lead_id for a in await loop.approvals(task_id))

    await loop.until("worker hands in", lambda: moved(1, worker_id, "review"), worker_id)
    await loop.until("lead sends back", lambda: moved(1, lead_id, "inbox"), lead_id)
    await loop.until("worker resubmits", lambda: moved(2, worker_id, "review"), worker_id)
    await loop.until("lead raises the approval", approval_raised, lead_id)
    await _approve(http, person, loop, task_id)
    await loop.until("lead finishes", lambda: moved(1, lead_id, "done"), lead_id)


async def test_the_work_loop_runs_on_the_agents_own_turns(
    e2e_runtime: Runtime,
    e2e_client: GatewayClient,
    e2e_gateway: DevGateway,
    mission_control: McServerProcess,
    scripted_model: ScriptedModelServer,
    e2e_secrets: E2ESecrets,
    e2e_timings: E2ETimings,
) -> None:
    runtime, model = e2e_runtime, scripted_model
    person = {"Authorization": f"Bearer {e2e_secrets.operator_token}"}
    previous, previous_cap = model.script, model.max_total_tool_calls
    script = PlaybookScript()
    model.script = script
    # About 80 tool calls of two agents: the session-wide cap is for a runaway check-in loop.
    model.max_total_tool_calls = len(model.tool_calls()) + 300
    since = len(model.requests)
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(base_url=mission_control.base_url, timeout=240.0) as http:
            board_id, lead_id, worker_id = await _board_and_agents(
                runtime, http, person, e2e_gateway
            )
            script.board_id = str(board_id)
            loop = Loop(runtime, e2e_client, model, mission_control, board_id)

            async def planned() -> bool:
                tasks = {t.title: t for t in await loop.tasks()}
                draft = tasks.get(TITLES[0])
                return (
                    len(tasks) == 2 and draft is not None and draft.assigned_agent_id == worker_id
                )

            chat = await http.post(
                f"/api/v1/boards/{board_id}/memory",
                headers=person,
                json={"content": PLAN, "is_chat": True},
            )
            assert chat.status_code == 201, chat.text
            # The chat reaches the lead as a notification; a beat follows if it is slow.
            await loop.until("lead plans and assigns", planned, lead_id, first_beat_after=20)
            first, second = await loop.titled()
            await _one_task_through(loop, http, person, first.id, lead_id, worker_id)

            async def second_assigned() -> bool:
                return (await loop.titled())[1].assigned_agent_id == worker_id

            await loop.until("second task unblocks and is assigned", second_assigned, lead_id)
            await _one_task_through(loop, http, person, second.id, lead_id, worker_id)
    finally:
        model.script, model.max_total_tool_calls = previous, previous_cap
    elapsed = time.monotonic() - started
    turns = _turns(model, since)

    # Mission Control's record of what happened, task by task.
    first, second = await loop.titled()
    assert [t.title for t in (first, second)] == list(TITLES)
    expected_moves = [
        (worker_id, "inbox", "in_progress"),
        (worker_id, "in_progress", "review"),
        (lead_id, "review", "inbox"),
        (worker_id, "inbox", "in_progress"),
        (worker_id, "in_progress", "review"),
        (lead_id, "review", "done"),
    ]
    async with runtime.database.unit_of_work() as session:
        dependency = await session.scalars(
            select(TaskDependency.depends_on_task_id).where(TaskDependency.task_id == second.id)
        )
        assert list(dependency) == [first.id]
        for task in (first, second):
            assert (task.status, task.created_by_agent_id) == ("done", lead_id)
            assert await loop.moves(task.id) == expected_moves
            comments = list(
                await session.scalars(select(TaskComment).where(TaskComment.task_id == task.id))
            )
            by_lead = [c.message for c in comments if c.author_agent_id == lead_id]
            assert by_lead == [SEND_BACK_NOTE]
            assert sum(1 for c in comments if c.author_agent_id == worker_id) >= 4
            approvals = await loop.approvals(task.id)
            assert [(a.agent_id, a.status, a.action_type) for a in approvals] == [
                (lead_id, "approved", "mark_done")
            ]
        events: dict[str, Any] = {}
        rows = await session.scalars(
            select(ActivityEvent)
            .where(ActivityEvent.board_id == board_id)
            .order_by(ActivityEvent.id)
        )
        for event in rows:
            events.setdefault(event.event_type, []).append(event)
    assert len(events["task.created"]) == 2
    assert all(e.actor_agent_id == lead_id for e in events["task.created"])
    assert len(events["approval.approved"]) == 2
    # The second task was given to the worker only after the first was done.
    first_done = next(
        e.id
        for e in events["task.status_changed"]
        if e.task_id == first.id and (e.details or {}).get("to") == "done"
    )
    second_assigned_at = [e.id for e in events["task.assigned"] if e.task_id == second.id]
    assert second_assigned_at
    assert min(second_assigned_at) > first_done

    figure = (
        f"work loop: 2 tasks through review, rework and approval in {elapsed:.1f} s, "
        f"{turns} agent turns, {loop.beats} beats sent, {len(model.tool_calls())} tool calls "
        f"in the session so far"
    )
    e2e_timings.lines.append(figure)
    e2e_timings.lines.append("work loop steps: " + "; ".join(loop.steps))
    print(figure)
