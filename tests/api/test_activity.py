"""Activity list: filters and pagination, users see their readable boards (admins also
organisation-level events), agents their own board; and every agent-facing operation carries
the agent-kind tags in the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

import httpx

from mission_control.activity import service as activity
from mission_control.core.api import AGENT_KINDS
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.organizations.models import Role
from tests.support import factories


async def test_users_see_events_of_readable_boards(
    client: httpx.AsyncClient, database: Database
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        granted = await factories.board(session, org, gw, name="Granted")
        hidden = await factories.board(session, org, gw, name="Hidden")
        agent, _ = await factories.agent(session, gw, granted, name="Worker")
        owner = await factories.person(session, org, Role.OWNER)
        member = await factories.person(session, org, grants={granted.id: (True, False)})
        elsewhere = await factories.organization(session, "Elsewhere")
        for event_type, board_id, org_id in (
            ("task.created", granted.id, org.id),
            ("task.updated", granted.id, org.id),
            ("notification.failed", granted.id, org.id),
            ("task.created", hidden.id, org.id),
            ("gateway.updated", None, org.id),
            ("task.created", None, elsewhere.id),
        ):
            activity.record(
                session,
                event_type,
                f"{event_type} happened",
                organization_id=org_id,
                board_id=board_id,
                agent_id=agent.id if event_type == "notification.failed" else None,
            )

    async def types(headers: dict[str, str], **params: str) -> list[str]:
        response = await client.get("/api/v1/activity", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [item["event_type"] for item in response.json()["items"]]

    assert await types(member.headers) == ["notification.failed", "task.updated", "task.created"]
    assert await types(owner.headers) == [
        "gateway.updated",
        "task.created",
        "notification.failed",
        "task.updated",
        "task.created",
    ]
    assert await types(owner.headers, board_id=str(hidden.id)) == ["task.created"]
    assert await types(owner.headers, event_type="task.") == [
        "task.created",
        "task.updated",
        "task.created",
    ]
    assert await types(owner.headers, event_type="task.created") == ["task.created"] * 2
    assert await types(owner.headers, agent_id=str(agent.id)) == ["notification.failed"]
    future = (utcnow() + timedelta(hours=1)).isoformat()
    assert await types(owner.headers, since=future) == []

    page = await client.get(
        "/api/v1/activity", params={"limit": 2, "offset": 1}, headers=owner.headers
    )
    assert page.json()["total"] == 5
    assert [item["event_type"] for item in page.json()["items"]] == [
        "task.created",
        "notification.failed",
    ]
    denied = await client.get(
        "/api/v1/activity", params={"board_id": str(hidden.id)}, headers=member.headers
    )
    assert denied.status_code == 403
    bad = await client.get("/api/v1/activity", params={"limit": 0}, headers=owner.headers)
    assert bad.status_code == 422


async def test_agents_see_their_own_board(client: httpx.AsyncClient, database: Database) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        own = await factories.board(session, org, gw, name="Own")
        other = await factories.board(session, org, gw, name="Other")
        _, token = await factories.agent(session, gw, own)
        for board in (own, other):
            activity.record(
                session, "task.created", board.name, organization_id=org.id, board_id=board.id
            )
        activity.record(session, "gateway.updated", "org level", organization_id=org.id)
    headers = {"X-Agent-Token": token}
    response = await client.get("/api/v1/agent/activity", headers=headers)
    assert response.status_code == 200, response.text
    assert [item["message"] for item in response.json()["items"]] == ["Own"]
    denied = await client.get(
        "/api/v1/agent/activity", params={"board_id": str(other.id)}, headers=headers
    )
    assert denied.status_code == 403


async def test_every_agent_operation_names_the_agent_kinds_that_may_call_it(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    agent_operations = {
        f"{method.upper()} {path}": operation.get("tags", [])
        for path, methods in document["paths"].items()
        if path.startswith("/api/v1/agent/")
        for method, operation in methods.items()
    }
    assert "GET /api/v1/agent/boards/{board_id}/memory" in agent_operations
    assert "GET /api/v1/agent/boards/{board_id}/stream" in agent_operations
    for name, tags in agent_operations.items():
        kinds = [tag for tag in tags if tag in AGENT_KINDS]
        assert kinds, f"{name} has no agent-kind tag"
    user_operations = [
        operation.get("tags", [])
        for path, methods in document["paths"].items()
        if not path.startswith("/api/v1/agent/")
        for operation in methods.values()
    ]
    assert all(not set(tags) & set(AGENT_KINDS) for tags in user_operations)
