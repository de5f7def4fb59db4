"""Applies agent plans to a gateway idempotently: registration, workspace files, one batched
config patch per gateway, session reset/delete, wake. Only gateway-client calls, no database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from mission_control.core.logging import get_logger
from mission_control.gateway.client import AgentList, GatewayClient
from mission_control.gateway.config_plan import (
    ConfigChange,
    HeartbeatEntry,
    has_heartbeat_blocks,
    plan_config_change,
)
from mission_control.gateway.delivery import DeliveryTimeout, deliver_message, retry_call
from mission_control.gateway.errors import (
    GatewayAlreadyExists,
    GatewayConfigConflict,
    GatewayError,
    GatewayNotFound,
    GatewayTimeout,
    GatewayUnsupportedFile,
)
from mission_control.provisioning.plan import AgentPlan

log = get_logger("mission_control.provisioning")

T = TypeVar("T")
# How long one provisioning step (register, files, a config patch) is retried before its
# failure is left to the reconciler's backoff.
STEP_RETRY_SECONDS = 8.0

FILE_WRITE_CONCURRENCY = 4
REGISTRATION_WAIT_SECONDS = 30.0
CONFIG_ATTEMPTS = 3
CONFIG_PATCH_TIMEOUT_SECONDS = 10.0
WAKE_BUDGET_SECONDS = 10.0


class LeadFilesRefused(RuntimeError):
    """The gateway refused files a board lead cannot work without."""


@dataclass(frozen=True, slots=True)
class FilesResult:
    written: tuple[str, ...]
    refused: tuple[str, ...] = field(default_factory=tuple)


async def retry_transient(call: Callable[[], Awaitable[T]]) -> T:
    """A provisioning step under the gateway's one retry policy (``retry_call``): what the
    gateway marks retryable (reloading, restarting, busy) is tried again while
    ``STEP_RETRY_SECONDS`` last; anything else propagates at once. A step's own calls keep
    their own timeouts (a registration may wait for the gateway's listing). A spent budget
    raises the last gateway error itself (still retryable: the reconciler tries the agent
    again later, with its own backoff)."""
    try:
        return await retry_call(call, budget_s=STEP_RETRY_SECONDS, bound_calls=False)
    except DeliveryTimeout as spent:
        raise (spent.last_error or GatewayTimeout(str(spent))) from spent


async def existing_files(client: GatewayClient, agent_id: str) -> dict[str, bool]:
    """Names in the agent's workspace mapped to the gateway's "missing" flag."""
    try:
        files = await client.files_list(agent_id)
    except GatewayNotFound:
        return {}
    return {f.name: f.missing for f in files}


async def wait_listed(client: GatewayClient, agent_ids: Sequence[str]) -> AgentList:
    """Polls ``agents.list`` until it lists every one of ``agent_ids`` (the running config is
    brought up to date by a reload a moment after a config write); returns that listing."""
    delay, waited = 0.1, 0.0
    while True:
        listing = await client.agents_list()
        missing = [agent_id for agent_id in agent_ids if listing.get(agent_id) is None]
        if not missing:
            return listing
        if waited >= REGISTRATION_WAIT_SECONDS:
            raise GatewayNotFound(
                f"the gateway did not list agent {missing[0]}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                + f" within {REGISTRATION_WAIT_SECONDS:.0f} s of creating it",
                method="agents.list",
            )
        await asyncio.sleep(delay)
        waited += delay
        delay = min(delay * 2, 1.0)


async def register_agent(
    client: GatewayClient,
    plan: AgentPlan,
    known: AgentList | None = None,
    *,
    name_in_config: bool = False,
) -> bool:
    """Create (id as name) then set the display name and workspace; True when newly created.

    An agent the gateway already lists with this name and workspace is left alone: every
    agents.update is a config write and a reload on the gateway, which a re-sync does not need.
    ``known`` is a listing the caller already holds (one for a whole batch); else it is read.
    With ``name_in_config`` the caller sets the display name in its batched config.patch, so
    only a workspace change needs an agents.update.
    """
    listed = (known or await client.agents_list()).get(plan.gateway_agent_id)
    if listed is not None and (listed.name, listed.workspace) == (
        plan.display_name,
        plan.workspace,
    ):
        return False
    created = listed is None
    if created:
        try:
            await client.agents_create(plan.gateway_agent_id, workspace=plan.workspace)
        except GatewayAlreadyExists:
            created = False
    if created:
        await wait_listed(client, [plan.gateway_agent_id])
    if name_in_config and (created or (listed is not None and listed.workspace == plan.workspace)):
        return created
    await client.agents_update(
        plan.gateway_agent_id, name=plan.display_name, workspace=plan.workspace
    )
    return created


async def write_files(
    client: GatewayClient,
    plan: AgentPlan,
    writes: Mapping[str, str],
    *,
    concurrency: int = FILE_WRITE_CONCURRENCY,
) -> FilesResult:
    """Writes concurrently with a bound. A refused file is reported (an error for leads'
    required files); any other failure propagates."""
    limit = asyncio.Semaphore(concurrency)
    refused: list[str] = []

    async def write(name: str, content: str) -> str | None:
        async with limit:
            try:
                await client.files_set(plan.gateway_agent_id, name, content)
            except GatewayUnsupportedFile:
                refused.append(name)
                return None
            return name

    results = await asyncio.gather(*(write(n, c) for n, c in sorted(writes.items())))
    written = tuple(name for name in results if name is not None)
    if refused and plan.kind == "board_lead":
        raise LeadFilesRefused(
            "Gateway rejected required lead workspace files as unsupported: "
            + ", ".join(sorted(set(refused)))
        )
    return FilesResult(written=written, refused=tuple(sorted(refused)))


async def apply_config(
    client: GatewayClient,
    entries: Sequence[HeartbeatEntry],
    *,
    include_defaults: bool = True,
    note: str = "Mission Control provisioning",
) -> ConfigChange:
    """One config.patch for the whole batch, none when nothing changes.

    A stale base hash, or a patch left unanswered (the gateway can drop the answer when a
    reload supersedes another), is settled by re-reading and re-planning: the plan is
    idempotent, so a patch that did land plans to nothing.
    """
    last_error: GatewayError | None = None
    for _attempt in range(CONFIG_ATTEMPTS):
        snapshot = await client.config_get()
        shape = client.profile.config_shape
        adds_blocks = any(not entry.partial for entry in entries)
        needed = adds_blocks and not has_heartbeat_blocks(snapshot.config, shape)
        cadence = await client.heartbeat_cadences() if needed else {}
        change = plan_config_change(
            snapshot.config,
            shape,
            entries,
            effective_every=cadence,
            include_defaults=include_defaults,
            writable=await client.writable_config(),
        )
        if change.patch is None:
            return change
        try:
            await client.config_patch(
                change.patch,
                base_hash=snapshot.hash,
                note=note,
                timeout=CONFIG_PATCH_TIMEOUT_SECONDS,
            )
        except (GatewayConfigConflict, GatewayTimeout) as error:
            last_error = error
            continue
        if change.kept_heartbeating:
            log.info("kept_operator_heartbeats", agents=list(change.kept_heartbeating))
        return change
    assert last_error is not None
    raise last_error


async def reset_session(client: GatewayClient, key: str) -> None:
    try:
        await client.sessions_reset(key)
    except GatewayNotFound:
        return


async def delete_session(client: GatewayClient, key: str) -> None:
    try:
        await client.sessions_delete(key)
    except GatewayNotFound:
        return


async def delete_agent(client: GatewayClient, agent_id: str, *, delete_files: bool = True) -> None:
    """Removes the agent; an agent that is already gone is fine."""
    try:
        await client.agents_delete(agent_id, delete_files=delete_files)
    except GatewayNotFound:
        return


async def wake(
    client: GatewayClient, *, session_key: str, label: str, message: str, idempotency_key: str
) -> str | None:
    """Ensures the session exists, then sends the wake message (delivered) under the gateway's
    retry policy with a short budget: the reconciler re-wakes what did not go out. Returns the
    run id."""
    return await deliver_message(
        client,
        session_key,
        message,
        idempotency_key=idempotency_key,
        deliver=True,
        label=label,
        budget_s=WAKE_BUDGET_SECONDS,
    )


def rewake_message(agent_name: str, attempt: int, attempts: int) -> str:
    """Sent when a woken agent missed its check-in deadline."""
    return (
        f"Hello {agent_name}, Mission Control has not heard from you yet "
        f"(wake attempt {attempt} of {attempts}).\n\n"
        "Check in now: read AGENTS.md and call Mission Control's heartbeat endpoint as it "
        "describes. If something stops you, say what in your reply."
    )


def retry_wake_message(agent_name: str) -> str:
    """Sent when the previous wake's turn ended in error on the gateway."""
    return (
        f"Hello {agent_name}, your last turn ended in an error before you checked in with "
        "Mission Control.\n\nCheck in now: read AGENTS.md and call Mission Control's heartbeat "
        "endpoint as it describes."
    )


def wake_message(agent_name: str, verb: str, first_start: str | None = None) -> str:
    """Greet, say the workspace was <verb>, then how to start
    (docs/provisioning.md#the-wake-message).

    The gateway removes BOOTSTRAP.md before a customised agent's first turn, so first-start
    instructions travel in the wake message itself.
    """
    text = (
        f"Hello {agent_name}, your workspace has been {verb} by Mission Control.\n\n"
        "Start now: if BOOTSTRAP.md exists, read and follow it first; then read AGENTS.md and "
        "check in with Mission Control as it describes. Begin your heartbeats after start-up."
    )
    if first_start:
        text += "\n\nFirst-start instructions (from BOOTSTRAP.md):\n\n" + first_start
    return text
