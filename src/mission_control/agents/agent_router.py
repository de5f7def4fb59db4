"""Agent-facing endpoints (``/agent/...``), authenticated with the agent's own token."""

from __future__ import annotations

from enum import Enum

from fastapi import APIRouter

from mission_control.agents import service
from mission_control.agents.schemas import (
    AgentCheckIn,
    AgentSelf,
    AgentWhoAmI,
    BoardRef,
    GatewayRef,
)
from mission_control.agents.service import AgentIdentity
from mission_control.core.api import AGENT_KINDS, API_PREFIX
from mission_control.core.auth import AgentDep, SessionDep

router = APIRouter(prefix=f"{API_PREFIX}/agent")

ALL_AGENT_KINDS: list[str | Enum] = list(AGENT_KINDS)


def _who_am_i(identity: AgentIdentity) -> AgentWhoAmI:
    agent, board = identity.agent, identity.board
    return AgentWhoAmI(
        agent=AgentSelf(
            id=agent.id,
            name=agent.name,
            kind=identity.kind,
            status=agent.status,
            is_board_lead=agent.is_board_lead,
            is_gateway_main=agent.is_gateway_main,
            session_key=agent.openclaw_session_id,
            last_seen_at=agent.last_seen_at,
        ),
        board=BoardRef(id=board.id, name=board.name, slug=board.slug) if board else None,
        gateway=GatewayRef(id=identity.gateway.id, name=identity.gateway.name),
        organization_id=identity.gateway.organization_id,
    )


@router.get("/healthz", response_model=AgentWhoAmI, tags=ALL_AGENT_KINDS)
async def agent_healthz(agent: AgentDep, session: SessionDep) -> AgentWhoAmI:
    """Who am I: the calling agent, its board, its gateway and its kind."""
    return _who_am_i(await service.identify(session, agent))


@router.post("/heartbeat", response_model=AgentWhoAmI, tags=ALL_AGENT_KINDS)
async def agent_heartbeat(
    agent: AgentDep, session: SessionDep, body: AgentCheckIn | None = None
) -> AgentWhoAmI:
    """Check in: marks the agent online (or the status given) and records the heartbeat."""
    identity = await service.check_in(session, agent, body.status if body else None)
    return _who_am_i(identity)
