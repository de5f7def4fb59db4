"""The background reconciler: drives pending provisioning and deletions to completion, re-wakes
agents that miss their check-in, and gives up with an actionable error after the last attempt.
An apply that fails permanently is parked until the agent changes. Exactly one runs across
processes (core.leader)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.activity import service as activity
from mission_control.agents.models import Agent, AgentStatus
from mission_control.core.clock import utcnow
from mission_control.core.leader import LeaderLock
from mission_control.core.logging import get_logger
from mission_control.core.runtime import Runtime
from mission_control.gateway.errors import GatewayError
from mission_control.provisioning import executor, repository, service
from mission_control.provisioning.context import agent_ref
from mission_control.provisioning.identities import MAIN_SESSION_LABEL, agent_session_key

log = get_logger("mission_control.reconciler")

BATCH = 50
MAX_BACKOFF_SECONDS = 300.0


@dataclass
class ReconcileReport:
    applied: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    deleted: list[uuid.UUID] = field(default_factory=list)
    rewoken: list[uuid.UUID] = field(default_factory=list)
    gave_up: list[uuid.UUID] = field(default_factory=list)
    deferred: list[uuid.UUID] = field(default_factory=list)
    # Pending agents whose last apply failed for good (a broken template, refused files):
    # retried only once their generation moves, i.e. someone changed them.
    parked: list[uuid.UUID] = field(default_factory=list)


@dataclass
class _Backoff:
    failures: int = 0
    next_at: datetime | None = None


class Reconciler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._backoff: dict[uuid.UUID, _Backoff] = {}
        # Agent -> the generation whose apply failed with an error retrying cannot fix.
        self._parked: dict[uuid.UUID, int] = {}

    def _ready(self, agent_id: uuid.UUID, now: datetime) -> bool:
        state = self._backoff.get(agent_id)
        return state is None or state.next_at is None or state.next_at <= now

    def _note(self, agent_id: uuid.UUID, ok: bool, now: datetime) -> None:
        if ok:
            self._backoff.pop(agent_id, None)
            return
        state = self._backoff.setdefault(agent_id, _Backoff())
        state.failures += 1
        delay = min(MAX_BACKOFF_SECONDS, 2.0 ** min(state.failures, 10))
        state.next_at = now + timedelta(seconds=delay)

    async def run_once(self) -> ReconcileReport:
        report = ReconcileReport()
        now = utcnow()
        async with self.runtime.database.unit_of_work() as session:
            pending = await repository.pending_agent_ids(session, BATCH)
            deleting = await repository.deleting_agent_ids(session, BATCH)
            overdue = await repository.overdue_agent_ids(session, now, BATCH)
        limit = asyncio.Semaphore(self.runtime.settings.provisioning_concurrency)

        async def apply(agent_id: uuid.UUID) -> None:
            async with limit:
                options, generation = await self._options_for(agent_id)
            if self._parked.get(agent_id) == generation:
                report.parked.append(agent_id)
                return
            if not self._ready(agent_id, now):
                report.deferred.append(agent_id)
                return
            async with limit:
                outcome = await service.apply_agent(self.runtime, agent_id, options)
            if outcome.busy:  # a request of this process is applying it right now
                report.deferred.append(agent_id)
                return
            self._note(agent_id, outcome.ok, utcnow())
            self._parked.pop(agent_id, None)
            if not outcome.ok and not outcome.retryable:
                self._parked[agent_id] = generation
                self._backoff.pop(agent_id, None)
            (report.applied if outcome.ok else report.failed).append(agent_id)

        async def delete(agent_id: uuid.UUID) -> None:
            if not self._ready(agent_id, now):
                report.deferred.append(agent_id)
                return
            async with limit:
                outcome = await service.delete_agent(self.runtime, agent_id)
            self._note(agent_id, outcome.ok, utcnow())
            (report.deleted if outcome.ok else report.failed).append(agent_id)

        await asyncio.gather(*(apply(a) for a in pending), *(delete(a) for a in deleting))
        for agent_id in overdue:
            if agent_id not in pending:
                await self._handle_overdue(agent_id, report)
        return report

    async def _options_for(self, agent_id: uuid.UUID) -> tuple[service.ApplyOptions, int]:
        """How to apply the agent's pending intent, and the generation it is at."""
        async with self.runtime.database.unit_of_work() as session:
            agent = await session.get(Agent, agent_id)
            action = agent.provision_action if agent else None
            generation = agent.generation if agent else 0
        if action == "update":
            return service.ApplyOptions(action="update", wake=False), generation
        return service.ApplyOptions(action="provision", wake=True), generation

    async def _handle_overdue(self, agent_id: uuid.UUID, report: ReconcileReport) -> None:
        async with self.runtime.database.unit_of_work() as session:
            agent = await session.get(Agent, agent_id)
            if agent is None:
                return
            _board, gateway = await repository.board_and_gateway(session, agent)
            if gateway is None:
                return
            if agent.wake_attempts >= self.runtime.settings.max_wake_attempts:
                _give_up(session, agent, gateway.organization_id)
                report.gave_up.append(agent_id)
                return
        try:
            client = await self.runtime.gateway_pool.client(self.runtime.gateway_target(gateway))
            await executor.wake(
                client,
                session_key=agent_session_key(agent_ref(agent)),
                label=agent.name if agent.board_id else MAIN_SESSION_LABEL,
                message=executor.rewake_message(
                    agent.name, agent.wake_attempts + 1, self.runtime.settings.max_wake_attempts
                ),
                idempotency_key=(
                    f"mc-rewake-{agent.id}-{agent.applied_generation}-{agent.wake_attempts}"
                ),
            )
        except GatewayError as error:
            log.warning("rewake_failed", agent_id=str(agent_id), error=str(error))
            return
        now = utcnow()
        async with self.runtime.database.unit_of_work() as session:
            row = await session.get(Agent, agent_id)
            if row is None:
                return
            row.wake_attempts += 1
            row.last_wake_sent_at = now
            row.checkin_deadline_at = now + timedelta(
                seconds=self.runtime.settings.checkin_timeout_seconds
            )
            activity.record(
                session,
                "agent.wakeup.retried",
                f"{row.name} did not check in; wake attempt {row.wake_attempts} of "
                f"{self.runtime.settings.max_wake_attempts} sent.",
                organization_id=gateway.organization_id,
                board_id=row.board_id,
                agent_id=row.id,
            )
        report.rewoken.append(agent_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Runs until ``stop`` is set: campaigns for leadership, reconciles while leader."""
        interval = self.runtime.settings.reconciler_interval_seconds
        async with LeaderLock(self.runtime.database, "provisioning-reconciler") as lock:
            while not stop.is_set():
                if await lock.campaign():
                    try:
                        await self.run_once()
                    except Exception:  # keep the controller alive; the next tick retries
                        log.exception("reconcile_failed")
                try:
                    await asyncio.wait_for(stop.wait(), timeout=interval)
                except TimeoutError:
                    continue


def _give_up(session: AsyncSession, agent: Agent, organization_id: uuid.UUID) -> None:
    attempts = agent.wake_attempts
    agent.status = AgentStatus.OFFLINE
    agent.checkin_deadline_at = None
    agent.last_provision_error = (
        f"{agent.name} did not check in after {attempts} wake attempt(s). Check that the "
        "gateway can run a model for this agent and reach Mission Control's base URL "
        "(MC_BASE_URL), then update the agent to wake it again."
    )
    activity.record(
        session,
        "agent.checkin.missed",
        agent.last_provision_error,
        organization_id=organization_id,
        board_id=agent.board_id,
        agent_id=agent.id,
    )


@contextlib.asynccontextmanager
async def running_reconciler(runtime: Runtime) -> AsyncIterator[Reconciler | None]:
    """The app's reconciler for its lifespan (when MC_RECONCILER_ENABLED)."""
    if not runtime.settings.reconciler_enabled:
        yield None
        return
    reconciler = Reconciler(runtime)
    stop = asyncio.Event()
    task = asyncio.create_task(reconciler.run(stop), name="provisioning-reconciler")
    try:
        yield reconciler
    finally:
        stop.set()
        await task
