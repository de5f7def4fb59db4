"""Lifecycle flows (docs/provisioning.md#lifecycle): request work durably, apply it to the
gateway, record the outcome.

Each flow reads what it needs in a short transaction, talks to the gateway with no transaction
open, then records the outcome in another. Intent is durable (``generation`` ahead of
``applied_generation``), so a failure or a restart delays work and never loses it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.activity import service as activity
from mission_control.agents.models import Agent, AgentStatus
from mission_control.boards.models import Board
from mission_control.core.clock import utcnow
from mission_control.core.logging import get_logger
from mission_control.core.runtime import Runtime
from mission_control.core.security import (
    MintedToken,
    mint_token_in_thread,
    verify_secret_in_thread,
)
from mission_control.gateway.client import AgentList, GatewayClient
from mission_control.gateway.config_plan import HeartbeatEntry
from mission_control.gateway.delivery import (
    DeliveryTimeout,
    Pooled,
    deliver_message,
    retry_gateway,
)
from mission_control.gateway.errors import GatewayError, GatewayNotFound
from mission_control.gateway.profile import GatewayProfile
from mission_control.gateways.models import Gateway
from mission_control.provisioning import executor, lease, repository
from mission_control.provisioning.context import RenderInputs, agent_ref, identity_variables
from mission_control.provisioning.identities import (
    MAIN_SESSION_LABEL,
    gateway_agent_id,
    gateway_main_session_key,
    workspace_path,
)
from mission_control.provisioning.plan import (
    AgentPlan,
    GatewayCapabilities,
    files_to_write,
    plan_agent,
)
from mission_control.provisioning.role_souls import (
    NO_SOUL,
    RoleSoul,
    RoleSoulDirectory,
    role_soul_directory,
)
from mission_control.provisioning.tokens import read_auth_token
from mission_control.users.models import User

log = get_logger("mission_control.provisioning")

# How long a wake recorded as sent may stay unconfirmed by the gateway before the reconciler
# sends it again (the process sending it may have died in between).
WAKE_CONFIRM_SECONDS = 20.0

# How long removing an agent from its gateway may retry a gateway that is busy or restarting.
REMOVAL_BUDGET_SECONDS = 8.0

Action = Literal["provision", "update"]


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    action: Action = "provision"
    reset_session: bool = False
    wake: bool = True
    force_bootstrap: bool = False
    rotate_token: bool = False
    overwrite: bool = False


@dataclass(slots=True)
class ApplyOutcome:
    agent_id: uuid.UUID
    ok: bool
    error: str | None = None
    retryable: bool = False
    created: bool = False
    token_rotated: bool = False
    files_written: tuple[str, ...] = ()
    files_refused: tuple[str, ...] = ()
    config_patched: bool = False
    kept_heartbeating: tuple[str, ...] = ()
    woke: bool = False
    # The gateway's error code when the gateway failed (None: not a gateway failure).
    gateway_code: str | None = None
    # The gateway's error itself, so callers map it the one way gateways/failures.py does.
    gateway_error: GatewayError | None = None
    # Another flow of this process was already applying the agent; nothing was done.
    busy: bool = False
    # The new token reached the agent's workspace (its token-bearing file was written).
    token_delivered: bool = False
    # Why the agent got a new token nobody asked for: its workspace token no longer matched.
    rekeyed: str | None = None


@dataclass(slots=True)
class Loaded:
    agent: Agent
    board: Board | None
    gateway: Gateway
    user: User | None
    generation: int = 0
    organization_id: uuid.UUID = field(default_factory=uuid.uuid4)
    role_soul: RoleSoul = NO_SOUL

    def render_inputs(self, base_url: str, token: str) -> RenderInputs:
        return RenderInputs(
            self.agent,
            self.board,
            self.gateway,
            self.user,
            base_url,
            token,
            role_soul_markdown=self.role_soul.markdown,
            role_soul_source_url=self.role_soul.source_url,
        )


def capabilities(profile: GatewayProfile) -> GatewayCapabilities:
    return GatewayCapabilities(
        workspace_files=profile.workspace_files,
        heartbeat_off=dict(profile.heartbeat_off),
        heartbeat_prompt_in_config="HEARTBEAT.md" not in profile.workspace_files,
    )


def request_apply(
    agent: Agent,
    action: Action,
    *,
    wake: bool = False,
    reset_session: bool = False,
    force_bootstrap: bool = False,
) -> None:
    """Records the intent durably (committed with the caller's transaction). A first
    provisioning still pending stays a provisioning (it wakes); flags of an intent still
    pending are kept, so a later refresh never drops the wake an operator's update asked for."""
    pending = (agent.generation or 0) > (agent.applied_generation or 0)
    flags = set(filter(None, (agent.provision_flags or "").split(","))) if pending else set()
    if pending and agent.provision_action == "provision":
        action = "provision"
    flags |= {
        name
        for name, wanted in (
            ("wake", wake),
            ("reset", reset_session),
            ("bootstrap", force_bootstrap),
        )
        if wanted
    }
    agent.generation = (agent.generation or 0) + 1
    agent.provision_requested_at = utcnow()
    agent.provision_action = action
    agent.provision_flags = ",".join(sorted(flags)) or None
    agent.provision_parked_generation = None


def pending_options(agent: Agent) -> ApplyOptions:
    """How the reconciler applies the agent's pending intent."""
    flags = set(filter(None, (agent.provision_flags or "").split(",")))
    if agent.provision_action == "update":
        return ApplyOptions(
            action="update",
            wake="wake" in flags,
            reset_session="reset" in flags,
            force_bootstrap="bootstrap" in flags,
        )
    return ApplyOptions(action="provision", wake=True, reset_session="reset" in flags)


async def request_refresh(
    session: AsyncSession, gateway_id: uuid.UUID, *, board_id: uuid.UUID | None = None
) -> int:
    """Records an update for every agent on the gateway (or on one board of it) whose rendered
    workspace or registration depends on something that just changed. The reconciler applies
    them without waking anyone. A pending first provisioning stays a provisioning; the new
    generation makes sure an apply already under way with the old state is followed by one
    with the new. Agents being deleted are left alone. Returns how many were requested."""
    count = 0
    for agent in await repository.agents_on_gateway(session, gateway_id, board_id=board_id):
        if agent.delete_requested_at is not None:
            continue
        pending = agent.generation > agent.applied_generation
        first = not agent.applied_generation or (pending and agent.provision_action == "provision")
        request_apply(agent, "provision" if first else "update")
        count += 1
    return count


async def load_agent(session: AsyncSession, agent_id: uuid.UUID) -> Loaded | None:
    agent = await session.get(Agent, agent_id)
    if agent is None:
        return None
    board, gateway = await repository.board_and_gateway(session, agent)
    if gateway is None:
        raise ValueError(f"agent {agent.name} has no gateway")
    user = await repository.organization_owner(session, gateway.organization_id)
    return Loaded(
        agent=agent,
        board=board,
        gateway=gateway,
        user=user,
        generation=agent.generation,
        organization_id=gateway.organization_id,
    )


async def attach_role_soul(directory: RoleSoulDirectory, loaded: Loaded) -> None:
    """Board workers get their role's soul from the directory; best effort
    (docs/provisioning.md#role-souls)."""
    if loaded.board is None or loaded.agent.is_board_lead or not directory.enabled:
        return
    role = identity_variables(loaded.agent.identity_profile)["identity_role"]
    loaded.role_soul = await directory.lookup(role)


async def _token_for(
    client: GatewayClient, caps: GatewayCapabilities, agent: Agent, rotate: bool
) -> tuple[str, MintedToken | None, str | None]:
    """The agent's current token read back from its workspace, or a new one; the third value
    says why a stored token was replaced without a rotation being asked for."""
    if rotate or agent.agent_token_hash is None:
        minted = await mint_token_in_thread()
        return minted.raw, minted, None
    name = "TOOLS.md" if "TOOLS.md" in caps.workspace_files else "AGENTS.md"
    try:
        stored = await client.files_get(gateway_agent_id(agent_ref(agent)), name)
        token = read_auth_token(stored.content or "")
    except GatewayNotFound:
        token = None
    if token and await verify_secret_in_thread(token, agent.agent_token_hash):
        return token, None, None
    minted = await mint_token_in_thread()
    reason = (
        f"the token in {name} did not match" if token else f"no token could be read from {name}"
    )
    return minted.raw, minted, reason


def registration_plan(
    profile: GatewayProfile, loaded: Loaded, options: ApplyOptions, base_url: str
) -> AgentPlan:
    """The agent's id, name, workspace and heartbeat on the gateway (no token needed)."""
    return plan_agent(
        loaded.render_inputs(base_url, "-"), capabilities(profile), action=options.action
    )


async def apply_workspace(
    client: GatewayClient,
    loaded: Loaded,
    options: ApplyOptions,
    base_url: str,
    known: AgentList | None = None,
    *,
    governor_enabled: bool,
    name_in_config: bool = False,
    probe: AgentPlan | None = None,
) -> tuple[ApplyOutcome, AgentPlan, MintedToken | None]:
    """Registration, token and workspace files; the config entry is left to the caller so a
    batch of agents can share one config.patch. ``probe`` is the agent's registration plan when
    the caller has rendered it already."""
    agent = loaded.agent
    caps = capabilities(client.profile)
    if probe is None:
        probe = registration_plan(client.profile, loaded, options, base_url)
    created = await executor.register_agent(client, probe, known, name_in_config=name_in_config)
    existing = await executor.existing_files(client, probe.gateway_agent_id)
    token, minted, rekeyed = await _token_for(client, caps, agent, options.rotate_token)
    if rekeyed:
        log.warning("agent_token_rekeyed", agent_id=str(agent.id), reason=rekeyed)
    plan = plan_agent(
        loaded.render_inputs(base_url, token),
        caps,
        action=options.action,
        force_bootstrap=options.force_bootstrap,
        existing_files=existing,
        governor_enabled=governor_enabled,
    )
    writes = files_to_write(plan, existing, action=options.action, overwrite=options.overwrite)
    # The file holding the token goes last, so a failed write never strands a new token.
    token_file = "TOOLS.md" if "TOOLS.md" in writes else "AGENTS.md"
    first = await executor.write_files(
        client, plan, {k: v for k, v in writes.items() if k != token_file}
    )
    last = await executor.write_files(
        client, plan, {k: v for k, v in writes.items() if k == token_file}
    )
    delivered = minted is not None and token_file in last.written
    outcome = ApplyOutcome(
        agent_id=agent.id,
        ok=True,
        created=created,
        token_rotated=delivered,
        files_written=first.written + last.written,
        files_refused=first.refused + last.refused,
        token_delivered=delivered,
        rekeyed=rekeyed if delivered else None,
    )
    return outcome, plan, minted if delivered else None


def heartbeat_entry(plan: AgentPlan, *, with_name: bool = False) -> HeartbeatEntry:
    return HeartbeatEntry(
        plan.gateway_agent_id,
        plan.workspace,
        plan.heartbeat,
        name=plan.display_name if with_name else None,
    )


async def reset_and_wake(
    client: GatewayClient,
    loaded: Loaded,
    options: ApplyOptions,
    plan: AgentPlan,
    *,
    fresh: bool = False,
) -> str | None:
    """Optional session reset, then the wake; returns the wake's run id. An agent ``fresh`` on
    the gateway (registered by this apply) has no session yet, so there is nothing to reset."""
    agent = loaded.agent
    if options.reset_session and not fresh:
        await executor.reset_session(client, plan.session_key)
    if not options.wake:
        return None
    verb = "provisioned" if options.action == "provision" else "updated"
    first_start = plan.files.get("BOOTSTRAP.md") if options.action == "provision" else None
    return await executor.wake(
        client,
        session_key=plan.session_key,
        label=agent.name if agent.board_id else MAIN_SESSION_LABEL,
        message=executor.wake_message(agent.name, verb, first_start),
        idempotency_key=f"mc-wake-{agent.id}-{loaded.generation}-{agent.wake_attempts}",
    )


async def _apply_on_gateway(
    runtime: Runtime, client: GatewayClient, loaded: Loaded, options: ApplyOptions
) -> tuple[ApplyOutcome, AgentPlan]:
    settings = runtime.settings
    outcome, plan, minted = await executor.retry_transient(
        lambda: apply_workspace(
            client,
            loaded,
            options,
            settings.agent_base_url,
            governor_enabled=settings.governor_enabled,
        )
    )
    # The workspace holds the new token now: store it before a later step can fail
    # (docs/provisioning.md#a-new-token-is-stored-with-its-workspace).
    await keep_token(runtime, loaded, outcome, minted)
    change = await executor.retry_transient(
        lambda: executor.apply_config(client, [heartbeat_entry(plan)])
    )
    outcome.config_patched = change.patch is not None
    outcome.kept_heartbeating = change.kept_heartbeating
    outcome.woke = options.wake
    return outcome, plan


def describe_failure(error: Exception) -> str:
    """A message an operator can act on."""
    if isinstance(error, GatewayError):
        return f"Gateway error ({error.code}): {error.message}"
    if isinstance(error, TemplateError):
        return (
            f"The agent's custom identity or soul template does not render ({error}); "
            "fix or clear it on the agent."
        )
    return f"{error.__class__.__name__}: {error}"


async def apply_agent(
    runtime: Runtime, agent_id: uuid.UUID, options: ApplyOptions | None = None
) -> ApplyOutcome:
    """Provision or update one agent on its gateway and record the outcome; an agent another
    worker holds the apply lease of (any process) is left alone and reported busy."""
    async with lease.held(runtime.database, agent_id, "apply") as holding:
        if not holding:
            return ApplyOutcome(
                agent_id=agent_id,
                ok=False,
                busy=True,
                retryable=True,
                error="already being applied",
            )
        return await _apply_agent(runtime, agent_id, options or ApplyOptions())


async def _apply_agent(
    runtime: Runtime, agent_id: uuid.UUID, options: ApplyOptions
) -> ApplyOutcome:
    async with runtime.database.unit_of_work() as session:
        loaded = await load_agent(session, agent_id)
    if loaded is None:
        return ApplyOutcome(agent_id=agent_id, ok=False, error="agent not found")
    await attach_role_soul(role_soul_directory(runtime), loaded)
    try:
        client = await runtime.gateway_pool.client(runtime.gateway_target(loaded.gateway))
        outcome, plan = await _apply_on_gateway(runtime, client, loaded, options)
    except (GatewayError, executor.LeadFilesRefused, ValueError, TemplateError) as error:
        failure = ApplyOutcome(
            agent_id=agent_id,
            ok=False,
            error=describe_failure(error),
            retryable=isinstance(error, GatewayError) and error.retryable,
            gateway_code=error.code if isinstance(error, GatewayError) else None,
            gateway_error=error if isinstance(error, GatewayError) else None,
        )
        await record_failure(runtime, loaded, options, failure)
        return failure
    # The new token and the wake intent are committed before the wake goes out, so the
    # agent's first call finds its token valid; a lost wake is retried at the deadline.
    await record_success(runtime, loaded, options, outcome, plan)
    try:
        await reset_and_wake(client, loaded, options, plan, fresh=outcome.created)
    except GatewayError as error:
        outcome.woke = False
        outcome.error = describe_failure(error)
        await _record_wake_failure(runtime, loaded, outcome)
        return outcome
    if outcome.woke:
        await confirm_wake_sent(runtime, loaded.agent.id)
    return outcome


async def _record_wake_failure(runtime: Runtime, loaded: Loaded, outcome: ApplyOutcome) -> None:
    async with runtime.database.unit_of_work() as session:
        agent = await session.get(Agent, loaded.agent.id)
        if agent is not None:
            _event(
                session,
                loaded,
                agent,
                "agent.wakeup.failed",
                f"Waking {agent.name} failed: {outcome.error}; it is retried at the check-in "
                "deadline.",
            )


async def record_failure(
    runtime: Runtime, loaded: Loaded, options: ApplyOptions, outcome: ApplyOutcome
) -> None:
    async with runtime.database.unit_of_work() as session:
        agent = await session.get(Agent, loaded.agent.id)
        if agent is None:
            return
        agent.last_provision_error = outcome.error
        doing = "Provisioning" if options.action == "provision" else "Updating"
        event_type = f"agent.{options.action}.failed"
        message = f"{doing} {agent.name} failed: {outcome.error}"
        # Retries of one generation that fail the same way are one event, not one per retry.
        last = await repository.latest_agent_event(session, agent.id, event_type)
        if (
            last is not None
            and last.message == message
            and (last.details or {}).get("generation") == loaded.generation
        ):
            return
        details: dict[str, object] = {
            "generation": loaded.generation,
            "retryable": outcome.retryable,
        }
        _event(session, loaded, agent, event_type, message, details=details)


async def keep_token(
    runtime: Runtime, loaded: Loaded, outcome: ApplyOutcome, minted: MintedToken | None
) -> None:
    """Stores the hash of a token that just reached the agent's workspace, on its own, so no
    later step's failure can leave the workspace and the database disagreeing
    (docs/provisioning.md#a-new-token-is-stored-with-its-workspace). A token
    replaced because the workspace's no longer matched is an activity event an operator sees."""
    if minted is None or not outcome.token_delivered:
        return
    async with runtime.database.unit_of_work() as session:
        agent = await session.get(Agent, loaded.agent.id)
        if agent is None:
            return
        agent.token_id, agent.agent_token_hash = minted.token_id, minted.hash
        if outcome.rekeyed:
            _event(session, loaded, agent, "agent.token.rekeyed", rekey_warning(agent.name))


def rekey_warning(agent_name: str) -> str:
    return (
        f"{agent_name} was given a new token because the one in its workspace no longer "
        "matched; its old token stops working."
    )


def owes_first_wake(agent: Agent) -> bool:
    """A first provisioning is pending: only the reconciler's waking apply may settle it."""
    return agent.provision_action == "provision" and agent.generation > agent.applied_generation


async def record_success(
    runtime: Runtime,
    loaded: Loaded,
    options: ApplyOptions,
    outcome: ApplyOutcome,
    plan: AgentPlan,
    *,
    settle_first_wake: bool = True,
) -> None:
    """Records an applied generation; with ``settle_first_wake`` false (template sync, which
    never wakes), a pending first provisioning stays pending so the agent is still woken."""
    now = utcnow()
    async with runtime.database.unit_of_work() as session:
        agent = await session.get(Agent, loaded.agent.id)
        if agent is None:
            return
        agent.openclaw_session_id = plan.session_key
        if settle_first_wake or not owes_first_wake(agent):
            agent.applied_generation = max(agent.applied_generation, loaded.generation)
        if agent.applied_generation >= agent.generation:
            agent.provision_requested_at = None
            agent.provision_action = None
            agent.provision_flags = None
        agent.provision_parked_generation = None
        agent.provision_confirm_token_hash = None
        agent.last_provision_error = None
        agent.last_provisioned_at = now
        if agent.delete_requested_at is None:  # a deletion requested meanwhile stays `deleting`
            if agent.last_seen_at is None:
                agent.status = AgentStatus.PROVISIONING
            elif agent.status == AgentStatus.DELETING or (
                agent.status == AgentStatus.UPDATING
                and agent.applied_generation >= agent.generation
            ):
                agent.status = AgentStatus.ONLINE
        verb = "Provisioned" if options.action == "provision" else "Updated"
        _event(
            session,
            loaded,
            agent,
            f"agent.{options.action}.direct",
            f"{verb} {agent.name} on gateway {loaded.gateway.name}.",
            details={
                "files_written": list(outcome.files_written),
                "files_refused": list(outcome.files_refused),
                "config_patched": outcome.config_patched,
                "kept_heartbeating": list(outcome.kept_heartbeating),
                "token_rotated": outcome.token_rotated,
            },
        )
        if outcome.woke:
            # A wake for a new generation starts a new count; the reconciler's re-wakes add to it.
            # Until the gateway has taken the wake (confirm_wake_sent) the deadline is short: a
            # process that dies before sending it leaves a wake the reconciler sends again soon.
            agent.wake_attempts = 1
            agent.last_wake_sent_at = now
            agent.checkin_deadline_at = now + timedelta(seconds=WAKE_CONFIRM_SECONDS)
            _event(
                session, loaded, agent, "agent.wakeup.sent", f"Wakeup message sent to {agent.name}."
            )


async def confirm_wake_sent(runtime: Runtime, agent_id: uuid.UUID) -> None:
    """The gateway took the wake: the agent now has the full check-in timeout (unless it has
    checked in already, which cleared the deadline)."""
    async with runtime.database.unit_of_work() as session:
        agent = await session.get(Agent, agent_id)
        if agent is not None and agent.checkin_deadline_at is not None:
            agent.checkin_deadline_at = utcnow() + timedelta(
                seconds=runtime.settings.checkin_timeout_seconds
            )


def _event(
    session: AsyncSession,
    loaded: Loaded,
    agent: Agent,
    event_type: str,
    message: str,
    details: dict[str, object] | None = None,
) -> None:
    activity.record(
        session,
        event_type,
        message,
        organization_id=loaded.organization_id,
        board_id=agent.board_id,
        agent_id=agent.id,
        details=details,
    )


async def delete_agent(runtime: Runtime, agent_id: uuid.UUID) -> ApplyOutcome:
    """Remove the agent from its gateway, release its tasks, delete the row (docs/agents.md#delete).

    The deletion request is durable: if the gateway is down the row stays marked and the
    reconciler finishes the job later.
    """
    async with runtime.database.unit_of_work() as session:
        loaded = await load_agent(session, agent_id)
        if loaded is None:
            return ApplyOutcome(agent_id=agent_id, ok=True)
        agent = loaded.agent
        if agent.delete_requested_at is None:
            agent.delete_requested_at = utcnow()
            agent.status = AgentStatus.DELETING
    ref = agent_ref(loaded.agent)
    try:
        client = await runtime.gateway_pool.client(runtime.gateway_target(loaded.gateway))
        gid = gateway_agent_id(ref)
        if (await client.agents_list()).get(gid) is not None:
            # The main session cannot be deleted on its own; it goes with the agent.
            await executor.delete_agent(client, gid)
    except GatewayError as error:
        failure = ApplyOutcome(
            agent_id=agent_id,
            ok=False,
            error=describe_failure(error),
            retryable=error.retryable,
            gateway_code=error.code,
            gateway_error=error,
        )
        async with runtime.database.unit_of_work() as session:
            row = await session.get(Agent, agent_id)
            if row is not None:
                row.last_provision_error = failure.error
                activity.record(
                    session,
                    "agent.delete.failed",
                    f"Deleting {row.name} from gateway {loaded.gateway.name} failed: "
                    f"{failure.error}",
                    organization_id=loaded.organization_id,
                    board_id=row.board_id,
                    agent_id=row.id,
                )
        return failure
    async with runtime.database.unit_of_work() as session:
        row = await session.get(Agent, agent_id)
        if row is None:
            return ApplyOutcome(agent_id=agent_id, ok=True)
        await repository.release_tasks(session, agent_id, utcnow())
        activity.record(
            session,
            "agent.delete.direct",
            f"Deleted agent {row.name}.",
            organization_id=loaded.organization_id,
            board_id=row.board_id,
            details={"agent_id": str(agent_id), "gateway_agent_id": gateway_agent_id(ref)},
        )
        await session.delete(row)
        main = await repository.main_agent_of(session, loaded.gateway.id)
    if main is not None and main.id != agent_id:
        await _request_workspace_cleanup(client, loaded, main)
    return ApplyOutcome(agent_id=agent_id, ok=True)


def cleanup_message(agent_name: str, agent_id: uuid.UUID, workspace: str) -> str:
    """What the gateway-main agent is asked to do for a deleted agent (docs/agents.md#delete)."""
    return (
        "Cleanup request from Mission Control: an agent on this gateway was deleted.\n\n"
        f"- Agent name: {agent_name}\n"
        f"- Agent id: {agent_id}\n"
        f"- Workspace path: {workspace}\n\n"
        "Actions:\n"
        "1. Remove the workspace directory above if it still exists.\n"
        "2. Reply NO_REPLY."
    )


async def _request_workspace_cleanup(client: GatewayClient, loaded: Loaded, main: Agent) -> None:
    """Best effort: a failure is logged and changes nothing (the agent is already gone)."""
    try:
        workspace = workspace_path(loaded.gateway.workspace_root, agent_ref(loaded.agent))
    except ValueError:
        return
    key = (main.openclaw_session_id or "").strip() or gateway_main_session_key(main.gateway_id)
    try:
        await deliver_message(
            client,
            key,
            cleanup_message(loaded.agent.name, loaded.agent.id, workspace),
            idempotency_key=f"mc-cleanup-{loaded.agent.id}",
            deliver=False,
            label=MAIN_SESSION_LABEL,
            budget_s=executor.WAKE_BUDGET_SECONDS,
        )
    except GatewayError as error:
        log.warning(
            "cleanup_request_failed", agent_id=str(loaded.agent.id), error=describe_failure(error)
        )


async def remove_gateway_agent(
    runtime: Runtime, gateway_id: uuid.UUID, agent_id_on_gateway: str
) -> str | None:
    """Deletes an agent entry an agent row no longer maps to (after it moved board or kind).
    Returns the failure, if any; nothing is recorded."""
    async with runtime.database.unit_of_work() as session:
        gateway = await session.get(Gateway, gateway_id)
    if gateway is None:
        return None
    source = Pooled(runtime.gateway_pool, runtime.gateway_target(gateway))

    async def delete(client: GatewayClient) -> None:
        await executor.delete_agent(client, agent_id_on_gateway)

    try:
        await retry_gateway(source, delete, budget_s=REMOVAL_BUDGET_SECONDS)
    except DeliveryTimeout as spent:  # the gateway did not answer: its list would not either
        return describe_failure(spent)
    except GatewayError as error:
        if await _gone_after_all(source, agent_id_on_gateway):
            return None
        return describe_failure(error)
    return None


async def _gone_after_all(source: Pooled, agent_id_on_gateway: str) -> bool:
    """A delete can fail after the gateway already dropped the agent from its config (its
    answer lost, or the cleanup after it failing): the agent list says whether it is gone."""
    try:
        listing = await retry_gateway(source, _list_agents, budget_s=REMOVAL_BUDGET_SECONDS / 2)
    except GatewayError:
        return False
    return listing.get(agent_id_on_gateway) is None


async def _list_agents(client: GatewayClient) -> AgentList:
    return await client.agents_list()


async def ensure_gateway_main_agent(runtime: Runtime, gateway_id: uuid.UUID) -> uuid.UUID:
    """The gateway's concierge row exists and is queued for provisioning
    (docs/provisioning.md#gateway-main-agent)."""
    async with runtime.database.unit_of_work() as session:
        gateway = await session.get(Gateway, gateway_id)
        if gateway is None:
            raise ValueError("gateway not found")
        agent = await repository.main_agent_of(session, gateway_id)
        name = f"{gateway.name} Gateway Agent"
        if agent is None:
            agent = Agent(
                gateway_id=gateway_id,
                board_id=None,
                name=name,
                name_key=name.lower(),
                identity_profile={
                    "role": "Gateway Agent",
                    "communication_style": "direct, concise, practical",
                    "emoji": ":compass:",
                },
                openclaw_session_id=gateway_main_session_key(gateway_id),
            )
            session.add(agent)
            request_apply(agent, "provision")
        elif agent.applied_generation < 1 or agent.name != name:
            agent.name, agent.name_key = name, name.lower()
            request_apply(agent, "update" if agent.applied_generation else "provision")
        await session.flush()
        return agent.id


LEAD_IDENTITY = {
    "role": "Board Lead",
    "communication_style": "direct, concise, practical",
    "emoji": ":gear:",
}


async def ensure_board_lead(
    runtime: Runtime, board_id: uuid.UUID, *, name: str = "Lead Agent"
) -> tuple[uuid.UUID, bool]:
    """The board's lead exists; a lead that never reached its gateway is queued again
    (docs/provisioning.md#board-lead). Returns (lead id, created)."""
    async with runtime.database.unit_of_work() as session:
        board = await session.get(Board, board_id)
        if board is None or board.gateway_id is None:
            raise ValueError("the board needs a gateway before it can have a lead")
        lead, created = await ensure_lead_row(session, board, name=name)
        return lead.id, created


async def ensure_lead_row(
    session: AsyncSession,
    board: Board,
    *,
    name: str = "Lead Agent",
    identity_profile: dict[str, str] | None = None,
) -> tuple[Agent, bool]:
    """The lead row of ``board`` (which has a gateway) within the caller's transaction, with
    its provisioning intent recorded; ``identity_profile`` overlays the default lead identity
    of a new lead. Returns (lead, created)."""
    assert board.gateway_id is not None
    lead = await repository.lead_of(session, board.id)
    if lead is not None:
        if lead.applied_generation < 1 and lead.generation < 1:
            request_apply(lead, "provision")
        return lead, False
    lead = Agent(
        gateway_id=board.gateway_id,
        board_id=board.id,
        name=name,
        name_key=name.strip().lower(),
        is_board_lead=True,
        identity_profile={**LEAD_IDENTITY, **(identity_profile or {})},
    )
    session.add(lead)
    request_apply(lead, "provision")
    await session.flush()
    return lead, True
