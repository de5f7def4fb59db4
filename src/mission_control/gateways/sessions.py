"""Gateway sessions for operators (docs/gateway.md#gateway-sessions-api): list, get, history and
send a message, scoped to the organisation. Addressed by board (the board's agents and its
gateway's main agent) or, for org admins, by gateway (every agent on it). GETs never write, on
the gateway either."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import require_admin, require_board
from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.errors import InvalidInput, NotFound
from mission_control.core.redaction import Redactor
from mission_control.core.runtime import Runtime
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.errors import GatewayError
from mission_control.gateway.session_keys import agent_id_of
from mission_control.gateways import repository
from mission_control.gateways.failures import gateway_failure
from mission_control.gateways.models import Gateway
from mission_control.gateways.status import sessions_of
from mission_control.organizations.service import UserContext
from mission_control.provisioning.context import agent_ref
from mission_control.provisioning.identities import (
    gateway_agent_id,
    gateway_main_agent_id,
    gateway_main_session_key,
)


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
    await session.commit()
    return await runtime.gateway_pool.client(runtime.gateway_target(scope.gateway))


def _redactor(runtime: Runtime, scope: SessionScope) -> Redactor:
    """Transcripts and session entries are the gateway's text: agents paste their tokens into
    it. Every value this module returns passes through this."""
    return Redactor([runtime.operator_token, runtime.gateway_target(scope.gateway).token])


async def _sessions(client: GatewayClient, scope: SessionScope) -> list[dict[str, Any]]:
    listed = sessions_of(await client.sessions_list())
    return [item for item in listed if scope.allows(str(item.get("key", "")))]


async def list_sessions(
    session: AsyncSession, runtime: Runtime, scope: SessionScope
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    try:
        client = await _client(session, runtime, scope)
        items = await _sessions(client, scope)
    except GatewayError as error:
        raise gateway_failure(error, "Gateway session list failed") from error
    main = next((item for item in items if item.get("key") == scope.main_key), None)
    redactor = _redactor(runtime, scope)
    return redactor.value(items), redactor.value(main)


async def get_session(
    session: AsyncSession, runtime: Runtime, scope: SessionScope, key: str
) -> dict[str, Any]:
    if not scope.allows(key):
        raise NotFound("Session not found.")
    try:
        client = await _client(session, runtime, scope)
        items = await _sessions(client, scope)
    except GatewayError as error:
        raise gateway_failure(error, "Gateway session list failed") from error
    found = next((item for item in items if item.get("key") == key), None)
    if found is None:
        raise NotFound("Session not found.")
    redacted: dict[str, Any] = _redactor(runtime, scope).value(found)
    return redacted


async def session_history(
    session: AsyncSession, runtime: Runtime, scope: SessionScope, key: str, limit: int | None
) -> list[Any]:
    if not scope.allows(key):
        raise NotFound("Session not found.")
    try:
        client = await _client(session, runtime, scope)
        payload = await client.chat_history(key, limit=limit)
    except GatewayError as error:
        raise gateway_failure(error, "Gateway session history failed") from error
    messages = payload.get("messages")
    history = messages if isinstance(messages, list) else sessions_of(payload)
    redacted: list[Any] = _redactor(runtime, scope).value(history)
    return redacted


async def send_message(
    session: AsyncSession, runtime: Runtime, scope: SessionScope, key: str, content: str
) -> None:
    """``chat.send`` with deliver=false; one idempotency key per request
    (docs/gateway.md#sending-into-a-session)."""
    if not scope.allows(key):
        raise NotFound("Session not found.")
    try:
        client = await _client(session, runtime, scope)
        await client.chat_send(
            key, content, idempotency_key=f"mc-user-{uuid.uuid4().hex}", deliver=False
        )
    except GatewayError as error:
        raise gateway_failure(error, "Gateway message send failed") from error
