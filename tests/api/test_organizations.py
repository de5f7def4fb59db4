"""Organisations and members: create, list, switch, rename, delete when empty; roles, grants,
the last-owner rules; and the access matrix of every route (0 leaks)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mission_control.core.db import Database
from mission_control.organizations.models import Role
from tests.support import factories
from tests.support.actors import Actor, World, build_world

ORGS = "/api/v1/organizations"
MEMBERS = f"{ORGS}/me/members"


@pytest.fixture
async def world(database: Database) -> World:
    async with database.unit_of_work() as session:
        world = await build_world(session)
        # Not empty, so the outsider's DELETE /me is refused rather than deleting their org.
        await factories.board(session, world.other_org, name="Elsewhere Board")
        return world


async def _target_member(database: Database, world: World) -> uuid.UUID:
    async with database.unit_of_work() as session:
        person = await factories.person(session, world.org, Role.MEMBER)
        return person.member.id


# -- the matrix --------------------------------------------------------------------------------

AGENT_BEARER = "agent_bearer"


def _headers(world: World, actor: Actor | str) -> dict[str, str]:
    if actor == AGENT_BEARER:
        token = world.as_(Actor.BOARD_LEAD)["X-Agent-Token"]
        return {"Authorization": f"Bearer {token}"}
    return world.as_(Actor(actor))


@dataclass
class Route:
    method: str
    url: Callable[[World, dict[str, Any]], str]
    body: Callable[[World, dict[str, Any]], Any] | None
    # Expected status per user actor; anonymous and agents are fixed below.
    expect: dict[Actor | str, int]


USER_ACTORS = (Actor.OTHER_ORG_USER, Actor.MEMBER_NO_GRANT, Actor.MEMBER_READ, Actor.ADMIN)


def _everyone(status: int) -> dict[Actor | str, int]:
    users: tuple[Actor | str, ...] = USER_ACTORS
    return dict.fromkeys(users, status)


def _admin_only(ok: int, *, own: dict[Actor | str, int] | None = None) -> dict[Actor | str, int]:
    expect: dict[Actor | str, int] = {
        Actor.OTHER_ORG_USER: 404,
        Actor.MEMBER_NO_GRANT: 403,
        Actor.MEMBER_READ: 403,
        Actor.ADMIN: ok,
    }
    return expect | (own or {})


def _reader(world: World, _: dict[str, Any]) -> str:
    return f"{MEMBERS}/{world.member_ids[Actor.MEMBER_READ]}"


ROUTES = {
    "list mine": Route("GET", lambda w, x: ORGS, None, _everyone(200)),
    "create": Route("POST", lambda w, x: ORGS, lambda w, x: {"name": "New Org"}, _everyone(201)),
    "get me": Route("GET", lambda w, x: f"{ORGS}/me", None, _everyone(200)),
    "rename": Route(
        "PATCH",
        lambda w, x: f"{ORGS}/me",
        lambda w, x: {"name": "Renamed"},
        # The outsider renames their own organisation (the one they act in), never this one.
        _admin_only(200, own={Actor.OTHER_ORG_USER: 200}),
    ),
    "delete": Route(
        "DELETE",
        lambda w, x: f"{ORGS}/me",
        None,
        # Admins are not owners; the outsider owns a non-empty organisation.
        _admin_only(403, own={Actor.OTHER_ORG_USER: 409}),
    ),
    "list members": Route("GET", lambda w, x: MEMBERS, None, _everyone(200)),
    "get member": Route("GET", _reader, None, _admin_only(200, own={Actor.MEMBER_READ: 200})),
    "update member": Route(
        "PATCH", _reader, lambda w, x: {"all_boards_read": False}, _admin_only(200)
    ),
    "replace grants": Route(
        "PUT",
        lambda w, x: f"{_reader(w, x)}/grants",
        lambda w, x: {"board_grants": [{"board_id": str(w.board.id)}]},
        _admin_only(200),
    ),
    "remove member": Route(
        "DELETE", lambda w, x: f"{MEMBERS}/{x['target']}", None, _admin_only(204)
    ),
}

NOT_USERS: dict[Actor | str, int] = {
    Actor.ANONYMOUS: 401,
    Actor.BOARD_WORKER: 401,
    Actor.BOARD_LEAD: 401,
    Actor.GATEWAY_MAIN: 401,
    AGENT_BEARER: 403,
}


async def test_access_matrix_every_route_every_actor(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    extra = {"target": await _target_member(database, world)}
    wrong: list[tuple[str, str, int, int, str]] = []
    for name, route in ROUTES.items():
        expectations: dict[Actor | str, int] = dict(NOT_USERS)
        expectations.update(route.expect)
        for actor, expected in expectations.items():
            response = await client.request(
                route.method,
                route.url(world, extra),
                json=route.body(world, extra) if route.body else None,
                headers=_headers(world, actor),
            )
            if response.status_code != expected:
                wrong.append((name, str(actor), expected, response.status_code, response.text))
            if response.status_code >= 400:
                assert set(response.json()) == {"error"}, response.text
    assert wrong == []

    # Nothing the outsider did reached this organisation.
    admin = world.as_(Actor.ADMIN)
    me = (await client.get(f"{ORGS}/me", headers=admin)).json()
    assert me["id"] == str(world.org.id)
    outsider_orgs = (await client.get(ORGS, headers=world.as_(Actor.OTHER_ORG_USER))).json()
    assert str(world.org.id) not in {org["id"] for org in outsider_orgs}


# -- organisations -----------------------------------------------------------------------------


async def test_create_list_switch_and_rename(
    client: httpx.AsyncClient, world: World, operator: dict[str, str]
) -> None:
    admin = world.as_(Actor.ADMIN)
    created = await client.post(ORGS, json={"name": "Second"}, headers=admin)
    assert created.status_code == 201, created.text
    second = created.json()
    assert second["role"] == "owner"

    # Without the header, requests act in the oldest membership.
    listed = (await client.get(ORGS, headers=admin)).json()
    assert [(o["id"], o["active"]) for o in listed] == [
        (str(world.org.id), True),
        (second["id"], False),
    ]
    switched = {**admin, "X-Organization-Id": second["id"]}
    assert (await client.get(f"{ORGS}/me", headers=switched)).json()["id"] == second["id"]
    assert [o["active"] for o in (await client.get(ORGS, headers=switched)).json()] == [
        False,
        True,
    ]
    # The owner of the new organisation sees every board of it, none of the old one's.
    board = await client.post("/api/v1/boards", json={"name": "Fresh"}, headers=switched)
    assert board.status_code == 201, board.text
    boards = (await client.get("/api/v1/boards", headers=switched)).json()["items"]
    assert [b["id"] for b in boards] == [board.json()["id"]]

    renamed = await client.patch(f"{ORGS}/me", json={"name": "Second, renamed"}, headers=switched)
    assert renamed.json()["name"] == "Second, renamed"
    assert (await client.get(f"{ORGS}/me", headers=admin)).json()["name"] == "Matrix Org"

    # Someone else's organisation id, a malformed one, an empty name.
    other = {**admin, "X-Organization-Id": str(world.other_org.id)}
    assert (await client.get(f"{ORGS}/me", headers=other)).status_code == 403
    bad = await client.get(f"{ORGS}/me", headers={**admin, "X-Organization-Id": "nope"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "x-organization-id"
    empty = await client.post(ORGS, json={"name": ""}, headers=admin)
    assert empty.status_code == 422
    # The local operator gets its personal organisation and may add more.
    assert (await client.post(ORGS, json={"name": "Ops"}, headers=operator)).status_code == 201


async def test_delete_only_when_empty(client: httpx.AsyncClient, world: World) -> None:
    admin = world.as_(Actor.ADMIN)
    org = (await client.post(ORGS, json={"name": "Short-lived"}, headers=admin)).json()
    scoped = {**admin, "X-Organization-Id": org["id"]}
    board = (await client.post("/api/v1/boards", json={"name": "B"}, headers=scoped)).json()
    refused = await client.delete(f"{ORGS}/me", headers=scoped)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "organization_not_empty"
    assert refused.json()["error"]["details"] == {"boards": 1}
    assert (await client.delete(f"/api/v1/boards/{board['id']}", headers=scoped)).status_code == 204
    assert (await client.delete(f"{ORGS}/me", headers=scoped)).status_code == 204
    assert org["id"] not in {o["id"] for o in (await client.get(ORGS, headers=admin)).json()}
    gone = await client.get(f"{ORGS}/me", headers=scoped)
    assert gone.status_code == 403


# -- members -----------------------------------------------------------------------------------


async def test_last_owner_cannot_leave_or_be_demoted(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    async with database.unit_of_work() as session:
        owner = await factories.person(session, world.org, Role.OWNER)
    admin = world.as_(Actor.ADMIN)
    owner_id = str(owner.member.id)

    demote = await client.patch(
        f"{MEMBERS}/{owner_id}", json={"role": "admin"}, headers=owner.headers
    )
    assert demote.status_code == 409
    assert demote.json()["error"]["code"] == "last_owner"
    leave = await client.delete(f"{MEMBERS}/{owner_id}", headers=owner.headers)
    assert leave.status_code == 409
    assert leave.json()["error"]["code"] == "last_owner"
    # Admins may not touch owners, nor make one.
    assert (await client.delete(f"{MEMBERS}/{owner_id}", headers=admin)).status_code == 403
    admin_id = str(world.member_ids[Actor.ADMIN])
    promote = await client.patch(f"{MEMBERS}/{admin_id}", json={"role": "owner"}, headers=admin)
    assert promote.status_code == 403

    # With a second owner, the first may step down and then leave.
    promote = await client.patch(
        f"{MEMBERS}/{admin_id}", json={"role": "owner"}, headers=owner.headers
    )
    assert promote.status_code == 200, promote.text
    assert promote.json()["role"] == "owner"
    demote = await client.patch(f"{MEMBERS}/{owner_id}", json={"role": "member"}, headers=admin)
    assert demote.status_code == 200, demote.text
    assert (await client.delete(f"{MEMBERS}/{owner_id}", headers=owner.headers)).status_code == 204
    assert (await client.get(f"{ORGS}/me", headers=owner.headers)).status_code == 403
    # Now the admin-turned-owner is the last one.
    assert (await client.delete(f"{MEMBERS}/{admin_id}", headers=admin)).status_code == 409


async def test_grants_and_all_boards_flags_decide_what_a_member_sees(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    async with database.unit_of_work() as session:
        second = await factories.board(session, world.org, name="Second Board")
        foreign = await factories.board(session, world.other_org, name="Foreign")
    admin = world.as_(Actor.ADMIN)
    member = world.as_(Actor.MEMBER_NO_GRANT)
    member_id = world.member_ids[Actor.MEMBER_NO_GRANT]

    async def visible() -> set[str]:
        answer = await client.get("/api/v1/boards", headers=member)
        return {b["id"] for b in answer.json()["items"]}

    assert await visible() == set()
    granted = await client.put(
        f"{MEMBERS}/{member_id}/grants",
        json={"board_grants": [{"board_id": str(second.id), "can_write": True}]},
        headers=admin,
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["board_grants"] == [
        {"board_id": str(second.id), "can_read": True, "can_write": True}
    ]
    assert await visible() == {str(second.id)}
    patch = await client.patch(
        f"/api/v1/boards/{second.id}", json={"description": "mine now"}, headers=member
    )
    assert patch.status_code == 200, patch.text
    assert (await client.get(f"/api/v1/boards/{world.board.id}", headers=member)).status_code == 403

    flags = await client.patch(
        f"{MEMBERS}/{member_id}", json={"all_boards_read": True}, headers=admin
    )
    assert flags.json()["all_boards_read"] is True
    assert await visible() == {str(second.id), str(world.board.id)}
    read_only = await client.patch(
        f"/api/v1/boards/{world.board.id}", json={"description": "x"}, headers=member
    )
    assert read_only.status_code == 403

    # Replacing with an empty list and dropping the flag takes it all away again.
    await client.put(f"{MEMBERS}/{member_id}/grants", json={"board_grants": []}, headers=admin)
    await client.patch(f"{MEMBERS}/{member_id}", json={"all_boards_read": False}, headers=admin)
    assert await visible() == set()

    # Another organisation's board, a duplicate, an unknown member.
    foreign_grant = await client.put(
        f"{MEMBERS}/{member_id}/grants",
        json={"board_grants": [{"board_id": str(foreign.id)}]},
        headers=admin,
    )
    assert foreign_grant.status_code == 422
    assert foreign_grant.json()["error"]["details"][0]["field"] == "board_grants.0.board_id"
    twice = {"board_grants": [{"board_id": str(second.id)}, {"board_id": str(second.id)}]}
    twice_answer = await client.put(f"{MEMBERS}/{member_id}/grants", json=twice, headers=admin)
    assert twice_answer.status_code == 422
    unknown = await client.patch(f"{MEMBERS}/{uuid.uuid4()}", json={"role": "admin"}, headers=admin)
    assert unknown.status_code == 404
    bad_role = await client.patch(f"{MEMBERS}/{member_id}", json={"role": "god"}, headers=admin)
    assert bad_role.status_code == 422
