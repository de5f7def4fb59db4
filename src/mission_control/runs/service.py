"""Run rules: who may start, read and cancel runs, the checks (in order) before a run is
created, the run policy of a board, and the record of every transition (activity + stream)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.activity import service as activity
from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core import events
from mission_control.core.clock import utcnow
from mission_control.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from mission_control.memory.service import is_paused
from mission_control.runs import repository
from mission_control.runs.models import ACTIVE_STATUSES, BoardRunPolicy, TaskRun
from mission_control.runs.schemas import (
    RunCreate,
    RunLogRead,
    RunPolicyRead,
    RunPolicyUpdate,
    RunRead,
    RunUsage,
)
from mission_control.tasks import repository as tasks
from mission_control.tasks.actors import Actor, Caller, resolve_actor
from mission_control.tasks.models import Task, TaskComment
from mission_control.tasks.transitions import DONE

LOG_PAGE = 500
SUMMARY_CHARS = 600


class RunRefused(DomainError):
    """A check before creation failed; ``code`` names which one."""

    status = 409


def refused(code: str, message: str, status: int, **details: Any) -> RunRefused:
    error = RunRefused(message, code=code, details=details or None)
    error.status = status
    return error


@dataclass(frozen=True, slots=True)
class Policy:
    """A board's run policy (its row, or the defaults)."""

    enabled: bool = True
    allowed_runtimes: tuple[str, ...] = ()
    sandbox_available: bool = False
    keep_sessions: bool = False
    delete_finished_sessions: bool = True
    paused_agent_ids: frozenset[str] = frozenset()
    max_runs_per_agent: int = 1
    max_runs_per_board: int = 4
    default_timeout_seconds: int = 600

    @classmethod
    def of(cls, row: BoardRunPolicy | None) -> Policy:
        if row is None:
            return cls()
        return cls(
            enabled=row.enabled,
            allowed_runtimes=tuple(row.allowed_runtimes or ()),
            sandbox_available=row.sandbox_available,
            keep_sessions=row.keep_sessions,
            delete_finished_sessions=row.delete_finished_sessions,
            paused_agent_ids=frozenset(row.paused_agent_ids or ()),
            max_runs_per_agent=row.max_runs_per_agent,
            max_runs_per_board=row.max_runs_per_board,
            default_timeout_seconds=row.default_timeout_seconds,
        )

    def read(self) -> RunPolicyRead:
        return RunPolicyRead(
            enabled=self.enabled,
            allowed_runtimes=list(self.allowed_runtimes),
            sandbox_available=self.sandbox_available,
            keep_sessions=self.keep_sessions,
            delete_finished_sessions=self.delete_finished_sessions,
            paused_agent_ids=sorted(uuid.UUID(v) for v in self.paused_agent_ids),
            max_runs_per_agent=self.max_runs_per_agent,
            max_runs_per_board=self.max_runs_per_board,
            default_timeout_seconds=self.default_timeout_seconds,
        )


async def load_policy(session: AsyncSession, board_id: uuid.UUID) -> Policy:
    return Policy.of(await repository.policy_of(session, board_id))


# -- the checks, in order (docs/runs.md#checks-in-order-before-anything-is-created) ---------


@dataclass(frozen=True, slots=True)
class Facts:
    """What the checks look at, read before any of them runs."""

    policy: Policy
    board_paused: bool
    agent: Agent | None
    agent_active_runs: int
    board_active_runs: int
    blocking_task_ids: tuple[uuid.UUID, ...]


def check(data: RunCreate, facts: Facts) -> None:
    """First failure wins: runs disabled, harness not allowed, sandbox that cannot be met,
    `session` mode without a place to keep it, agent or board paused, concurrency, blocked."""
    policy = facts.policy
    if not policy.enabled:
        raise refused("runs_disabled", "Runs are disabled for this board by its run policy.", 403)
    if data.runtime is not None and data.runtime not in policy.allowed_runtimes:
        raise refused(
            "runtime_not_allowed",
            f"Runtime {data.runtime!r} is not allowed by this board's run policy "
            f"(allowed: {', '.join(policy.allowed_runtimes) or 'none but its own'}).",
            403,
            runtime=data.runtime,
        )
    if data.sandbox == "require":
        if data.runtime is not None:
            raise refused(
                "sandbox_unavailable",
                "A sandbox cannot be required for an ACP harness runtime: it runs on the "
                "gateway host. Use the agent's own runtime or sandbox 'inherit'.",
                422,
            )
        if not policy.sandbox_available:
            raise refused(
                "sandbox_unavailable",
                "This board's agents do not run sandboxed (run policy sandbox_available is "
                "false), so sandbox 'require' cannot be met; use 'inherit'.",
                422,
            )
    if data.mode == "session" and not policy.keep_sessions:
        raise refused(
            "session_mode_unavailable",
            "Mode 'session' keeps the child session open for follow-ups, and this board "
            "keeps none (run policy keep_sessions is false); use mode 'run'.",
            422,
        )
    _check_agent(facts)
    if facts.agent_active_runs >= policy.max_runs_per_agent:
        raise refused(
            "agent_run_limit",
            f"The agent already has {facts.agent_active_runs} unfinished run(s); the board "
            f"allows {policy.max_runs_per_agent} per agent.",
            429,
        )
    if facts.board_active_runs >= policy.max_runs_per_board:
        raise refused(
            "board_run_limit",
            f"The board already has {facts.board_active_runs} unfinished run(s); it allows "
            f"{policy.max_runs_per_board}.",
            429,
        )
    if facts.blocking_task_ids:
        raise refused(
            "task_blocked",
            "The task depends on unfinished tasks; finish them first.",
            409,
            blocking_task_ids=[str(i) for i in facts.blocking_task_ids],
        )


def _check_agent(facts: Facts) -> None:
    if facts.board_paused:
        raise refused("board_paused", "The board is paused (/pause); resume it first.", 409)
    agent = facts.agent
    if agent is None:
        raise refused(
            "task_unassigned", "The task has no assigned agent to run it; assign one.", 409
        )
    if str(agent.id) in facts.policy.paused_agent_ids:
        raise refused("agent_paused", f"Runs of agent {agent.name} are paused.", 409)
    if agent.delete_requested_at is not None or not agent.openclaw_session_id:
        raise refused(
            "agent_unavailable",
            f"Agent {agent.name} has no session on its gateway (not provisioned, or being "
            "deleted), so there is no parent for the run's child session.",
            409,
        )


# -- starting -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Started:
    run: TaskRun
    created: bool


Preflight = Callable[[Agent, RunCreate], Awaitable[None]]


async def start_run(
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    data: RunCreate,
    *,
    request_key: str | None,
    preflight: Preflight | None = None,
) -> Started:
    """Checks, then the queued row (with its activity and stream event) in the caller's
    transaction. A known ``request_key`` for the task answers the run it started."""
    actor = await resolve_actor(session, caller, board_id, write=True)
    task = await _task(session, board_id, task_id)
    _may_start(actor, task)
    key = request_key or data.idempotency_key
    if key is not None:
        existing = await repository.by_request_key(session, task.id, key)
        if existing is not None:
            return Started(existing, created=False)
    facts = await _facts(session, actor.board, task)
    check(data, facts)
    assert facts.agent is not None
    if preflight is not None:
        await preflight(facts.agent, data)
    run = _new_run(actor, task, facts.agent, data, facts.policy, key)
    try:
        async with session.begin_nested():
            session.add(run)
            await session.flush()
    except IntegrityError:
        # The same key raced us: answer the run the other request made.
        if key is not None:
            existing = await repository.by_request_key(session, task.id, key)
            if existing is not None:
                return Started(existing, created=False)
        raise
    record_transition(session, run, f"Run queued for {facts.agent.name}.", actor=actor)
    return Started(run, created=True)


def _may_start(actor: Actor, task: Task) -> None:
    if actor.kind == "main":
        raise Forbidden("The gateway-main agent cannot start runs on a board.", code="read_only")
    if actor.kind == "worker" and task.assigned_agent_id != actor.agent_id:
        raise Forbidden(
            "Workers start runs only of tasks assigned to them.", code="not_assigned_to_you"
        )


async def _task(session: AsyncSession, board_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    task = await tasks.get(session, board_id, task_id)
    if task is None:
        raise NotFound("Task not found on this board.")
    return task


async def _facts(session: AsyncSession, board: Board, task: Task) -> Facts:
    agent = await session.get(Agent, task.assigned_agent_id) if task.assigned_agent_id else None
    deps = (await tasks.dependencies_of(session, [task.id])).get(task.id, [])
    return Facts(
        policy=await load_policy(session, board.id),
        board_paused=await is_paused(session, board.id),
        agent=agent,
        agent_active_runs=await repository.active_count(session, agent_id=agent.id) if agent else 0,
        board_active_runs=await repository.active_count(session, board_id=board.id),
        blocking_task_ids=tuple(dep for dep, status in deps if status != DONE),
    )


def _new_run(
    actor: Actor, task: Task, agent: Agent, data: RunCreate, policy: Policy, key: str | None
) -> TaskRun:
    return TaskRun(
        id=uuid.uuid4(),
        organization_id=actor.organization_id,
        board_id=task.board_id,
        task_id=task.id,
        agent_id=agent.id,
        gateway_id=agent.gateway_id,
        requested_by_user_id=actor.user_id,
        requested_by_agent_id=actor.agent_id,
        mode=data.mode,
        runtime=data.runtime,
        sandbox=data.sandbox,
        label=data.label,
        cwd=data.cwd,
        timeout_seconds=data.timeout_seconds or policy.default_timeout_seconds,
        status="queued",
        request_key=key,
        dispatch_key=uuid.uuid4().hex,
        parent_session_key=agent.openclaw_session_id,
        log_count=0,
        child_deleted=False,
    )


# -- reading and cancelling ---------------------------------------------------------------


async def _run_of(
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    write: bool,
) -> tuple[Actor, TaskRun]:
    actor = await resolve_actor(session, caller, board_id, write=write)
    run = await repository.get(session, run_id)
    if run is None or run.board_id != board_id or run.task_id != task_id:
        raise NotFound("Run not found for this task.")
    return actor, run


async def list_runs(
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    *,
    limit: int,
    offset: int,
) -> tuple[list[RunRead], int]:
    await resolve_actor(session, caller, board_id, write=False)
    await _task(session, board_id, task_id)
    rows, total = await repository.page_for_task(session, task_id, limit=limit, offset=offset)
    return [RunRead.model_validate(r) for r in rows], total


async def get_run(
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    run_id: uuid.UUID,
) -> RunRead:
    _actor, run = await _run_of(session, caller, board_id, task_id, run_id, write=False)
    return RunRead.model_validate(run)


async def run_log(
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    after_seq: int,
    limit: int,
) -> list[RunLogRead]:
    await _run_of(session, caller, board_id, task_id, run_id, write=False)
    rows = await repository.log_after(session, run_id, after_seq, limit=min(limit, LOG_PAGE))
    return [RunLogRead.model_validate(r) for r in rows]


async def task_usage(
    session: AsyncSession, caller: Caller, board_id: uuid.UUID, task_id: uuid.UUID
) -> RunUsage:
    await resolve_actor(session, caller, board_id, write=False)
    await _task(session, board_id, task_id)
    runs, inp, out, total, cost = await repository.usage_of_task(session, task_id)
    return RunUsage(
        runs=runs, input_tokens=inp, output_tokens=out, total_tokens=total, cost_usd=cost
    )


async def request_cancel(
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    run_id: uuid.UUID,
) -> TaskRun:
    """Marks the run for cancellation (the gateway abort happens after the commit); a run
    that already ended is a 409."""
    actor, run = await _run_of(session, caller, board_id, task_id, run_id, write=True)
    if actor.kind == "worker" and run.agent_id != actor.agent_id:
        raise Forbidden("Workers cancel only their own runs.", code="not_assigned_to_you")
    if run.status not in ACTIVE_STATUSES:
        raise Conflict(f"The run already ended ({run.status}).", code="run_finished")
    if run.cancel_requested_at is None:
        run.cancel_requested_at = utcnow()
        activity.record(
            session,
            "task.run.cancel_requested",
            f"Cancel requested for run {run.id}.",
            **_where(run),
            actor_user_id=actor.user_id,
            actor_agent_id=actor.agent_id,
        )
        publish(session, run, "run.updated")
    return run


# -- policy -------------------------------------------------------------------------------


async def get_policy(session: AsyncSession, caller: Caller, board_id: uuid.UUID) -> RunPolicyRead:
    await resolve_actor(session, caller, board_id, write=False)
    return (await load_policy(session, board_id)).read()


async def update_policy(
    session: AsyncSession, caller: Caller, board_id: uuid.UUID, data: RunPolicyUpdate
) -> RunPolicyRead:
    actor = await resolve_actor(session, caller, board_id, write=True)
    if actor.kind != "user":
        raise Forbidden("Only people with write access change a board's run policy.")
    row = await repository.policy_of(session, board_id)
    if row is None:
        defaults = Policy()
        row = BoardRunPolicy(
            board_id=board_id,
            enabled=defaults.enabled,
            allowed_runtimes=[],
            sandbox_available=defaults.sandbox_available,
            keep_sessions=defaults.keep_sessions,
            delete_finished_sessions=defaults.delete_finished_sessions,
            paused_agent_ids=[],
            max_runs_per_agent=defaults.max_runs_per_agent,
            max_runs_per_board=defaults.max_runs_per_board,
            default_timeout_seconds=defaults.default_timeout_seconds,
        )
        session.add(row)
    values = data.model_dump(exclude_unset=True)
    for name, value in values.items():
        if value is None:
            raise InvalidInput(
                f"{name} cannot be null.",
                details=[{"field": name, "location": "body", "message": "null"}],
            )
        if name == "paused_agent_ids":
            value = sorted({str(v) for v in value})
        if name == "allowed_runtimes":
            value = sorted({v.strip() for v in value if v.strip()})
        setattr(row, name, value)
    await session.flush()
    activity.record(
        session,
        "board.run_policy.updated",
        f"Run policy of board {actor.board.name} updated.",
        organization_id=actor.organization_id,
        board_id=board_id,
        actor_user_id=actor.user_id,
        details={"changed": sorted(values)},
    )
    return Policy.of(row).read()


# -- transitions, recorded ----------------------------------------------------------------


def _where(run: TaskRun) -> dict[str, Any]:
    return {
        "organization_id": run.organization_id,
        "board_id": run.board_id,
        "agent_id": run.agent_id,
        "task_id": run.task_id,
    }


def publish(session: AsyncSession, run: TaskRun, kind: str) -> None:
    events.emit(
        session,
        kind,
        **_where(run),
        data=lambda: RunRead.model_validate(run).model_dump(mode="json"),
    )


def record_transition(
    session: AsyncSession, run: TaskRun, message: str, *, actor: Actor | None = None
) -> None:
    """One activity row (`task.run.<status>`) and one `run.updated` stream event."""
    details: dict[str, Any] = {"run_id": str(run.id), "status": run.status}
    if run.child_session_key:
        details["child_session_key"] = run.child_session_key
    if run.error_code:
        details["error_code"] = run.error_code
    activity.record(
        session,
        f"task.run.{run.status}",
        message,
        **_where(run),
        actor_user_id=actor.user_id if actor else None,
        actor_agent_id=actor.agent_id if actor else None,
        details=details,
    )
    publish(session, run, "run.updated")


def summarise_on_task(session: AsyncSession, run: TaskRun) -> None:
    """The run's outcome on the task thread, as a comment by the agent that ran it."""
    outcome = {
        "succeeded": "succeeded",
        "failed": "failed",
        "timed_out": "timed out",
        "cancelled": "was cancelled",
        "lost": "was lost",
    }.get(run.status, run.status)
    lines = [f"Run {run.label or str(run.id)[:8]} {outcome}."]
    if run.final_reply:
        lines.append(_clip(run.final_reply))
    if run.error and run.status != "succeeded":
        lines.append(f"Reason: {_clip(run.error)}")
    if run.total_tokens is not None:
        lines.append(f"Tokens: {run.total_tokens}.")
    session.add(
        TaskComment(task_id=run.task_id, author_agent_id=run.agent_id, message="\n\n".join(lines))
    )


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def deadline_for(run: TaskRun) -> timedelta:
    return timedelta(seconds=run.timeout_seconds)
