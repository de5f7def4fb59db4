"""Onboarding against a real OpenClaw gateway (its own, so its agents and sessions are ours), on
both databases: the start prompt and the answers land in the gateway-main agent's session,
restart replaces a stuck interview, a missing main agent is refused without orphan sessions,
and the authorization matrix over every onboarding route and the eight actors."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.demo.model import ScriptedModelServer
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.dev import DevGateway
from mission_control.gateways.models import Gateway
from mission_control.onboarding.models import BoardOnboardingSession
from mission_control.provisioning.identities import (
    gateway_main_agent_id,
    gateway_main_session_key,
)
from tests.e2e.gateway_setup import claimed_ports, use_scripted_model
from tests.support import factories
from tests.support.actors import Actor, World, build_world
from tests.support.apps import app_runtime, asgi_client
from tests.support.dev_gateways import running_gateway
from tests.support.onboarding import DRAFT, QUESTION_ID, seed

pytestmark = pytest.mark.gateway

BASE_URL = "http://mc.test"
POLL_SECONDS = 60.0
MODEL_ID = "scripted-onboarding"


@pytest.fixture(scope="module")
def gateway(
    gateway_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    yield from running_gateway(gateway_install, tmp_path_factory.mktemp("openclaw-onb"))


@pytest.fixture(scope="module")
def scripted_model(gateway: DevGateway) -> Iterator[ScriptedModelServer]:
    """The main agent's turns end at once (no workspace credentials: the script just answers),
    so each message reaches the session history without queueing behind a failing run."""
    server = ScriptedModelServer(model_id=MODEL_ID, avoid_ports=[claimed_ports(gateway)])
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def runtime(database: Database, tmp_path: Path) -> AsyncIterator[Runtime]:
    async with app_runtime(database, tmp_path, base_url=BASE_URL) as runtime:
        yield runtime


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(runtime, base_url=BASE_URL) as http:
        yield http


@dataclass
class Setup:
    world: World
    gateway_client: GatewayClient

    @property
    def url(self) -> str:
        return f"/api/v1/boards/{self.world.board.id}/onboarding"

    @property
    def agent_url(self) -> str:
        return f"/api/v1/agent/boards/{self.world.board.id}/onboarding"

    @property
    def main_key(self) -> str:
        return gateway_main_session_key(self.world.gateway.id)


async def _setup(
    runtime: Runtime,
    gw: DevGateway,
    model: ScriptedModelServer,
    *,
    register_main: bool = True,
) -> Setup:
    """The matrix world around a gateway row pointing at the real gateway; with
    ``register_main`` the gateway runs the world's main agent under its deterministic id."""
    async with runtime.database.unit_of_work() as session:
        scratch = await factories.organization(session, "Scratch")
        row = Gateway(
            organization_id=scratch.id,
            name=f"edge-{uuid.uuid4().hex[:6]}",
            url=gw.url,
            token_ciphertext=runtime.secrets.encrypt(gw.token),
            workspace_root=str(gw.state_dir / "workspaces"),
        )
        session.add(row)
        await session.flush()
        world = await build_world(session, gateway=row)
    client = await runtime.gateway_pool.client(runtime.gateway_target(world.gateway))
    await use_scripted_model(client, model.base_url, MODEL_ID, run_timeout_seconds=30)
    if register_main:
        main_id = gateway_main_agent_id(world.gateway.id)
        await client.agents_create(
            main_id, workspace=str(gw.state_dir / "workspaces" / f"workspace-{main_id}")
        )
        await _until(
            lambda: _registered(client, main_id), f"the gateway never listed agent {main_id}"
        )
    return Setup(world=world, gateway_client=client)


async def _registered(client: GatewayClient, agent_id: str) -> bool:
    return (await client.agents_list()).get(agent_id) is not None


async def _until(check: Any, failure: str) -> None:
    deadline = time.monotonic() + POLL_SECONDS
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    pytest.fail(failure)


async def _session_holds(setup: Setup, *needles: str) -> str:
    """Waits until one message of the main session contains every needle; returns it."""
    found: list[str] = []

    async def check() -> bool:
        history = await setup.gateway_client.chat_history(setup.main_key, limit=50)
        texts = [message.text for message in history.messages]
        found[:] = [t for t in texts if all(n in t for n in needles)]
        return bool(found)

    await _until(check, f"the main session never received a message with {needles}")
    return found[0]


def _code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_start_answer_and_confirm_through_the_gateway(
    runtime: Runtime,
    client: httpx.AsyncClient,
    gateway: DevGateway,
    scripted_model: ScriptedModelServer,
) -> None:
    setup = await _setup(runtime, gateway, scripted_model)
    world = setup.world
    admin, main = world.as_(Actor.ADMIN), world.as_(Actor.GATEWAY_MAIN)

    started = await client.post(setup.url, headers=admin)
    assert started.status_code == 201, started.text
    onboarding = started.json()
    assert (onboarding["status"], onboarding["session_key"]) == ("active", setup.main_key)
    prompt = await _session_holds(setup, "BOARD ONBOARDING REQUEST", onboarding["id"])
    assert f"POST {BASE_URL}{setup.agent_url}/questions" in prompt
    assert f"POST {BASE_URL}{setup.agent_url}/draft" in prompt
    again = await client.post(setup.url, headers=admin)
    assert (again.status_code, _code(again)) == (409, "onboarding_in_progress")

    asked = await client.post(
        f"{setup.agent_url}/questions",
        json={"question": "When should the beta launch?", "options": ["March", "June"]},
        headers=main,
    )
    assert asked.status_code == 201, asked.text
    question_id = asked.json()["messages"][-1]["id"]
    answered = await client.post(
        f"{setup.url}/answers",
        json={"content": "In March", "question_id": question_id},
        headers=admin,
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["messages"][-1]["content"] == "In March"
    relayed = await _session_holds(setup, "BOARD ONBOARDING ANSWER", "In March")
    assert "Question: When should the beta launch?" in relayed

    drafted = await client.post(f"{setup.agent_url}/draft", json=DRAFT, headers=main)
    assert drafted.status_code == 200, drafted.text
    confirmed = await client.post(f"{setup.url}/confirm", headers=admin)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["board"]["goal_confirmed"] is True
    assert confirmed.json()["onboarding"]["status"] == "confirmed"


async def test_restart_replaces_a_stuck_interview(
    runtime: Runtime,
    client: httpx.AsyncClient,
    gateway: DevGateway,
    scripted_model: ScriptedModelServer,
) -> None:
    setup = await _setup(runtime, gateway, scripted_model)
    admin = setup.world.as_(Actor.ADMIN)
    first = await client.post(setup.url, headers=admin)
    assert first.status_code == 201, first.text
    restarted = await client.post(f"{setup.url}/restart", headers=admin)
    assert restarted.status_code == 201, restarted.text
    assert restarted.json()["id"] != first.json()["id"]
    await _session_holds(setup, restarted.json()["id"], f"replaces onboarding {first.json()['id']}")
    async with runtime.database.unit_of_work() as session:
        old = await session.get(BoardOnboardingSession, uuid.UUID(first.json()["id"]))
    assert old is not None
    assert old.status == "abandoned"
    assert old.messages[-1]["content"].startswith("Restarted by")


async def test_a_main_agent_missing_on_the_gateway_is_refused_without_orphans(
    runtime: Runtime,
    client: httpx.AsyncClient,
    gateway: DevGateway,
    scripted_model: ScriptedModelServer,
) -> None:
    setup = await _setup(runtime, gateway, scripted_model, register_main=False)
    refused = await client.post(setup.url, headers=setup.world.as_(Actor.ADMIN))
    assert (refused.status_code, _code(refused)) == (409, "gateway_main_not_provisioned")
    sessions = await setup.gateway_client.sessions_list()
    keys = {s.key for s in sessions.sessions}
    assert setup.main_key not in keys
    async with runtime.database.unit_of_work() as session:
        statuses = (await session.scalars(select(BoardOnboardingSession.status))).all()
    assert statuses == ["abandoned"]  # recorded, then closed: a later start is not blocked


# -- authorization matrix -------------------------------------------------------------------

USER_ROUTES: dict[str, tuple[str, str, dict[str, Any] | None, str | None, int]] = {
    # name: (method, path suffix, body, seeded state, success status)
    "get": ("GET", "", None, "active", 200),
    "start": ("POST", "", None, None, 201),
    "restart": ("POST", "/restart", None, "active", 201),
    "answer": ("POST", "/answers", {"content": "March", "question_id": QUESTION_ID}, "active", 200),
    "confirm": ("POST", "/confirm", None, "draft_ready", 200),
    "abandon": ("POST", "/abandon", None, "active", 200),
}
AGENT_ROUTES: dict[str, tuple[str, str, dict[str, Any] | None, str | None, int]] = {
    "agent_get": ("GET", "", None, "active", 200),
    "agent_question": ("POST", "/questions", {"question": "Why?"}, "active", 201),
    "agent_draft": ("POST", "/draft", DRAFT, "active", 200),
}


def _user_route_expected(route: str, success: int) -> dict[Actor, int]:
    return {
        Actor.ANONYMOUS: 401,
        Actor.OTHER_ORG_USER: 404,  # another organisation's board does not exist for them
        Actor.MEMBER_NO_GRANT: 403,
        Actor.MEMBER_READ: 200 if route == "get" else 403,
        Actor.ADMIN: success,
        # Agents authenticate with X-Agent-Token, which operator endpoints do not accept.
        Actor.BOARD_WORKER: 401,
        Actor.BOARD_LEAD: 401,
        Actor.GATEWAY_MAIN: 401,
    }


def _agent_route_expected(success: int) -> dict[Actor, int]:
    return {
        Actor.ANONYMOUS: 401,
        Actor.OTHER_ORG_USER: 401,  # user tokens are not agent tokens
        Actor.MEMBER_NO_GRANT: 401,
        Actor.MEMBER_READ: 401,
        Actor.ADMIN: 401,
        Actor.BOARD_WORKER: 403,  # only the gateway-main agent runs interviews
        Actor.BOARD_LEAD: 403,
        Actor.GATEWAY_MAIN: success,
    }


EXPECTED: dict[str, dict[Actor, int]] = {
    **{name: _user_route_expected(name, r[4]) for name, r in USER_ROUTES.items()},
    **{name: _agent_route_expected(r[4]) for name, r in AGENT_ROUTES.items()},
}


async def test_authorization_matrix(
    runtime: Runtime,
    client: httpx.AsyncClient,
    gateway: DevGateway,
    scripted_model: ScriptedModelServer,
) -> None:
    setup = await _setup(runtime, gateway, scripted_model)
    world = setup.world
    routes = {
        **{name: (setup.url, *spec) for name, spec in USER_ROUTES.items()},
        **{name: (setup.agent_url, *spec) for name, spec in AGENT_ROUTES.items()},
    }
    assert set(EXPECTED) == set(routes)
    mismatches = []
    for name, (base, method, suffix, body, state, _success) in routes.items():
        for actor in Actor:
            await seed(runtime.database, world.board.id, world.gateway.id, state)
            answer = await client.request(
                method, f"{base}{suffix}", json=body, headers=world.as_(actor)
            )
            if answer.status_code != EXPECTED[name][actor]:
                mismatches.append((name, actor.value, answer.status_code, answer.text[:200]))
    assert mismatches == []
    assert len(routes) * len(Actor) == 72
    # An agent token sent as a bearer token on an operator endpoint is told where to go.
    main_token = world.as_(Actor.GATEWAY_MAIN)["X-Agent-Token"]
    bearer = await client.get(setup.url, headers={"Authorization": f"Bearer {main_token}"})
    assert (bearer.status_code, _code(bearer)) == (403, "forbidden")


async def test_session_history_is_redacted_of_tokens(
    runtime: Runtime,
    client: httpx.AsyncClient,
    gateway: DevGateway,
    scripted_model: ScriptedModelServer,
) -> None:
    """Issue 11: a transcript holding an agent token, a user token, the operator token and the
    gateway's token comes back from the admin session-history route with each redacted."""
    from mission_control.core.redaction import REDACTED
    from mission_control.core.security import USER_TOKEN_PREFIX, mint_token

    setup = await _setup(runtime, gateway, scripted_model)
    admin = setup.world.as_(Actor.ADMIN)
    agent_token, user_token = mint_token().raw, mint_token(USER_TOKEN_PREFIX).raw
    leaked = [agent_token, user_token, runtime.operator_token, gateway.token]
    marker = uuid.uuid4().hex
    sent = await client.post(
        f"/api/v1/gateways/sessions/{setup.main_key}/message",
        params={"board_id": str(setup.world.board.id)},
        json={"content": f"{marker} keys: " + " | ".join(leaked)},
        headers=admin,
    )
    assert sent.status_code == 200, sent.text
    await _session_holds(setup, marker)  # the raw transcript on the gateway holds the tokens
    response = await client.get(
        f"/api/v1/gateways/sessions/{setup.main_key}/history",
        params={"board_id": str(setup.world.board.id)},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    text = response.text
    assert marker in text
    for secret in leaked:
        assert secret not in text
    assert REDACTED in text
