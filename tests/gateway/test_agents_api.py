"""The agents HTTP API against a real OpenClaw gateway, on both databases: create provisions and
wakes once, update reprovisions, conversion to gateway-main moves the gateway entry, delete
removes the agent, releases its tasks and asks the gateway-main agent to clean up; and the
authorization matrix of every agents route for the eight actors."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.dev import DevGateway
from mission_control.gateways.models import Gateway
from mission_control.provisioning.reconciler import Reconciler
from mission_control.tasks.models import Task
from tests.support import factories
from tests.support.actors import Actor, World, build_world
from tests.support.apps import app_runtime, asgi_client
from tests.support.dev_gateways import running_gateway

pytestmark = pytest.mark.gateway

API = "/api/v1/agents"


@pytest.fixture(scope="module")
def gateway(
    gateway_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    yield from running_gateway(gateway_install, tmp_path_factory.mktemp("openclaw-agents"))


@pytest.fixture
async def runtime(database: Database, tmp_path: Path) -> AsyncIterator[Runtime]:
    async with app_runtime(database, tmp_path, reconciler_enabled=False) as runtime:
        yield runtime


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(runtime) as http:
        yield http


@pytest.fixture
async def reconciler(runtime: Runtime) -> AsyncIterator[Reconciler]:
    """Driven by the test (the app's own is disabled): each round is one batch."""
    reconciler = Reconciler(runtime)
    yield reconciler
    await reconciler.wakes.close()


async def real_world(runtime: Runtime, gw: DevGateway) -> World:
    """The matrix world on the real gateway (a workspace root of its own per test)."""
    async with runtime.database.unit_of_work() as session:
        home = await factories.organization(session, "Gateway Home")
        row = Gateway(
            organization_id=home.id,  # build_world moves it into the matrix organisation
            name=f"edge-{uuid.uuid4().hex[:6]}",
            url=gw.url,
            token_ciphertext=runtime.secrets.encrypt(gw.token),
            workspace_root=str(gw.state_dir / f"ws-{uuid.uuid4().hex[:6]}"),
        )
        session.add(row)
        await session.flush()
        world = await build_world(session, gateway=row)
        board = await session.get(Board, world.board.id)
        assert board is not None
        board.max_agents = 10
    return world


async def gateway_client(runtime: Runtime, gateway_id: uuid.UUID) -> GatewayClient:
    async with runtime.database.unit_of_work() as session:
        row = await session.get(Gateway, gateway_id)
        assert row is not None
    return await runtime.gateway_pool.client(runtime.gateway_target(row))


async def _types(database: Database, agent_id: uuid.UUID) -> list[str]:
    async with database.unit_of_work() as session:
        rows = await session.scalars(
            select(ActivityEvent.event_type)
            .where(ActivityEvent.agent_id == agent_id)
            .order_by(ActivityEvent.id)
        )
        return list(rows)


async def _messages(client: GatewayClient, session_key: str, needle: str) -> list[str]:
    """User messages sent into a session containing ``needle``, one per send (idempotency
    key): recorded ones and those still queued (no model answers on this gateway)."""
    history = (await client.chat_history(session_key, limit=50)).raw
    sent: dict[str, str] = {}
    for message in history.get("messages", []):
        key = str(message.get("idempotencyKey") or message.get("timestamp"))
        if message.get("role") == "user":
            sent[key.removesuffix(":user")] = str(message.get("content"))
    for item in (history.get("pendingInputs") or {}).get("items") or []:
        sent[str(item.get("runId"))] = str((item.get("message") or {}).get("content"))
    return [text for text in sent.values() if needle in text]


async def _eventually(check: Any, timeout: float = 30.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.25)
    return False


async def test_create_update_convert_delete(
    client: httpx.AsyncClient, runtime: Runtime, gateway: DevGateway, reconciler: Reconciler
) -> None:
    w = await real_world(runtime, gateway)
    admin = w.as_(Actor.ADMIN)
    gw = await gateway_client(runtime, w.gateway.id)

    made = await client.post(
        API, json={"name": "Coder", "board_id": str(w.board.id)}, headers=admin
    )
    assert made.status_code == 201, made.text
    accepted = made.json()
    # Accepted at once (issue 19): the intent is committed, the reconciler applies it.
    assert accepted["provision_pending"] is True
    assert "reconciler applies this" in accepted["next_step"]
    assert "wakes the agent" in accepted["next_step"]
    agent_id = uuid.UUID(accepted["id"])
    gid = f"mc-{agent_id}"
    assert (await reconciler.run_once()).applied == [agent_id]
    body = (await client.get(f"{API}/{agent_id}", headers=admin)).json()
    assert body["provision_pending"] is False, body["last_provision_error"]
    assert body["next_step"] is None
    # Provisioned, not yet checked in (docs/agents.md#provisioned-is-not-online).
    assert body["status"] == "provisioning"
    assert body["openclaw_session_id"] == f"agent:{gid}:main"
    assert (await gw.agents_list()).get(gid) is not None
    assert await _types(runtime.database, agent_id) == [
        "agent.created",
        "agent.provision.direct",
        "agent.wakeup.sent",
    ]
    key = body["openclaw_session_id"]
    assert len(await _messages(gw, key, "has been provisioned")) == 1  # one wake per flow

    updated = await client.patch(
        f"{API}/{agent_id}",
        json={"name": "Coder Two", "heartbeat_config": {"every": "30m"}},
        headers=admin,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "Coder Two"
    assert updated.json()["provision_pending"] is True
    assert (await reconciler.run_once()).applied == [agent_id]
    assert (await client.get(f"{API}/{agent_id}", headers=admin)).json()[
        "provision_pending"
    ] is False
    entries = (await gw.config_get()).config["agents"]["entries"]
    assert entries[gid]["heartbeat"]["every"] == "30m"
    assert (await gw.agents_list()).get(gid).name == "Coder Two"  # type: ignore[union-attr]
    assert "agent.update.direct" in await _types(runtime.database, agent_id)

    # The world's main agent never reached this gateway; remove it, then convert Coder.
    assert (await client.delete(f"{API}/{w.main.id}", headers=admin)).status_code == 200
    assert (await reconciler.run_once()).deleted == [w.main.id]
    converted = await client.patch(
        f"{API}/{agent_id}", json={"is_gateway_main": True}, headers=admin
    )
    assert converted.status_code == 200, converted.text
    assert (await reconciler.run_once()).applied == [agent_id]
    assert converted.json()["is_gateway_main"] is True
    main_gid = f"mc-gateway-{w.gateway.id}"
    assert converted.json()["openclaw_session_id"] == f"agent:{main_gid}:main"
    assert (await gw.agents_list()).get(main_gid) is not None

    async def old_entry_gone() -> bool:
        return (await gw.agents_list()).get(gid) is None

    assert await _eventually(old_entry_gone)

    # Deleting a worker releases its tasks and asks the gateway-main agent to clean up.
    worker = await client.post(
        API, json={"name": "Short Lived", "board_id": str(w.board.id)}, headers=admin
    )
    assert worker.status_code == 201, worker.text
    worker_id = uuid.UUID(worker.json()["id"])
    assert (await reconciler.run_once()).applied == [worker_id]
    async with runtime.database.unit_of_work() as session:
        task = Task(
            board_id=w.board.id,
            title="Half done",
            status="in_progress",
            assigned_agent_id=worker_id,
            in_progress_at=utcnow(),
        )
        session.add(task)
        await session.flush()
        task_id = task.id
    deleted = await client.delete(f"{API}/{worker_id}", headers=admin)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"ok": True}
    marked = (await client.get(f"{API}/{worker_id}", headers=admin)).json()
    assert marked["status"] == "deleting"
    assert "Deletion queued" in marked["next_step"]
    assert (await reconciler.run_once()).deleted == [worker_id]

    async def worker_gone() -> bool:
        return (await gw.agents_list()).get(f"mc-{worker_id}") is None

    assert await _eventually(worker_gone)
    async with runtime.database.unit_of_work() as session:
        assert await session.get(Agent, worker_id) is None
        row = await session.get(Task, task_id)
        assert row is not None
        assert (row.status, row.assigned_agent_id, row.in_progress_at) == ("inbox", None, None)
        deleted_events = list(
            await session.scalars(
                select(ActivityEvent).where(ActivityEvent.event_type == "agent.delete.direct")
            )
        )
    assert [e.message for e in deleted_events if e.agent_id is None][-1] == (
        "Deleted agent Short Lived."
    )
    cleanup = await _messages(gw, f"agent:{main_gid}:main", "Cleanup request")
    assert len(cleanup) == 1
    assert str(worker_id) in cleanup[0]
    assert f"workspace-mc-{worker_id}" in cleanup[0]


# -- authorization matrix -----------------------------------------------------------------------

A = Actor
DENY_USERS_ON_AGENT_ROUTES = {
    A.ANONYMOUS: 401,
    A.OTHER_ORG_USER: 401,
    A.MEMBER_NO_GRANT: 401,
    A.MEMBER_READ: 401,
    A.ADMIN: 401,
}
# Operator-only routes do not read X-Agent-Token: an agent there has no operator credentials.
USER_ROUTE_AGENTS_DENIED = {A.BOARD_WORKER: 401, A.BOARD_LEAD: 401, A.GATEWAY_MAIN: 401}

# route name -> expected status per actor (200/201 means allowed and succeeding).
MATRIX: dict[str, dict[Actor, int]] = {
    "list": {
        A.ANONYMOUS: 401,
        A.OTHER_ORG_USER: 200,
        A.MEMBER_NO_GRANT: 200,
        A.MEMBER_READ: 200,
        A.ADMIN: 200,
        **USER_ROUTE_AGENTS_DENIED,
    },
    "create": {
        A.ANONYMOUS: 401,
        A.OTHER_ORG_USER: 404,
        A.MEMBER_NO_GRANT: 403,
        A.MEMBER_READ: 403,
        A.BOARD_WORKER: 403,
        A.GATEWAY_MAIN: 403,
        A.ADMIN: 201,
        A.BOARD_LEAD: 201,
    },
    "get": {
        A.ANONYMOUS: 401,
        A.OTHER_ORG_USER: 404,
        A.MEMBER_NO_GRANT: 403,
        A.MEMBER_READ: 200,
        A.ADMIN: 200,
        **USER_ROUTE_AGENTS_DENIED,
    },
    "update": {
        A.ANONYMOUS: 401,
        A.OTHER_ORG_USER: 404,
        A.MEMBER_NO_GRANT: 403,
        A.MEMBER_READ: 403,
        **USER_ROUTE_AGENTS_DENIED,
        A.ADMIN: 200,
    },
    "heartbeat": {
        A.ANONYMOUS: 401,
        A.OTHER_ORG_USER: 404,
        A.MEMBER_NO_GRANT: 403,
        A.MEMBER_READ: 403,
        A.BOARD_LEAD: 403,
        A.GATEWAY_MAIN: 403,
        A.ADMIN: 200,
        A.BOARD_WORKER: 200,
    },
    "heartbeat_or_create": {
        A.ANONYMOUS: 401,
        A.OTHER_ORG_USER: 404,
        A.MEMBER_NO_GRANT: 403,
        A.MEMBER_READ: 403,
        A.ADMIN: 200,
        A.BOARD_WORKER: 200,
        A.BOARD_LEAD: 200,
        A.GATEWAY_MAIN: 200,
    },
    "delete": {
        A.ANONYMOUS: 401,
        A.OTHER_ORG_USER: 200,  # idempotent "not found" (checked below: nothing deleted)
        A.MEMBER_NO_GRANT: 403,
        A.MEMBER_READ: 403,
        **USER_ROUTE_AGENTS_DENIED,
        A.ADMIN: 200,
    },
    "agent_list": {
        **DENY_USERS_ON_AGENT_ROUTES,
        A.BOARD_WORKER: 200,
        A.BOARD_LEAD: 200,
        A.GATEWAY_MAIN: 200,
    },
    "agent_create": {
        **DENY_USERS_ON_AGENT_ROUTES,
        A.BOARD_WORKER: 403,
        A.GATEWAY_MAIN: 403,
        A.BOARD_LEAD: 201,
    },
    "agent_delete": {
        **DENY_USERS_ON_AGENT_ROUTES,
        A.BOARD_WORKER: 403,
        A.GATEWAY_MAIN: 403,
        A.BOARD_LEAD: 200,
    },
}


WRITES_RETURNING_AGENT = {
    "create",
    "update",
    "heartbeat",
    "heartbeat_or_create",
    "agent_create",
    "get",
}


def _request(route: str, w: World, actor: Actor) -> tuple[str, str, dict[str, Any] | None]:
    worker = w.worker.id
    board = w.board.id
    name = f"New {actor.value}"
    return {
        "list": ("GET", API, None),
        "create": ("POST", API, {"name": name, "board_id": str(board)}),
        "get": ("GET", f"{API}/{worker}", None),
        "update": ("PATCH", f"{API}/{worker}", {"identity_profile": {"role": "Tester"}}),
        "heartbeat": ("POST", f"{API}/{worker}/heartbeat", {}),
        "heartbeat_or_create": (
            "POST",
            f"{API}/heartbeat",
            {"name": "Matrix Worker", "board_id": str(board)},
        ),
        "delete": ("DELETE", f"{API}/{worker}", None),
        "agent_list": ("GET", f"/api/v1/agent/boards/{board}/agents", None),
        "agent_create": ("POST", f"/api/v1/agent/boards/{board}/agents", {"name": name}),
        "agent_delete": ("DELETE", f"/api/v1/agent/boards/{board}/agents/{worker}", None),
    }[route]


@pytest.mark.parametrize("route", sorted(MATRIX))
async def test_authorization_matrix(
    route: str, client: httpx.AsyncClient, runtime: Runtime, gateway: DevGateway
) -> None:
    w = await real_world(runtime, gateway)
    expected = MATRIX[route]
    assert set(expected) == set(Actor)
    # Refusals first, so the allowed calls (which change things) run on an untouched world.
    order = sorted(Actor, key=lambda actor: expected[actor] < 300)
    for actor in order:
        method, path, body = _request(route, w, actor)
        answer = await client.request(method, path, json=body, headers=w.as_(actor))
        assert answer.status_code == expected[actor], (route, actor, answer.text)
        if answer.status_code >= 400:
            error = answer.json()["error"]
            assert error["code"], (route, actor)
            assert error["message"], (route, actor)
        if route == "delete" and actor is A.OTHER_ORG_USER:
            async with runtime.database.unit_of_work() as session:
                assert await session.get(Agent, w.worker.id) is not None
        if answer.status_code in (200, 201) and route in WRITES_RETURNING_AGENT:
            assert answer.json()["id"], (route, actor)
    if route in ("list", "agent_list"):
        admin_view = await client.get(API, headers=w.as_(A.ADMIN))
        assert admin_view.json()["total"] == 3


async def test_stream_authorization(
    runtime: Runtime, client: httpx.AsyncClient, database: Database
) -> None:
    """The stream's refusals happen before streaming starts (no gateway involved)."""
    async with database.unit_of_work() as session:
        w = await build_world(session)
    for actor, status in (
        (A.ANONYMOUS, 401),
        (A.BOARD_WORKER, 401),
        (A.BOARD_LEAD, 401),
        (A.GATEWAY_MAIN, 401),
    ):
        answer = await client.get(f"{API}/stream", headers=w.as_(actor))
        assert answer.status_code == status, actor
    for actor, status in ((A.MEMBER_NO_GRANT, 403), (A.OTHER_ORG_USER, 404)):
        answer = await client.get(
            f"{API}/stream", params={"board_id": str(w.board.id)}, headers=w.as_(actor)
        )
        assert answer.status_code == status, actor
