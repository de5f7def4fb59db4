"""Gateway admin, sessions and coordination when the gateway is down or the input is bad: a 502
that says what to check, a 422 naming the field, never a 500."""

from __future__ import annotations

import socket
import uuid

import httpx
import pytest
from sqlalchemy import select, update

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.coordination.service import soul_template_of
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.gateways import status as gateway_status
from mission_control.gateways.models import Gateway
from mission_control.provisioning.templates import render_override
from tests.support.actors import Actor, World, build_world


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
async def down_world(database: Database, runtime: Runtime) -> World:
    runtime.settings = runtime.settings.model_copy(update={"coordination_retry_seconds": 1.0})
    async with database.unit_of_work() as session:
        world = await build_world(session)
        gateway = await session.get(Gateway, world.gateway.id)
        assert gateway is not None
        gateway.url = f"ws://127.0.0.1:{_closed_port()}"
        world.gateway = gateway
        await session.execute(update(Agent).values(generation=1, applied_generation=1))
    return world


async def test_sessions_of_a_down_gateway_are_502_with_what_to_check(
    client: httpx.AsyncClient, down_world: World
) -> None:
    board = f"board_id={down_world.board.id}"
    response = await client.get(
        f"/api/v1/gateways/sessions?{board}", headers=down_world.as_(Actor.ADMIN)
    )
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "gateway_unreachable"
    assert error["message"].startswith("Gateway session list failed: cannot connect")
    # The gateway's words end as a sentence before the hint (it read "refused Check that...").
    assert ". Check that the gateway is running" in error["message"], error["message"]
    sent = await client.post(
        f"/api/v1/gateways/sessions/agent:x:main/message?{board}",
        json={"content": "hi"},
        headers=down_world.as_(Actor.ADMIN),
    )
    assert sent.status_code == 404  # not a session of this board's agents


async def test_status_of_a_down_gateway_is_200_not_connected(
    client: httpx.AsyncClient, down_world: World
) -> None:
    response = await client.get(
        f"/api/v1/gateways/{down_world.gateway.id}/status", headers=down_world.as_(Actor.ADMIN)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["connected"] is False
    assert body["error"]["code"] == "gateway_unreachable"
    assert body["pairing"]["state"] == "unknown"


async def test_coordination_to_a_down_gateway_is_502_and_recorded(
    client: httpx.AsyncClient, down_world: World, database: Database
) -> None:
    world = down_world
    response = await client.post(
        f"/api/v1/agent/boards/{world.board.id}/agents/{world.worker.id}/nudge",
        json={"message": "wake up"},
        headers=world.as_(Actor.BOARD_LEAD),
    )
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["message"].startswith("Gateway nudge failed: Gateway unreachable after 1 seconds")
    soul = await client.put(
        f"/api/v1/agent/boards/{world.board.id}/agents/{world.worker.id}/soul",
        json={"content": "# New soul"},
        headers=world.as_(Actor.BOARD_LEAD),
    )
    assert soul.status_code == 502
    assert soul.json()["error"]["message"].startswith("Gateway SOUL update failed:")
    broadcast = await client.post(
        "/api/v1/agent/gateway/leads/broadcast",
        json={"content": "status?"},
        headers=world.as_(Actor.GATEWAY_MAIN),
    )
    assert broadcast.status_code == 200
    assert broadcast.json()["sent"] == 0
    assert broadcast.json()["failed"] == 1
    assert broadcast.json()["results"][0]["error"].startswith(
        "Gateway lead broadcast dispatch failed:"
    )
    async with database.unit_of_work() as session:
        types = set(await session.scalars(select(ActivityEvent.event_type)))
        worker = await session.get(Agent, world.worker.id)
    assert {"agent.nudge.failed", "agent.soul.update_failed"} <= types
    assert "gateway.main.lead_broadcast.sent" in types
    assert worker is not None
    assert worker.soul_template is None  # gateway first: a failed write changes nothing


async def test_create_with_unreachable_gateway_stores_it_and_says_so(
    client: httpx.AsyncClient, operator: dict[str, str], database: Database
) -> None:
    response = await client.post(
        "/api/v1/gateways",
        json={
            "name": "edge-down",
            "url": f"ws://127.0.0.1:{_closed_port()}",
            "token": "secret-token-1",
            "workspace_root": "/srv/oc",
        },
        headers=operator,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"]["connected"] is False
    assert body["status"]["error"]["code"] == "gateway_unreachable"
    assert body["main_agent"]["provisioned"] is False
    assert "secret-token-1" not in response.text
    async with database.unit_of_work() as session:
        main = await session.scalar(select(Agent).where(Agent.board_id.is_(None)))
    assert main is not None
    assert main.name == "edge-down Gateway Agent"
    assert main.generation > main.applied_generation  # queued for the reconciler


async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient, down_world: World
) -> None:
    world = down_world
    lead = world.as_(Actor.BOARD_LEAD)
    nudge = await client.post(
        f"/api/v1/agent/boards/{world.board.id}/agents/{world.worker.id}/nudge",
        json={"message": "   "},
        headers=lead,
    )
    assert nudge.status_code == 422
    assert [d["field"] for d in nudge.json()["error"]["details"]] == ["message"]
    kind = await client.post(
        f"/api/v1/agent/gateway/boards/{world.board.id}/lead/message",
        json={"content": "x", "kind": "gossip"},
        headers=world.as_(Actor.GATEWAY_MAIN),
    )
    assert kind.status_code == 422
    assert [d["field"] for d in kind.json()["error"]["details"]] == ["kind"]
    no_scope = await client.get("/api/v1/gateways/sessions", headers=world.as_(Actor.ADMIN))
    assert no_scope.status_code == 422
    assert no_scope.json()["error"]["code"] == "gateway_scope_required"
    missing = await client.get(
        f"/api/v1/agent/boards/{world.board.id}/agents/{uuid.uuid4()}/soul", headers=lead
    )
    assert missing.status_code == 404


async def test_unprovisioned_target_is_409_not_an_orphan_session(
    client: httpx.AsyncClient, down_world: World, database: Database
) -> None:
    async with database.unit_of_work() as session:
        await session.execute(
            update(Agent).where(Agent.id == down_world.worker.id).values(applied_generation=0)
        )
    response = await client.post(
        f"/api/v1/agent/boards/{down_world.board.id}/agents/{down_world.worker.id}/nudge",
        json={"message": "hello"},
        headers=down_world.as_(Actor.BOARD_LEAD),
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "agent_not_provisioned"


async def test_probe_is_rate_limited_per_user(client: httpx.AsyncClient, down_world: World) -> None:
    gateway_status.PROBE_LIMITS._buckets.clear()
    url = f"ws://127.0.0.1:{_closed_port()}"
    statuses = []
    for _ in range(6):
        answer = await client.post(
            "/api/v1/gateways/probe", json={"url": url}, headers=down_world.as_(Actor.ADMIN)
        )
        statuses.append(answer.status_code)
    assert statuses == [200] * 5 + [429]
    assert int(answer.headers["Retry-After"]) >= 1
    member = await client.post(
        "/api/v1/gateways/probe", json={"url": url}, headers=down_world.as_(Actor.MEMBER_READ)
    )
    assert member.status_code == 403


def test_soul_content_renders_to_itself() -> None:
    contents = (
        "# Soul\nPlain.",
        "Use {{ braces }} and {% tags %} literally.",
        # An agent's SOUL must never be code: not even when it closes a raw block itself.
        "{% endraw %}{{ cycler.__init__.__globals__.os.getpid() }}",
        "{%- raw -%}{# x #}{{ '{' }}}}",
    )
    for content in contents:
        assert render_override(soul_template_of(content), {}) == content
