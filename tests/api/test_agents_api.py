"""The agent lifecycle API (docs/agents.md) on both databases, with the board's gateway down:
intent is recorded and kept, the answer says what happened, names and capacity are enforced,
status is computed and never written."""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.gateways.models import Gateway
from mission_control.organizations.models import Role
from mission_control.provisioning.reconciler import Reconciler
from tests.support import factories
from tests.support.actors import Actor, World, build_world

API = "/api/v1/agents"


def dead_gateway_url() -> str:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"ws://127.0.0.1:{port}"


async def world(database: Database, *, max_agents: int = 5) -> World:
    async with database.unit_of_work() as session:
        built = await build_world(session)
        gateway = await session.get(Gateway, built.gateway.id)
        board = await session.get(Board, built.board.id)
        assert gateway is not None
        assert board is not None
        gateway.url = dead_gateway_url()
        board.max_agents = max_agents
    return built


async def _agent(database: Database, agent_id: object) -> Agent:
    async with database.unit_of_work() as session:
        row = await session.get(Agent, uuid.UUID(str(agent_id)))
        assert row is not None
        return row


async def _event_types(database: Database, agent_id: object) -> list[str]:
    async with database.unit_of_work() as session:
        rows = await session.scalars(
            select(ActivityEvent.event_type)
            .where(ActivityEvent.agent_id == uuid.UUID(str(agent_id)))
            .order_by(ActivityEvent.id)
        )
        return list(rows)


async def create(
    client: httpx.AsyncClient, w: World, name: str, actor: Actor = Actor.ADMIN, **extra: Any
) -> httpx.Response:
    body: dict[str, Any] = {"name": name, "board_id": str(w.board.id), **extra}
    return await client.post(API, json=body, headers=w.as_(actor))


async def test_create_keeps_the_intent_when_the_gateway_is_down(
    client: httpx.AsyncClient, database: Database, runtime: Runtime
) -> None:
    w = await world(database)
    response = await create(
        client,
        w,
        "  Coder  ",
        identity_profile={"role": " Backend ", "skip": None},
        soul_template="   ",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Coder"
    assert body["status"] == "provisioning"
    assert body["provision_pending"] is True
    assert body["is_gateway_main"] is False
    assert body["gateway_id"] == str(w.gateway.id)
    assert body["identity_profile"] == {"role": "Backend"}
    assert body["soul_template"] is None
    assert body["heartbeat_every"] == "10m"
    # Accepted at once (issues 11 and 19): the answer says the work is queued and what follows;
    # the reconciler's attempt puts the gateway's error on the agent.
    assert body["last_provision_error"] is None
    assert "reconciler applies this" in body["next_step"]
    assert body["openclaw_session_id"] == f"agent:mc-{body['id']}:main"
    reconciler = Reconciler(runtime)
    assert (await reconciler.run_once()).failed == [uuid.UUID(body["id"])]
    body = (await client.get(f"{API}/{body['id']}", headers=w.as_(Actor.ADMIN))).json()
    assert "Gateway error (UNREACHABLE)" in body["last_provision_error"]
    assert "retried with backoff" in body["next_step"]
    row = await _agent(database, body["id"])
    assert row.generation == 1
    assert row.applied_generation == 0
    assert row.agent_token_hash is None  # no token minted until a gateway holds it
    assert await _event_types(database, body["id"]) == ["agent.created", "agent.provision.failed"]


async def test_names_collide_exactly_per_gateway(
    client: httpx.AsyncClient, database: Database
) -> None:
    w = await world(database)
    async with database.unit_of_work() as session:
        second = await factories.board(
            session, w.org, await session.get(Gateway, w.gateway.id), name="Second"
        )
    assert (await create(client, w, "a_c%")).status_code == 201
    same = await create(client, w, "A_C%")
    assert same.status_code == 409
    assert same.json()["error"]["code"] == "agent_name_taken"
    elsewhere = await client.post(
        API, json={"name": "a_c%", "board_id": str(second.id)}, headers=w.as_(Actor.ADMIN)
    )
    assert elsewhere.status_code == 409
    assert elsewhere.json()["error"]["code"] == "agent_name_taken_on_gateway"
    # "%" and "_" are plain characters, not wildcards
    # (docs/agents.md#agent-names-are-unique-per-gateway).
    assert (await create(client, w, "abc%")).status_code == 201
    assert (await create(client, w, "axc")).status_code == 201
    existing = await create(client, w, "Matrix Worker")
    assert existing.status_code == 409


async def test_max_agents_caps_workers_not_the_lead(
    client: httpx.AsyncClient, database: Database
) -> None:
    w = await world(database, max_agents=2)  # the world has a lead and one worker
    assert (await create(client, w, "Second Worker")).status_code == 201
    full = await create(client, w, "Third Worker")
    assert full.status_code == 409
    error = full.json()["error"]
    assert error["code"] == "board_agent_limit"
    assert error["details"] == {"max_agents": 2, "agents": 2}
    assert "raise max_agents" in error["message"]


async def test_lead_creates_workers_on_its_own_board_only(
    client: httpx.AsyncClient, database: Database
) -> None:
    w = await world(database)
    made = await client.post(API, json={"name": "Helper"}, headers=w.as_(Actor.BOARD_LEAD))
    assert made.status_code == 201, made.text
    assert made.json()["board_id"] == str(w.board.id)
    events = await _event_types(database, made.json()["id"])
    assert events[0] == "agent.created"
    other = await client.post(
        API,
        json={"name": "Stray", "board_id": str(uuid.uuid4())},
        headers=w.as_(Actor.BOARD_LEAD),
    )
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "not_own_board"
    worker = await client.post(API, json={"name": "Nope"}, headers=w.as_(Actor.BOARD_WORKER))
    assert worker.status_code == 403
    assert worker.json()["error"]["code"] == "lead_required"
    via_agent_api = await client.post(
        f"/api/v1/agent/boards/{w.board.id}/agents",
        json={"name": "Helper Two"},
        headers=w.as_(Actor.BOARD_LEAD),
    )
    assert via_agent_api.status_code == 201, via_agent_api.text
    listed = await client.get(
        f"/api/v1/agent/boards/{w.board.id}/agents", headers=w.as_(Actor.BOARD_WORKER)
    )
    assert listed.status_code == 200
    assert listed.json()[0]["name"] == "Matrix Lead"
    assert {"Helper", "Helper Two", "Matrix Worker"} <= {a["name"] for a in listed.json()}


async def test_create_input_errors(client: httpx.AsyncClient, database: Database) -> None:
    w = await world(database)
    admin = w.as_(Actor.ADMIN)
    no_board = await client.post(API, json={"name": "X"}, headers=admin)
    assert no_board.status_code == 422
    assert no_board.json()["error"]["code"] == "board_id_required"
    blank = await create(client, w, "   ")
    assert blank.status_code == 422
    bad_every = await create(client, w, "X", heartbeat_config={"every": "soon"})
    assert bad_every.status_code == 422
    for huge in ("31d", "1000000000d", "9" * 400 + "s"):
        too_long = await create(client, w, "X", heartbeat_config={"every": huge})
        assert too_long.status_code == 422, huge
        assert "at most 30d" in str(too_long.json()["error"]["details"])
    unknown = await client.post(
        API, json={"name": "X", "board_id": str(uuid.uuid4())}, headers=admin
    )
    assert unknown.status_code == 404
    async with database.unit_of_work() as session:
        bare = await factories.board(session, w.org, None, name="No Gateway")
    no_gateway = await client.post(API, json={"name": "X", "board_id": str(bare.id)}, headers=admin)
    assert no_gateway.status_code == 422
    assert no_gateway.json()["error"]["code"] == "board_gateway_required"
    extra = await create(client, w, "X", colour="blue")
    assert extra.status_code == 422


async def test_template_code_is_refused_before_anything_is_stored(
    client: httpx.AsyncClient, database: Database
) -> None:
    """Identity and soul overrides are rendered on the server: code in them is refused with a
    422 naming the field, from an admin, from a lead and on update, and nothing is stored."""
    w = await world(database)
    attack = "{{ cycler.__init__.__globals__.os.getcwd() }}"
    by_admin = await create(client, w, "Sneaky", soul_template=attack)
    assert by_admin.status_code == 422
    body = by_admin.json()["error"]
    assert "soul_template" in str(body["details"])
    assert "function or method calls" in str(body["details"])
    by_lead = await client.post(
        f"/api/v1/agent/boards/{w.board.id}/agents",
        json={"name": "Sneaky Two", "identity_template": "{% for x in y %}{% endfor %}"},
        headers=w.as_(Actor.BOARD_LEAD),
    )
    assert by_lead.status_code == 422
    assert "loops" in str(by_lead.json()["error"]["details"])
    update = await client.patch(
        f"{API}/{w.worker.id}",
        json={"soul_template": "{{ unknown_thing }}"},
        headers=w.as_(Actor.ADMIN),
    )
    assert update.status_code == 422
    assert "Unknown variable 'unknown_thing'" in str(update.json()["error"]["details"])
    async with database.unit_of_work() as session:
        names = set(await session.scalars(select(Agent.name)))
        worker = await session.get(Agent, w.worker.id)
        assert worker is not None
        assert worker.soul_template is None
    assert not names & {"Sneaky", "Sneaky Two"}
    fine = await client.patch(
        f"{API}/{w.worker.id}",
        json={"soul_template": "I am {{ agent_name }} on {{ board_name }}."},
        headers=w.as_(Actor.ADMIN),
    )
    assert fine.status_code == 200, fine.text  # queued: this world's gateway is not running
    assert fine.json()["provision_pending"] is True
    async with database.unit_of_work() as session:
        worker = await session.get(Agent, w.worker.id)
        assert worker is not None
        assert worker.soul_template == "I am {{ agent_name }} on {{ board_name }}."  # kept, queued


async def test_update_is_accepted_at_once_and_a_gateway_failure_stays_queued(
    client: httpx.AsyncClient, database: Database, runtime: Runtime
) -> None:
    w = await world(database)
    url = f"{API}/{w.worker.id}"
    admin = w.as_(Actor.ADMIN)
    refused = await client.patch(url, json={"status": "online"}, headers=admin)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "status_read_only"
    unchanged = await client.patch(url, json={"name": "Matrix Worker"}, headers=admin)
    assert unchanged.status_code == 200
    assert (await _agent(database, w.worker.id)).generation == 0

    failed = await client.patch(
        url, json={"name": "Renamed", "heartbeat_config": {"every": "30m"}}, headers=admin
    )
    assert failed.status_code == 200, failed.text
    assert failed.json()["provision_pending"] is True
    assert "wakes the agent" in failed.json()["next_step"]
    assert (await Reconciler(runtime).run_once()).failed == [w.worker.id]
    row = await _agent(database, w.worker.id)
    assert "Gateway error (UNREACHABLE)" in (row.last_provision_error or "")
    assert row.name == "Renamed"
    assert row.heartbeat_config == {"every": "30m"}
    assert row.generation == 1
    assert row.applied_generation == 0
    assert row.provision_action == "update"
    assert row.status == "updating"
    got = await client.get(url, headers=admin)
    assert got.json()["status"] == "updating"
    assert got.json()["heartbeat_every"] == "30m"
    assert "agent.update.failed" in await _event_types(database, w.worker.id)

    forced = await client.patch(url + "?force=true", json={}, headers=admin)
    assert forced.status_code == 200
    assert (await _agent(database, w.worker.id)).generation == 2
    assert (await _agent(database, w.worker.id)).provision_flags == "bootstrap,reset,wake"


async def test_update_conversions_are_validated_before_anything_changes(
    client: httpx.AsyncClient, database: Database
) -> None:
    w = await world(database)
    admin = w.as_(Actor.ADMIN)
    to_main = await client.patch(
        f"{API}/{w.worker.id}", json={"is_gateway_main": True}, headers=admin
    )
    # The gateway has its main agent already (docs/agents.md#one-gateway-main-agent-per-gateway).
    assert to_main.status_code == 409
    assert to_main.json()["error"]["code"] == "gateway_main_exists"
    to_board = await client.patch(
        f"{API}/{w.main.id}", json={"is_gateway_main": False}, headers=admin
    )
    assert to_board.status_code == 422
    assert "converting a gateway-main agent" in to_board.json()["error"]["message"]
    moved = await client.patch(
        f"{API}/{w.main.id}", json={"board_id": str(w.board.id)}, headers=admin
    )
    assert moved.status_code == 422
    assert moved.json()["error"]["code"] == "main_agent_needs_conversion"
    taken = await client.patch(f"{API}/{w.worker.id}", json={"name": "matrix lead"}, headers=admin)
    assert taken.status_code == 409
    for agent in (w.worker, w.main):
        row = await _agent(database, agent.id)
        assert row.generation == 0
        assert row.board_id == agent.board_id


async def test_heartbeats(client: httpx.AsyncClient, database: Database) -> None:
    w = await world(database)
    own = await client.post(
        f"{API}/{w.worker.id}/heartbeat", json={}, headers=w.as_(Actor.BOARD_WORKER)
    )
    assert own.status_code == 200, own.text
    assert own.json()["status"] == "online"
    assert own.json()["last_seen_at"] is not None
    busy = await client.post(
        f"{API}/{w.worker.id}/heartbeat", json={"status": "Busy"}, headers=w.as_(Actor.BOARD_WORKER)
    )
    assert busy.json()["status"] == "busy"
    reserved = await client.post(
        f"{API}/{w.worker.id}/heartbeat",
        json={"status": "deleting"},
        headers=w.as_(Actor.BOARD_WORKER),
    )
    assert reserved.status_code == 422
    other = await client.post(
        f"{API}/{w.lead.id}/heartbeat", json={}, headers=w.as_(Actor.BOARD_WORKER)
    )
    assert other.status_code == 403
    by_admin = await client.post(f"{API}/{w.lead.id}/heartbeat", headers=w.as_(Actor.ADMIN))
    assert by_admin.status_code == 200
    async with database.unit_of_work() as session:
        actors = list(
            await session.execute(
                select(ActivityEvent.actor_type, ActivityEvent.agent_id).where(
                    ActivityEvent.event_type == "agent.heartbeat"
                )
            )
        )
    assert ("user", w.lead.id) in actors
    assert ("agent", w.worker.id) in actors

    self_check = await client.post(
        f"{API}/heartbeat", json={"name": "ignored"}, headers=w.as_(Actor.BOARD_LEAD)
    )
    assert self_check.status_code == 200
    assert self_check.json()["id"] == str(w.lead.id)
    by_name = await client.post(
        f"{API}/heartbeat", json={"name": "Matrix Worker"}, headers=w.as_(Actor.ADMIN)
    )
    assert by_name.status_code == 200
    assert by_name.json()["id"] == str(w.worker.id)
    unknown = await client.post(
        f"{API}/heartbeat", json={"name": "Brand New"}, headers=w.as_(Actor.ADMIN)
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "board_id_required"
    made = await client.post(
        f"{API}/heartbeat",
        json={"name": "Brand New", "board_id": str(w.board.id), "status": "online"},
        headers=w.as_(Actor.ADMIN),
    )
    assert made.status_code == 200, made.text
    assert made.json()["status"] == "online"
    assert made.json()["provision_pending"] is True
    # Another organisation's owner does not find (or touch) this organisation's agent.
    foreign = await client.post(
        f"{API}/heartbeat", json={"name": "Matrix Worker"}, headers=w.as_(Actor.OTHER_ORG_USER)
    )
    assert foreign.status_code == 422


async def test_delete_releases_tasks_or_stays_queued(
    client: httpx.AsyncClient, database: Database, runtime: Runtime
) -> None:
    w = await world(database)
    admin = w.as_(Actor.ADMIN)
    failed = await client.delete(f"{API}/{w.worker.id}", headers=admin)
    assert failed.status_code == 200  # accepted at once; the reconciler deletes it
    assert (await Reconciler(runtime).run_once()).failed == [w.worker.id]  # gateway is down
    row = await _agent(database, w.worker.id)
    assert "Gateway error (UNREACHABLE)" in (row.last_provision_error or "")
    assert row.status == "deleting"
    assert row.delete_requested_at is not None
    assert (await client.get(f"{API}/{w.worker.id}", headers=admin)).json()["status"] == "deleting"
    frozen = await client.patch(f"{API}/{w.worker.id}", json={"name": "Late"}, headers=admin)
    assert frozen.status_code == 409
    assert frozen.json()["error"]["code"] == "agent_deleting"
    gone = await client.delete(f"{API}/{uuid.uuid4()}", headers=admin)
    assert gone.status_code == 200
    assert gone.json() == {"ok": True}


async def test_list_filters_scope_and_pagination(
    client: httpx.AsyncClient, database: Database
) -> None:
    w = await world(database)
    admin = w.as_(Actor.ADMIN)
    everything = (await client.get(API, headers=admin)).json()
    assert everything["total"] == 3
    names = {a["name"] for a in everything["items"]}
    assert names == {"Matrix Lead", "Matrix Worker", "Matrix Main"}
    board_only = (await client.get(API, params={"board_id": str(w.board.id)}, headers=admin)).json()
    assert {a["name"] for a in board_only["items"]} == {"Matrix Lead", "Matrix Worker"}
    by_gateway = (
        await client.get(API, params={"gateway_id": str(w.gateway.id)}, headers=admin)
    ).json()
    assert by_gateway["total"] == 3
    page = (await client.get(API, params={"limit": 2, "offset": 2}, headers=admin)).json()
    assert (page["total"], len(page["items"]), page["limit"], page["offset"]) == (3, 1, 2, 2)
    reader = (await client.get(API, headers=w.as_(Actor.MEMBER_READ))).json()
    assert {a["name"] for a in reader["items"]} == {"Matrix Lead", "Matrix Worker"}
    nothing = (await client.get(API, headers=w.as_(Actor.MEMBER_NO_GRANT))).json()
    assert nothing == {"items": [], "total": 0, "limit": 200, "offset": 0}
    foreign_gateway = await client.get(API, params={"gateway_id": str(uuid.uuid4())}, headers=admin)
    assert foreign_gateway.status_code == 404
    assert (await client.get(API, params={"limit": 0}, headers=admin)).status_code == 422


async def test_status_follows_each_agents_cadence_and_is_never_written(
    client: httpx.AsyncClient, database: Database
) -> None:
    w = await world(database)
    now = utcnow()
    async with database.unit_of_work() as session:
        fast = await session.get(Agent, w.worker.id)
        slow = await session.get(Agent, w.lead.id)
        assert fast is not None
        assert slow is not None
        fast.status, fast.last_seen_at = "online", now - timedelta(minutes=25)
        slow.status, slow.last_seen_at = "online", now - timedelta(minutes=50)
        slow.heartbeat_config = {"every": "30m"}
    admin = w.as_(Actor.ADMIN)
    fast_read = (await client.get(f"{API}/{w.worker.id}", headers=admin)).json()
    slow_read = (await client.get(f"{API}/{w.lead.id}", headers=admin)).json()
    assert fast_read["status"] == "offline"  # 10m cadence: offline after 21 minutes
    assert fast_read["offline_after_seconds"] == 21 * 60
    assert slow_read["status"] == "online"  # 30m cadence: still within two missed beats
    assert (await _agent(database, w.worker.id)).status == "online"  # computed, not stored
    main = (await client.get(f"{API}/{w.main.id}", headers=admin)).json()
    assert main["status"] == "provisioning"  # never checked in
    assert main["is_gateway_main"] is True


async def test_member_and_foreign_access(client: httpx.AsyncClient, database: Database) -> None:
    w = await world(database)
    reader = w.as_(Actor.MEMBER_READ)
    assert (await client.get(f"{API}/{w.worker.id}", headers=reader)).status_code == 200
    assert (await client.get(f"{API}/{w.main.id}", headers=reader)).status_code == 403
    foreign = w.as_(Actor.OTHER_ORG_USER)
    assert (await client.get(f"{API}/{w.worker.id}", headers=foreign)).status_code == 404
    assert (await client.get(f"{API}/{w.main.id}", headers=foreign)).status_code == 404


async def test_member_roles_cannot_manage(client: httpx.AsyncClient, database: Database) -> None:
    w = await world(database)
    async with database.unit_of_work() as session:
        writer = await factories.person(session, w.org, Role.MEMBER, all_boards_write=True)
    made = await client.post(
        API, json={"name": "X", "board_id": str(w.board.id)}, headers=writer.headers
    )
    assert made.status_code == 403


async def test_user_credentials_decide_when_an_agent_token_is_also_sent(
    client: httpx.AsyncClient, database: Database
) -> None:
    """With user authentication present the caller is that user
    (docs/agents.md#who-is-the-caller), so an operator's script that also carries a stale agent
    header still acts as the operator."""
    w = await world(database)
    headers = {**w.as_(Actor.ADMIN), "X-Agent-Token": "mca_stale_not-a-real-token"}
    beat = await client.post(f"{API}/{w.lead.id}/heartbeat", headers=headers)
    assert beat.status_code == 200, beat.text
    alone = await client.post(
        f"{API}/{w.lead.id}/heartbeat", headers={"X-Agent-Token": "mca_stale_not-a-real-token"}
    )
    assert alone.status_code == 401  # the stale agent token on its own is still refused
