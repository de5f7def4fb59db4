"""Agent-facing API: token lookup, who-am-I, check-in heartbeat, last_seen throttling."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from tests.support import factories


async def _setup(database: Database, *, lead: bool = False) -> tuple[Agent, str]:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        brd = await factories.board(session, org, gw, name="Ops")
        return await factories.agent(session, gw, brd, name="Coder", lead=lead)


async def test_healthz_accepts_both_headers(client: httpx.AsyncClient, database: Database) -> None:
    agent, token = await _setup(database)
    for headers in ({"X-Agent-Token": token}, {"Authorization": f"Bearer {token}"}):
        response = await client.get("/api/v1/agent/healthz", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["agent"]["id"] == str(agent.id)
        assert body["agent"]["kind"] == "board_worker"
        assert body["board"]["name"] == "Ops"
        assert body["gateway"]["name"] == "gw-1"


async def test_kinds(client: httpx.AsyncClient, database: Database) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        brd = await factories.board(session, org, gw)
        _, lead_token = await factories.agent(session, gw, brd, lead=True)
        _, main_token = await factories.agent(session, gw)
    lead = await client.get("/api/v1/agent/healthz", headers={"X-Agent-Token": lead_token})
    main = await client.get("/api/v1/agent/healthz", headers={"X-Agent-Token": main_token})
    assert lead.json()["agent"]["kind"] == "board_lead"
    assert main.json()["agent"]["kind"] == "gateway_main"
    assert main.json()["board"] is None


async def test_bad_tokens_are_401(client: httpx.AsyncClient, database: Database) -> None:
    _, token = await _setup(database)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for headers in (
        {},
        {"X-Agent-Token": tampered},
        {"X-Agent-Token": "mca_0000000000000000_nothing"},
        {"X-Agent-Token": "not-a-token"},
    ):
        response = await client.get("/api/v1/agent/healthz", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_rotated_token_stops_working(client: httpx.AsyncClient, database: Database) -> None:
    from mission_control.core.security import mint_token

    agent, token = await _setup(database)
    assert (
        await client.get("/api/v1/agent/healthz", headers={"X-Agent-Token": token})
    ).status_code == 200
    async with database.unit_of_work() as session:
        row = await session.get(Agent, agent.id)
        assert row is not None
        fresh = mint_token()
        row.token_id, row.agent_token_hash = fresh.token_id, fresh.hash
    assert (
        await client.get("/api/v1/agent/healthz", headers={"X-Agent-Token": token})
    ).status_code == 401
    assert (
        await client.get("/api/v1/agent/healthz", headers={"X-Agent-Token": fresh.raw})
    ).status_code == 200


async def test_heartbeat_marks_online_and_records_event(
    client: httpx.AsyncClient, database: Database
) -> None:
    agent, token = await _setup(database)
    response = await client.post("/api/v1/agent/heartbeat", headers={"X-Agent-Token": token})
    assert response.status_code == 200
    assert response.json()["agent"]["status"] == "online"
    async with database.unit_of_work() as session:
        row = await session.get(Agent, agent.id)
        events = list(await session.scalars(select(ActivityEvent)))
    assert row is not None
    assert row.status == "online"
    assert row.last_seen_at is not None
    assert [(e.event_type, e.agent_id, e.message) for e in events] == [
        ("agent.heartbeat", agent.id, "Heartbeat received from Coder.")
    ]


async def test_heartbeat_status_rules(client: httpx.AsyncClient, database: Database) -> None:
    _, token = await _setup(database)
    headers = {"X-Agent-Token": token}
    busy = await client.post("/api/v1/agent/heartbeat", json={"status": "Busy"}, headers=headers)
    assert busy.json()["agent"]["status"] == "busy"
    reserved = await client.post(
        "/api/v1/agent/heartbeat", json={"status": "deleting"}, headers=headers
    )
    assert reserved.status_code == 422
    assert reserved.json()["error"]["details"][0]["field"] == "status"
    unknown = await client.post("/api/v1/agent/heartbeat", json={"mood": "good"}, headers=headers)
    assert unknown.status_code == 422


async def test_last_seen_is_written_at_most_every_30_seconds(
    client: httpx.AsyncClient, database: Database
) -> None:
    agent, token = await _setup(database)
    recent = utcnow() - timedelta(seconds=10)
    stale = utcnow() - timedelta(seconds=40)

    async def set_seen(value: object) -> None:
        async with database.unit_of_work() as session:
            row = await session.get(Agent, agent.id)
            assert row is not None
            row.last_seen_at = value  # type: ignore[assignment]

    async def seen() -> object:
        async with database.unit_of_work() as session:
            row = await session.get(Agent, agent.id)
            assert row is not None
            return row.last_seen_at

    await set_seen(recent)
    await client.get("/api/v1/agent/healthz", headers={"X-Agent-Token": token})
    assert await seen() == recent
    await set_seen(stale)
    await client.get("/api/v1/agent/healthz", headers={"X-Agent-Token": token})
    assert await seen() > stale + timedelta(seconds=30)  # type: ignore[operator]


async def test_operator_token_is_not_an_agent_token(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    response = await client.get("/api/v1/agent/healthz", headers=operator)
    assert response.status_code == 401


async def test_check_in_keeps_a_pending_update_or_delete(
    client: httpx.AsyncClient, database: Database
) -> None:
    """Stored updating/deleting stay while the update is pending or the deletion is requested;
    once the flow is done, a check-in sets the status again
    (docs/agents.md#updating-and-deleting-hold)."""
    agent, token = await _setup(database)
    headers = {"X-Agent-Token": token}

    async def store(**values: object) -> None:
        async with database.unit_of_work() as session:
            row = await session.get(Agent, agent.id)
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)

    await store(status="updating", generation=2, applied_generation=1)
    response = await client.post("/api/v1/agent/heartbeat", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["agent"]["status"] == "updating"
    busy = await client.post("/api/v1/agent/heartbeat", json={"status": "busy"}, headers=headers)
    assert busy.json()["agent"]["status"] == "updating"

    await store(status="deleting", delete_requested_at=utcnow())
    response = await client.post("/api/v1/agent/heartbeat", headers=headers)
    assert response.json()["agent"]["status"] == "deleting"
    async with database.unit_of_work() as session:
        row = await session.get(Agent, agent.id)
        assert row is not None
        assert row.status == "deleting"
        assert row.last_seen_at is not None  # the check-in itself still counts

    # The update was applied and no deletion is pending: the check-in sets online again.
    await store(status="updating", applied_generation=2, delete_requested_at=None)
    response = await client.post("/api/v1/agent/heartbeat", headers=headers)
    assert response.json()["agent"]["status"] == "online"
