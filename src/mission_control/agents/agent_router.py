"""Agent-facing endpoints (``/agent/...``), authenticated with the agent's own token."""

from __future__ import annotations

import uuid
from enum import Enum

from fastapi import APIRouter, status

from mission_control.agents import lifecycle, service
from mission_control.agents.schemas import (
    AgentCheckIn,
    AgentCreate,
    AgentRead,
    AgentSelf,
    AgentWhoAmI,
    BoardRef,
    GatewayRef,
    OkResponse,
)
from mission_control.agents.service import AgentIdentity
from mission_control.auth import AgentDep, RuntimeDep, SessionDep
from mission_control.core.api import AGENT_KINDS, AGENT_LEAD, API_PREFIX

router = APIRouter(prefix=f"{API_PREFIX}/agent")

ALL_AGENT_KINDS: list[str | Enum] = list(AGENT_KINDS)
LEAD_ONLY: list[str | Enum] = [AGENT_LEAD]
BOARD_AGENTS = "/boards/{board_id}/agents"


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


@router.get(BOARD_AGENTS, response_model=list[AgentRead], tags=ALL_AGENT_KINDS)
async def agent_list_board_agents(
    board_id: uuid.UUID, agent: AgentDep, session: SessionDep
) -> list[AgentRead]:
    """The agents on your board (the lead first), with their computed status."""
    return await lifecycle.list_board_agents(session, agent, board_id)


@router.post(
    BOARD_AGENTS,
    response_model=AgentRead,
    status_code=status.HTTP_201_CREATED,
    tags=LEAD_ONLY,
)
async def agent_create_worker(
    board_id: uuid.UUID,
    data: AgentCreate,
    agent: AgentDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> AgentRead:
    """Create a worker on your board (board lead only), within the board's ``max_agents``
    (the lead not counted); it is provisioned and woken on the board's gateway."""
    await lifecycle.require_own_board(session, agent, board_id)
    if data.board_id is None:
        data = data.model_copy(update={"board_id": board_id})
    return await lifecycle.create_agent(session, runtime, agent, data)


@router.delete(BOARD_AGENTS + "/{agent_id}", response_model=OkResponse, tags=LEAD_ONLY)
async def agent_delete_worker(
    board_id: uuid.UUID,
    agent_id: uuid.UUID,
    agent: AgentDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> OkResponse:
    """Delete a worker of your board (board lead only); its tasks go back to the board."""
    await lifecycle.require_own_board(session, agent, board_id)
    await lifecycle.delete_agent(session, runtime, agent, agent_id)
    return OkResponse()
