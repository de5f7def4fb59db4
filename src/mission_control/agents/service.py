"""Agent-facing rules: who the calling agent is, and its check-in heartbeat."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.activity import service as activity
from mission_control.agents import repository
from mission_control.agents.models import Agent, AgentStatus
from mission_control.boards import repository as boards
from mission_control.boards.models import Board
from mission_control.core.clock import utcnow
from mission_control.core.errors import Conflict, Forbidden
from mission_control.gateways.models import Gateway

# Statuses only Mission Control's own flows may set; a check-in cannot claim them
# (docs/agents.md#statuses-an-agent-may-report).
RESERVED_STATUSES = frozenset(
    {AgentStatus.UPDATING, AgentStatus.DELETING, AgentStatus.PROVISIONING}
)


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    agent: Agent
    board: Board | None
    gateway: Gateway

    @property
    def kind(self) -> Literal["board_lead", "board_worker", "gateway_main"]:
        if self.agent.board_id is None:
            return "gateway_main"
        return "board_lead" if self.agent.is_board_lead else "board_worker"


async def identify(session: AsyncSession, agent: Agent) -> AgentIdentity:
    gateway = await session.get(Gateway, agent.gateway_id)
    if gateway is None:
        raise Forbidden("This agent's gateway no longer exists.")
    board = await boards.get(session, agent.board_id) if agent.board_id else None
    return AgentIdentity(agent=agent, board=board, gateway=gateway)


def _lifecycle_status_holds(agent: Agent) -> bool:
    """Whether the stored status belongs to a lifecycle flow still under way."""
    if agent.status == AgentStatus.DELETING:
        return agent.delete_requested_at is not None
    if agent.status == AgentStatus.UPDATING:
        return agent.generation > agent.applied_generation
    return False


async def check_in(
    session: AsyncSession,
    agent: Agent,
    status: str | None,
    *,
    actor_user_id: uuid.UUID | None = None,
) -> AgentIdentity:
    """The agent reports it is alive: online (or the status it names) and seen now. An
    operator may check an agent in on its behalf (``actor_user_id``). A stored ``updating`` or
    ``deleting`` stays while that update is pending or the deletion requested
    (docs/agents.md#updating-and-deleting-hold)."""
    identity = await identify(session, agent)
    now = utcnow()
    if not _lifecycle_status_holds(agent):
        agent.status = status or AgentStatus.ONLINE
    agent.last_seen_at = now
    agent.checkin_deadline_at = None
    agent.wake_attempts = 0
    activity.record(
        session,
        "agent.heartbeat",
        f"Heartbeat received from {agent.name}.",
        organization_id=identity.gateway.organization_id,
        board_id=agent.board_id,
        agent_id=agent.id,
        actor_user_id=actor_user_id,
        actor_agent_id=None if actor_user_id else agent.id,
    )
    await session.flush()
    return identity


async def check_new_lead(session: AsyncSession, caller: object, board: Board) -> None:
    """An org admin may create a board's lead through the agents API; one lead per board (409
    naming the existing lead); an agent (even the lead itself) may not create a lead."""
    if isinstance(caller, Agent):
        raise Forbidden(
            "Agents cannot create a board lead; an org admin creates it.", code="lead_by_admin"
        )
    lead = await repository.lead_of(session, board.id)
    if lead is not None:
        raise Conflict(
            f"Board {board.name} already has a lead agent ({lead.name}); a board has one lead.",
            code="board_lead_exists",
            details={"agent_id": str(lead.id)},
        )
