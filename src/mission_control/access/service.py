"""Access rules: organisation roles, board read/write for members, boards an agent may touch.

Routers and services ask here; nothing else invents access rules.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.agents.models import Agent
from mission_control.boards import repository as boards
from mission_control.boards.models import Board
from mission_control.core.errors import Forbidden, NotFound
from mission_control.organizations import repository as organizations
from mission_control.organizations.service import UserContext


@dataclass(frozen=True, slots=True)
class BoardAccess:
    read: bool
    write: bool


NO_ACCESS = BoardAccess(read=False, write=False)
FULL_ACCESS = BoardAccess(read=True, write=True)


def require_admin(context: UserContext) -> None:
    if not context.is_admin:
        raise Forbidden("Only organisation owners and admins may do this.")


async def board_access(session: AsyncSession, context: UserContext, board: Board) -> BoardAccess:
    if board.organization_id != context.organization.id:
        return NO_ACCESS
    member = context.member
    if context.is_admin or member.all_boards_write:
        return FULL_ACCESS
    grant = await organizations.grant_for(session, member.id, board.id)
    write = bool(grant and grant.can_write)
    read = member.all_boards_read or write or bool(grant and grant.can_read)
    return BoardAccess(read=read, write=write)


async def require_board(
    session: AsyncSession, context: UserContext, board_id: uuid.UUID, *, write: bool
) -> Board:
    """The board if the user may read it (and write it when asked).

    Another organisation's board is "not found"; a board of the user's own organisation
    without a grant is "forbidden" (its existence is no secret inside the organisation).
    """
    board = await boards.in_organization(session, context.organization.id, board_id)
    if board is None:
        raise NotFound("Board not found.")
    access = await board_access(session, context, board)
    if not access.read:
        raise Forbidden("You have no access to this board; ask an admin for a grant.")
    if write and not access.write:
        raise Forbidden("You may read this board but not change it; ask an admin for write access.")
    return board


async def readable_board_ids(session: AsyncSession, context: UserContext) -> set[uuid.UUID] | None:
    """Board ids the user may read; None means every board of the organisation."""
    member = context.member
    if context.is_admin or member.all_boards_read or member.all_boards_write:
        return None
    grants = await organizations.grants_of(session, member.id)
    return {grant.board_id for grant in grants if grant.can_read or grant.can_write}


async def agent_board_ids(session: AsyncSession, agent: Agent) -> set[uuid.UUID]:
    """A board agent touches its own board; a gateway-main agent, its gateway's boards."""
    if agent.board_id is not None:
        return {agent.board_id}
    return await boards.ids_on_gateway(session, agent.gateway_id)


async def require_agent_board(session: AsyncSession, agent: Agent, board_id: uuid.UUID) -> Board:
    if board_id not in await agent_board_ids(session, agent):
        own = f" (yours is {agent.board_id})" if agent.board_id else ""
        raise Forbidden(f"Agents may only use their own board{own}; use its id in the URL.")
    board = await boards.get(session, board_id)
    if board is None:
        raise NotFound("Board not found.")
    return board
