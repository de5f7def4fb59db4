"""Board CRUD: rule flags, governor policy validation, slugs, and access per member grant."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.core.db import Database
from mission_control.organizations.models import Role
from tests.support import factories

ALL_FLAGS = {
    "require_approval_for_done": False,
    "require_review_before_done": True,
    "comment_required_for_review": True,
    "block_status_changes_with_pending_approval": True,
    "only_lead_can_change_status": True,
    "max_agents": 4,
}


async def test_create_with_every_field(client: httpx.AsyncClient, operator: dict[str, str]) -> None:
    gateway = await client.post(
        "/api/v1/gateways",
        json={"name": "gw", "url": "wss://gw.example:443", "workspace_root": "/srv/oc"},
        headers=operator,
    )
    payload = {
        "name": "Launch Q4",
        "description": "Ship it",
        "gateway_id": gateway.json()["id"],
        "board_type": "general",
        "objective": "Launch the product",
        "success_metrics": {"signups": 1000},
        "target_date": "2026-12-31T00:00:00Z",
        "goal_confirmed": True,
        "heartbeat_policy": {
            "enabled": True,
            "active_every": "5m",
            "ladder": ["15m", "1h", "4h"],
            "lead_cap": "30m",
            "activity_trigger": "chat",
            "active_window_minutes": 30,
        },
        **ALL_FLAGS,
    }
    response = await client.post("/api/v1/boards", json=payload, headers=operator)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["slug"] == "launch-q4"
    for key, value in payload.items():
        if key == "target_date":
            assert body[key].startswith("2026-12-31T00:00:00")
        else:
            assert body[key] == value, key
    fetched = await client.get(f"/api/v1/boards/{body['id']}", headers=operator)
    assert fetched.json() == body


async def test_defaults(client: httpx.AsyncClient, operator: dict[str, str]) -> None:
    body = (await client.post("/api/v1/boards", json={"name": "Plain"}, headers=operator)).json()
    assert body["require_approval_for_done"] is True
    assert body["max_agents"] == 1
    assert body["board_type"] == "goal"
    assert body["heartbeat_policy"]["ladder"] == ["10m", "30m", "1h", "3h", "6h"]
    assert body["heartbeat_policy"]["lead_cap"] == "1h"


async def test_invalid_fields_are_422_naming_the_field(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    cases = {
        "max_agents": {"name": "B", "max_agents": -1},
        "board_type": {"name": "B", "board_type": "kanban"},
        "require_approval_for_done": {"name": "B", "require_approval_for_done": "maybe"},
        "heartbeat_policy.ladder": {"name": "B", "heartbeat_policy": {"ladder": ["1h", "10m"]}},
        "heartbeat_policy.lead_cap": {"name": "B", "heartbeat_policy": {"lead_cap": "soon"}},
        "target_date": {"name": "B", "target_date": "2026-12-31T00:00:00"},
        "unexpected": {"name": "B", "unexpected": 1},
        "name": {"name": "   "},
    }
    for field, payload in cases.items():
        response = await client.post("/api/v1/boards", json=payload, headers=operator)
        assert response.status_code == 422, (field, response.text)
        fields = [d["field"] for d in response.json()["error"]["details"]]
        assert any(f == field or f.startswith(field + ".") for f in fields), (field, fields)
    empty_ladder = await client.post(
        "/api/v1/boards", json={"name": "B", "heartbeat_policy": {"ladder": []}}, headers=operator
    )
    assert empty_ladder.status_code == 422


async def test_patch_rejects_null_for_required_fields(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    board_id = (await client.post("/api/v1/boards", json={"name": "B"}, headers=operator)).json()[
        "id"
    ]
    response = await client.patch(
        f"/api/v1/boards/{board_id}", json={"max_agents": None}, headers=operator
    )
    assert response.status_code == 422
    ok = await client.patch(
        f"/api/v1/boards/{board_id}", json={"objective": None, "max_agents": 0}, headers=operator
    )
    assert ok.status_code == 200
    assert ok.json()["max_agents"] == 0


async def test_duplicate_slug_is_409(client: httpx.AsyncClient, operator: dict[str, str]) -> None:
    assert (
        await client.post("/api/v1/boards", json={"name": "Ops"}, headers=operator)
    ).status_code == 201
    second = await client.post("/api/v1/boards", json={"name": "OPS!"}, headers=operator)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "board_slug_taken"
    other = (await client.post("/api/v1/boards", json={"name": "Dev"}, headers=operator)).json()
    renamed = await client.patch(
        f"/api/v1/boards/{other['id']}", json={"slug": "ops"}, headers=operator
    )
    assert renamed.status_code == 409


async def test_name_without_letters_needs_a_slug(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    response = await client.post("/api/v1/boards", json={"name": "!!!"}, headers=operator)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "slug"
    ok = await client.post("/api/v1/boards", json={"name": "!!!", "slug": "bang"}, headers=operator)
    assert ok.status_code == 201


async def test_gateway_of_another_organisation_is_rejected(
    client: httpx.AsyncClient, operator: dict[str, str], database: Database
) -> None:
    async with database.unit_of_work() as session:
        foreign = await factories.gateway(session, await factories.organization(session, "Other"))
    response = await client.post(
        "/api/v1/boards", json={"name": "B", "gateway_id": str(foreign.id)}, headers=operator
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "gateway_id"


async def test_access_by_grant(client: httpx.AsyncClient, database: Database) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        granted = await factories.board(session, org, name="Granted")
        hidden = await factories.board(session, org, name="Hidden")
        reader = await factories.person(session, org, grants={granted.id: (True, False)})
        writer = await factories.person(session, org, grants={granted.id: (True, True)})
        outsider = await factories.person(
            session, await factories.organization(session, "Else"), Role.OWNER
        )

    listed = await client.get("/api/v1/boards", headers=reader.headers)
    assert [b["name"] for b in listed.json()["items"]] == ["Granted"]
    assert (
        await client.get(f"/api/v1/boards/{granted.id}", headers=reader.headers)
    ).status_code == 200
    assert (
        await client.get(f"/api/v1/boards/{hidden.id}", headers=reader.headers)
    ).status_code == 403

    patch = {"objective": "new"}
    denied = await client.patch(f"/api/v1/boards/{granted.id}", json=patch, headers=reader.headers)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    allowed = await client.patch(f"/api/v1/boards/{granted.id}", json=patch, headers=writer.headers)
    assert allowed.status_code == 200
    # Writers may change a board but not create or delete boards.
    assert (
        await client.post("/api/v1/boards", json={"name": "N"}, headers=writer.headers)
    ).status_code == 403
    assert (
        await client.delete(f"/api/v1/boards/{granted.id}", headers=writer.headers)
    ).status_code == 403

    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method,
            f"/api/v1/boards/{granted.id}",
            headers=outsider.headers,
            json=patch if method == "PATCH" else None,
        )
        assert response.status_code == 404, method
    assert (await client.get("/api/v1/boards", headers=outsider.headers)).json()["total"] == 0


async def test_delete(
    client: httpx.AsyncClient, operator: dict[str, str], database: Database
) -> None:
    board_id = (
        await client.post("/api/v1/boards", json={"name": "Gone"}, headers=operator)
    ).json()["id"]
    assert (await client.delete(f"/api/v1/boards/{board_id}", headers=operator)).status_code == 204
    assert (await client.get(f"/api/v1/boards/{board_id}", headers=operator)).status_code == 404


async def test_delete_refuses_while_agents_remain(
    client: httpx.AsyncClient, database: Database
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        admin = await factories.person(session, org, Role.OWNER)
        gw = await factories.gateway(session, org)
        brd = await factories.board(session, org, gw)
        await factories.agent(session, gw, brd)
    response = await client.delete(f"/api/v1/boards/{brd.id}", headers=admin.headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "board_has_agents"


async def test_list_filters_by_gateway(client: httpx.AsyncClient, database: Database) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        admin = await factories.person(session, org, Role.ADMIN)
        gw = await factories.gateway(session, org)
        await factories.board(session, org, gw, name="On")
        await factories.board(session, org, None, name="Off")
    response = await client.get(
        f"/api/v1/boards?gateway_id={gw.id}&limit=10", headers=admin.headers
    )
    assert [b["name"] for b in response.json()["items"]] == ["On"]
    bad = await client.get("/api/v1/boards?limit=0", headers=admin.headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "limit"


async def test_a_rendered_change_refreshes_the_boards_agents_and_a_move_is_refused(
    client: httpx.AsyncClient, database: Database
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        admin = await factories.person(session, org, Role.OWNER)
        gw, other_gw = (
            await factories.gateway(session, org),
            await factories.gateway(session, org, "gw-2"),
        )
        brd, elsewhere = (
            await factories.board(session, org, gw),
            await factories.board(session, org, gw),
        )
        spare = await factories.board(session, org, gw)
        applied = []
        for target in (brd, brd, elsewhere):
            row, _ = await factories.agent(session, gw, target)
            row.generation = row.applied_generation = 3
            applied.append(row.id)
        row, _ = await factories.agent(session, gw, brd)  # never provisioned yet
        row.generation, row.applied_generation, row.provision_action = 1, 0, "provision"
        fresh = row.id

    async def state() -> dict[uuid.UUID, tuple[int, str | None]]:
        async with database.unit_of_work() as session:
            rows = await session.scalars(select(Agent))
            return {a.id: (a.generation, a.provision_action) for a in rows}

    url = f"/api/v1/boards/{brd.id}"
    response = await client.patch(
        url, json={"description": "not in any workspace"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    before = await state()
    assert before[applied[0]] == (3, None)

    response = await client.patch(
        url, json={"require_review_before_done": True}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    after = await state()
    assert after[applied[0]] == after[applied[1]] == (4, "update")
    assert after[applied[2]] == (3, None)  # another board's agent is not touched
    assert after[fresh] == (2, "provision")  # still its first provisioning (which wakes it)
    async with database.unit_of_work() as session:
        event = await session.scalar(
            select(ActivityEvent)
            .where(ActivityEvent.event_type == "board.updated")
            .order_by(ActivityEvent.created_at.desc(), ActivityEvent.id.desc())
            .limit(1)
        )
        assert event is not None
        assert event.details is not None
        assert event.details["agents_refreshing"] == 3
        assert "3 agent workspace(s) to refresh" in event.message

    moved = await client.patch(url, json={"gateway_id": str(other_gw.id)}, headers=admin.headers)
    assert moved.status_code == 409
    assert moved.json()["error"]["code"] == "board_has_agents"
    assert "delete them before moving it to another gateway" in moved.json()["error"]["message"]
    assert await state() == after  # the refused move changed nothing
    empty = await client.patch(
        f"/api/v1/boards/{spare.id}", json={"gateway_id": str(other_gw.id)}, headers=admin.headers
    )
    assert empty.status_code == 200, empty.text  # a board without agents moves freely
    assert empty.json()["gateway_id"] == str(other_gw.id)
