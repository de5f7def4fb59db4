"""Many agents of one gateway applied as one batch (issue 19): each agent claimed (a lease on its
row, so one worker across processes applies it), registrations and workspace files in parallel
with a bound, ONE config.patch for the whole batch (within the gateway's write rate limit: the
executor honours ``retryAfterMs``), then a wait until the gateway reports every agent's heartbeat
live, and only then the wakes. A wake's run is watched by the caller (``on_wake``) so a turn that
ends in error is seen at once.

The gateway is never waited on longer than ``CONNECT_TIMEOUT_SECONDS`` to connect: an
unreachable gateway fails the batch fast and the intents stay queued.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from jinja2 import TemplateError

from mission_control.core.clock import utcnow
from mission_control.core.logging import get_logger
from mission_control.core.runtime import Runtime
from mission_control.gateway.client import AgentList, GatewayClient
from mission_control.gateway.errors import (
    GatewayError,
    GatewayInvalidRequest,
    GatewayUnreachable,
    GatewayUnsupportedFile,
)
from mission_control.provisioning import executor, repository
from mission_control.provisioning.plan import AgentPlan
from mission_control.provisioning.role_souls import role_soul_directory
from mission_control.provisioning.service import (
    ApplyOptions,
    ApplyOutcome,
    Loaded,
    apply_workspace,
    attach_role_soul,
    confirm_wake_sent,
    describe_failure,
    heartbeat_entry,
    keep_token,
    load_agent,
    record_failure,
    record_success,
    registration_plan,
    reset_and_wake,
)
from mission_control.provisioning.wakes import UNSENT_WAKE_RETRY_SECONDS, record_wake_error

log = get_logger("mission_control.provisioning")

# An agent's apply lease is short and renewed while its batch runs, so the work of a process
# that died is taken over within LEASE_SECONDS.
LEASE_SECONDS = 30.0
LEASE_RENEW_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 10.0
LIVE_WAIT_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class BatchItem:
    agent_id: uuid.UUID
    options: ApplyOptions


@dataclass(frozen=True, slots=True)
class WakeSent:
    """A wake that went out: its run is watched for an outcome."""

    agent_id: uuid.UUID
    gateway_id: uuid.UUID
    run_id: str
    client: GatewayClient


@dataclass
class BatchResult:
    outcomes: dict[uuid.UUID, ApplyOutcome] = field(default_factory=dict)
    config_patched: bool = False


def needs_a_change(error: Exception) -> bool:
    """Failures only a change can fix (Mission Control's own data or the operator's settings):
    parked until the agent or its gateway changes. Everything else, including every error an
    interrupted earlier attempt leaves behind (not listed yet, stale config hash, agent missing
    after a restart), is retried with backoff and re-planned from what the gateway holds."""
    if isinstance(error, TemplateError | executor.LeadFilesRefused | ValueError):
        return True
    if isinstance(error, GatewayUnsupportedFile):
        return True
    # A config the release refuses is ours to fix; an unknown agent (`agent "x" not found`,
    # also INVALID_REQUEST) is what an interrupted create leaves behind: re-planned.
    return isinstance(error, GatewayInvalidRequest) and "invalid config" in error.message


def _failure(agent_id: uuid.UUID, error: Exception) -> ApplyOutcome:
    gateway_error = error if isinstance(error, GatewayError) else None
    return ApplyOutcome(
        agent_id=agent_id,
        ok=False,
        error=describe_failure(error),
        retryable=not needs_a_change(error),
        gateway_code=gateway_error.code if gateway_error else None,
        gateway_error=gateway_error,
    )


async def apply_batch(
    runtime: Runtime,
    gateway_id: uuid.UUID,
    items: Sequence[BatchItem],
    *,
    owner: str,
    on_wake: Callable[[WakeSent], None] | None = None,
) -> BatchResult:
    """Applies ``items`` (agents of ``gateway_id``); an agent another worker holds is reported
    ``busy`` and left alone."""
    result = BatchResult()
    claimed: list[BatchItem] = []
    now = utcnow()
    for item in items:
        async with runtime.database.unit_of_work() as session:
            held = await repository.claim(
                session, item.agent_id, owner, now, now + timedelta(seconds=LEASE_SECONDS)
            )
        if not held:
            result.outcomes[item.agent_id] = _busy(item.agent_id)
            continue
        claimed.append(item)
    renewing = asyncio.create_task(_renew(runtime, [i.agent_id for i in claimed], owner))
    try:
        if claimed:
            await _apply_claimed(runtime, gateway_id, claimed, result, on_wake)
    finally:
        renewing.cancel()
        await asyncio.gather(renewing, return_exceptions=True)
        async with runtime.database.unit_of_work() as session:
            for item in claimed:
                await repository.release(session, item.agent_id, owner)
    return result


async def _renew(runtime: Runtime, agent_ids: Sequence[uuid.UUID], owner: str) -> None:
    """Extends this worker's leases every LEASE_RENEW_SECONDS until cancelled."""
    while agent_ids:
        await asyncio.sleep(LEASE_RENEW_SECONDS)
        now = utcnow()
        try:
            async with runtime.database.unit_of_work() as session:
                for agent_id in agent_ids:
                    await repository.claim(
                        session, agent_id, owner, now, now + timedelta(seconds=LEASE_SECONDS)
                    )
        except Exception:  # a missed renewal shortens the lease; the next one may succeed
            log.exception("lease_renew_failed", agents=len(agent_ids))


def _busy(agent_id: uuid.UUID) -> ApplyOutcome:
    return ApplyOutcome(
        agent_id=agent_id, ok=False, busy=True, retryable=True, error="already being applied"
    )


async def _load(runtime: Runtime, items: Sequence[BatchItem]) -> dict[uuid.UUID, Loaded]:
    loaded: dict[uuid.UUID, Loaded] = {}
    async with runtime.database.unit_of_work() as session:
        for item in items:
            row = await load_agent(session, item.agent_id)
            if row is not None:
                loaded[item.agent_id] = row
    directory = role_soul_directory(runtime)
    await asyncio.gather(*(attach_role_soul(directory, row) for row in loaded.values()))
    return loaded


async def _fail_all(
    runtime: Runtime,
    work: Sequence[tuple[BatchItem, Loaded]],
    error: Exception,
    result: BatchResult,
) -> None:
    for item, row in work:
        outcome = _failure(item.agent_id, error)
        result.outcomes[item.agent_id] = outcome
        await record_failure(runtime, row, item.options, outcome)


async def _apply_claimed(
    runtime: Runtime,
    gateway_id: uuid.UUID,
    items: Sequence[BatchItem],
    result: BatchResult,
    on_wake: Callable[[WakeSent], None] | None,
) -> None:
    loaded = await _load(runtime, items)
    for item in items:
        if item.agent_id not in loaded:
            result.outcomes[item.agent_id] = ApplyOutcome(
                agent_id=item.agent_id, ok=False, error="agent not found"
            )
    work = [(item, loaded[item.agent_id]) for item in items if item.agent_id in loaded]
    if not work:
        return
    gateway = work[0][1].gateway
    try:
        client = await asyncio.wait_for(
            runtime.gateway_pool.client(runtime.gateway_target(gateway)),
            CONNECT_TIMEOUT_SECONDS,
        )
        known = await client.agents_list()
    except TimeoutError:
        error = GatewayUnreachable(
            f"gateway {gateway.name} did not accept a connection within "
            f"{CONNECT_TIMEOUT_SECONDS:.0f} s; the work stays queued and is retried",
            method="connect",
        )
        await _fail_all(runtime, work, error, result)
        return
    except GatewayError as error:
        await _fail_all(runtime, work, error, result)
        return
    settings = runtime.settings
    try:
        probes, created, known = await _register_new(client, work, known, settings.agent_base_url)
    except GatewayError as error:
        await _fail_all(runtime, work, error, result)
        return
    limit = asyncio.Semaphore(settings.provisioning_concurrency)

    async def workspace(item: BatchItem, row: Loaded) -> tuple[ApplyOutcome, AgentPlan] | None:
        async with limit:
            try:
                outcome, plan, minted = await executor.retry_transient(
                    lambda: apply_workspace(
                        client,
                        row,
                        item.options,
                        settings.agent_base_url,
                        known,
                        governor_enabled=settings.governor_enabled,
                        name_in_config=True,
                        probe=probes.get(item.agent_id),
                    )
                )
            except (GatewayError, executor.LeadFilesRefused, ValueError, TemplateError) as error:
                failed = _failure(item.agent_id, error)
                result.outcomes[item.agent_id] = failed
                await record_failure(runtime, row, item.options, failed)
                return None
            outcome.created = outcome.created or item.agent_id in created
            await keep_token(runtime, row, outcome, minted)
            return outcome, plan

    done = await asyncio.gather(*(workspace(item, row) for item, row in work))
    ready = [(item, row, *pair) for (item, row), pair in zip(work, done, strict=True) if pair]
    if not ready:
        return
    entries = [heartbeat_entry(plan, with_name=True) for _item, _row, _outcome, plan in ready]
    try:
        change = await executor.retry_transient(lambda: executor.apply_config(client, entries))
    except GatewayError as error:
        await _fail_all(runtime, [(item, row) for item, row, _o, _p in ready], error, result)
        return
    patched = change.patch is not None or bool(created)
    result.config_patched = patched
    if any(item.options.wake for item, *_ in ready):
        await wait_live(client, [plan for *_, plan in ready])
    for item, _row, outcome, _plan in ready:
        outcome.config_patched = patched
        outcome.kept_heartbeating = change.kept_heartbeating
        outcome.woke = item.options.wake
        result.outcomes[item.agent_id] = outcome
    # The tokens and wake intents are committed before any wake goes out.
    for item, row, outcome, plan in ready:
        await record_success(runtime, row, item.options, outcome, plan)

    async def wake(item: BatchItem, row: Loaded, outcome: ApplyOutcome, plan: AgentPlan) -> None:
        async with limit:
            try:
                run_id = await reset_and_wake(
                    client, row, item.options, plan, fresh=outcome.created
                )
            except GatewayError as error:
                outcome.woke = False
                outcome.error = describe_failure(error)
                await record_wake_failure(runtime, row, outcome.error)
                return
            await confirm_wake_sent(runtime, item.agent_id)
        if run_id is not None and on_wake is not None:
            on_wake(WakeSent(item.agent_id, gateway_id, run_id, client))

    await asyncio.gather(*(wake(*entry) for entry in ready))


async def _register_new(
    client: GatewayClient,
    work: Sequence[tuple[BatchItem, Loaded]],
    known: AgentList,
    base_url: str,
) -> tuple[dict[uuid.UUID, AgentPlan], set[uuid.UUID], AgentList]:
    """Agents the gateway does not know yet are created by ONE config.patch holding their
    entries (id, name, workspace, heartbeat), not by one ``agents.create`` each: every create is
    a config write and a reload, which made a fleet of 100 take minutes. Returns every agent's
    registration plan (reused by the workspace step), the agents so created and the listing
    once the gateway lists them all; their files are written next."""
    probes: dict[uuid.UUID, AgentPlan] = {}
    for item, row in work:
        try:
            probes[item.agent_id] = registration_plan(client.profile, row, item.options, base_url)
        except (TemplateError, ValueError):
            continue  # the workspace step meets the same error and records it on the agent
    new = {a: plan for a, plan in probes.items() if known.get(plan.gateway_agent_id) is None}
    if not new:
        return probes, set(), known
    entries = [heartbeat_entry(plan, with_name=True) for plan in new.values()]
    await executor.retry_transient(lambda: executor.apply_config(client, entries))
    listing = await executor.wait_listed(client, [plan.gateway_agent_id for plan in new.values()])
    return probes, set(new), listing


async def wait_live(client: GatewayClient, plans: Sequence[AgentPlan]) -> bool:
    """Polls ``health`` until the gateway reports every planned agent's heartbeat cadence live
    (so the config that makes it exist and beat is applied before its wake), at most
    ``LIVE_WAIT_SECONDS``. Returns whether it saw them all."""
    wanted = {
        plan.gateway_agent_id: str(plan.heartbeat.get("every"))
        for plan in plans
        if plan.heartbeat.get("every")
    }
    deadline = time.monotonic() + LIVE_WAIT_SECONDS
    delay = 0.1
    while True:
        try:
            cadences = await client.heartbeat_cadences()
        except GatewayError:
            cadences = {}
        missing = [
            agent_id
            for agent_id, every in wanted.items()
            if agent_id not in cadences or (every != "0m" and cadences[agent_id] != every)
        ]
        if not missing:
            return True
        if time.monotonic() > deadline:
            log.warning("config_not_live", agents=missing[:10], waited=LIVE_WAIT_SECONDS)
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def record_wake_failure(runtime: Runtime, loaded: Loaded, error: str) -> None:
    await record_wake_error(
        runtime,
        loaded.agent.id,
        f"Waking {loaded.agent.name} failed: {error}; it is woken again within "
        f"{UNSENT_WAKE_RETRY_SECONDS:.0f} s.",
        unsent=True,
    )
