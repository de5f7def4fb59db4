"""Gateway sessions for operators (docs/gateway.md#gateway-sessions-api): list, get, history and
send a message, scoped to the organisation. Addressed by board (the board's agents and its
gateway's main agent) or, for org admins, by gateway (every agent on it). GETs never write, on
the gateway either."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import require_admin, require_board
from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.errors import InvalidInput, NotFound
from mission_control.core.redaction import Redactor
from mission_control.core.runtime import Runtime
from mission_control.core.unit_of_work import end_transaction
from mission_control.gateway.client import ChatMessage, GatewayClient, SessionRow
from mission_control.gateway.delivery import deliver_message
from mission_control.gateway.errors import GatewayError
from mission_control.gateway.session_keys import agent_id_of
from mission_control.gateways import repository
from mission_control.gateways.failures import gateway_failure
from mission_control.gateways.models import Gateway
from mission_control.gateways.schemas import GatewaySessionRead, HistoryMessageRead
from mission_control.organizations.service import UserContext
from mission_control.provisioning.context import agent_ref
from mission_control.provisioning.identities import (
    gateway_agent_id,
    gateway_main_agent_id,
    gateway_main_session_key,
)

# A user sent this from the console and waits: transient gateway errors are retried this long.
SEND_BUDGET_SECONDS = 10.0
# The gateway answers 100 session rows when no limit is asked: a board's main session could
# fall off a busy gateway's list.
SESSIONS_LIST_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class SessionScope:
    gateway: Gateway
    board: Board | None
    # Gateway agent ids whose sessions are in scope; None means every agent of the gateway.
    agent_ids: frozenset[str] | None

    @property
    def main_key(self) -> str:
        return gateway_main_session_key(self.gateway.id)

    def allows(self, key: str) -> bool:
        agent_id = agent_id_of(key)
        if agent_id is None:
            return False
        return self.agent_ids is None or agent_id in self.agent_ids


async def _board_agent_ids(session: AsyncSession, board: Board, gateway: Gateway) -> frozenset[str]:
    result = await session.execute(select(Agent).where(Agent.board_id == board.id))
    ids = {gateway_agent_id(agent_ref(agent)) for agent in result.scalars()}
    ids.add(gateway_main_agent_id(gateway.id))
    return frozenset(ids)


async def resolve(
    session: AsyncSession,
    context: UserContext,
    *,
    board_id: uuid.UUID | None,
    gateway_id: uuid.UUID | None,
    admin: bool,
    write: bool = False,
) -> SessionScope:
    """Which gateway and sessions a request addresses, never an ad-hoc ``gateway_url`` (that is
    ``POST /gateways/probe``; docs/gateway.md#session-scope)."""
    if (board_id is None) == (gateway_id is None):
        raise InvalidInput(
            "Pass exactly one of board_id or gateway_id to say which gateway's sessions you mean.",
            code="gateway_scope_required",
        )
    if admin or gateway_id is not None:
        require_admin(context)
    if gateway_id is not None:
        gateway = await repository.in_organization(session, context.organization.id, gateway_id)
        if gateway is None:
            raise NotFound("Gateway not found.")
        return SessionScope(gateway=gateway, board=None, agent_ids=None)
    assert board_id is not None
    board = await require_board(session, context, board_id, write=write)
    if board.gateway_id is None:
        raise InvalidInput(
            "This board has no gateway; attach one to the board first.",
            code="board_gateway_required",
        )
    gateway = await repository.in_organization(session, context.organization.id, board.gateway_id)
    if gateway is None:
        raise InvalidInput(
            "The board's gateway no longer exists; attach another gateway to the board.",
            code="board_gateway_invalid",
        )
    return SessionScope(
        gateway=gateway, board=board, agent_ids=await _board_agent_ids(session, board, gateway)
    )


async def _client(session: AsyncSession, runtime: Runtime, scope: SessionScope) -> GatewayClient:
    # The gateway call happens with no database transaction open (house rule 2).
    await end_transaction(session)
    return await runtime.gateway_pool.client(runtime.gateway_target(scope.gateway))


def _redactor(runtime: Runtime, scope: SessionScope) -> Redactor:
    """Transcripts and session entries are the gateway's text: agents paste their tokens into
    it. Every value this module returns passes through this."""
    return Redactor([runtime.operator_token, runtime.gateway_target(scope.gateway).token])


def session_read(row: SessionRow) -> GatewaySessionRead:
    return GatewaySessionRead(
        key=row.key,
        agent_id=row.agent_id,
        label=row.label,
        display_name=row.display_name,
        kind=row.kind,
        session_id=row.session_id,
        parent_session_key=row.parent_session_key,
        model=row.model,
        updated_at=row.updated_at,
    )


def message_read(message: ChatMessage) -> HistoryMessageRead:
    return HistoryMessageRead(role=message.role, text=message.text, timestamp=message.timestamp)


async def _sessions(
    client: GatewayClient, scope: SessionScope, redactor: Redactor
) -> list[GatewaySessionRead]:
    listed = (await client.sessions_list(limit=SESSIONS_LIST_LIMIT)).sessions
    return [redactor.model(session_read(row)) for row in listed if scope.allows(row.key)]


async def list_sessions(
    session: AsyncSession, runtime: Runtime, scope: SessionScope
) -> tuple[list[GatewaySessionRead], GatewaySessionRead | None]:
    try:
        client = await _client(session, runtime, scope)
        items = await _sessions(client, scope, _redactor(runtime, scope))
    except GatewayError as error:
        raise gateway_failure(error, "Gateway session list failed") from error
    main = next((item for item in items if item.key == scope.main_key), None)
    return items, main


async def get_session(
    session: AsyncSession, runtime: Runtime, scope: SessionScope, key: str
) -> GatewaySessionRead:
    if not scope.allows(key):
        raise NotFound("Session not found.")
    try:
        client = await _client(session, runtime, scope)
        items = await _sessions(client, scope, _redactor(runtime, scope))
    except GatewayError as error:
        raise gateway_failure(error, "Gateway session list failed") from error
    found = next((item for item in items if item.key == key), None)
    if found is None:
        raise NotFound("Session not found.")
    return found


async def session_history(
    session: AsyncSession, runtime: Runtime, scope: SessionScope, key: str, limit: int | None
) -> list[HistoryMessageRead]:
    if not scope.allows(key):
        raise NotFound("Session not found.")
    try:
        client = await _client(session, runtime, scope)
        history = await client.chat_history(key, limit=limit)
    except GatewayError as error:
        raise gateway_failure(error, "Gateway session history failed") from error
    redactor = _redactor(runtime, scope)
    return [redactor.model(message_read(message)) for message in history.messages]


async def send_message(
    session: AsyncSession, runtime: Runtime, scope: SessionScope, key: str, content: str
) -> None:
    """``chat.send`` with deliver=false; one idempotency key per request
    (docs/gateway.md#sending-into-a-session)."""
    if not scope.allows(key):
        raise NotFound("Session not found.")
    try:
        client = await _client(session, runtime, scope)
        await deliver_message(
            client,
            key,
            content,
            idempotency_key=f"mc-user-{uuid.uuid4().hex}",
            deliver=False,
            budget_s=SEND_BUDGET_SECONDS,
        )
    except GatewayError as error:
        raise gateway_failure(error, "Gateway message send failed") from error
