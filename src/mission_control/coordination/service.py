"""Coordination rules (docs/coordination.md#rules-and-refusals): who may nudge, read or write a
SOUL, ask the user, message or broadcast to leads; the gateway work runs with no database
transaction open, and its outcome is recorded as activity afterwards.

Messages go straight to the gateway (not through the notification outbox): the calling agent
gets the delivery outcome in its answer (502 when the gateway did not take the message) and can
act on it (docs/coordination.md#delivery-and-the-coordination-backoff). Retries of transient
failures happen inside the request, under the coordination backoff, with one idempotency key
per message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import require_agent_board
from mission_control.activity import service as activity
from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.coordination import dispatch, messages
from mission_control.coordination.schemas import (
    AskUserRequest,
    AskUserResponse,
    BroadcastRequest,
    BroadcastResponse,
    BroadcastResult,
    LeadMessageRequest,
    LeadMessageResponse,
    SoulWrite,
)
from mission_control.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    GatewayUnavailable,
    InvalidInput,
    NotFound,
)
from mission_control.core.logging import get_logger
from mission_control.core.runtime import Runtime
from mission_control.core.unit_of_work import after_commit, end_transaction
from mission_control.gateway.errors import GatewayError
from mission_control.gateways.failures import gateway_failure
from mission_control.gateways.models import Gateway
from mission_control.provisioning import repository as provisioning_repository
from mission_control.provisioning import service as provisioning
from mission_control.provisioning.context import agent_ref
from mission_control.provisioning.identities import (
    MAIN_SESSION_LABEL,
    agent_session_key,
    gateway_agent_id,
    gateway_main_session_key,
)
from mission_control.provisioning.templates import literal_template

log = get_logger("mission_control.coordination")

ONLY_MAIN = "Only the dedicated gateway agent may call this endpoint."


def _idempotency_key() -> str:
    return f"mc-coord-{uuid.uuid4().hex}"


def soul_template_of(content: str) -> str:
    """SOUL content as a template that renders to itself, so a later provisioning or template
    sync writes the same text (nothing in it is interpreted)."""
    return literal_template(content)


# -- shared checks ----------------------------------------------------------------------------


async def _board(session: AsyncSession, caller: Agent, board_id: uuid.UUID) -> Board:
    """Board guard: a board agent reaches only its own board, the main agent its gateway's."""
    return await require_agent_board(session, caller, board_id)


def _require_lead(caller: Agent, board: Board, doing: str) -> None:
    if not (caller.is_board_lead and caller.board_id == board.id):
        raise Forbidden(f"Only the board's lead may {doing}.", code="lead_required")


async def _target(session: AsyncSession, board: Board, agent_id: uuid.UUID) -> Agent:
    """An agent of this board; gateway-main agents are not targets here
    (docs/coordination.md#targets-are-agents-of-the-board)."""
    target = await session.get(Agent, agent_id)
    if target is None or target.board_id != board.id:
        raise NotFound("No such agent on this board.")
    return target


def _require_provisioned(agent: Agent) -> None:
    if agent.applied_generation < 1:
        raise Conflict(
            f"{agent.name} has not been provisioned on its gateway yet, so it has no session "
            "to write to; retry once its provisioning succeeded (see the agent's activity).",
            code="agent_not_provisioned",
        )


async def _board_gateway(session: AsyncSession, board: Board) -> Gateway:
    if board.gateway_id is None:
        raise InvalidInput("Board is not attached to a gateway.", code="board_gateway_required")
    gateway = await session.get(Gateway, board.gateway_id)
    if gateway is None or not gateway.url or gateway.organization_id != board.organization_id:
        raise InvalidInput(
            "Gateway is not configured for this board.", code="board_gateway_invalid"
        )
    return gateway


async def _record(runtime: Runtime, event_type: str, message: str, **fields: Any) -> None:
    """An outcome of a gateway call, recorded in its own transaction: the request's
    transaction has ended (or is about to fail) by then."""
    async with runtime.database.unit_of_work() as session:
        activity.record(session, event_type, message, **fields)


async def _fail(
    runtime: Runtime,
    error: GatewayError,
    doing: str,
    event_type: str,
    message: str,
    *,
    board: Board,
    caller: Agent,
    agent_id: uuid.UUID | None = None,
) -> DomainError:
    """Record the failure (kept even though the request then fails) and map it."""
    await _record(
        runtime,
        event_type,
        f"{message}: {error}",
        organization_id=board.organization_id,
        board_id=board.id,
        agent_id=agent_id or caller.id,
        actor_agent_id=caller.id,
    )
    return gateway_failure(error, doing)


# -- nudge (docs/coordination.md#nudge) ------------------------------------------------------------


async def nudge(
    session: AsyncSession,
    runtime: Runtime,
    caller: Agent,
    board_id: uuid.UUID,
    target_id: uuid.UUID,
    message: str,
) -> None:
    board = await _board(session, caller, board_id)
    _require_lead(caller, board, "nudge agents")
    target = await _target(session, board, target_id)
    _require_provisioned(target)
    gateway = await _board_gateway(session, board)
    trace = dispatch.trace_id(f"nudge:{board.id}:{target.id}", "coord.nudge")

    async def deliver() -> None:
        log.info(
            "coordination.nudge", trace_id=trace, board_id=str(board.id), target=str(target.id)
        )
        try:
            await dispatch.send(
                runtime,
                gateway,
                session_key=agent_session_key(agent_ref(target)),
                label=target.name,
                message=message,
                deliver=True,
                idempotency_key=_idempotency_key(),
            )
        except GatewayError as error:
            raise await _fail(
                runtime,
                error,
                "Gateway nudge failed",
                "agent.nudge.failed",
                f"Nudge failed for {target.name}",
                board=board,
                caller=caller,
            ) from error
        await _nudge_sent(runtime, board, caller, target)

    after_commit(session, deliver)


async def _nudge_sent(runtime: Runtime, board: Board, caller: Agent, target: Agent) -> None:
    await _record(
        runtime,
        "agent.nudge.sent",
        f"Nudge sent to {target.name}.",
        organization_id=board.organization_id,
        board_id=board.id,
        agent_id=caller.id,
        actor_agent_id=caller.id,
        details={"target_agent_id": str(target.id)},
    )


# -- SOUL read and write (docs/coordination.md#soul-write-order) -----------------------------------


async def read_soul(
    session: AsyncSession,
    runtime: Runtime,
    caller: Agent,
    board_id: uuid.UUID,
    target_id: uuid.UUID,
) -> str:
    board = await _board(session, caller, board_id)
    if caller.id != target_id:
        _require_lead(caller, board, "read another agent's SOUL.md")
    target = await _target(session, board, target_id)
    _require_provisioned(target)
    gateway = await _board_gateway(session, board)
    trace = dispatch.trace_id(f"soul.read:{board.id}:{target.id}", "coord.soul.read")
    await end_transaction(session)
    log.info("coordination.soul_read", trace_id=trace, board_id=str(board.id))
    try:
        content = await dispatch.read_soul(runtime, gateway, gateway_agent_id(agent_ref(target)))
    except GatewayError as error:
        raise gateway_failure(error, "Gateway SOUL read failed") from error
    if content is None:
        raise GatewayUnavailable(
            f"Invalid gateway response: the gateway returned no SOUL.md content for "
            f"{target.name}; a template sync rewrites it.",
            code="gateway_invalid_response",
        )
    return content


async def write_soul(
    session: AsyncSession,
    runtime: Runtime,
    caller: Agent,
    board_id: uuid.UUID,
    target_id: uuid.UUID,
    data: SoulWrite,
) -> None:
    """Gateway first, then the database: a failed gateway write changes nothing
    (docs/coordination.md#soul-write-order)."""
    board = await _board(session, caller, board_id)
    _require_lead(caller, board, "change an agent's SOUL.md")
    target = await _target(session, board, target_id)
    _require_provisioned(target)
    gateway = await _board_gateway(session, board)
    trace = dispatch.trace_id(f"soul.write:{board.id}:{target.id}", "coord.soul.write")

    async def write() -> None:
        log.info("coordination.soul_write", trace_id=trace, board_id=str(board.id))
        try:
            await dispatch.write_soul(
                runtime, gateway, gateway_agent_id(agent_ref(target)), data.content
            )
        except GatewayError as error:
            raise await _fail(
                runtime,
                error,
                "Gateway SOUL update failed",
                "agent.soul.update_failed",
                f"SOUL.md update failed for {target.name}",
                board=board,
                caller=caller,
                agent_id=target.id,
            ) from error
        async with runtime.database.unit_of_work() as outcome:
            await _soul_written(outcome, board, caller, target.id, data)

    after_commit(session, write)


async def _soul_written(
    session: AsyncSession, board: Board, caller: Agent, target_id: uuid.UUID, data: SoulWrite
) -> None:
    target = await session.get(Agent, target_id)
    if target is None:  # deleted while the gateway wrote: nothing left to keep the text on
        return
    target.soul_template = soul_template_of(data.content)
    text = f"SOUL.md updated for {target.name}."
    if data.reason and data.reason.strip():
        text += f" Reason: {data.reason.strip()}"
    if data.source_url and data.source_url.strip():
        text += f" Source: {data.source_url.strip()}"
    activity.record(
        session,
        "agent.soul.updated",
        text,
        organization_id=board.organization_id,
        board_id=board.id,
        agent_id=caller.id,
        actor_agent_id=caller.id,
        details={"target_agent_id": str(target.id)},
    )


# -- ask the user through the gateway-main agent (docs/coordination.md#ask-the-user) ---------------


async def ask_user(
    session: AsyncSession,
    runtime: Runtime,
    caller: Agent,
    board_id: uuid.UUID,
    data: AskUserRequest,
) -> AskUserResponse:
    board = await _board(session, caller, board_id)
    _require_lead(caller, board, "ask the user through the gateway agent")
    gateway = await _board_gateway(session, board)
    main = await provisioning_repository.main_agent_of(session, gateway.id)
    if main is None:
        raise Conflict(
            "This board's gateway has no gateway agent yet; an admin saving the gateway "
            "creates it.",
            code="gateway_main_missing",
        )
    _require_provisioned(main)
    text = messages.ask_user(
        board_name=board.name,
        board_id=board.id,
        lead_name=caller.name,
        correlation_id=data.correlation_id,
        preferred_channel=data.preferred_channel,
        content=data.content,
        reply_tags=data.reply_tags,
        reply_source=data.reply_source,
        base_url=runtime.settings.agent_base_url,
    )
    after_commit(session, lambda: _ask(runtime, gateway, board, caller, data, text))
    return AskUserResponse(board_id=board.id, main_agent_id=main.id, main_agent_name=main.name)


async def _ask(
    runtime: Runtime,
    gateway: Gateway,
    board: Board,
    caller: Agent,
    data: AskUserRequest,
    text: str,
) -> None:
    """The ask-user message, sent after the request's commit; its outcome is recorded."""
    trace = dispatch.trace_id(data.correlation_id, "coord.ask_user")
    log.info("coordination.ask_user", trace_id=trace, board_id=str(board.id))
    try:
        await dispatch.send(
            runtime,
            gateway,
            session_key=gateway_main_session_key(gateway.id),
            label=MAIN_SESSION_LABEL,
            message=text,
            deliver=True,
            idempotency_key=_idempotency_key(),
        )
    except GatewayError as error:
        raise await _fail(
            runtime,
            error,
            "Gateway ask-user dispatch failed",
            "gateway.lead.ask_user.failed",
            f"Lead user question failed for {board.name}",
            board=board,
            caller=caller,
        ) from error
    await _record(
        runtime,
        "gateway.lead.ask_user.sent",
        f"{caller.name} asked the user for information through the gateway agent for "
        f"board {board.name}.",
        organization_id=board.organization_id,
        board_id=board.id,
        agent_id=caller.id,
        actor_agent_id=caller.id,
        details={"correlation_id": data.correlation_id},
    )


# -- gateway main -> leads (docs/coordination.md#lead-message) -------------------------------------


async def _require_main(session: AsyncSession, caller: Agent) -> Gateway:
    if caller.board_id is not None:
        raise Forbidden(ONLY_MAIN, code="gateway_main_required")
    gateway = await session.get(Gateway, caller.gateway_id)
    if gateway is None:
        raise Forbidden(ONLY_MAIN, code="gateway_main_required")
    if not gateway.url:
        raise InvalidInput("Gateway url is required.", code="gateway_url_required")
    return gateway


@dataclass(slots=True)
class _LeadDelivery:
    lead_id: uuid.UUID
    lead_name: str
    created: bool


async def _deliver_to_lead(
    runtime: Runtime, gateway: Gateway, board: Board, caller: Agent, data: LeadMessageRequest
) -> _LeadDelivery:
    """Ensure the board's lead (creating and provisioning it when needed), then message it.
    Raises GatewayError for gateway trouble, DomainError for a lead that cannot be reached."""
    lead_id, created = await provisioning.ensure_board_lead(runtime, board.id)
    async with runtime.database.unit_of_work() as session:
        lead = await session.get(Agent, lead_id)
        assert lead is not None
        never_applied = lead.applied_generation < 1
    if never_applied:
        outcome = await provisioning.apply_agent(runtime, lead_id)
        if not outcome.ok:
            raise GatewayUnavailable(
                f"The board lead could not be provisioned: {outcome.error}",
                code="lead_provisioning_failed",
            )
    text = messages.to_lead(
        kind=data.kind,
        board_name=board.name,
        board_id=board.id,
        from_agent=caller.name,
        correlation_id=data.correlation_id,
        content=data.content,
        reply_tags=data.reply_tags,
        reply_source=data.reply_source,
        base_url=runtime.settings.agent_base_url,
    )
    await dispatch.send(
        runtime,
        gateway,
        session_key=agent_session_key(agent_ref(lead)),
        label=lead.name,
        message=text,
        deliver=False,
        idempotency_key=_idempotency_key(),
    )
    return _LeadDelivery(lead_id=lead.id, lead_name=lead.name, created=created)


async def message_lead(
    session: AsyncSession,
    runtime: Runtime,
    caller: Agent,
    board_id: uuid.UUID,
    data: LeadMessageRequest,
) -> LeadMessageResponse:
    gateway = await _require_main(session, caller)
    board = await session.get(Board, board_id)
    if board is None:
        raise NotFound("Board not found.")
    if board.gateway_id != gateway.id:
        raise Forbidden(ONLY_MAIN + " The board is on another gateway.", code="board_not_yours")
    trace = dispatch.trace_id(data.correlation_id, "coord.lead_message")
    await end_transaction(session)
    log.info("coordination.lead_message", trace_id=trace, board_id=str(board.id))
    try:
        sent = await _deliver_to_lead(runtime, gateway, board, caller, data)
    except GatewayError as error:
        raise await _fail(
            runtime,
            error,
            "Gateway lead message dispatch failed",
            "gateway.main.lead_message.failed",
            f"Lead message failed for {board.name}",
            board=board,
            caller=caller,
        ) from error
    # The lead could not be provisioned: recorded too (docs/coordination.md#lead-message).
    except DomainError as error:
        await _record(
            runtime,
            "gateway.main.lead_message.failed",
            f"Lead message failed for {board.name}: {error.message}",
            organization_id=board.organization_id,
            board_id=board.id,
            agent_id=caller.id,
            actor_agent_id=caller.id,
        )
        raise
    await _record(
        runtime,
        "gateway.main.lead_message.sent",
        f"Sent {data.kind} to lead for board: {board.name}.",
        organization_id=board.organization_id,
        board_id=board.id,
        agent_id=caller.id,
        actor_agent_id=caller.id,
        details={"lead_agent_id": str(sent.lead_id), "correlation_id": data.correlation_id},
    )
    return LeadMessageResponse(
        board_id=board.id,
        lead_agent_id=sent.lead_id,
        lead_agent_name=sent.lead_name,
        lead_created=sent.created,
    )


async def _boards_for_broadcast(
    session: AsyncSession, gateway: Gateway, board_ids: list[uuid.UUID] | None
) -> list[Board]:
    query = select(Board).where(Board.gateway_id == gateway.id)
    if board_ids:
        query = query.where(Board.id.in_(board_ids))
    result = await session.execute(query.order_by(Board.created_at.desc(), Board.id))
    return list(result.scalars())


async def broadcast(
    session: AsyncSession, runtime: Runtime, caller: Agent, data: BroadcastRequest
) -> BroadcastResponse:
    """One board after the other; a failing board is reported and never stops the rest
    (docs/coordination.md#broadcast)."""
    gateway = await _require_main(session, caller)
    boards = await _boards_for_broadcast(session, gateway, data.board_ids)
    trace = dispatch.trace_id(data.correlation_id, "coord.lead_broadcast")
    await end_transaction(session)
    results: list[BroadcastResult] = []
    for board in boards:
        try:
            sent = await _deliver_to_lead(runtime, gateway, board, caller, data)
        except DomainError as error:
            results.append(BroadcastResult(board_id=board.id, ok=False, error=error.message))
        except GatewayError as error:
            message = gateway_failure(error, "Gateway lead broadcast dispatch failed").message
            results.append(BroadcastResult(board_id=board.id, ok=False, error=message))
        except Exception as error:  # one board's unexpected failure must not stop the others
            log.exception("coordination.broadcast_board_failed", board_id=str(board.id))
            message = f"Gateway lead broadcast dispatch failed: {error}"
            results.append(BroadcastResult(board_id=board.id, ok=False, error=message))
        else:
            results.append(
                BroadcastResult(
                    board_id=board.id,
                    ok=True,
                    lead_agent_id=sent.lead_id,
                    lead_agent_name=sent.lead_name,
                )
            )
    sent_count = sum(1 for item in results if item.ok)
    failed = len(results) - sent_count
    log.info("coordination.broadcast", trace_id=trace, sent=sent_count, failed=failed)
    await _record(
        runtime,
        "gateway.main.lead_broadcast.sent",
        f"Broadcast {data.kind} to {sent_count} board leads (failed: {failed}).",
        organization_id=gateway.organization_id,
        agent_id=caller.id,
        actor_agent_id=caller.id,
        details={
            "correlation_id": data.correlation_id,
            "failed_board_ids": [str(item.board_id) for item in results if not item.ok],
        },
    )
    return BroadcastResponse(sent=sent_count, failed=failed, results=results)
