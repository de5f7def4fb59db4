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
from mission_control.provisioning import batch, executor, repository, service, sync_jobs
from mission_control.provisioning.context import agent_ref
from mission_control.provisioning.identities import MAIN_SESSION_LABEL, agent_session_key
from mission_control.provisioning.wakes import WakeWatcher

log = get_logger("mission_control.reconciler")

BATCH = 200
# Capped low: a gateway that comes back (or a token fixed) is picked up within this time.
MAX_BACKOFF_SECONDS = 30.0
COALESCE_SECONDS = 0.2


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
        # Who holds agents' apply leases when this reconciler applies them.
        self.owner = f"reconciler-{uuid.uuid4().hex[:16]}"
        self.wakes = WakeWatcher(runtime)
        self._started = False
        # Template syncs waiting for a runner: driven beside the rounds, never inside one, so
        # a long sync does not hold back provisioning.
        self._syncs: asyncio.Task[int] | None = None

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

    def _watch(self, sent: batch.WakeSent) -> None:
        self.wakes.watch(sent.agent_id, sent.client, sent.run_id)

    async def run_once(self) -> ReconcileReport:
        report = ReconcileReport()
        now = utcnow()
        async with self.runtime.database.unit_of_work() as session:
            if not self._started:
                # A (re)started reconciler tries parked agents once more: what it runs may
                # have changed. Parking lives in the database, so it survives nothing else.
                await repository.unpark(session)
                self._started = True
            pending = await repository.pending_work(session, BATCH)
            deleting = await repository.deleting_agent_ids(session, BATCH)
            overdue = await repository.overdue_agent_ids(session, now, BATCH)
        by_gateway: dict[uuid.UUID, list[batch.BatchItem]] = {}
        generations: dict[uuid.UUID, int] = {}
        for work in pending:
            if work.parked_generation == work.generation:
                report.parked.append(work.agent_id)
                continue
            if not self._ready(work.agent_id, now):
                report.deferred.append(work.agent_id)
                continue
            options = await self._options_for(work.agent_id)
            if options is None:
                continue
            generations[work.agent_id] = work.generation
            by_gateway.setdefault(work.gateway_id, []).append(
                batch.BatchItem(work.agent_id, options)
            )
        limit = asyncio.Semaphore(self.runtime.settings.provisioning_concurrency)

        async def apply(gateway_id: uuid.UUID, items: list[batch.BatchItem]) -> None:
            result = await batch.apply_batch(
                self.runtime, gateway_id, items, owner=self.owner, on_wake=self._watch
            )
            parked: list[uuid.UUID] = []
            for item in items:
                outcome = result.outcomes.get(item.agent_id)
                if outcome is None:
                    continue
                if outcome.busy:  # another worker is applying it right now
                    report.deferred.append(item.agent_id)
                    continue
                self._note(item.agent_id, outcome.ok, utcnow())
                if not outcome.ok and not outcome.retryable:
                    parked.append(item.agent_id)
                    self._backoff.pop(item.agent_id, None)
                (report.applied if outcome.ok else report.failed).append(item.agent_id)
            if parked:
                await self._park(parked, generations)

        async def delete(agent_id: uuid.UUID) -> None:
            if not self._ready(agent_id, now):
                report.deferred.append(agent_id)
                return
            async with limit:
                outcome = await service.delete_agent(self.runtime, agent_id)
            self._note(agent_id, outcome.ok, utcnow())
            (report.deleted if outcome.ok else report.failed).append(agent_id)

        await asyncio.gather(
            *(apply(gateway_id, items) for gateway_id, items in by_gateway.items()),
            *(delete(a) for a in deleting),
        )
        pending_ids = {work.agent_id for work in pending}
        for agent_id in overdue:
            if agent_id not in pending_ids:
                await self._handle_overdue(agent_id, report)
        return report

    async def _park(self, agent_ids: list[uuid.UUID], generations: dict[uuid.UUID, int]) -> None:
        """Parks agents at the generation that failed for good (kept in the database)."""
        async with self.runtime.database.unit_of_work() as session:
            for agent_id in agent_ids:
                agent = await session.get(Agent, agent_id)
                if agent is not None and agent.generation == generations.get(agent_id):
                    agent.provision_parked_generation = agent.generation

    async def _options_for(self, agent_id: uuid.UUID) -> service.ApplyOptions | None:
        """How to apply the agent's pending intent (None: it is gone)."""
        async with self.runtime.database.unit_of_work() as session:
            agent = await session.get(Agent, agent_id)
            return service.pending_options(agent) if agent is not None else None

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
            client = await asyncio.wait_for(
                self.runtime.gateway_pool.client(self.runtime.gateway_target(gateway)),
                batch.CONNECT_TIMEOUT_SECONDS,
            )
            run_id = await executor.wake(
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
        except (GatewayError, TimeoutError) as error:
            log.warning("rewake_failed", agent_id=str(agent_id), error=str(error))
            return
        if run_id is not None:
            self.wakes.watch(agent_id, client, run_id)
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

    def drive_syncs(self) -> None:
        """Starts running the template syncs due (queued, or abandoned by a dead process)
        unless that is already under way."""
        if self._syncs is None or self._syncs.done():
            self._syncs = asyncio.get_running_loop().create_task(
                sync_jobs.run_due_syncs(self.runtime), name="template-syncs"
            )

    async def _stop_syncs(self) -> None:
        """A sync cut short here keeps its row running; its lease lapses and whoever leads
        next takes it over."""
        if self._syncs is None:
            return
        self._syncs.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._syncs

    async def run(self, stop: asyncio.Event) -> None:
        """Runs until ``stop`` is set: campaigns for leadership, reconciles while leader. A
        request that committed new work sets ``runtime.reconcile_soon``: the next round starts
        at once (after ``COALESCE_SECONDS``, so back-to-back requests share one batch)."""
        interval = self.runtime.settings.reconciler_interval_seconds
        kick = self.runtime.reconcile_soon
        async with LeaderLock(
            self.runtime.database, "provisioning-reconciler", self.runtime.leader_metrics
        ) as lock:
            try:
                while not stop.is_set():
                    kick.clear()
                    if await lock.campaign():
                        try:
                            await self.run_once()
                        except Exception:  # keep the controller alive; the next tick retries
                            log.exception("reconcile_failed")
                        self.drive_syncs()
                    await _first_of(stop, kick, interval)
                    if kick.is_set() and not stop.is_set():
                        await asyncio.sleep(COALESCE_SECONDS)
            finally:
                await self._stop_syncs()
                await self.wakes.close()


async def _first_of(stop: asyncio.Event, kick: asyncio.Event, timeout: float) -> None:
    """Waits until ``stop`` or ``kick`` is set, or ``timeout`` passes."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(kick.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


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
