"""The eight actors of the authorization matrix, created in one organisation around one board.

Every issue-5 matrix test builds this world once per test and asks, for each actor, whether a
route answers with success or with the status its docs/ page names (e.g.
docs/agents.md#errors). Rows are written through the ORM.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.gateways.models import Gateway
from mission_control.organizations.models import Organization, Role
from tests.support import factories


class Actor(enum.StrEnum):
    ANONYMOUS = "anonymous"
    OTHER_ORG_USER = "other_org_user"
    MEMBER_NO_GRANT = "member_no_grant"
    MEMBER_READ = "member_read"
    ADMIN = "admin"
    BOARD_WORKER = "board_worker"
    BOARD_LEAD = "board_lead"
    GATEWAY_MAIN = "gateway_main"


USERS = (Actor.OTHER_ORG_USER, Actor.MEMBER_NO_GRANT, Actor.MEMBER_READ, Actor.ADMIN)
AGENTS = (Actor.BOARD_WORKER, Actor.BOARD_LEAD, Actor.GATEWAY_MAIN)


@dataclass
class World:
    """One organisation, one gateway, one board with a lead and a worker, and the actors."""

    org: Organization
    gateway: Gateway
    board: Board
    lead: Agent
    worker: Agent
    main: Agent
    other_org: Organization
    headers: dict[Actor, dict[str, str]] = field(default_factory=dict)
    # The membership row of each user actor (OTHER_ORG_USER's is in other_org).
    member_ids: dict[Actor, uuid.UUID] = field(default_factory=dict)

    def as_(self, actor: Actor) -> dict[str, str]:
        return dict(self.headers[actor])


def _agent_headers(token: str) -> dict[str, str]:
    return {"X-Agent-Token": token}


async def build_world(session: AsyncSession, gateway: Gateway | None = None) -> World:
    """The matrix world; pass ``gateway`` (already flushed) to use a real gateway's row."""
    org = await factories.organization(session, "Matrix Org")
    gw = gateway or await factories.gateway(session, org)
    if gateway is not None and gateway.organization_id != org.id:
        gw.organization_id = org.id
        await session.flush()
    brd = await factories.board(session, org, gw, name="Matrix Board")
    lead, lead_token = await factories.agent(session, gw, brd, name="Matrix Lead", lead=True)
    worker, worker_token = await factories.agent(session, gw, brd, name="Matrix Worker")
    main, main_token = await factories.agent(session, gw, None, name="Matrix Main")
    other_org = await factories.organization(session, "Elsewhere")
    outsider = await factories.person(session, other_org, Role.OWNER)
    no_grant = await factories.person(session, org, Role.MEMBER)
    reader = await factories.person(session, org, Role.MEMBER, grants={brd.id: (True, False)})
    admin = await factories.person(session, org, Role.ADMIN)
    world = World(
        org=org, gateway=gw, board=brd, lead=lead, worker=worker, main=main, other_org=other_org
    )
    world.headers = {
        Actor.ANONYMOUS: {},
        Actor.OTHER_ORG_USER: outsider.headers,
        Actor.MEMBER_NO_GRANT: no_grant.headers,
        Actor.MEMBER_READ: reader.headers,
        Actor.ADMIN: admin.headers,
        Actor.BOARD_WORKER: _agent_headers(worker_token),
        Actor.BOARD_LEAD: _agent_headers(lead_token),
        Actor.GATEWAY_MAIN: _agent_headers(main_token),
    }
    world.member_ids = {
        Actor.OTHER_ORG_USER: outsider.member.id,
        Actor.MEMBER_NO_GRANT: no_grant.member.id,
        Actor.MEMBER_READ: reader.member.id,
        Actor.ADMIN: admin.member.id,
    }
    return world
