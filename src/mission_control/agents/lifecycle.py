"""The agent lifecycle API's rules (docs/agents.md): list, read, create, update, check in, delete.

Flows that touch a gateway record their intent in the request's transaction, commit it, then
apply through the provisioning engine (docs/agents.md#applying-intent-first-then-the-gateway),
which reports the outcome in its own transactions: a gateway failure leaves the intent queued
for the reconciler, never a lost agent, and the answer says what to check. Each flow sends at
most one wake (the engine's).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import (
    readable_board_ids,
    require_admin,
    require_agent_board,
    require_board,
)
from mission_control.activity import service as activity
from mission_control.agents import repository
from mission_control.agents.models import Agent, AgentStatus, agent_name_key
from mission_control.agents.repository import AgentVisibility
from mission_control.agents.schemas import (
    AgentCreate,
    AgentHeartbeatCreate,
    AgentRead,
    AgentUpdate,
    agent_read,
)
from mission_control.agents.service import check_in, check_new_lead
from mission_control.boards.models import Board
from mission_control.core.clock import utcnow
from mission_control.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
)
from mission_control.core.logging import get_logger
from mission_control.core.runtime import Runtime
from mission_control.core.unit_of_work import after_commit
from mission_control.gateways import repository as gateways
from mission_control.gateways.failures import gateway_failure
from mission_control.gateways.models import Gateway
from mission_control.organizations.service import UserContext
from mission_control.provisioning import service as provisioning
from mission_control.provisioning.context import agent_ref
from mission_control.provisioning.identities import (
    agent_session_key,
    gateway_agent_id,
    gateway_main_session_key,
)
from mission_control.provisioning.plan import DEFAULT_HEARTBEAT

log = get_logger("mission_control.agents")

# Who may create, heartbeat or delete an agent: an operator in an organisation, or an agent.
UserOrAgent = UserContext | Agent
# The longest a request waits on a gateway (issue 11): beyond it the work stays queued.
GATEWAY_WAIT_SECONDS = 10.0
_EDITABLE = ("name", "heartbeat_config", "identity_profile", "identity_template", "soul_template")


def _now() -> datetime:
    return utcnow()


def read(agent: Agent) -> AgentRead:
    return agent_read(agent, _now())


# -- shared checks (docs/agents.md#board-and-gateway-checks) ---------------------------------------


async def board_gateway(session: AsyncSession, board: Board) -> Gateway:
    """The gateway a board's agents run on, usable for provisioning (else 422,
    docs/agents.md#board-and-gateway-checks)."""
    if board.gateway_id is None:
        raise InvalidInput(
            f"Board {board.name} has no gateway; attach one to the board first.",
            code="board_gateway_required",
        )
    gateway = await session.get(Gateway, board.gateway_id)
    if gateway is None or gateway.organization_id != board.organization_id:
        raise InvalidInput(
            f"Board {board.name}'s gateway is invalid; attach a gateway of this organisation.",
            code="board_gateway_invalid",
        )
    _require_usable(gateway)
    return gateway


def _require_usable(gateway: Gateway) -> None:
    if not (gateway.url or "").strip():
        raise InvalidInput(
            f"Gateway {gateway.name} has no url; set it on the gateway.",
            code="gateway_url_required",
        )
    if not (gateway.workspace_root or "").strip():
        raise InvalidInput(
            f"Gateway {gateway.name} has no workspace_root; set it on the gateway.",
            code="gateway_workspace_root_required",
        )


def _board_required() -> InvalidInput:
    return InvalidInput(
        "board_id is required.",
        code="board_id_required",
        details=[{"field": "board_id", "location": "body", "message": "required"}],
    )


async def visible_agent(
    session: AsyncSession, context: UserContext, agent_id: uuid.UUID, *, write: bool
) -> Agent:
    """docs/agents.md#agent-access: another organisation's agent is not found; a board
    agent needs board read (write) access; a gateway-main agent needs an org admin."""
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound("Agent not found.", code="agent_not_found")
    if agent.board_id is None:
        gateway = await session.get(Gateway, agent.gateway_id)
        if gateway is None or gateway.organization_id != context.organization.id:
            raise NotFound("Agent not found.", code="agent_not_found")
        if not context.is_admin:
            raise Forbidden("Only organisation owners and admins may see gateway-main agents.")
        return agent
    try:
        await require_board(session, context, agent.board_id, write=write)
    except NotFound:
        raise NotFound("Agent not found.", code="agent_not_found") from None
    return agent


async def _check_name_free(
    session: AsyncSession, gateway: Gateway, board: Board, name: str, except_id: uuid.UUID | None
) -> None:
    """Names are unique per gateway among board agents (the database enforces it too)."""
    holder = await repository.name_holder(
        session, gateway.id, agent_name_key(name), except_id=except_id
    )
    if holder is None:
        return
    if holder.board_id == board.id:
        raise Conflict(
            f"An agent named {name!r} already exists on this board; choose another name.",
            code="agent_name_taken",
        )
    raise Conflict(
        f"An agent named {name!r} already exists in this gateway workspace (another board on "
        f"gateway {gateway.name}); choose another name.",
        code="agent_name_taken_on_gateway",
    )


async def _check_capacity(
    session: AsyncSession, board: Board, except_id: uuid.UUID | None = None
) -> None:
    """``max_agents`` caps the agents besides the lead (docs/agents.md#capacity-max_agents)."""
    workers = await repository.count_workers_on_board(session, board.id, except_id=except_id)
    if workers >= board.max_agents:
        raise Conflict(
            f"Board {board.name} already has {workers} agent(s) besides its lead and allows "
            f"{board.max_agents} (max_agents); raise max_agents on the board or delete an "
            "agent first.",
            code="board_agent_limit",
            details={"max_agents": board.max_agents, "agents": workers},
        )


async def _lock_board(session: AsyncSession, board: Board) -> None:
    """Serialises creates on one board on PostgreSQL, so two cannot both pass the capacity
    check (SQLite already allows one writer at a time)."""
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(select(Board.id).where(Board.id == board.id).with_for_update())


def _violated(error: IntegrityError) -> str:
    """Which agents unique index failed, from PostgreSQL's index name or SQLite's columns."""
    text = str(error.orig).lower()
    for marker, index in (
        ("one_lead_per_board", "lead"),
        ("one_main_per_gateway", "main"),
        ("openclaw_session_id", "session"),
        ("name_key", "name"),
        ("name_per_gateway", "name"),
    ):
        if marker in text:
            return index
    if "agents.board_id" in text:
        return "lead"
    if "agents.gateway_id" in text:
        return "main"
    return "other"


async def _flush_unique(session: AsyncSession, name: str) -> None:
    """Flush; a unique index that a concurrent request beat us to becomes a precise 409."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as error:
        violated = _violated(error)
        if violated == "lead":
            raise Conflict(
                "This board already has a lead agent.", code="board_lead_exists"
            ) from None
        if violated == "main":
            raise Conflict(
                "This gateway already has a gateway-main agent.", code="gateway_main_exists"
            ) from None
        if violated == "session":
            raise Conflict(
                f"The session key for {name!r} collides with an existing agent's session on "
                "this gateway; choose another name.",
                code="agent_session_key_taken",
            ) from None
        if violated == "name":
            raise Conflict(
                f"An agent named {name!r} already exists on this gateway; choose another name.",
                code="agent_name_taken_on_gateway",
            ) from None
        raise


# -- applying (docs/agents.md#applying-intent-first-then-the-gateway) ------------------------------


@dataclass(frozen=True, slots=True)
class _Where:
    gateway_id: uuid.UUID
    gateway_agent_id: str


def _where(agent: Agent) -> _Where:
    return _Where(agent.gateway_id, gateway_agent_id(agent_ref(agent)))


def apply_failure(
    outcome: provisioning.ApplyOutcome, gateway: Gateway, doing: str, queued: str
) -> DomainError:
    """What an operator sees when the gateway step failed, and what to check."""
    details: dict[str, object] = {
        "gateway_id": str(gateway.id),
        "gateway_error_code": outcome.gateway_code,
        "error": outcome.error,
    }
    if outcome.busy:
        return Conflict(
            f"{doing} is waiting: the agent is being applied by another request right now. "
            f"{queued[0].upper()}{queued[1:]}",
            code="agent_busy",
            details=details,
        )
    if outcome.gateway_code is None or outcome.gateway_error is None:
        # The request itself was valid and is saved; what failed is making it so.
        return Conflict(
            f"{doing} failed: {outcome.error}. The change is saved; fix the cause and update the "
            "agent again.",
            code="provisioning_failed",
            details=details,
        )
    # The same codes and advice as every other gateway-backed route (pairing, scopes, auth,
    # unreachable, ...), plus what happens to the queued work.
    return gateway_failure(
        outcome.gateway_error,
        f"Gateway {gateway.name}: {doing} failed",
        then=f"{queued[0].upper()}{queued[1:]}",
        details=details,
    )


async def _queue(session: AsyncSession, runtime: Runtime, agent: Agent) -> None:
    """Flush the intent and answer: the gateway work runs after the request's commit, in the
    reconciler (kicked then, so it starts at once), which claims the agent so one worker
    applies it."""
    await session.flush()
    _kick_reconciler(session, runtime)
    await session.refresh(agent)


def _kick_reconciler(session: AsyncSession, runtime: Runtime) -> None:
    async def kick() -> None:
        runtime.reconcile_soon.set()

    after_commit(session, kick)


# -- list and read (docs/agents.md#who-sees-which-agents) ------------------------------------------


async def visibility_for(session: AsyncSession, context: UserContext) -> AgentVisibility:
    return AgentVisibility(
        organization_id=context.organization.id,
        board_ids=await readable_board_ids(session, context),
        include_main=context.is_admin,
    )


async def list_agents(
    session: AsyncSession,
    context: UserContext,
    *,
    board_id: uuid.UUID | None,
    gateway_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[AgentRead], int]:
    if board_id is not None:
        await require_board(session, context, board_id, write=False)
    if gateway_id is not None and (
        await gateways.in_organization(session, context.organization.id, gateway_id) is None
    ):
        raise NotFound("Gateway not found.", code="gateway_not_found")
    items, total = await repository.page(
        session,
        await visibility_for(session, context),
        board_id=board_id,
        gateway_id=gateway_id,
        limit=limit,
        offset=offset,
    )
    now = _now()
    return [agent_read(agent, now) for agent in items], total


async def get_agent(session: AsyncSession, context: UserContext, agent_id: uuid.UUID) -> AgentRead:
    return read(await visible_agent(session, context, agent_id, write=False))


async def list_board_agents(
    session: AsyncSession, caller: Agent, board_id: uuid.UUID
) -> list[AgentRead]:
    """Agents on a board an agent may use (its own; the gateway-main agent: its gateway's)."""
    board = await require_agent_board(session, caller, board_id)
    now = _now()
    return [agent_read(agent, now) for agent in await repository.on_board(session, board.id)]


async def require_own_board(session: AsyncSession, agent: Agent, board_id: uuid.UUID) -> Board:
    """The board an agent addresses must be one it may use (403 otherwise)."""
    return await require_agent_board(session, agent, board_id)


# -- create (docs/agents.md#create) ----------------------------------------------------------------


async def _creation_board(session: AsyncSession, caller: UserOrAgent, data: AgentCreate) -> Board:
    if isinstance(caller, Agent):
        if not caller.is_board_lead:
            raise Forbidden("Only board leads can create agents.", code="lead_required")
        if caller.board_id is None:
            raise Forbidden("Board lead must be assigned to a board.", code="lead_required")
        if data.board_id is not None and data.board_id != caller.board_id:
            raise Forbidden(
                "Board leads can only create agents in their own board.", code="not_own_board"
            )
        return await require_agent_board(session, caller, caller.board_id)
    require_admin(caller)
    if data.board_id is None:
        raise _board_required()
    return await require_board(session, caller, data.board_id, write=True)


def _who(caller: UserOrAgent) -> tuple[uuid.UUID | None, uuid.UUID | None, str]:
    if isinstance(caller, Agent):
        return None, caller.id, caller.name
    return caller.user.id, None, caller.user.name or "a user"


async def create_agent(
    session: AsyncSession, runtime: Runtime, caller: UserOrAgent, data: AgentCreate
) -> AgentRead:
    board = await _creation_board(session, caller, data)
    gateway = await board_gateway(session, board)
    await _lock_board(session, board)
    await _check_name_free(session, gateway, board, data.name, None)
    if data.is_board_lead:
        await check_new_lead(session, caller, board)
    else:
        await _check_capacity(session, board)
    agent = await _new_board_agent(
        session,
        board,
        gateway,
        name=data.name,
        is_board_lead=data.is_board_lead,
        heartbeat_config=data.heartbeat_config,
        identity_profile=data.identity_profile,
        identity_template=data.identity_template,
        soul_template=data.soul_template,
        caller=caller,
    )
    await _queue(session, runtime, agent)
    return read(agent)


async def _new_board_agent(
    session: AsyncSession,
    board: Board,
    gateway: Gateway,
    *,
    name: str,
    caller: UserOrAgent,
    is_board_lead: bool = False,
    heartbeat_config: dict[str, object] | None = None,
    identity_profile: dict[str, str] | None = None,
    identity_template: str | None = None,
    soul_template: str | None = None,
) -> Agent:
    """A worker row with its deterministic session key (no name-derived session,
    docs/provisioning.md#never-random-never-from-the-name) and a durable provisioning intent."""
    agent = Agent(
        id=uuid.uuid4(),
        board_id=board.id,
        gateway_id=gateway.id,
        name=name,
        name_key=agent_name_key(name),
        status=AgentStatus.PROVISIONING,
        is_board_lead=is_board_lead,
        heartbeat_config=dict(heartbeat_config or DEFAULT_HEARTBEAT),
        identity_profile=(
            {**provisioning.LEAD_IDENTITY, **(identity_profile or {})}
            if is_board_lead
            else identity_profile
        ),
        identity_template=identity_template,
        soul_template=soul_template,
        generation=0,
        applied_generation=0,
    )
    agent.openclaw_session_id = agent_session_key(agent_ref(agent))
    provisioning.request_apply(agent, "provision", reset_session=True)
    session.add(agent)
    await _flush_unique(session, name)
    user_id, agent_id, who = _who(caller)
    activity.record(
        session,
        "agent.created",
        f"{'Lead agent' if is_board_lead else 'Agent'} {name} created on board {board.name} by "
        f"{who}; provisioning on gateway "
        f"{gateway.name}.",
        organization_id=board.organization_id,
        board_id=board.id,
        agent_id=agent.id,
        actor_user_id=user_id,
        actor_agent_id=agent_id,
    )
    return agent


# -- update (docs/agents.md#update) ----------------------------------------------------------------


@dataclass(slots=True)
class _Placement:
    """Where the agent ends up: a board (board agent) or a gateway (gateway-main agent)."""

    board: Board | None
    gateway: Gateway


async def _placement(
    session: AsyncSession, context: UserContext, agent: Agent, data: AgentUpdate
) -> _Placement | None:
    """Validates a board/kind change before anything is mutated
    (docs/agents.md#update-is-validated-before-anything-changes); None: no change."""
    fields = data.model_fields_set
    make_main = data.is_gateway_main if "is_gateway_main" in fields else None
    moving = "board_id" in fields
    if make_main is None and not moving:
        return None
    if make_main is True:
        return await _main_placement(session, context, agent, data.board_id or agent.board_id)
    if make_main is None and agent.board_id is None:
        if data.board_id is None:
            return None
        raise InvalidInput(
            "A gateway-main agent moves to a board only with is_gateway_main: false.",
            code="main_agent_needs_conversion",
        )
    if data.board_id is None:
        if make_main is False:
            raise InvalidInput(
                "board_id is required when converting a gateway-main agent to board scope.",
                code="board_id_required",
            )
        raise _board_required()
    board = await require_board(session, context, data.board_id, write=True)
    gateway = await board_gateway(session, board)
    if make_main is False and agent.board_id is not None:
        return _Placement(board=board, gateway=gateway) if board.id != agent.board_id else None
    if board.id == agent.board_id:
        return None
    if agent.is_board_lead and await repository.lead_of(session, board.id) is not None:
        raise Conflict(f"Board {board.name} already has a lead agent.", code="board_lead_exists")
    if not agent.is_board_lead:
        await _check_capacity(session, board, except_id=agent.id)
    return _Placement(board=board, gateway=gateway)


async def _main_placement(
    session: AsyncSession, context: UserContext, agent: Agent, board_id: uuid.UUID | None
) -> _Placement | None:
    if agent.board_id is None and board_id is None:
        return None  # already the gateway-main agent
    if board_id is None:
        raise _board_required()
    board = await require_board(session, context, board_id, write=True)
    gateway = await board_gateway(session, board)
    existing = await repository.main_of(session, gateway.id)
    if existing is not None and existing.id != agent.id:
        raise Conflict(
            f"Gateway {gateway.name} already has a gateway-main agent ({existing.name}); "
            "delete or convert it first.",
            code="gateway_main_exists",
            details={"agent_id": str(existing.id)},
        )
    return _Placement(board=None, gateway=gateway)


def _move(agent: Agent, placement: _Placement) -> None:
    agent.gateway_id = placement.gateway.id
    if placement.board is None:
        agent.board_id = None
        agent.is_board_lead = False
        agent.openclaw_session_id = gateway_main_session_key(placement.gateway.id)
        return
    agent.board_id = placement.board.id
    agent.openclaw_session_id = agent_session_key(agent_ref(agent))


async def update_agent(
    session: AsyncSession,
    runtime: Runtime,
    context: UserContext,
    agent_id: uuid.UUID,
    data: AgentUpdate,
    *,
    force: bool,
) -> AgentRead:
    require_admin(context)
    agent = await visible_agent(session, context, agent_id, write=True)
    fields = data.model_fields_set
    if "status" in fields:
        raise Forbidden(
            "status is controlled by agent heartbeat; agents report it when they check in.",
            code="status_read_only",
        )
    if agent.delete_requested_at is not None:
        raise Conflict(
            f"{agent.name} is being deleted; it cannot be changed any more.",
            code="agent_deleting",
        )
    placement = await _placement(session, context, agent, data)
    changes = {
        key: getattr(data, key)
        for key in _EDITABLE
        if key in fields and getattr(data, key) != getattr(agent, key)
    }
    if "name" in changes and changes["name"] is None:
        raise InvalidInput("name must not be null.", code="name_required")
    if not changes and placement is None and not force:
        return read(agent)
    await _check_update_names(session, agent, placement, changes.get("name"))
    before = _where(agent)
    for key, value in changes.items():
        setattr(agent, key, value)
    if "name" in changes:
        agent.name_key = agent_name_key(agent.name)
    if placement is not None:
        _move(agent, placement)
    if agent.heartbeat_config is None:
        agent.heartbeat_config = dict(DEFAULT_HEARTBEAT)
    provisioning.request_apply(
        agent, "update", wake=True, reset_session=True, force_bootstrap=force
    )
    agent.status = AgentStatus.UPDATING
    await _flush_unique(session, agent.name)
    activity.record(
        session,
        "agent.update.requested",
        f"Update of {agent.name} requested by {context.user.name or 'a user'}"
        + (f" ({', '.join(sorted(changes))} changed)" if changes else "")
        + (" with a forced re-bootstrap." if force else "."),
        organization_id=context.organization.id,
        board_id=agent.board_id,
        agent_id=agent.id,
        actor_user_id=context.user.id,
    )
    await _queue(session, runtime, agent)
    after = _where(agent)
    if after != before:
        task = asyncio.create_task(_remove_old_entry(runtime, before))
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)
    return read(agent)


# Removals of moved agents' old gateway entries, running after their request answered.
_BACKGROUND: set[asyncio.Task[None]] = set()


async def _remove_old_entry(runtime: Runtime, before: _Where) -> None:
    """A moved agent's old gateway entry goes, after the request answered (an unreachable
    gateway never holds it); a failure leaves the entry for the operator and is logged."""
    try:
        failure = await asyncio.wait_for(
            provisioning.remove_gateway_agent(runtime, before.gateway_id, before.gateway_agent_id),
            GATEWAY_WAIT_SECONDS * 6,
        )
    except TimeoutError:
        failure = f"the gateway did not answer within {GATEWAY_WAIT_SECONDS * 6:.0f} s"
    if failure:
        log.warning(
            "old_gateway_entry_left", gateway_agent_id=before.gateway_agent_id, error=failure
        )


async def _check_update_names(
    session: AsyncSession, agent: Agent, placement: _Placement | None, new_name: str | None
) -> None:
    name = new_name or agent.name
    if placement is not None and placement.board is not None:
        await _check_name_free(session, placement.gateway, placement.board, name, agent.id)
    elif new_name is not None and agent.board_id is not None:
        board = await session.get(Board, agent.board_id)
        gateway = await session.get(Gateway, agent.gateway_id)
        if board is not None and gateway is not None:
            await _check_name_free(session, gateway, board, name, agent.id)


# -- check-ins (docs/agents.md#check-in) -----------------------------------------------------------


async def heartbeat_agent(
    session: AsyncSession, caller: UserOrAgent, agent_id: uuid.UUID, status: str | None
) -> AgentRead:
    if isinstance(caller, Agent):
        if caller.id != agent_id:
            raise Forbidden("Agents may only check in for themselves.", code="not_self")
        agent = caller
    else:
        require_admin(caller)
        agent = await visible_agent(session, caller, agent_id, write=True)
    await check_in(
        session,
        agent,
        status,
        actor_user_id=None if isinstance(caller, Agent) else caller.user.id,
    )
    return read(agent)


async def heartbeat_or_create(
    session: AsyncSession, runtime: Runtime, caller: UserOrAgent, data: AgentHeartbeatCreate
) -> AgentRead:
    """An agent checks itself in; a user checks in (or creates) an agent by name
    (docs/agents.md#check-in-or-create-by-name)."""
    if isinstance(caller, Agent):
        await check_in(session, caller, data.status)
        return read(caller)
    require_admin(caller)
    found = await repository.by_name_in_organization(
        session, caller.organization.id, data.name, board_id=data.board_id
    )
    if found is None:
        return await _create_from_heartbeat(session, runtime, caller, data)
    agent = await visible_agent(session, caller, found.id, write=True)
    if agent.agent_token_hash is None and agent.generation <= agent.applied_generation:
        # Never provisioned and nothing queued: queue it and apply now (one wake).
        provisioning.request_apply(agent, "provision", reset_session=True)
        await _queue(session, runtime, agent)
    await check_in(session, agent, data.status, actor_user_id=caller.user.id)
    return read(agent)


async def _create_from_heartbeat(
    session: AsyncSession, runtime: Runtime, context: UserContext, data: AgentHeartbeatCreate
) -> AgentRead:
    if data.board_id is None:
        raise _board_required()
    board = await require_board(session, context, data.board_id, write=True)
    gateway = await board_gateway(session, board)
    await _lock_board(session, board)
    await _check_name_free(session, gateway, board, data.name, None)
    await _check_capacity(session, board)
    agent = await _new_board_agent(session, board, gateway, name=data.name, caller=context)
    await _queue(session, runtime, agent)
    await check_in(session, agent, data.status, actor_user_id=context.user.id)
    return read(agent)


# -- delete (docs/agents.md#delete) ----------------------------------------------------------------


async def delete_agent(
    session: AsyncSession, runtime: Runtime, caller: UserOrAgent, agent_id: uuid.UUID
) -> None:
    """Idempotent: an agent that is already gone is fine. The deletion is durable: if the
    gateway fails, the row stays marked ``deleting`` and the reconciler finishes it."""
    agent = await session.get(Agent, agent_id)
    if isinstance(caller, Agent):
        if agent is None:
            return
        organization_id = await _check_lead_may_delete(session, caller, agent)
        actor_user_id, actor_agent_id = None, caller.id
    else:
        require_admin(caller)
        if agent is None:
            return
        try:
            agent = await visible_agent(session, caller, agent_id, write=True)
        except NotFound:
            return
        organization_id, actor_user_id, actor_agent_id = (
            caller.organization.id,
            caller.user.id,
            None,
        )
    if agent.delete_requested_at is None:
        agent.delete_requested_at = utcnow()
        agent.status = AgentStatus.DELETING
    activity.record(
        session,
        "agent.delete.requested",
        f"Deletion of {agent.name} requested; the reconciler removes it from its gateway and "
        "then deletes it.",
        organization_id=organization_id,
        board_id=agent.board_id,
        agent_id=agent.id,
        actor_user_id=actor_user_id,
        actor_agent_id=actor_agent_id,
    )
    await session.flush()
    _kick_reconciler(session, runtime)


async def _check_lead_may_delete(session: AsyncSession, lead: Agent, target: Agent) -> uuid.UUID:
    """A lead deletes workers of its own board; returns the organisation id."""
    if not lead.is_board_lead or lead.board_id is None:
        raise Forbidden("Only board leads can delete agents.", code="lead_required")
    if target.board_id != lead.board_id:
        raise NotFound("Agent not found on your board.", code="agent_not_found")
    if target.id == lead.id or target.is_board_lead:
        raise Forbidden("A board lead cannot delete itself.", code="lead_protected")
    board = await require_agent_board(session, lead, lead.board_id)
    return board.organization_id
