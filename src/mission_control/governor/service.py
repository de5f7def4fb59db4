"""The heartbeat governor controller: each tick decides every board agent's cadence, persists the
new state with its activity events in one transaction, then converges each gateway with at most
one config.patch (none when nothing differs). Exactly one runs across processes (core.leader)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.activity import service as activity
from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.clock import utcnow
from mission_control.core.leader import LeaderLock
from mission_control.core.logging import get_logger
from mission_control.core.runtime import Runtime
from mission_control.gateway.config_plan import HeartbeatEntry
from mission_control.gateway.errors import GatewayError
from mission_control.gateways.models import Gateway
from mission_control.governor import repository
from mission_control.governor.policy import (
    Decision,
    GovernorState,
    Policy,
    decide,
    describe_change,
    effective_cadence,
    governs,
    held_cadence,
    policy_of,
    released,
    rung_label,
    state_of,
)
from mission_control.memory.repository import paused_board_ids
from mission_control.provisioning import executor
from mission_control.provisioning.context import agent_ref
from mission_control.provisioning.identities import gateway_agent_id, workspace_path

log = get_logger("mission_control.governor")

LOCK_NAME = "heartbeat-governor"
GATEWAY_TIMEOUT_SECONDS = 60.0
EVENT_TYPE = "agent.heartbeat.governed"


@dataclass(frozen=True, slots=True)
class Desired:
    """One agent's wanted cadence on its gateway (None = off)."""

    gateway_agent_id: str
    workspace: str
    every: str | None


@dataclass
class GatewayWork:
    gateway: Gateway
    desired: list[Desired] = field(default_factory=list)


@dataclass
class TickReport:
    agents: int = 0
    changed: list[uuid.UUID] = field(default_factory=list)
    patched: list[uuid.UUID] = field(default_factory=list)
    unchanged: list[uuid.UUID] = field(default_factory=list)
    failed: dict[uuid.UUID, str] = field(default_factory=dict)
    # Agents left out of this tick (bad data, e.g. their gateway's workspace root); by agent id.
    agent_errors: dict[uuid.UUID, str] = field(default_factory=dict)
    rungs: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Signals:
    """What counts as activity this tick."""

    now: datetime
    last_chat: Mapping[uuid.UUID, datetime]
    busy_agents: frozenset[uuid.UUID]
    paused_boards: frozenset[uuid.UUID]

    def active(self, agent: Agent, board: Board, policy: Policy) -> bool:
        if board.id in self.paused_boards:
            return False
        chat = self.last_chat.get(board.id)
        if chat is not None and self.now - chat <= policy.active_window:
            return True
        return policy.counts_tasks and agent.id in self.busy_agents

    def idle_since(self, agent: Agent, board: Board) -> datetime:
        moments = [agent.created_at or self.now, agent.auto_heartbeat_last_active_at]
        if board.id not in self.paused_boards:
            moments.append(self.last_chat.get(board.id))
        return max(moment for moment in moments if moment is not None)


def _next(agent: Agent, board: Board, signals: Signals) -> Decision | None:
    state = state_of(agent)
    held = state.every is not None or state.off
    if not governs(agent, board):
        return released(state) if held else None
    policy = policy_of(board)
    return decide(
        state,
        policy,
        is_lead=agent.is_board_lead,
        active=signals.active(agent, board, policy),
        now=signals.now,
        idle_since=signals.idle_since(agent, board),
    )


def _store(agent: Agent, state: GovernorState) -> None:
    """Writes only what changed, so an unchanged agent is not an UPDATE."""
    values: dict[str, Any] = {
        "auto_heartbeat_step": state.step,
        "auto_heartbeat_off": state.off,
        "auto_heartbeat_every": state.every,
        "auto_heartbeat_last_active_at": state.last_active_at,
    }
    for column, value in values.items():
        if getattr(agent, column) != value:
            setattr(agent, column, value)


async def _signals(
    session: AsyncSession, rows: Sequence[tuple[Agent, Board, Gateway]], now: datetime
) -> Signals:
    board_ids = {board.id for _agent, board, _gateway in rows}
    agent_ids = [agent.id for agent, _board, _gateway in rows]
    return Signals(
        now=now,
        last_chat=await repository.last_chat_at(session, board_ids),
        busy_agents=frozenset(await repository.agents_with_open_tasks(session, agent_ids)),
        paused_boards=frozenset(await paused_board_ids(session, board_ids)),
    )


class Governor:
    def __init__(self, runtime: Runtime, *, interval: float | None = None) -> None:
        self.runtime = runtime
        self.interval = interval or runtime.settings.governor_interval_seconds
        self.metrics = runtime.governor_metrics
        self.ticks = 0

    async def run_once(self, now: datetime | None = None) -> TickReport:
        """One tick: decide and persist, then converge every gateway (concurrently)."""
        report = TickReport()
        work = await self._decide(now or utcnow(), report)
        await asyncio.gather(*(self._converge(item, report) for item in work.values()))
        self.ticks += 1
        self.metrics.ticks.inc()
        self.metrics.set_rungs(report.rungs)
        self.metrics.changes.inc(len(report.changed))
        return report

    async def _decide(self, now: datetime, report: TickReport) -> dict[uuid.UUID, GatewayWork]:
        work: dict[uuid.UUID, GatewayWork] = {}
        rungs: Counter[str] = Counter()
        async with self.runtime.database.unit_of_work() as session:
            rows = await repository.board_agents(session)
            signals = await _signals(session, rows, now)
            for agent, board, gateway in rows:
                stored = state_of(agent)
                try:
                    desired = self._decide_agent(session, agent, board, gateway, signals, report)
                except Exception as error:  # one agent's (or gateway's) bad data stays its own
                    _store(agent, stored)
                    log.exception(
                        "governor_agent_failed", agent_id=str(agent.id), gateway_id=str(gateway.id)
                    )
                    report.agent_errors[agent.id] = f"{error.__class__.__name__}: {error}"
                    continue
                rungs[rung_label(state_of(agent)) if governs(agent, board) else "ungoverned"] += 1
                work.setdefault(gateway.id, GatewayWork(gateway)).desired.append(desired)
        report.agents = len(rows)
        report.rungs = dict(rungs)
        return work

    def _decide_agent(
        self,
        session: AsyncSession,
        agent: Agent,
        board: Board,
        gateway: Gateway,
        signals: Signals,
        report: TickReport,
    ) -> Desired:
        """Decides and stores one agent's state; what its gateway entry should say."""
        ref = agent_ref(agent)
        workspace = workspace_path(gateway.workspace_root, ref)
        # What was last written, not re-capped by the board's current lead cap: a lowered cap
        # changes what the gateway gets, so that change must be recorded too.
        before = held_cadence(agent, None)
        decision = _next(agent, board, signals)
        if decision is not None:
            _store(agent, decision.state)
        after = effective_cadence(agent, board, governor_enabled=True)  # it is running
        if decision is not None and before != after:
            self._record_change(session, agent, gateway, before, after, decision)
            report.changed.append(agent.id)
        return Desired(gateway_agent_id(ref), workspace, after)

    def _record_change(
        self,
        session: AsyncSession,
        agent: Agent,
        gateway: Gateway,
        before: str | None,
        after: str | None,
        decision: Decision,
    ) -> None:
        activity.record(
            session,
            EVENT_TYPE,
            describe_change(agent.name, before, after, decision.reason),
            organization_id=gateway.organization_id,
            board_id=agent.board_id,
            agent_id=agent.id,
            details={
                "from": before,
                "to": after,
                "step": decision.state.step,
                "reason": decision.reason,
            },
        )

    async def _converge(self, item: GatewayWork, report: TickReport) -> None:
        """At most one config.patch for this gateway; a failure is reported and retried next
        tick (the state is already persisted), never raised into the other gateways."""
        gateway = item.gateway
        try:
            async with asyncio.timeout(GATEWAY_TIMEOUT_SECONDS):
                client = await self.runtime.gateway_pool.client(
                    self.runtime.gateway_target(gateway)
                )
                entries = _entries(item.desired, client.profile.heartbeat_off)
                change = await executor.apply_config(
                    client,
                    entries,
                    include_defaults=False,
                    note="Mission Control heartbeat governor",
                )
        except (GatewayError, OSError, TimeoutError) as error:
            self._failed(gateway, report, str(error) or error.__class__.__name__)
            return
        except Exception as error:  # whatever it is, it stays this gateway's problem
            log.exception("governor_gateway_error", gateway_id=str(gateway.id))
            self._failed(gateway, report, f"{error.__class__.__name__}: {error}")
            return
        outcome = "patched" if change.patch is not None else "unchanged"
        (report.patched if change.patch is not None else report.unchanged).append(gateway.id)
        self.metrics.patches.labels(outcome).inc()
        if change.patch is not None:
            log.info(
                "governor_patched",
                gateway_id=str(gateway.id),
                agents=list(change.changed_agents),
            )

    def _failed(self, gateway: Gateway, report: TickReport, message: str) -> None:
        report.failed[gateway.id] = message
        self.metrics.patches.labels("failed").inc()
        log.warning("governor_gateway_failed", gateway_id=str(gateway.id), error=message)

    async def run(self, stop: asyncio.Event) -> None:
        """Runs until ``stop`` is set: campaigns for leadership, governs while leader."""
        async with LeaderLock(
            self.runtime.database, LOCK_NAME, self.runtime.leader_metrics
        ) as lock:
            while not stop.is_set():
                if await lock.campaign():
                    try:
                        await self.run_once()
                    except Exception:  # keep the controller alive; the next tick retries
                        log.exception("governor_tick_failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.interval)


def _entries(desired: Sequence[Desired], off_form: Mapping[str, Any]) -> list[HeartbeatEntry]:
    """Partial entries: only the keys the governor owns (``every`` and the off form's keys)."""
    entries = []
    for item in desired:
        if item.every is None:
            beat: dict[str, Any] = dict(off_form)
        else:
            beat = {key: None for key in off_form if key != "every"}
            beat["every"] = item.every
        entries.append(HeartbeatEntry(item.gateway_agent_id, item.workspace, beat, partial=True))
    return entries


@contextlib.asynccontextmanager
async def running_governor(runtime: Runtime) -> AsyncIterator[Governor | None]:
    """The app's heartbeat governor for its lifespan (when MC_GOVERNOR_ENABLED)."""
    if not runtime.settings.governor_enabled:
        yield None
        return
    governor = Governor(runtime)
    stop = asyncio.Event()
    task = asyncio.create_task(governor.run(stop), name=LOCK_NAME)
    try:
        yield governor
    finally:
        stop.set()
        await task
