"""Rows for tests, written straight through the ORM (the API under test is not used to set up)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.agents.models import Agent, agent_name_key
from mission_control.boards.models import Board
from mission_control.core.security import USER_TOKEN_PREFIX, mint_token
from mission_control.gateways.models import Gateway
from mission_control.organizations.models import (
    BoardAccessGrant,
    Organization,
    OrganizationMember,
    Role,
)
from mission_control.users.models import User, UserToken


@dataclass
class Person:
    user: User
    member: OrganizationMember
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def organization(session: AsyncSession, name: str = "Acme") -> Organization:
    org = Organization(name=name)
    session.add(org)
    await session.flush()
    return org


async def person(
    session: AsyncSession,
    org: Organization,
    role: Role = Role.MEMBER,
    *,
    all_boards_read: bool = False,
    all_boards_write: bool = False,
    grants: dict[uuid.UUID, tuple[bool, bool]] | None = None,
) -> Person:
    """A user in ``org`` with an API token; ``grants`` maps board id -> (read, write)."""
    suffix = uuid.uuid4().hex[:8]
    user = User(
        auth_subject=f"test:{suffix}", email=f"{suffix}@example.test", name=f"User {suffix}"
    )
    session.add(user)
    await session.flush()
    member = OrganizationMember(
        organization_id=org.id,
        user_id=user.id,
        role=role,
        all_boards_read=all_boards_read,
        all_boards_write=all_boards_write,
    )
    session.add(member)
    await session.flush()
    for board_id, (read, write) in (grants or {}).items():
        session.add(
            BoardAccessGrant(member_id=member.id, board_id=board_id, can_read=read, can_write=write)
        )
    minted = mint_token(USER_TOKEN_PREFIX)
    session.add(
        UserToken(user_id=user.id, name="test", token_id=minted.token_id, token_hash=minted.hash)
    )
    await session.flush()
    return Person(user=user, member=member, token=minted.raw)


async def gateway(session: AsyncSession, org: Organization, name: str = "gw-1") -> Gateway:
    row = Gateway(
        organization_id=org.id,
        name=name,
        url="ws://127.0.0.1:18789",
        workspace_root="/srv/openclaw",
    )
    session.add(row)
    await session.flush()
    return row


async def board(
    session: AsyncSession, org: Organization, gw: Gateway | None = None, name: str = "Board"
) -> Board:
    row = Board(
        organization_id=org.id,
        gateway_id=gw.id if gw else None,
        name=name,
        slug=f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:6]}",
    )
    session.add(row)
    await session.flush()
    return row


async def agent(
    session: AsyncSession,
    gw: Gateway,
    brd: Board | None = None,
    *,
    name: str | None = None,
    lead: bool = False,
) -> tuple[Agent, str]:
    """An agent and its raw token; no board means the gateway-main agent."""
    minted = mint_token()
    name = name or f"Agent {uuid.uuid4().hex[:6]}"
    row = Agent(
        gateway_id=gw.id,
        board_id=brd.id if brd else None,
        name=name,
        name_key=agent_name_key(name),
        is_board_lead=lead,
        token_id=minted.token_id,
        agent_token_hash=minted.hash,
    )
    session.add(row)
    await session.flush()
    return row, minted.raw
