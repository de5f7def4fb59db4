"""Who acts on a board's tasks and approvals: a user, the board lead, a worker or a main agent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import require_agent_board, require_board
from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.errors import Forbidden
from mission_control.organizations.service import UserContext

ActorKind = Literal["user", "lead", "worker", "main"]


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller, before a board is chosen."""

    context: UserContext | None = None
    agent: Agent | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    """A caller resolved against one board: what kind of actor it is there."""

    kind: ActorKind
    board: Board
    user_id: uuid.UUID | None = None
    agent: Agent | None = None

    @property
    def agent_id(self) -> uuid.UUID | None:
        return self.agent.id if self.agent else None

    @property
    def organization_id(self) -> uuid.UUID:
        return self.board.organization_id

    @property
    def label(self) -> str:
        if self.agent is not None:
            return self.agent.name
        return "a user"


def user_caller(context: UserContext) -> Caller:
    return Caller(context=context)


def agent_caller(agent: Agent) -> Caller:
    return Caller(agent=agent)


def agent_kind(agent: Agent, board: Board) -> ActorKind:
    if agent.board_id != board.id:
        return "main"
    return "lead" if agent.is_board_lead else "worker"


async def resolve_actor(
    session: AsyncSession, caller: Caller, board_id: uuid.UUID, *, write: bool
) -> Actor:
    """The caller on ``board_id``; users need read (or write) access, agents their own board.

    The gateway-main agent may read its gateway's boards but changes nothing on them.
    """
    if caller.context is not None:
        board = await require_board(session, caller.context, board_id, write=write)
        return Actor(kind="user", board=board, user_id=caller.context.user.id)
    if caller.agent is None:
        raise Forbidden("No caller.")
    board = await require_agent_board(session, caller.agent, board_id)
    kind = agent_kind(caller.agent, board)
    if write and kind == "main":
        raise Forbidden(
            "The gateway-main agent may read this board but not change it; ask the board lead.",
            code="read_only",
        )
    return Actor(kind=kind, board=board, agent=caller.agent)
