"""GET/PATCH /api/v1/boards/{board_id}/heartbeat-policy: merge, validation, access."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.core.db import Database
from tests.support.actors import Actor, World, build_world

DEFAULT_POLICY = {
    "enabled": True,
    "active_every": "5m",
    "ladder": ["10m", "30m", "1h", "3h", "6h"],
    "lead_cap": "1h",
    "activity_trigger": "chat_or_tasks",
    "active_window_minutes": 60,
}


@pytest.fixture
async def world(database: Database) -> World:
    async with database.unit_of_work() as session:
        return await build_world(session)


def _url(world: World) -> str:
    return f"/api/v1/boards/{world.board.id}/heartbeat-policy"


async def test_get_then_patch_merges_and_is_recorded(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    admin = world.as_(Actor.ADMIN)
    assert (await client.get(_url(world), headers=admin)).json() == DEFAULT_POLICY
    change = {"lead_cap": "30m", "ladder": ["15m", "2h"], "activity_trigger": "chat"}
    response = await client.patch(_url(world), json=change, headers=admin)
    assert response.status_code == 200, response.text
    expected = {**DEFAULT_POLICY, **change}
    assert response.json() == expected
    assert (await client.get(_url(world), headers=admin)).json() == expected
    board = await client.get(f"/api/v1/boards/{world.board.id}", headers=admin)
    assert board.json()["heartbeat_policy"] == expected
    async with database.unit_of_work() as session:
        event = await session.scalar(
            select(ActivityEvent).where(
                ActivityEvent.event_type == "board.heartbeat_policy.updated"
            )
        )
    assert event is not None
    assert event.details is not None
    assert event.details["fields"] == ["activity_trigger", "ladder", "lead_cap"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ladder": []}, "ladder"),
        ({"ladder": ["1h", "10m"]}, "ladder"),
        ({"ladder": ["10m", "10m"]}, "ladder"),
        ({"ladder": ["10m", "1 hour"]}, "ladder.1"),
        ({"ladder": None}, ""),
        ({"active_every": "5 minutes"}, "active_every"),
        ({"lead_cap": "1w"}, "lead_cap"),
        ({"lead_cap": "-1h"}, "lead_cap"),
        ({"activity_trigger": "always"}, "activity_trigger"),
        ({"active_window_minutes": 0}, "active_window_minutes"),
        ({"tick": "5m"}, "tick"),
    ],
)
async def test_invalid_policies_are_422_and_change_nothing(
    client: httpx.AsyncClient, world: World, body: dict[str, object], field: str
) -> None:
    admin = world.as_(Actor.ADMIN)
    response = await client.patch(_url(world), json=body, headers=admin)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert any(detail["field"].startswith(field) for detail in error["details"]), error
    assert (await client.get(_url(world), headers=admin)).json() == DEFAULT_POLICY


OUT_OF_RANGE = [
    ({"lead_cap": "0m"}, "lead_cap"),  # would switch the lead off (issue 7)
    ({"active_every": "0s"}, "active_every"),  # would switch active agents off
    ({"ladder": ["0m", "10m"]}, "ladder.0"),
    ({"ladder": ["10m", "1000000000d"]}, "ladder.1"),  # overflowed the agent list
    ({"lead_cap": "31d"}, "lead_cap"),
    ({"active_every": "2592001s"}, "active_every"),
    ({"lead_cap": "99999999999999999999d"}, "lead_cap"),
    ({"active_every": "9" * 5000 + "s"}, "active_every"),
]


@pytest.mark.parametrize(("body", "field"), OUT_OF_RANGE)
async def test_durations_must_be_above_zero_and_at_most_30d(
    client: httpx.AsyncClient, world: World, body: dict[str, object], field: str
) -> None:
    admin = world.as_(Actor.ADMIN)
    response = await client.patch(_url(world), json=body, headers=admin)
    assert response.status_code == 422, response.text
    details = response.json()["error"]["details"]
    assert [d["field"] for d in details] == [field]
    assert "more than 0 and at most 30d" in details[0]["message"]
    assert (await client.get(_url(world), headers=admin)).json() == DEFAULT_POLICY

    # The same bounds on board create and update with a whole heartbeat_policy.
    policy = {**DEFAULT_POLICY, **body}
    created = await client.post(
        "/api/v1/boards", json={"name": "Bounds", "heartbeat_policy": policy}, headers=admin
    )
    assert created.status_code == 422, created.text
    assert [d["field"] for d in created.json()["error"]["details"]] == [f"heartbeat_policy.{field}"]
    updated = await client.patch(
        f"/api/v1/boards/{world.board.id}", json={"heartbeat_policy": policy}, headers=admin
    )
    assert updated.status_code == 422, updated.text
    assert [d["field"] for d in updated.json()["error"]["details"]] == [f"heartbeat_policy.{field}"]
    assert (await client.get(_url(world), headers=admin)).json() == DEFAULT_POLICY


async def test_the_bounds_themselves_are_accepted(client: httpx.AsyncClient, world: World) -> None:
    admin = world.as_(Actor.ADMIN)
    change = {"active_every": "1s", "ladder": ["2s", "30d"], "lead_cap": "720h"}
    response = await client.patch(_url(world), json=change, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json() == {**DEFAULT_POLICY, **change}
    agents = await client.get(
        "/api/v1/agents", params={"board_id": str(world.board.id)}, headers=admin
    )
    assert agents.status_code == 200, agents.text


@pytest.mark.parametrize(
    ("actor", "read", "write"),
    [
        (Actor.ANONYMOUS, 401, 401),
        (Actor.OTHER_ORG_USER, 404, 404),
        (Actor.MEMBER_NO_GRANT, 403, 403),
        (Actor.MEMBER_READ, 200, 403),
        (Actor.ADMIN, 200, 200),
        (Actor.BOARD_LEAD, 401, 401),
    ],
)
async def test_read_access_to_get_and_write_access_to_patch(
    client: httpx.AsyncClient, world: World, actor: Actor, read: int, write: int
) -> None:
    headers = world.as_(actor)
    assert (await client.get(_url(world), headers=headers)).status_code == read
    patched = await client.patch(_url(world), json={"lead_cap": "2h"}, headers=headers)
    assert patched.status_code == write, patched.text
