"""Authorization matrix of the gateway admin, sessions and coordination routes: every route x the
eight actors, against a real OpenClaw gateway. Allowed actors succeed; the others get the status
written next to them."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.dev import DevGateway
from mission_control.gateway.errors import GatewayAlreadyExists
from mission_control.gateways.models import Gateway
from mission_control.gateways.schemas import GatewaySessionRead
from mission_control.organizations.models import Organization, Role
from mission_control.provisioning.context import agent_ref
from mission_control.provisioning.identities import (
    gateway_agent_id,
    gateway_main_agent_id,
    gateway_main_session_key,
)
from mission_control.provisioning.reconciler import Reconciler
from tests.support import factories
from tests.support.actors import Actor, World, build_world
from tests.support.apps import app_runtime, asgi_client
from tests.support.dev_gateways import running_gateway

pytestmark = pytest.mark.gateway

# One gateway id for every world, so the gateway-main agent is registered on the real gateway
# once per module rather than once per test.
GATEWAY_ID = uuid.UUID("5c2f0d4e-7a41-4d0b-9a51-3f2b8c1d0e77")
MAIN_KEY = gateway_main_session_key(GATEWAY_ID)


@pytest.fixture(scope="module")
def real_gateway(
    gateway_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    yield from running_gateway(gateway_install, tmp_path_factory.mktemp("openclaw-matrix"))


@pytest.fixture
async def runtime(database: Database, tmp_path: Path) -> AsyncIterator[Runtime]:
    async with app_runtime(database, tmp_path, coordination_retry_seconds=5.0) as runtime:
        yield runtime


@pytest.fixture
async def http(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(runtime) as client:
        yield client


async def register_on_gateway(client: GatewayClient, gw: DevGateway, agent_id: str) -> None:
    """The agent exists on the real gateway (created directly, so its token stays as is)."""
    with contextlib.suppress(GatewayAlreadyExists):
        await client.agents_create(agent_id, workspace=str(gw.state_dir / f"ws-{agent_id}"))
    for _ in range(150):
        if (await client.agents_list()).get(agent_id) is not None:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{agent_id} never appeared on the gateway")


@dataclass
class Setup:
    world: World
    client: GatewayClient


async def make_world(runtime: Runtime, gw: DevGateway, needs: tuple[str, ...] = ()) -> Setup:
    async with runtime.database.unit_of_work() as session:
        holder = await factories.organization(session, "Holder")
        row = Gateway(
            id=GATEWAY_ID,
            organization_id=holder.id,
            name="matrix-gw",
            url=gw.url,
            token_ciphertext=runtime.secrets.encrypt(gw.token),
            workspace_root=str(gw.state_dir / "workspaces"),
        )
        session.add(row)
        await session.flush()
        world = await build_world(session, gateway=row)
        # The world's agents count as provisioned (their gateway agents are made below).
        await session.execute(update(Agent).values(generation=1, applied_generation=1))
    client = await runtime.gateway_pool.client(runtime.gateway_target(world.gateway))
    wanted = {"main": world.main, "worker": world.worker, "lead": world.lead}
    await register_on_gateway(client, gw, gateway_main_agent_id(GATEWAY_ID))
    await client.sessions_patch(MAIN_KEY, label="Gateway Agent")
    for name in needs:
        gid = gateway_agent_id(agent_ref(wanted[name]))
        await register_on_gateway(client, gw, gid)
        if name == "worker":
            await client.files_set(gid, "SOUL.md", "# Soul\nSteady and kind.")
    return Setup(world=world, client=client)


OK = 200
USER_DENIED = {
    Actor.ANONYMOUS: 401,
    Actor.OTHER_ORG_USER: 404,
    Actor.MEMBER_NO_GRANT: 403,
    Actor.MEMBER_READ: 403,
    # Agents authenticate with X-Agent-Token, which operator routes do not accept.
    Actor.BOARD_WORKER: 401,
    Actor.BOARD_LEAD: 401,
    Actor.GATEWAY_MAIN: 401,
}
AGENT_DENIED = {
    Actor.ANONYMOUS: 401,
    Actor.OTHER_ORG_USER: 401,
    Actor.MEMBER_NO_GRANT: 401,
    Actor.MEMBER_READ: 401,
    Actor.ADMIN: 401,
    Actor.BOARD_WORKER: 403,
    Actor.BOARD_LEAD: 403,
    Actor.GATEWAY_MAIN: 403,
}

RequestFor = Callable[[World], tuple[str, str, dict[str, Any] | None]]


@dataclass(frozen=True)
class Route:
    name: str
    request: RequestFor
    expected: dict[Actor, int]
    needs: tuple[str, ...] = ()


def _board(world: World) -> str:
    return f"board_id={world.board.id}"


ROUTES = [
    Route(
        "gateway status",
        lambda w: ("GET", f"/api/v1/gateways/{w.gateway.id}/status", None),
        {**USER_DENIED, Actor.ADMIN: OK},
    ),
    Route(
        "gateway status by board",
        lambda w: ("GET", f"/api/v1/gateways/status?{_board(w)}", None),
        {**USER_DENIED, Actor.ADMIN: OK},
    ),
    Route(
        "probe",
        lambda w: (
            "POST",
            "/api/v1/gateways/probe",
            {"url": w.gateway.url, "token": "wrong-token"},
        ),
        # Probing is an org-admin power not tied to a resource: any org's admin may probe.
        {**USER_DENIED, Actor.OTHER_ORG_USER: OK, Actor.ADMIN: OK},
    ),
    Route(
        "list gateways",
        lambda w: ("GET", "/api/v1/gateways", None),
        {**USER_DENIED, Actor.OTHER_ORG_USER: OK, Actor.ADMIN: OK},
    ),
    Route(
        "get gateway",
        lambda w: ("GET", f"/api/v1/gateways/{w.gateway.id}", None),
        {**USER_DENIED, Actor.ADMIN: OK},
    ),
    Route(
        "update gateway",
        lambda w: ("PATCH", f"/api/v1/gateways/{w.gateway.id}", {"name": "renamed-gw"}),
        {**USER_DENIED, Actor.ADMIN: OK},
    ),
    Route(
        "template sync",
        lambda w: ("POST", f"/api/v1/gateways/{w.gateway.id}/templates/sync", None),
        {**USER_DENIED, Actor.ADMIN: OK},
    ),
    Route(
        "list sessions",
        lambda w: ("GET", f"/api/v1/gateways/sessions?{_board(w)}", None),
        {**USER_DENIED, Actor.ADMIN: OK},
    ),
    Route(
        "get session",
        lambda w: ("GET", f"/api/v1/gateways/sessions/{MAIN_KEY}?{_board(w)}", None),
        {**USER_DENIED, Actor.ADMIN: OK},
    ),
    Route(
        "session history",
        lambda w: ("GET", f"/api/v1/gateways/sessions/{MAIN_KEY}/history?{_board(w)}", None),
        {**USER_DENIED, Actor.ADMIN: OK},
    ),
    Route(
        "send session message",
        lambda w: (
            "POST",
            f"/api/v1/gateways/sessions/{MAIN_KEY}/message?{_board(w)}",
            {"content": "Hello from the matrix."},
        ),
        {**USER_DENIED, Actor.ADMIN: OK},
    ),
    Route(
        "nudge",
        lambda w: (
            "POST",
            f"/api/v1/agent/boards/{w.board.id}/agents/{w.worker.id}/nudge",
            {"message": "Please pick up the next task."},
        ),
        {**AGENT_DENIED, Actor.BOARD_LEAD: OK},
        needs=("worker",),
    ),
    Route(
        "read soul",
        lambda w: ("GET", f"/api/v1/agent/boards/{w.board.id}/agents/{w.worker.id}/soul", None),
        {**AGENT_DENIED, Actor.BOARD_LEAD: OK, Actor.BOARD_WORKER: OK},
        needs=("worker",),
    ),
    Route(
        "write soul",
        lambda w: (
            "PUT",
            f"/api/v1/agent/boards/{w.board.id}/agents/{w.worker.id}/soul",
            {"content": "# Soul\nCurious.", "reason": "matrix"},
        ),
        {**AGENT_DENIED, Actor.BOARD_LEAD: OK},
        needs=("worker",),
    ),
    Route(
        "ask user",
        lambda w: (
            "POST",
            f"/api/v1/agent/boards/{w.board.id}/gateway/main/ask-user",
            {"content": "Which launch date do you prefer?"},
        ),
        {**AGENT_DENIED, Actor.BOARD_LEAD: OK},
    ),
    Route(
        "message lead",
        lambda w: (
            "POST",
            f"/api/v1/agent/gateway/boards/{w.board.id}/lead/message",
            {"content": "The user prefers Friday.", "kind": "handoff"},
        ),
        {**AGENT_DENIED, Actor.GATEWAY_MAIN: OK},
        needs=("lead",),
    ),
    Route(
        "broadcast to leads",
        lambda w: ("POST", "/api/v1/agent/gateway/leads/broadcast", {"content": "Status?"}),
        {**AGENT_DENIED, Actor.GATEWAY_MAIN: OK},
        needs=("lead",),
    ),
]

# The admin goes last: its successful calls (sync, rename) may re-key the world's agents.
ORDER = [actor for actor in Actor if actor is not Actor.ADMIN] + [Actor.ADMIN]


@pytest.mark.parametrize("route", ROUTES, ids=[route.name for route in ROUTES])
async def test_route_by_actor(
    route: Route, runtime: Runtime, http: httpx.AsyncClient, real_gateway: DevGateway
) -> None:
    setup = await make_world(runtime, real_gateway, route.needs)
    method, path, body = route.request(setup.world)
    assert set(route.expected) == set(Actor), "every actor needs an expected status"
    seen: dict[Actor, int] = {}
    for actor in ORDER:
        answer = await http.request(method, path, json=body, headers=setup.world.as_(actor))
        seen[actor] = answer.status_code
        if answer.status_code >= 400:
            error = answer.json()["error"]
            assert error["code"], answer.text
            assert error["message"], answer.text
    assert seen == route.expected


# -- behaviour against the real gateway --------------------------------------------------------


async def test_session_routes_answer_our_own_shapes(
    runtime: Runtime, http: httpx.AsyncClient, real_gateway: DevGateway
) -> None:
    setup = await make_world(runtime, real_gateway)
    admin, scope = setup.world.as_(Actor.ADMIN), _board(setup.world)
    await setup.client.chat_send(MAIN_KEY, "shape check", deliver=False)

    listed = await http.get(f"/api/v1/gateways/sessions?{scope}", headers=admin)
    assert listed.status_code == 200, listed.text
    main = listed.json()["main_session"]
    assert set(main) == set(GatewaySessionRead.model_fields)
    assert main["key"] == MAIN_KEY
    assert main["agent_id"] == gateway_main_agent_id(GATEWAY_ID)
    assert main["label"] == "Gateway Agent"
    assert main["kind"] == "direct"
    assert main["updated_at"] is not None
    one = (await http.get(f"/api/v1/gateways/sessions/{MAIN_KEY}?{scope}", headers=admin)).json()
    # The turn the message started may still be running: the gateway moves updated_at on.
    later = one["session"].pop("updated_at")
    assert later >= main.pop("updated_at")
    assert one["session"] == main

    history_url = f"/api/v1/gateways/sessions/{MAIN_KEY}/history?{scope}"
    messages = await _history_with(http, history_url, admin, "shape check")
    assert all(set(message) == {"role", "text", "timestamp"} for message in messages)
    sent = [m for m in messages if m["text"] == "shape check"]
    assert sent[0]["role"] == "user"
    assert sent[0]["timestamp"] is not None


async def _history_with(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], text: str
) -> list[dict[str, Any]]:
    """The history once it holds ``text``: the gateway appends a sent message on its own time
    (after a turn that is still running)."""
    async with asyncio.timeout(90):
        while True:
            answer = await http.get(url, headers=headers)
            assert answer.status_code == 200, answer.text
            messages: list[dict[str, Any]] = answer.json()["history"]
            if any(message["text"] == text for message in messages):
                return messages
            await asyncio.sleep(0.5)


async def test_create_checks_the_connection_and_provisions_the_main_agent(
    runtime: Runtime, http: httpx.AsyncClient, real_gateway: DevGateway, database: Database
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session, "Ops")
        admin = await factories.person(session, org, Role.ADMIN)
    created = await http.post(
        "/api/v1/gateways",
        json={
            "name": f"edge-{uuid.uuid4().hex[:6]}",
            "url": real_gateway.url,
            "token": real_gateway.token,
            "workspace_root": str(real_gateway.state_dir / "workspaces"),
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert real_gateway.token not in created.text
    status = body["status"]
    assert status["connected"] is True
    assert status["server_version"] == "2026.9.6"
    assert status["protocol"] == 4
    assert status["pairing"]["state"] == "approved"
    assert "operator.admin" in status["pairing"]["granted_scopes"]
    assert body["main_agent"]["provisioned"] is True, body["main_agent"]
    gateway_id = uuid.UUID(body["id"])

    again = await http.get(f"/api/v1/gateways/{gateway_id}/status", headers=admin.headers)
    assert again.status_code == 200
    listed = {agent["id"] for agent in again.json()["agents"]}
    assert gateway_main_agent_id(gateway_id) in listed
    assert again.json()["main_agent_present"] is True

    wrong = await http.patch(
        f"/api/v1/gateways/{gateway_id}", json={"token": "not-the-token"}, headers=admin.headers
    )
    assert wrong.status_code == 200
    problem = wrong.json()["status"]["error"]
    assert wrong.json()["status"]["connected"] is False
    assert problem["code"] == "gateway_auth_failed"
    assert "gateway token" in problem["message"]

    sync = await http.patch(
        f"/api/v1/gateways/{gateway_id}", json={"token": real_gateway.token}, headers=admin.headers
    )
    assert sync.json()["status"]["connected"] is True
    report = await http.post(f"/api/v1/gateways/{gateway_id}/templates/sync", headers=admin.headers)
    assert report.status_code == 200
    assert report.json()["main_updated"] is True
    assert report.json()["errors"] == []


async def test_a_new_workspace_root_provisions_every_agent_again(
    runtime: Runtime, http: httpx.AsyncClient, real_gateway: DevGateway, database: Database
) -> None:
    """The gateway's workspace root moves: the main agent is provisioned again in the request,
    the board agent by the reconciler, and both are registered under the new root."""
    async with database.unit_of_work() as session:
        org = await factories.organization(session, "Movers")
        admin = await factories.person(session, org, Role.ADMIN)
    old_root, new_root = real_gateway.state_dir / "old-root", real_gateway.state_dir / "new-root"
    created = await http.post(
        "/api/v1/gateways",
        json={
            "name": f"mover-{uuid.uuid4().hex[:6]}",
            "url": real_gateway.url,
            "token": real_gateway.token,
            "workspace_root": str(old_root),
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    gateway_id = uuid.UUID(created.json()["id"])
    board = await http.post(
        "/api/v1/boards",
        json={"name": "Moving", "gateway_id": str(gateway_id)},
        headers=admin.headers,
    )
    assert board.status_code == 201, board.text
    agent = await http.post(
        "/api/v1/agents",
        json={"name": "Carrier", "board_id": board.json()["id"]},
        headers=admin.headers,
    )
    assert agent.status_code == 201, agent.text
    assert agent.json()["provision_pending"] is True  # accepted at once; the reconciler applies
    assert uuid.UUID(agent.json()["id"]) in (await Reconciler(runtime).run_once()).applied
    applied = await http.get(f"/api/v1/agents/{agent.json()['id']}", headers=admin.headers)
    assert applied.json()["provision_pending"] is False, applied.json()
    async with database.unit_of_work() as session:
        row = await session.get(Agent, uuid.UUID(agent.json()["id"]))
        assert row is not None
        carrier = gateway_agent_id(agent_ref(row))
        gw_row = await session.get(Gateway, gateway_id)
        assert gw_row is not None
    client = await runtime.gateway_pool.client(runtime.gateway_target(gw_row))

    async def workspaces() -> dict[str, str | None]:
        listed = (await client.agents_list()).agents
        wanted = {carrier, gateway_main_agent_id(gateway_id)}
        return {a.id: a.workspace for a in listed if a.id in wanted}

    assert all(str(old_root) in (w or "") for w in (await workspaces()).values())

    moved = await http.patch(
        f"/api/v1/gateways/{gateway_id}",
        json={"workspace_root": str(new_root)},
        headers=admin.headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["agents_reprovisioning"] == 2
    assert moved.json()["main_agent"]["provisioned"] is True
    report = await Reconciler(runtime).run_once()
    assert report.failed == []
    assert uuid.UUID(agent.json()["id"]) in report.applied
    # agents.list answers from the gateway's running config, which a reload brings up to date
    # a moment after the write (seconds on a loaded machine): poll for it.
    now = await workspaces()
    for _ in range(300):
        if len(now) == 2 and all(str(new_root) in (w or "") for w in now.values()):
            break
        await asyncio.sleep(0.2)
        now = await workspaces()
    assert len(now) == 2
    assert all(str(new_root) in (w or "") for w in now.values()), now


async def test_soul_round_trip_lead_message_and_broadcast(
    runtime: Runtime, http: httpx.AsyncClient, real_gateway: DevGateway, database: Database
) -> None:
    setup = await make_world(runtime, real_gateway, ("worker",))
    world = setup.world
    soul_path = f"/api/v1/agent/boards/{world.board.id}/agents/{world.worker.id}/soul"
    content = "# Soul\nCareful with {{ templates }}."
    written = await http.put(
        soul_path,
        json={"content": content, "reason": "sharper focus", "source_url": "https://x.test/s"},
        headers=world.as_(Actor.BOARD_LEAD),
    )
    assert written.status_code == 200, written.text
    read = await http.get(soul_path, headers=world.as_(Actor.BOARD_WORKER))
    assert read.json() == content
    gid = gateway_agent_id(agent_ref(world.worker))
    assert (await setup.client.files_get(gid, "SOUL.md")).content == content

    async with database.unit_of_work() as session:
        org = await session.get(Organization, world.org.id)
        gw_row = await session.get(Gateway, world.gateway.id)
        assert org is not None
        assert gw_row is not None
        leaderless = await factories.board(session, org, gw_row, name="Leaderless")
        broken = await factories.board(session, org, gw_row, name="Broken")
        ghost, _token = await factories.agent(session, gw_row, broken, name="Ghost", lead=True)
        ghost.generation = ghost.applied_generation = 1  # says provisioned; the gateway disagrees
        events = await session.scalars(
            select(ActivityEvent.message).where(ActivityEvent.event_type == "agent.soul.updated")
        )
        assert list(events) == [
            "SOUL.md updated for Matrix Worker. Reason: sharper focus Source: https://x.test/s"
        ]

    main = world.as_(Actor.GATEWAY_MAIN)
    message = await http.post(
        f"/api/v1/agent/gateway/boards/{leaderless.id}/lead/message",
        json={"content": "Please plan the launch.", "correlation_id": "plan-1"},
        headers=main,
    )
    assert message.status_code == 200, message.text
    assert message.json()["lead_created"] is True
    lead_gid = f"lead-{leaderless.id}"
    assert (await setup.client.agents_list()).get(lead_gid) is not None

    broadcast = await http.post(
        "/api/v1/agent/gateway/leads/broadcast",
        json={"content": "Weekly status?", "board_ids": [str(leaderless.id), str(broken.id)]},
        headers=main,
    )
    assert broadcast.status_code == 200
    outcome = {r["board_id"]: r for r in broadcast.json()["results"]}
    assert broadcast.json()["sent"] == 1
    assert broadcast.json()["failed"] == 1
    assert outcome[str(leaderless.id)]["ok"] is True
    assert outcome[str(broken.id)]["error"].startswith("Gateway lead broadcast dispatch failed:")

    # A lead that cannot be provisioned: the request says why and the failure is on record.
    async with database.unit_of_work() as session:
        org = await session.get(Organization, world.org.id)
        gw_row = await session.get(Gateway, world.gateway.id)
        assert org is not None
        assert gw_row is not None
        stuck = await factories.board(session, org, gw_row, name="Stuck")
        stuck_lead, _token = await factories.agent(
            session, gw_row, stuck, name="Stuck Lead", lead=True
        )
        stuck_lead.soul_template = "{{ no_such_variable }}"  # stored before templates were checked
    failed = await http.post(
        f"/api/v1/agent/gateway/boards/{stuck.id}/lead/message",
        json={"content": "Anyone there?"},
        headers=main,
    )
    assert failed.status_code == 502, failed.text
    assert failed.json()["error"]["code"] == "lead_provisioning_failed"
    assert "does not render" in failed.json()["error"]["message"]
    async with database.unit_of_work() as session:
        recorded = list(
            await session.scalars(
                select(ActivityEvent.message).where(
                    ActivityEvent.event_type == "gateway.main.lead_message.failed",
                    ActivityEvent.board_id == stuck.id,
                )
            )
        )
    assert len(recorded) == 1
    assert recorded[0].startswith("Lead message failed for Stuck: The board lead could not be")
