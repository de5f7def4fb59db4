"""Memory and chat rules: who may read and write board and group memory, `/pause` and `/resume`,
and @mentions that notify agents (never the sender)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import (
    agent_board_ids,
    board_access,
    require_agent_board,
    require_board,
)
from mission_control.activity import service as activity
from mission_control.agents.models import Agent
from mission_control.boards import repository as boards
from mission_control.boards.models import Board, BoardGroup
from mission_control.core import events
from mission_control.core.errors import Forbidden, NotFound
from mission_control.memory import repository
from mission_control.memory.models import BoardGroupMemory, BoardMemory
from mission_control.memory.repository import PAUSE, RESUME, MemoryFilters
from mission_control.memory.schemas import GroupMemoryRead, MemoryCreate, MemoryRead
from mission_control.notifications.service import notify_agent
from mission_control.organizations.service import UserContext

COMMANDS = (PAUSE, RESUME)


@dataclass(frozen=True, slots=True)
class Author:
    """Who writes a memory item: a user or an agent."""

    user_id: uuid.UUID | None = None
    user_name: str | None = None
    agent: Agent | None = None

    @classmethod
    def of_user(cls, context: UserContext) -> Author:
        user = context.user
        return cls(user_id=user.id, user_name=user.preferred_name or user.name or user.email)

    @classmethod
    def of_agent(cls, agent: Agent) -> Author:
        return cls(agent=agent)

    @property
    def label(self) -> str:
        if self.agent is not None:
            return f"agent {self.agent.name}"
        return f"user {self.user_name}" if self.user_name else "a user"

    @property
    def agent_id(self) -> uuid.UUID | None:
        return self.agent.id if self.agent is not None else None


@dataclass(frozen=True, slots=True)
class GroupScope:
    group: BoardGroup
    boards: list[Board]


def chat_command(content: str) -> str | None:
    """'/pause' or '/resume' when the whole message is exactly that command
    (docs/provisioning.md#paused-boards)."""
    command = content.strip().lower()
    return command if command in COMMANDS else None


def _mentions(content: str, handle: str) -> bool:
    pattern = rf"(?<![\w@])@{re.escape(handle.strip().lower())}(?![\w-])"
    return re.search(pattern, content.lower()) is not None


def mentioned_agents(
    content: str, candidates: Iterable[Agent], *, leads: Iterable[Agent], group: bool
) -> list[Agent]:
    """Agents named by @name (case-insensitive, names may contain spaces), @lead, and @all
    in group chat (every board's lead)."""
    chosen: dict[uuid.UUID, Agent] = {}
    if _mentions(content, "lead") or (group and _mentions(content, "all")):
        chosen.update((lead.id, lead) for lead in leads)
    for agent in candidates:
        if _mentions(content, agent.name):
            chosen.setdefault(agent.id, agent)
    return list(chosen.values())


# -- access ------------------------------------------------------------------------------------


async def board_for_user(
    session: AsyncSession, context: UserContext, board_id: uuid.UUID, *, write: bool
) -> Board:
    return await require_board(session, context, board_id, write=write)


async def board_for_agent(session: AsyncSession, agent: Agent, board_id: uuid.UUID) -> Board:
    return await require_agent_board(session, agent, board_id)


async def group_for_user(
    session: AsyncSession, context: UserContext, group_id: uuid.UUID, *, write: bool
) -> GroupScope:
    """Group memory reaches every board of the group, so it needs access to all of them."""
    group = await boards.group_in_organization(session, context.organization.id, group_id)
    if group is None:
        raise NotFound("Board group not found.")
    members = await repository.boards_in_group(session, group.id)
    for board in members:
        access = await board_access(session, context, board)
        if not access.read or (write and not access.write):
            raise Forbidden(
                "Group memory reaches every board of the group; you need "
                f"{'write' if write else 'read'} access to all of them (board {board.name})."
            )
    return GroupScope(group=group, boards=members)


async def group_for_agent(session: AsyncSession, agent: Agent, group_id: uuid.UUID) -> GroupScope:
    group = await session.get(BoardGroup, group_id)
    if group is None:
        raise NotFound("Board group not found.")
    members = await repository.boards_in_group(session, group.id)
    if not {board.id for board in members} & await agent_board_ids(session, agent):
        raise Forbidden("Agents may only use the memory of their own board's group.")
    return GroupScope(group=group, boards=members)


# -- reading -----------------------------------------------------------------------------------


async def list_board_memory(
    session: AsyncSession, board: Board, filters: MemoryFilters, *, limit: int, offset: int
) -> tuple[list[BoardMemory], int]:
    return await repository.board_page(session, board.id, filters, limit=limit, offset=offset)


async def list_group_memory(
    session: AsyncSession, scope: GroupScope, filters: MemoryFilters, *, limit: int, offset: int
) -> tuple[list[BoardGroupMemory], int]:
    return await repository.group_page(session, scope.group.id, filters, limit=limit, offset=offset)


async def is_paused(session: AsyncSession, board_id: uuid.UUID) -> bool:
    return board_id in await repository.paused_board_ids(session, [board_id])


async def paused_board_ids(session: AsyncSession, board_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these boards are paused (docs/provisioning.md#paused-boards)."""
    return await repository.paused_board_ids(session, list(board_ids))


# -- writing -----------------------------------------------------------------------------------


def _reply_hint(base_url: str, path: str, chat: bool) -> str:
    body = '{"content": "...", "is_chat": true}' if chat else '{"content": "...", "tags": []}'
    return (
        f"Reply by writing memory: POST {base_url}/api/v1/agent/{path}/memory with the JSON "
        f"body {body} (your agent token in X-Agent-Token); do not answer in this chat session."
    )


async def record_board_memory(
    session: AsyncSession, board: Board, author: Author, data: MemoryCreate
) -> BoardMemory:
    """Store a board memory item and publish it (``memory.created``); notifies nobody."""
    item = BoardMemory(
        id=uuid.uuid4(),
        board_id=board.id,
        content=data.content,
        tags=data.tags,
        source=data.source,
        is_chat=data.is_chat,
        author_user_id=author.user_id,
        author_agent_id=author.agent_id,
    )
    session.add(item)
    await session.flush()
    events.emit(
        session,
        "memory.created",
        organization_id=board.organization_id,
        board_id=board.id,
        agent_id=author.agent_id,
        data=MemoryRead.model_validate(item).model_dump(mode="json"),
    )
    return item


async def create_board_memory(
    session: AsyncSession,
    board: Board,
    author: Author,
    data: MemoryCreate,
    *,
    base_url: str,
) -> BoardMemory:
    """Store the item, publish it, and notify: chat commands go to every agent of the board,
    mentions to the named agents, plain user chat to the lead; never to the author."""
    item = await record_board_memory(session, board, author, data)
    agents = await repository.agents_on_boards(session, [board.id])
    command = chat_command(data.content) if data.is_chat else None
    if command is not None:
        await _relay_command(session, board, author, command, agents)
        return item
    leads = [agent for agent in agents if agent.is_board_lead]
    targets = mentioned_agents(data.content, agents, leads=leads, group=False)
    kind = "mention"
    if not targets and data.is_chat and author.agent is None:
        targets, kind = leads, "chat"
    where = f"the chat of board {board.name}" if data.is_chat else f"board {board.name}'s memory"
    hint = _reply_hint(base_url, f"boards/{board.id}", data.is_chat)
    for agent in targets:
        if agent.id == author.agent_id:
            continue
        verb = "mentioned you in" if kind == "mention" else "wrote in"
        await notify_agent(
            session,
            agent=agent,
            kind=kind,
            message=f"{author.label} {verb} {where}:\n\n{data.content}\n\n{hint}",
            organization_id=board.organization_id,
            board_id=board.id,
        )
    return item


async def _relay_command(
    session: AsyncSession, board: Board, author: Author, command: str, agents: list[Agent]
) -> None:
    paused = command == PAUSE
    instruction = (
        "Stop working on this board's tasks until the board is resumed with /resume."
        if paused
        else "The board is active again: resume work on its tasks."
    )
    for agent in agents:
        if agent.id == author.agent_id:
            continue
        await notify_agent(
            session,
            agent=agent,
            kind="chat_command",
            message=f"{command}\n\n{author.label} sent {command} in the chat of board "
            f"{board.name}. {instruction}",
            organization_id=board.organization_id,
            board_id=board.id,
        )
    activity.record(
        session,
        "board.paused" if paused else "board.resumed",
        f"Board {board.name} {'paused' if paused else 'resumed'} by {author.label} ({command}).",
        organization_id=board.organization_id,
        board_id=board.id,
        actor_user_id=author.user_id,
        actor_agent_id=author.agent_id,
    )


async def create_group_memory(
    session: AsyncSession,
    scope: GroupScope,
    author: Author,
    data: MemoryCreate,
    *,
    base_url: str,
) -> BoardGroupMemory:
    """Group memory: mentions (@name, @lead, @all) and plain user chat reach the boards' leads."""
    group = scope.group
    item = BoardGroupMemory(
        id=uuid.uuid4(),
        board_group_id=group.id,
        content=data.content,
        tags=data.tags,
        source=data.source,
        is_chat=data.is_chat,
        author_user_id=author.user_id,
        author_agent_id=author.agent_id,
    )
    session.add(item)
    await session.flush()
    payload = GroupMemoryRead.model_validate(item).model_dump(mode="json")
    for board in scope.boards:
        # One event per board, so each subscriber sees it on the boards it may read.
        events.emit(
            session,
            "memory.group_created",
            organization_id=group.organization_id,
            board_id=board.id,
            agent_id=author.agent_id,
            data=payload,
        )
    agents = await repository.agents_on_boards(session, [board.id for board in scope.boards])
    leads = [agent for agent in agents if agent.is_board_lead]
    targets = mentioned_agents(data.content, agents, leads=leads, group=True)
    kind = "mention"
    if not targets and data.is_chat and author.agent is None:
        targets, kind = leads, "chat"
    where = f"the {'chat' if data.is_chat else 'memory'} of board group {group.name}"
    hint = _reply_hint(base_url, f"board-groups/{group.id}", data.is_chat)
    for agent in targets:
        if agent.id == author.agent_id:
            continue
        verb = "mentioned you in" if kind == "mention" else "wrote in"
        await notify_agent(
            session,
            agent=agent,
            kind=kind,
            message=f"{author.label} {verb} {where}:\n\n{data.content}\n\n{hint}",
            organization_id=group.organization_id,
            board_id=agent.board_id,
        )
    return item
