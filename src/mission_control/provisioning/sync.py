"""Template sync (docs/provisioning.md#template-sync): re-render and re-write the workspaces of
every agent on a gateway, in parallel with a bound, one config.patch for the whole gateway, and
a report an operator can act on. Agents on paused boards, agents being deleted and agents
another flow of this process is applying are skipped."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from jinja2 import TemplateError

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.clock import utcnow
from mission_control.core.runtime import Runtime
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.errors import GatewayError
from mission_control.gateways.models import Gateway
from mission_control.memory.repository import paused_board_ids
from mission_control.provisioning import executor, repository, service
from mission_control.provisioning.plan import AgentPlan
from mission_control.provisioning.role_souls import role_soul_directory

SYNC_LEASE_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class SyncOptions:
    include_main: bool = True
    reset_sessions: bool = False
    rotate_tokens: bool = False
    force_bootstrap: bool = False
    board_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class SyncError:
    message: str
    agent_id: uuid.UUID | None = None
    agent_name: str | None = None
    board_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class SyncWarning:
    """Something the sync did that an operator should know of (it is not a failure)."""

    message: str
    agent_id: uuid.UUID
    agent_name: str
    board_id: uuid.UUID | None = None


@dataclass
class SyncReport:
    gateway_id: uuid.UUID
    include_main: bool
    reset_sessions: bool
    agents_updated: int = 0
    agents_skipped: int = 0
    main_updated: bool = False
    config_patched: bool = False
    kept_heartbeating: tuple[str, ...] = ()
    errors: list[SyncError] = field(default_factory=list)
    warnings: list[SyncWarning] = field(default_factory=list)


Progress = Callable[[SyncReport], Awaitable[None]]


async def _no_progress(_report: SyncReport) -> None:
    return None


@dataclass
class _Synced:
    loaded: service.Loaded
    outcome: service.ApplyOutcome
    plan: AgentPlan


async def _targets(
    runtime: Runtime, gateway: Gateway, options: SyncOptions, report: SyncReport
) -> list[tuple[Agent, Board | None]] | None:
    async with runtime.database.unit_of_work() as session:
        agents = await repository.agents_on_gateway(session, gateway.id)
        boards = {a.board_id: await session.get(Board, a.board_id) for a in agents if a.board_id}
        if options.board_id is not None:
            board = await session.get(Board, options.board_id)
            if board is None or board.gateway_id != gateway.id:
                report.errors.append(SyncError("Board does not belong to this gateway."))
                return None
        paused = await paused_board_ids(session, [b for b in boards if b is not None])
    targets: list[tuple[Agent, Board | None]] = []
    for agent in agents:
        if agent.delete_requested_at is not None:  # going away: never re-created here
            continue
        if agent.board_id is None:
            if options.include_main and options.board_id is None:
                targets.append((agent, None))
            continue
        if options.board_id is not None and agent.board_id != options.board_id:
            continue
        if agent.board_id in paused:
            report.agents_skipped += 1
            continue
        targets.append((agent, boards[agent.board_id]))
    return targets


async def sync_templates(
    runtime: Runtime,
    gateway_id: uuid.UUID,
    options: SyncOptions | None = None,
    *,
    owner: str | None = None,
    progress: Progress = _no_progress,
) -> SyncReport:
    """Runs the sync and returns its report. ``owner`` holds the agents' apply leases (a
    durable sync passes its own, so a process taking it over re-claims them at once);
    ``progress`` is handed the report after each phase."""
    options = options or SyncOptions()
    report = SyncReport(gateway_id, options.include_main, options.reset_sessions)
    async with runtime.database.unit_of_work() as session:
        gateway = await session.get(Gateway, gateway_id)
    if gateway is None or not gateway.url:
        report.errors.append(SyncError("Gateway URL is not configured for this gateway."))
        return report
    targets = await _targets(runtime, gateway, options, report)
    if targets is None:
        return report
    owner = owner or f"sync-{uuid.uuid4().hex[:16]}"
    async with runtime.database.unit_of_work() as session:
        # A sync is a change that can fix what parked an agent: try those again.
        await repository.unpark(session, gateway_id=gateway_id)
    claimed = await _claim(runtime, targets, report, owner)
    await progress(report)
    try:
        await _sync_claimed(runtime, gateway, claimed, options, report, progress)
    finally:
        async with runtime.database.unit_of_work() as session:
            for agent, _board in claimed:
                await repository.release(session, agent.id, owner)
    return report


async def _claim(
    runtime: Runtime, targets: list[tuple[Agent, Board | None]], report: SyncReport, owner: str
) -> list[tuple[Agent, Board | None]]:
    """Takes the apply lease of each target (the one claim, shared by every process), so no
    other worker applies an agent while the sync writes it; an agent already being applied is
    skipped."""
    claimed: list[tuple[Agent, Board | None]] = []
    now = utcnow()
    for agent, board in targets:
        async with runtime.database.unit_of_work() as session:
            held = await repository.claim(
                session, agent.id, owner, now, now + timedelta(seconds=SYNC_LEASE_SECONDS)
            )
        if not held:
            report.agents_skipped += 1
            message = "Skipped: the agent is being applied right now; re-run the sync after it."
            report.errors.append(SyncError(message, agent.id, agent.name, agent.board_id))
            continue
        claimed.append((agent, board))
    return claimed


async def _sync_claimed(
    runtime: Runtime,
    gateway: Gateway,
    targets: list[tuple[Agent, Board | None]],
    options: SyncOptions,
    report: SyncReport,
    progress: Progress,
) -> None:
    try:
        client = await runtime.gateway_pool.client(runtime.gateway_target(gateway))
    except GatewayError as error:
        report.errors.append(SyncError(f"Gateway unreachable: {service.describe_failure(error)}"))
        return
    synced = await _sync_agents(runtime, client, targets, options, report)
    await progress(report)
    if not synced:
        return
    try:
        entries = [service.heartbeat_entry(item.plan) for item in synced]
        change = await executor.retry_transient(lambda: executor.apply_config(client, entries))
    except GatewayError as error:
        # The workspaces (and any new token, already stored) are written; only the heartbeat
        # entries are missing, and the agents' updates stay pending.
        report.errors.append(
            SyncError(
                f"Heartbeat config not applied: {service.describe_failure(error)}. The "
                f"workspaces of {len(synced)} agent(s) were written and their tokens are valid; "
                "fix the cause and re-run the sync."
            )
        )
        return
    report.config_patched = change.patch is not None
    report.kept_heartbeating = change.kept_heartbeating
    await _finish(runtime, client, synced, options, report)


async def _sync_agents(
    runtime: Runtime,
    client: GatewayClient,
    targets: list[tuple[Agent, Board | None]],
    options: SyncOptions,
    report: SyncReport,
) -> list[_Synced]:
    apply_options = service.ApplyOptions(
        action="update",
        wake=False,
        reset_session=options.reset_sessions,
        rotate_token=options.rotate_tokens,
        force_bootstrap=options.force_bootstrap,
    )
    limit = asyncio.Semaphore(runtime.settings.provisioning_concurrency)
    base_url = runtime.settings.agent_base_url
    governor_enabled = runtime.settings.governor_enabled
    try:  # one listing for the whole batch; each agent's registration checks against it
        known = await executor.retry_transient(client.agents_list)
    except GatewayError as error:
        report.errors.append(SyncError(f"Gateway unreachable: {service.describe_failure(error)}"))
        return []

    async def one(agent: Agent) -> _Synced | None:
        async with limit:
            async with runtime.database.unit_of_work() as session:
                loaded = await service.load_agent(session, agent.id)
            if loaded is None:
                return None
            await service.attach_role_soul(role_soul_directory(runtime), loaded)
            try:
                outcome, plan, minted = await executor.retry_transient(
                    lambda: service.apply_workspace(
                        client,
                        loaded,
                        apply_options,
                        base_url,
                        known,
                        governor_enabled=governor_enabled,
                    )
                )
            except (GatewayError, executor.LeadFilesRefused, ValueError, TemplateError) as error:
                message = service.describe_failure(error)
                report.agents_skipped += 1
                report.errors.append(SyncError(message, agent.id, agent.name, agent.board_id))
                failure = service.ApplyOutcome(agent_id=agent.id, ok=False, error=message)
                await service.record_failure(runtime, loaded, apply_options, failure)
                return None
            # The workspace holds the new token now: store it before the config step
            # (docs/provisioning.md#a-new-token-is-stored-with-its-workspace).
            await service.keep_token(runtime, loaded, outcome, minted)
            if outcome.rekeyed:
                warning = service.rekey_warning(agent.name)
                report.warnings.append(SyncWarning(warning, agent.id, agent.name, agent.board_id))
            return _Synced(loaded, outcome, plan)

    results = await asyncio.gather(*(one(agent) for agent, _board in targets))
    return [item for item in results if item is not None]


async def _finish(
    runtime: Runtime,
    client: GatewayClient,
    synced: list[_Synced],
    options: SyncOptions,
    report: SyncReport,
) -> None:
    apply_options = service.ApplyOptions(
        action="update", wake=False, reset_session=options.reset_sessions
    )
    for item in synced:
        agent = item.loaded.agent
        if item.outcome.files_refused:
            refused = ", ".join(item.outcome.files_refused)
            report.errors.append(
                SyncError(f"Gateway refused files: {refused}", agent.id, agent.name, agent.board_id)
            )
        try:
            await service.reset_and_wake(client, item.loaded, apply_options, item.plan)
        except GatewayError as error:
            message = f"Session reset failed: {service.describe_failure(error)}"
            report.errors.append(SyncError(message, agent.id, agent.name, agent.board_id))
        # A sync never wakes: an agent whose first provisioning is pending keeps it, so the
        # reconciler still provisions and wakes it.
        await service.record_success(
            runtime, item.loaded, apply_options, item.outcome, item.plan, settle_first_wake=False
        )
        if agent.board_id is None:
            report.main_updated = True
        else:
            report.agents_updated += 1
