"""Drives runs on the gateway: claims a run through its database lease, creates the child
session under the agent's session, dispatches the task with the run's one idempotency key,
relays progress into the run log, enforces cancel and timeout, and ends every run in a true
terminal state. After a restart or a disconnect a run is caught up from `chat.history` and the
gateway's task ledger instead of being dispatched again.

Gateway calls never happen inside a database transaction."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from mission_control.agents.models import Agent
from mission_control.core import events
from mission_control.core.clock import utcnow
from mission_control.core.logging import get_logger
from mission_control.core.runtime import Runtime
from mission_control.gateway import session_keys
from mission_control.gateway.client import AgentRun, GatewayClient
from mission_control.gateway.connection import EventSubscription
from mission_control.gateway.errors import (
    GatewayConnectionLost,
    GatewayError,
    GatewayNotFound,
    GatewayTimeout,
    GatewayUnreachable,
)
from mission_control.gateways.failures import gateway_failure
from mission_control.gateways.models import Gateway
from mission_control.runs import repository, service
from mission_control.runs.models import ACTIVE_STATUSES, TaskRun, TaskRunLogEntry
from mission_control.runs.relay import LogItem, Relay, history_items, last_assistant_text
from mission_control.runs.schemas import RunCreate
from mission_control.tasks.actors import Caller
from mission_control.tasks.models import Task

log = get_logger("mission_control.runs")

CHILD_KIND = "mcrun"
LEDGER_STATUS = {
    "completed": "succeeded",
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "cancelled",
    "timed_out": "timed_out",
    "lost": "lost",
}
_START_KEY = "mc_runs_to_start"


@dataclass(frozen=True, slots=True)
class Timing:
    lease_seconds: float = 30.0
    scan_seconds: float = 10.0
    poll_seconds: float = 1.0
    abort_grace_seconds: float = 15.0
    # How long a run the gateway no longer knows may stay unresolved before it is `lost`.
    unknown_grace_seconds: float = 60.0
    reconnect_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    error_code: str | None = None
    error: str | None = None
    final_reply: str | None = None


def child_session_key(parent_session_key: str, run_id: uuid.UUID) -> str:
    """`agent:<agentId>:mcrun:<run id>`: the agent comes from the parent key, the rest is the
    run's own id, so a retried dispatch names the same session."""
    return session_keys.child_session_key(
        session_keys.owning_agent_id(parent_session_key), CHILD_KIND, str(run_id)
    )


def task_message(task: Task, run: TaskRun) -> str:
    """The child's first message: the task's text and the context it needs."""
    lines = [f"# Task: {task.title}", ""]
    if task.description:
        lines += [task.description.strip(), ""]
    lines += [
        "## Context",
        f"- Mission Control task id: {task.id}",
        f"- Board id: {task.board_id}",
        f"- Priority: {task.priority}",
        f"- Run id: {run.id} (mode {run.mode})",
    ]
    if task.due_at is not None:
        lines.append(f"- Due: {task.due_at.isoformat()}")
    lines += ["", "Do the task, then answer with a short summary of what you did."]
    return "\n".join(lines)


async def start_run(
    runtime: Runtime,
    session: AsyncSession,
    caller: Caller,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    data: RunCreate,
    *,
    request_key: str | None,
) -> service.Started:
    """The checks, the gateway's preflight, the queued row, and its dispatch once the caller's
    transaction commits: what the API and the console both do to start a run."""

    async def check_gateway(agent: Agent, body: RunCreate) -> None:
        await preflight(runtime, session, agent, body.mode, runtime_id=body.runtime, cwd=body.cwd)

    started = await service.start_run(
        session, caller, board_id, task_id, data, request_key=request_key, preflight=check_gateway
    )
    if started.created:
        start_after_commit(session, runtime, started.run.id)
    return started


def start_after_commit(session: AsyncSession, runtime: Runtime, run_id: uuid.UUID) -> None:
    """Dispatch once the row is committed (a rolled-back request starts nothing)."""
    session.info.setdefault(_START_KEY, []).append((runtime, run_id))


@event.listens_for(Session, "after_commit")
def _start_committed(session: Session) -> None:
    for runtime, run_id in session.info.pop(_START_KEY, []):
        manager_for(runtime).schedule(run_id)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_START_KEY, None)


_MANAGERS: dict[int, RunManager] = {}


def manager_for(runtime: Runtime) -> RunManager:
    manager = _MANAGERS.get(id(runtime))
    if manager is None or manager.runtime is not runtime:
        manager = RunManager(runtime)
        _MANAGERS[id(runtime)] = manager
    return manager


@contextlib.asynccontextmanager
async def running_runs(runtime: Runtime) -> AsyncIterator[RunManager]:
    """The app's lifespan: pick up unfinished runs nobody drives, until shutdown."""
    manager = manager_for(runtime)
    manager.start_supervisor()
    try:
        yield manager
    finally:
        await manager.close()


@dataclass
class RunManager:
    runtime: Runtime
    timing: Timing = field(default_factory=Timing)
    owner: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    )
    _tasks: dict[uuid.UUID, asyncio.Task[None]] = field(default_factory=dict)
    _supervisor: asyncio.Task[None] | None = None
    _closed: bool = False

    # -- scheduling ---------------------------------------------------------------------

    def schedule(self, run_id: uuid.UUID) -> None:
        if self._closed or run_id in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(self._drive(run_id), name=f"run {run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(run_id, None))

    def start_supervisor(self) -> None:
        if self._supervisor is None:
            self._supervisor = asyncio.get_running_loop().create_task(
                self._supervise(), name="runs supervisor"
            )

    async def scan(self) -> int:
        """Schedule every unfinished run whose lease lapsed (or that never had one)."""
        async with self.runtime.database.sessions() as session:
            ids = await repository.unowned_active(session, utcnow())
        for run_id in ids:
            self.schedule(run_id)
        return len(ids)

    async def wait_idle(self, timeout: float) -> None:
        """For tests and benchmarks: until every run this process drives has ended."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        """Stop driving (the runs keep going on the gateway; a lease lapse hands them over)."""
        self._closed = True
        tasks = [t for t in (self._supervisor, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._supervisor = None
        if _MANAGERS.get(id(self.runtime)) is self:
            del _MANAGERS[id(self.runtime)]

    async def _supervise(self) -> None:
        while True:
            try:
                await self.scan()
            except Exception as error:  # the database may be down for a moment: try again
                log.warning("runs_scan_failed", error=str(error))
            await asyncio.sleep(self.timing.scan_seconds)

    # -- one run ------------------------------------------------------------------------

    async def _drive(self, run_id: uuid.UUID) -> None:
        if not await self._claim(run_id):
            return
        keeper = asyncio.get_running_loop().create_task(self._keep_lease(run_id))
        try:
            await _Driver(self, run_id).run()
        except asyncio.CancelledError:
            raise
        except GatewayUnreachable as error:
            # Left to a later scan (lease lapses), which catches up once the gateway is back.
            log.warning("run_gateway_unreachable", run_id=str(run_id), error=str(error))
        except Exception as error:
            if self._closed or self.runtime.gateway_pool.closed:
                # Shutting down: the next process's scan picks the run up where it stands.
                log.warning("run_left_for_recovery", run_id=str(run_id), error=str(error))
                return
            log.exception("run_failed_internally", run_id=str(run_id))
            await self.finish(
                run_id, Outcome("failed", "internal_error", f"{type(error).__name__}: {error}")
            )
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _claim(self, run_id: uuid.UUID) -> bool:
        now = utcnow()
        until = now + timedelta(seconds=self.timing.lease_seconds)
        async with self.runtime.database.unit_of_work() as session:
            return await repository.claim(session, run_id, self.owner, now, until)

    async def _keep_lease(self, run_id: uuid.UUID) -> None:
        while True:
            await asyncio.sleep(self.timing.lease_seconds / 3)
            with contextlib.suppress(Exception):
                await self._claim(run_id)

    # -- database steps (each its own short transaction) ------------------------------------

    async def load(self, run_id: uuid.UUID) -> tuple[TaskRun, Task, Agent | None, Gateway | None]:
        async with self.runtime.database.sessions() as session:
            run = await repository.get(session, run_id)
            if run is None:
                raise LookupError(f"run {run_id} is gone")
            task = await session.get(Task, run.task_id)
            assert task is not None
            agent = await session.get(Agent, run.agent_id) if run.agent_id else None
            gateway = await session.get(Gateway, run.gateway_id) if run.gateway_id else None
            session.expunge_all()
            return run, task, agent, gateway

    async def update(self, run_id: uuid.UUID, message: str | None = None, **values: Any) -> TaskRun:
        """Set fields; with ``message`` the change is a transition (activity + stream)."""
        async with self.runtime.database.unit_of_work() as session:
            run = await repository.get(session, run_id)
            assert run is not None
            for name, value in values.items():
                setattr(run, name, value)
            await session.flush()
            if message is not None:
                service.record_transition(session, run, message)
            else:
                service.publish(session, run, "run.updated")
        return run

    async def cancel_requested(self, run_id: uuid.UUID) -> bool:
        async with self.runtime.database.sessions() as session:
            run = await repository.get(session, run_id)
            return run is None or run.cancel_requested_at is not None

    async def append_log(self, run_id: uuid.UUID, items: list[LogItem]) -> None:
        if not items:
            return
        async with self.runtime.database.unit_of_work() as session:
            run = await repository.get(session, run_id)
            assert run is not None
            for item in items:
                run.log_count += 1
                entry = TaskRunLogEntry(
                    run_id=run.id, seq=run.log_count, kind=item.kind, text=item.text, data=item.data
                )
                session.add(entry)
                events.emit(
                    session,
                    "run.log",
                    organization_id=run.organization_id,
                    board_id=run.board_id,
                    agent_id=run.agent_id,
                    task_id=run.task_id,
                    data={
                        "run_id": str(run.id),
                        "seq": entry.seq,
                        "kind": item.kind,
                        "text": item.text,
                    },
                )

    async def finish(self, run_id: uuid.UUID, outcome: Outcome, **values: Any) -> bool:
        """The terminal transition, once: a run that already ended is left as it is."""
        async with self.runtime.database.unit_of_work() as session:
            run = await repository.get(session, run_id)
            if run is None or run.status not in ACTIVE_STATUSES:
                return False
            run.status = outcome.status
            run.error_code = outcome.error_code
            run.error = outcome.error
            if outcome.final_reply is not None:
                run.final_reply = outcome.final_reply
            for name, value in values.items():
                setattr(run, name, value)
            run.ended_at = utcnow()
            run.lease_owner = None
            run.lease_until = None
            await session.flush()
            service.record_transition(session, run, _terminal_message(run))
            service.summarise_on_task(session, run)
        log.info("run_finished", run_id=str(run_id), status=outcome.status)
        return True

    async def client(self, gateway: Gateway) -> GatewayClient:
        return await self.runtime.gateway_pool.client(self.runtime.gateway_target(gateway))


def _terminal_message(run: TaskRun) -> str:
    text = f"Run {run.id} {run.status.replace('_', ' ')}"
    if run.error and run.status != "succeeded":
        text += f": {run.error[:300]}"
    return text + "."


class _Driver:
    """One run, from wherever it stands to its terminal state."""

    def __init__(self, manager: RunManager, run_id: uuid.UUID) -> None:
        self.manager = manager
        self.run_id = run_id
        self.timing = manager.timing
        self.relay = Relay()
        self.aborted = False
        self.timing_out = False
        self.unknown_since: float | None = None

    async def run(self) -> None:
        run, task, agent, gateway = await self.manager.load(self.run_id)
        if run.status not in ACTIVE_STATUSES:
            return
        if gateway is None or agent is None or not run.parent_session_key:
            await self.manager.finish(
                self.run_id,
                Outcome("failed", "agent_unavailable", "The run's agent or gateway is gone."),
            )
            return
        client = await self.manager.client(gateway)
        if run.gateway_run_id is None:
            if run.cancel_requested_at is not None:
                await self.manager.finish(
                    self.run_id, Outcome("cancelled", None, "Cancelled before dispatch.")
                )
                return
            await self._dispatch(client, run, task)
        else:
            await self._follow(client, run, None)

    # -- setup and dispatch ---------------------------------------------------------------

    async def _dispatch(self, client: GatewayClient, run: TaskRun, task: Task) -> None:
        assert run.parent_session_key is not None
        key = run.child_session_key or child_session_key(run.parent_session_key, run.id)
        if run.child_session_key is None:
            # Recorded before the gateway hears of it, so every later step can name it.
            run = await self.manager.update(self.run_id, child_session_key=key)
        # The relay listens before dispatch, by session key: fast failures are not missed and
        # a gateway run id that differs from the idempotency key loses nothing
        # (docs/runs.md#the-relay-listens-before-dispatch).
        subscription = client.subscribe_run(session_key=key)
        try:
            try:
                await self._create_child(client, run, key)
            except GatewayError as error:
                await self._cleanup(client, key)
                await self.manager.finish(
                    self.run_id, Outcome("failed", "setup_failed", str(error)), child_deleted=True
                )
                return
            try:
                agent_run = await client.agent(
                    task_message(task, run), session_key=key, idempotency_key=run.dispatch_key
                )
            except GatewayError as error:
                await self._cleanup(client, key)
                await self.manager.finish(
                    self.run_id,
                    Outcome("failed", "dispatch_failed", str(error)),
                    child_deleted=True,
                )
                return
            now = utcnow()
            run = await self.manager.update(
                self.run_id,
                f"Run started in child session {key}.",
                status="running",
                gateway_run_id=agent_run.run_id or run.dispatch_key,
                started_at=now,
                deadline_at=now + timedelta(seconds=run.timeout_seconds),
            )
            # The catch-up cursor, read beside the relay (chat.history can be slow).
            cursor = asyncio.get_running_loop().create_task(self._remember_cursor(client, key))
            try:
                await self._follow(client, run, agent_run, subscription)
            finally:
                cursor.cancel()
        finally:
            subscription.close()

    async def _create_child(self, client: GatewayClient, run: TaskRun, key: str) -> None:
        assert run.parent_session_key is not None
        agent_id = session_keys.owning_agent_id(key)

        async def create() -> None:
            assert run.parent_session_key is not None
            await client.child_session_create(
                agent_id,
                key=key,
                parent_session_key=run.parent_session_key,
                label=run.label or f"Mission Control run {str(run.id)[:8]}",
                cwd=run.cwd,
                agent_runtime=run.runtime,
                idempotency_key=run.dispatch_key,
            )

        try:
            await create()
        except GatewayNotFound as error:
            if "parent" not in str(error).lower():
                raise
            # The agent's own session does not exist yet on the gateway: make it, then retry.
            await client.sessions_patch(run.parent_session_key)
            await create()

    async def _cleanup(self, client: GatewayClient, key: str) -> None:
        """Setup or dispatch failed: delete what was created, errors ignored
        (docs/runs.md#cleanup-when-a-start-fails)."""
        with contextlib.suppress(GatewayError):
            await client.session_delete(key, delete_transcript=True)

    async def _remember_cursor(self, client: GatewayClient, key: str) -> None:
        with contextlib.suppress(GatewayError):
            page = await client.history_page(key, limit=1)
            if page.delta_cursor:
                await self.manager.update(self.run_id, history_cursor=page.delta_cursor)

    # -- relay, cancel, timeout -----------------------------------------------------------

    async def _follow(
        self,
        client: GatewayClient,
        run: TaskRun,
        agent_run: AgentRun | None,
        subscription: EventSubscription | None = None,
    ) -> None:
        assert run.child_session_key is not None
        assert run.gateway_run_id is not None
        own = subscription is None
        sub = subscription or client.subscribe_run(session_key=run.child_session_key)
        final: asyncio.Future[Any] | None = None
        if agent_run is not None:
            final = asyncio.ensure_future(agent_run.final())
        else:
            # Caught up first: what happened while nobody listened (restart, disconnect).
            await self._catch_up(client, run)
        try:
            outcome = await self._watch(client, run, sub, final)
        finally:
            if final is not None and not final.done():
                final.cancel()
            if own:
                sub.close()
        await self._finish(client, run, outcome)

    async def _watch(
        self,
        client: GatewayClient,
        run: TaskRun,
        sub: EventSubscription,
        final: asyncio.Future[Any] | None,
    ) -> Outcome:
        assert run.child_session_key is not None
        assert run.gateway_run_id is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._remaining(run)
        grace_until: float | None = None
        next_check = loop.time()
        while True:
            await self._relay_events(sub)
            if final is not None and final.done():
                outcome = self._from_final(final)
                if outcome is not None:
                    return outcome
                final = None  # the connection dropped: ask the gateway from now on
                await self._reconnected(client)
                await self._catch_up(client, run)
            now = loop.time()
            if now >= deadline and not self.timing_out:
                self.timing_out = True
                grace_until = now + self.timing.abort_grace_seconds
                await self.manager.append_log(
                    self.run_id, [LogItem("lifecycle", f"timeout after {run.timeout_seconds}s")]
                )
                await self._abort(client, run)
            if grace_until is not None and now >= grace_until:
                return Outcome("timed_out", "timeout", f"No result within {run.timeout_seconds}s.")
            if now >= next_check:
                next_check = now + self.timing.poll_seconds
                if not self.aborted and await self.manager.cancel_requested(self.run_id):
                    await self._abort(client, run)
                if final is None or self.relay.terminal is not None:
                    outcome = await self._ask_gateway(client, run)
                    if outcome is not None:
                        return outcome

    async def _relay_events(self, sub: EventSubscription) -> None:
        items: list[LogItem] = []
        with contextlib.suppress(GatewayTimeout):
            frame = await sub.next(timeout=self.timing.poll_seconds / 2)
            items += self._feed(frame)
            while True:
                frame = await sub.next(timeout=0)
                items += self._feed(frame)
        await self.manager.append_log(self.run_id, items)

    def _feed(self, frame: Any) -> list[LogItem]:
        payload = frame.payload if isinstance(frame.payload, dict) else {}
        return self.relay.feed(frame.event, payload)

    def _from_final(self, final: asyncio.Future[Any]) -> Outcome | None:
        error = final.exception()
        if isinstance(error, GatewayConnectionLost):
            return None
        if error is not None:
            return self._failed(str(error))
        result = final.result()
        if result.ok:
            text = _payload_text(result.payload) or self.relay.final_text
            return Outcome("succeeded", final_reply=text)
        if result.status == "timeout" and result.error is None:
            return None  # the wait itself ran out; keep watching
        return self._failed(result.summary or result.status)

    def _failed(self, reason: str) -> Outcome:
        if self.timing_out:
            return Outcome("timed_out", "timeout", reason)
        if self.aborted:
            return Outcome("cancelled", None, "Cancelled on request.")
        return Outcome("failed", "run_failed", reason)

    async def _ask_gateway(self, client: GatewayClient, run: TaskRun) -> Outcome | None:
        """The run's outcome from `agent.wait`, else the gateway's ledger; None while it is
        still running. A run the gateway no longer knows at all becomes `lost` after a grace."""
        assert run.gateway_run_id is not None
        assert run.child_session_key is not None
        try:
            waited = await client.agent_wait(run.gateway_run_id, timeout=0.2)
            if waited.status == "ok":
                reply = _wait_reply(waited.payload) or self.relay.final_text
                return Outcome("succeeded", final_reply=reply)
            if waited.status == "error":
                return self._failed(waited.summary or "error")
            tasks = await client.ledger_tasks(run.child_session_key)
        except GatewayUnreachable:
            await self._reconnected(client)
            await self._catch_up(client, run)
            return None
        entry = next((t for t in tasks if t.run_id == run.gateway_run_id), None)
        loop = asyncio.get_running_loop()
        if entry is not None and not _unobservable(entry.raw):
            self.unknown_since = None
            mapped = LEDGER_STATUS.get(entry.status)
            if mapped == "succeeded":
                return Outcome("succeeded", final_reply=await self._reply(client, run))
            if mapped is not None:
                return self._failed(entry.error or entry.terminal_summary or entry.status)
            return None
        if self.unknown_since is None:
            self.unknown_since = loop.time()
        if loop.time() - self.unknown_since >= self.timing.unknown_grace_seconds:
            # Nothing proves it runs: make sure it does not, then say so.
            await self._abort(client, run)
            return Outcome(
                "lost",
                "run_lost",
                "The gateway cannot account for this run (no wait result; its ledger has no "
                "entry, or one whose execution it cannot observe); aborted to be sure.",
            )
        return None

    async def _reply(self, client: GatewayClient, run: TaskRun) -> str | None:
        assert run.child_session_key is not None
        with contextlib.suppress(GatewayError):
            page = await client.history_page(run.child_session_key, limit=20)
            return last_assistant_text(list(page.messages)) or self.relay.final_text
        return self.relay.final_text

    async def _abort(self, client: GatewayClient, run: TaskRun) -> None:
        assert run.child_session_key is not None
        self.aborted = True
        try:
            await client.run_abort(run.child_session_key, run.gateway_run_id)
        except GatewayError as error:
            log.warning("run_abort_failed", run_id=str(run.id), error=str(error))

    async def _reconnected(self, client: GatewayClient) -> None:
        await client.connection.wait_connected(self.timing.reconnect_seconds)

    async def _catch_up(self, client: GatewayClient, run: TaskRun) -> None:
        """What the transcript gained since the cursor, into the log (marked as history)."""
        assert run.child_session_key is not None
        current, *_ = await self.manager.load(self.run_id)
        cursor = current.history_cursor
        if cursor is None:
            return
        try:
            page = await client.history_page(run.child_session_key, cursor=cursor)
        except GatewayNotFound:
            return
        if page.kind != "delta":
            return
        items = history_items([m for m in page.messages if m.get("role") != "user"])
        await self.manager.append_log(self.run_id, items)
        if page.delta_cursor and page.delta_cursor != cursor:
            await self.manager.update(self.run_id, history_cursor=page.delta_cursor)

    def _remaining(self, run: TaskRun) -> float:
        deadline: datetime | None = run.deadline_at
        if deadline is None:
            return float(run.timeout_seconds)
        return max(0.0, (deadline - utcnow()).total_seconds())

    # -- the end --------------------------------------------------------------------------

    async def _finish(self, client: GatewayClient, run: TaskRun, outcome: Outcome) -> None:
        assert run.child_session_key is not None
        await self.manager.append_log(self.run_id, self.relay.flush())
        values: dict[str, Any] = {}
        with contextlib.suppress(GatewayError):
            usage = await client.session_usage(run.child_session_key)
            values.update(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                total_tokens=usage.total_tokens,
                cost_usd=usage.cost_usd,
            )
        policy = await self._policy(run)
        if run.mode == "run" and policy.delete_finished_sessions:
            with contextlib.suppress(GatewayError):
                await client.session_delete(run.child_session_key, delete_transcript=True)
                values["child_deleted"] = True
        await self.manager.finish(self.run_id, outcome, **values)

    async def _policy(self, run: TaskRun) -> service.Policy:
        async with self.manager.runtime.database.sessions() as session:
            return await service.load_policy(session, run.board_id)


def _unobservable(entry: dict[str, Any]) -> bool:
    """A ledger row still `running` whose execution the gateway cannot observe (after its own
    restart): no proof either way, so it counts towards the `lost` grace."""
    execution = entry.get("execution")
    state = execution.get("state") if isinstance(execution, dict) else None
    return entry.get("status") in {"running", "queued"} and state == "unknown"


def _payload_text(payload: dict[str, Any]) -> str | None:
    result = payload.get("result")
    payloads = result.get("payloads") if isinstance(result, dict) else None
    texts = [
        p["text"] for p in payloads or [] if isinstance(p, dict) and isinstance(p.get("text"), str)
    ]
    return "\n\n".join(texts) or None


def _wait_reply(payload: dict[str, Any]) -> str | None:
    reply = payload.get("terminalReply")
    text = reply.get("text") if isinstance(reply, dict) else None
    return text if isinstance(text, str) and text else None


async def preflight(
    runtime: Runtime,
    session: AsyncSession,
    agent: Agent,
    mode: str,
    *,
    runtime_id: str | None,
    cwd: str | None,
) -> None:
    """What the agent's gateway must serve for this run, checked before the row exists; a
    gateway that lacks it is a 409 naming its release (the legacy release has no
    `sessions.create`: its child sessions are `sessions.patch spawnedBy`, without a runtime or
    a cwd)."""
    gateway = await session.get(Gateway, agent.gateway_id)
    if gateway is None:
        raise service.refused("agent_unavailable", "The agent's gateway is gone.", 409)
    try:
        client = await runtime.gateway_pool.client(runtime.gateway_target(gateway))
    except GatewayError as error:
        raise gateway_failure(error, "Gateway unreachable for the run") from error
    profile = client.profile
    version = profile.server_version
    missing = [m for m in ("agent", "agent.wait", "chat.history") if not profile.supports(m)]
    creates = profile.supports("sessions.create")
    if not creates and not profile.supports("sessions.patch"):
        missing.append("sessions.create")
    if missing:
        raise service.refused(
            "gateway_unsupported",
            f"Gateway release {version} does not support task runs: it lacks {', '.join(missing)}.",
            409,
            gateway_version=version,
            missing=missing,
            mode=mode,
        )
    options = profile.child_session_options if creates else frozenset[str]()
    asked = (("runtime", "agentRuntime", runtime_id), ("cwd", "cwd", cwd))
    wanted = [name for name, param, value in asked if value is not None and param not in options]
    if wanted:
        if creates:
            reason = f"its sessions.create takes no {' and no '.join(wanted)}"
        else:
            reason = (
                "it has no sessions.create (its child sessions are made with sessions.patch "
                "spawnedBy, which sets neither a runtime nor a cwd)"
            )
        raise service.refused(
            "gateway_unsupported",
            f"Gateway release {version} does not support child sessions with a "
            f"{' or a '.join(wanted)}: {reason}. Leave {'them' if len(wanted) > 1 else 'it'} "
            "out, or upgrade the gateway.",
            409,
            gateway_version=version,
            missing=[f"sessions.create (for a {name})" for name in wanted],
            mode=mode,
        )
