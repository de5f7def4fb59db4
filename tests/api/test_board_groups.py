"""Board groups: create, rename, delete, move boards in and out; group chat reaches the leads
of exactly the boards in the group; who may do what (0 leaks)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import delete

from mission_control.boards.models import Board
from mission_control.core.db import Database
from mission_control.notifications.models import Notification
from tests.support import board_factories, factories
from tests.support.actors import Actor, World, build_world

GROUPS = "/api/v1/board-groups"


@pytest.fixture
async def world(database: Database) -> World:
    async with database.unit_of_work() as session:
        return await build_world(session)


async def _notified(database: Database) -> list[tuple[uuid.UUID | None, str]]:
    async with database.unit_of_work() as session:
        rows = await board_factories.notifications(session)
        await session.execute(delete(Notification))
    return sorted((row.agent_id, row.kind) for row in rows)


async def test_groups_lifecycle_and_group_chat_reaches_the_groups_leads(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    async with database.unit_of_work() as session:
        second = await factories.board(session, world.org, world.gateway, name="Second")
        lead2, _ = await factories.agent(session, world.gateway, second, name="Lead Two", lead=True)
    admin = world.as_(Actor.ADMIN)
    created = await client.post(GROUPS, json={"name": "Launch Team"}, headers=admin)
    assert created.status_code == 201, created.text
    group = created.json()
    assert (group["slug"], group["board_ids"]) == ("launch-team", [])
    gid = group["id"]

    for board_id in (world.board.id, second.id):
        moved = await client.put(f"{GROUPS}/{gid}/boards/{board_id}", headers=admin)
        assert moved.status_code == 200, moved.text
    assert set(moved.json()["board_ids"]) == {str(world.board.id), str(second.id)}
    board = (await client.get(f"/api/v1/boards/{second.id}", headers=admin)).json()
    assert board["board_group_id"] == gid

    await _notified(database)
    chat = await client.post(
        f"{GROUPS}/{gid}/memory", json={"content": "Standup at 10", "is_chat": True}, headers=admin
    )
    assert chat.status_code == 201, chat.text
    assert await _notified(database) == sorted([(world.lead.id, "chat"), (lead2.id, "chat")])

    out = await client.delete(f"{GROUPS}/{gid}/boards/{second.id}", headers=admin)
    assert out.json()["board_ids"] == [str(world.board.id)]
    await client.post(
        f"{GROUPS}/{gid}/memory",
        json={"content": "@all still there?", "is_chat": True},
        headers=admin,
    )
    assert await _notified(database) == [(world.lead.id, "mention")]
    # Taking out a board that is not in the group.
    assert (
        await client.delete(f"{GROUPS}/{gid}/boards/{second.id}", headers=admin)
    ).status_code == 404

    renamed = await client.patch(
        f"{GROUPS}/{gid}", json={"name": "Launch", "slug": "launch"}, headers=admin
    )
    assert (renamed.json()["name"], renamed.json()["slug"]) == ("Launch", "launch")
    clash = await client.post(GROUPS, json={"name": "Launch"}, headers=admin)
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "board_group_slug_taken"
    assert (
        await client.patch(f"{GROUPS}/{gid}", json={"name": None}, headers=admin)
    ).status_code == 422
    assert (await client.post(GROUPS, json={"name": "!!!"}, headers=admin)).status_code == 422

    assert (await client.delete(f"{GROUPS}/{gid}", headers=admin)).status_code == 204
    assert (await client.get(f"{GROUPS}/{gid}", headers=admin)).status_code == 404
    kept = (await client.get(f"/api/v1/boards/{world.board.id}", headers=admin)).json()
    assert kept["board_group_id"] is None
    assert (await client.get(GROUPS, headers=admin)).json()["total"] == 0


async def test_group_routes_access(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    async with database.unit_of_work() as session:
        hidden = await factories.board(session, world.org, name="Hidden")
        group = await board_factories.board_group(session, world.org, name="Crew")
        matrix_board = await session.get(Board, world.board.id)
        assert matrix_board is not None
        await board_factories.join_group(session, group, matrix_board, hidden)
        spare = await board_factories.board_group(session, world.org, name="Spare")
        foreign_board = await factories.board(session, world.other_org, name="Foreign")
    url = f"{GROUPS}/{group.id}"
    not_user = (401,) * 6
    expected: dict[Actor, tuple[int, ...]] = {
        # list, get, create, rename, put board, remove board, delete
        Actor.ANONYMOUS: (401, *not_user),
        Actor.BOARD_LEAD: (401, *not_user),
        Actor.BOARD_WORKER: (401, *not_user),
        Actor.GATEWAY_MAIN: (401, *not_user),
        Actor.OTHER_ORG_USER: (200, 404, 201, 404, 404, 404, 404),
        Actor.MEMBER_NO_GRANT: (200, 200, 403, 403, 403, 403, 403),
        Actor.MEMBER_READ: (200, 200, 403, 403, 403, 403, 403),
        Actor.ADMIN: (200, 200, 201, 200, 200, 200, 204),
    }
    seen: dict[Actor, tuple[int, ...]] = {}
    for actor in expected:
        headers = world.as_(actor)
        listed = await client.get(GROUPS, headers=headers)
        got = await client.get(url, headers=headers)
        if got.status_code == 200:
            # Members see the group, with only the boards they may read.
            want = {str(world.board.id), str(hidden.id)} if actor == Actor.ADMIN else set()
            if actor == Actor.MEMBER_READ:
                want = {str(world.board.id)}
            assert set(got.json()["board_ids"]) == want, actor
        if listed.status_code == 200 and actor == Actor.OTHER_ORG_USER:
            assert listed.json()["total"] == 0
        created = await client.post(GROUPS, json={"name": f"New {actor}"}, headers=headers)
        renamed = await client.patch(url, json={"description": "d"}, headers=headers)
        put = await client.put(f"{GROUPS}/{spare.id}/boards/{world.board.id}", headers=headers)
        removed = await client.delete(
            f"{GROUPS}/{spare.id}/boards/{world.board.id}", headers=headers
        )
        deleted = await client.delete(f"{GROUPS}/{spare.id}", headers=headers)
        seen[actor] = tuple(
            r.status_code for r in (listed, got, created, renamed, put, removed, deleted)
        )
    assert seen == expected
    # An admin cannot move another organisation's board into a group.
    admin = world.as_(Actor.ADMIN)
    foreign = await client.put(f"{url}/boards/{foreign_board.id}", headers=admin)
    assert foreign.status_code == 404
