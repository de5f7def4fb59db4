"""An operator creates a board lead through the agents API (issue 16, finding 3): org admins
only, one lead per board (409 naming the existing one), leads are not counted by max_agents."""

from __future__ import annotations

import uuid

import httpx

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.db import Database
from mission_control.gateways.models import Gateway
from tests.api.test_agents_api import API, world
from tests.support import factories
from tests.support.actors import Actor, World


async def _board_without_lead(database: Database, w: World) -> Board:
    async with database.unit_of_work() as session:
        gateway = await session.get(Gateway, w.gateway.id)
        assert gateway is not None
        board = await factories.board(session, w.org, gateway, "New")
        board.max_agents = 0  # no room for workers: a lead still fits
        return board


async def test_an_admin_creates_the_lead_and_a_second_is_409(
    client: httpx.AsyncClient, database: Database
) -> None:
    w = await world(database)
    board = await _board_without_lead(database, w)
    body = {"name": "Board Lead", "board_id": str(board.id), "is_board_lead": True}
    created = await client.post(API, json=body, headers=w.as_(Actor.ADMIN))
    assert created.status_code == 201, created.text
    lead = created.json()
    assert lead["is_board_lead"] is True
    assert lead["status"] == "provisioning"
    async with database.unit_of_work() as session:
        row = await session.get(Agent, uuid.UUID(lead["id"]))
        assert row is not None
        assert row.is_board_lead is True
        assert row.identity_profile is not None  # the default lead identity
    again = await client.post(API, json={**body, "name": "Second Lead"}, headers=w.as_(Actor.ADMIN))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "board_lead_exists"
    assert again.json()["error"]["details"] == {"agent_id": lead["id"]}


async def test_only_admins_create_leads(client: httpx.AsyncClient, database: Database) -> None:
    w = await world(database)
    body = {"name": "Usurper", "board_id": str(w.board.id), "is_board_lead": True}
    by_lead = await client.post(API, json=body, headers=w.as_(Actor.BOARD_LEAD))
    assert by_lead.status_code == 403
    by_member = await client.post(API, json=body, headers=w.as_(Actor.MEMBER_READ))
    assert by_member.status_code == 403
    # The world's board already has a lead: an admin gets the 409.
    by_admin = await client.post(API, json=body, headers=w.as_(Actor.ADMIN))
    assert by_admin.status_code == 409
    assert by_admin.json()["error"]["details"] == {"agent_id": str(w.lead.id)}
