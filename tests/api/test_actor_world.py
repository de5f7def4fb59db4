"""The authorization-matrix world: each actor authenticates as who it claims to be."""

from __future__ import annotations

import httpx

from mission_control.core.db import Database
from tests.support.actors import AGENTS, Actor, build_world


async def test_each_actor_is_recognised(client: httpx.AsyncClient, database: Database) -> None:
    async with database.unit_of_work() as session:
        world = await build_world(session)
    assert (
        await client.get("/api/v1/organizations/me", headers=world.as_(Actor.ANONYMOUS))
    ).status_code == 401
    me = await client.get("/api/v1/organizations/me", headers=world.as_(Actor.ADMIN))
    assert me.status_code == 200
    assert me.json()["id"] == str(world.org.id)
    other = await client.get("/api/v1/organizations/me", headers=world.as_(Actor.OTHER_ORG_USER))
    assert other.status_code == 200
    assert other.json()["id"] == str(world.other_org.id)
    for actor in AGENTS:
        answer = await client.get("/api/v1/agent/healthz", headers=world.as_(actor))
        assert answer.status_code == 200, (actor, answer.text)
