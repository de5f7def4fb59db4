"""Onboarding over HTTP on both databases, for every step that needs no gateway: the agent's
questions and draft, confirm (goal, profile, lead intent), wrong-state 409s, bad input 422s,
refusals before the gateway is called, and an unreachable gateway (502 with what to check)."""

from __future__ import annotations

import socket
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.db import Database
from mission_control.core.events import StreamEvent
from mission_control.onboarding import dispatch as onboarding_dispatch
from mission_control.onboarding.models import BoardOnboardingSession
from mission_control.users.models import User
from tests.support import factories
from tests.support.actors import Actor, World, build_world
from tests.support.onboarding import DRAFT, QUESTION_ID, seed


def _url(world: World, board_id: object = None, *, agent: bool = False) -> str:
    prefix = "/api/v1/agent/boards" if agent else "/api/v1/boards"
    return f"{prefix}/{board_id or world.board.id}/onboarding"


async def _world(database: Database) -> World:
    async with database.unit_of_work() as session:
        return await build_world(session)


async def _row(database: Database, onboarding_id: object) -> BoardOnboardingSession:
    async with database.unit_of_work() as session:
        row = await session.get(BoardOnboardingSession, onboarding_id)
        assert row is not None
        return row


def _code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_agent_asks_and_drafts_then_user_confirms(
    client: httpx.AsyncClient, database: Database
) -> None:
    world = await _world(database)
    await seed(database, world.board.id, world.gateway.id)
    main, admin = world.as_(Actor.GATEWAY_MAIN), world.as_(Actor.ADMIN)

    asked = await client.post(
        f"{_url(world, agent=True)}/questions",
        json={"question": " When is the launch? ", "options": ["March", "June"]},
        headers=main,
    )
    assert asked.status_code == 201, asked.text
    question = asked.json()["messages"][-1]
    assert (question["role"], question["kind"], question["content"]) == (
        "agent",
        "question",
        "When is the launch?",
    )
    assert question["options"] == ["March", "June"]
    seen = await client.get(_url(world), headers=world.as_(Actor.MEMBER_READ))
    assert seen.status_code == 200
    assert [m["content"] for m in seen.json()["messages"]][-1] == "When is the launch?"

    drafted = await client.post(f"{_url(world, agent=True)}/draft", json=DRAFT, headers=main)
    assert drafted.status_code == 200, drafted.text
    assert drafted.json()["status"] == "draft_ready"
    assert drafted.json()["draft"]["target_date"].startswith("2027-03-31T07:00:00")
    more = await client.post(
        f"{_url(world, agent=True)}/questions", json={"question": "Anything else?"}, headers=main
    )
    assert more.status_code == 409
    assert _code(more) == "onboarding_awaiting_user"

    confirmed = await client.post(f"{_url(world)}/confirm", headers=admin)
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["onboarding"]["status"] == "confirmed"
    assert (body["lead_agent_id"], body["lead_created"]) == (str(world.lead.id), False)
    board = body["board"]
    assert board["objective"] == "Launch the beta to 500 users"
    assert board["success_metrics"] == {"beta_users": 500}
    assert board["goal_confirmed"] is True
    assert board["require_approval_for_done"] is False  # fully autonomous
    async with database.unit_of_work() as session:
        stored = await session.get(Board, world.board.id)
        lead = await session.get(Agent, world.lead.id)
        admin_user = (await session.scalars(select(User).where(User.preferred_name == "Ana"))).one()
        events = set((await session.scalars(select(ActivityEvent.event_type))).all()) | set(
            (await session.scalars(select(StreamEvent.kind))).all()
        )
    assert stored is not None
    assert stored.target_date is not None
    assert stored.target_date.isoformat() == "2027-03-31T07:00:00+00:00"
    assert lead is not None
    assert (lead.name, lead.name_key) == ("Beta Lead", "beta lead")
    assert lead.identity_profile is not None
    assert lead.identity_profile["role"] == "Release Coordinator"
    assert lead.identity_profile["communication_style"] == "direct, concise, practical"
    assert lead.generation > lead.applied_generation  # provisioning intent recorded
    assert (admin_user.timezone, admin_user.pronouns) == ("Europe/Madrid", "she/her")
    assert {
        "board.onboarding.draft_ready",
        "board.onboarding.confirmed",
        "onboarding.question",
        "onboarding.draft",
        "onboarding.confirmed",
    } <= events

    for path, payload, headers in (
        ("/confirm", None, admin),
        ("/answers", {"content": "late"}, admin),
        ("/abandon", None, admin),
    ):
        late = await client.post(f"{_url(world)}{path}", json=payload, headers=headers)
        assert (late.status_code, _code(late)) == (409, "onboarding_closed"), path
    late_draft = await client.post(f"{_url(world, agent=True)}/draft", json=DRAFT, headers=main)
    assert (late_draft.status_code, _code(late_draft)) == (409, "onboarding_closed")


async def _second_board(database: Database, world: World) -> Board:
    async with database.unit_of_work() as session:
        return await factories.board(session, world.org, world.gateway, name="Second")


async def test_confirm_creates_the_lead_from_an_edited_draft(
    client: httpx.AsyncClient, database: Database
) -> None:
    world = await _world(database)
    board = await _second_board(database, world)
    await seed(database, board.id, world.gateway.id, "draft_ready")
    edited = {
        "board_type": "general",
        "lead_agent": {"name": "Ops Lead", "communication_style": "warm"},
        "user_profile": {"preferred_name": "  "},
    }
    confirmed = await client.post(
        f"{_url(world, board.id)}/confirm", json={"draft": edited}, headers=world.as_(Actor.ADMIN)
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["lead_created"] is True
    assert body["onboarding"]["draft"]["board_type"] == "general"
    assert body["board"]["require_approval_for_done"] is True
    async with database.unit_of_work() as session:
        lead = await session.get(Agent, uuid.UUID(body["lead_agent_id"]))
        users = (await session.scalars(select(User.preferred_name))).all()
    assert lead is not None
    assert (lead.name, lead.is_board_lead, lead.board_id) == ("Ops Lead", True, board.id)
    assert lead.identity_profile == {
        "role": "Board Lead",
        "communication_style": "warm",
        "emoji": ":gear:",
    }
    assert (lead.generation, lead.applied_generation, lead.provision_action) == (
        1,
        0,
        "provision",
    )
    assert all(name is None for name in users)  # a blank preferred name is not applied


async def test_confirm_refuses_a_lead_name_taken_on_the_gateway(
    client: httpx.AsyncClient, database: Database
) -> None:
    world = await _world(database)
    board = await _second_board(database, world)
    draft = {**DRAFT, "lead_agent": {"name": "MATRIX worker"}}
    onboarding_id = await seed(database, board.id, world.gateway.id, "draft_ready", draft=draft)
    refused = await client.post(f"{_url(world, board.id)}/confirm", headers=world.as_(Actor.ADMIN))
    assert (refused.status_code, _code(refused)) == (409, "agent_name_taken")
    async with database.unit_of_work() as session:
        stored = await session.get(Board, board.id)
        leads = (await session.scalars(select(Agent).where(Agent.board_id == board.id))).all()
    assert stored is not None
    assert stored.goal_confirmed is False
    assert leads == []
    assert (await _row(database, onboarding_id)).status == "draft_ready"


async def test_wrong_state_transitions_are_409_with_stable_codes(
    client: httpx.AsyncClient, database: Database
) -> None:
    world = await _world(database)
    admin, main = world.as_(Actor.ADMIN), world.as_(Actor.GATEWAY_MAIN)
    for url, headers in ((_url(world), admin), (_url(world, agent=True), main)):
        missing = await client.get(url, headers=headers)
        assert (missing.status_code, _code(missing)) == (404, "onboarding_not_found")
    no_session = await client.post(f"{_url(world)}/confirm", headers=admin)
    assert (no_session.status_code, _code(no_session)) == (404, "onboarding_not_found")

    onboarding_id = await seed(database, world.board.id, world.gateway.id)
    early = await client.post(f"{_url(world)}/confirm", headers=admin)
    assert (early.status_code, _code(early)) == (409, "onboarding_draft_missing")
    again = await client.post(_url(world), headers=admin)
    assert (again.status_code, _code(again)) == (409, "onboarding_in_progress")
    assert again.json()["error"]["details"]["onboarding_id"] == str(onboarding_id)

    abandoned = await client.post(f"{_url(world)}/abandon", headers=admin)
    assert abandoned.status_code == 200
    assert abandoned.json()["status"] == "abandoned"
    assert abandoned.json()["messages"][-1]["kind"] == "note"
    twice = await client.post(f"{_url(world)}/abandon", headers=admin)
    assert (twice.status_code, _code(twice)) == (409, "onboarding_closed")
    asked = await client.post(
        f"{_url(world, agent=True)}/questions", json={"question": "Still there?"}, headers=main
    )
    assert (asked.status_code, _code(asked)) == (409, "onboarding_closed")


async def test_start_refusals_come_before_any_gateway_call(
    client: httpx.AsyncClient, database: Database
) -> None:
    world = await _world(database)
    admin = world.as_(Actor.ADMIN)
    async with database.unit_of_work() as session:
        loose = await factories.board(session, world.org, None, name="Loose")
        bare_gateway = await factories.gateway(session, world.org, name="bare")
        unmanned = await factories.board(session, world.org, bare_gateway, name="Unmanned")
    no_gateway = await client.post(_url(world, loose.id), headers=admin)
    assert (no_gateway.status_code, _code(no_gateway)) == (422, "board_without_gateway")
    no_main = await client.post(_url(world, unmanned.id), headers=admin)
    assert (no_main.status_code, _code(no_main)) == (409, "gateway_main_not_provisioned")
    assert "Update the gateway" in no_main.json()["error"]["message"]
    async with database.unit_of_work() as session:
        rows = (await session.scalars(select(BoardOnboardingSession))).all()
    assert rows == []


async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient, database: Database
) -> None:
    world = await _world(database)
    await seed(database, world.board.id, world.gateway.id)
    main, admin = world.as_(Actor.GATEWAY_MAIN), world.as_(Actor.ADMIN)
    drafts: list[dict[str, Any]] = [
        {"board_type": "goal"},
        {**DRAFT, "user_profile": {"timezone": "Mars/Olympus"}},
        {**DRAFT, "target_date": "9999-12-31T23:00:00-05:00"},
        {**DRAFT, "target_date": "2027-03-31T09:00:00"},
        {**DRAFT, "board_type": "kanban"},
        {**DRAFT, "surprise": True},
    ]
    for draft in drafts:
        answer = await client.post(f"{_url(world, agent=True)}/draft", json=draft, headers=main)
        assert (answer.status_code, _code(answer)) == (422, "validation_error"), draft
    questions: list[dict[str, Any]] = [
        {"question": "   "},
        {"question": "Pick", "options": ["A", "a"]},
        {"question": "Pick", "options": [""]},
        {"question": "x" * 2001},
    ]
    for question in questions:
        answer = await client.post(
            f"{_url(world, agent=True)}/questions", json=question, headers=main
        )
        assert (answer.status_code, _code(answer)) == (422, "validation_error"), question
    unknown = await client.post(
        f"{_url(world)}/answers", json={"content": "Yes", "question_id": "nope"}, headers=admin
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0]["field"] == "question_id"
    blank = await client.post(f"{_url(world)}/answers", json={"content": "  "}, headers=admin)
    assert blank.status_code == 422
    row = (await client.get(_url(world), headers=admin)).json()
    assert (row["status"], len(row["messages"])) == ("active", 1)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_gateway_is_502_with_what_to_check(
    client: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short retry budget: what is checked is the answer once it is spent, not its length.
    monkeypatch.setattr(onboarding_dispatch, "DISPATCH_BUDGET_SECONDS", 2.0)
    world = await _world(database)
    async with database.unit_of_work() as session:
        gateway = await session.get(type(world.gateway), world.gateway.id)
        assert gateway is not None
        gateway.url = f"ws://127.0.0.1:{_closed_port()}"
    admin = world.as_(Actor.ADMIN)
    for _attempt in range(2):  # a failed start leaves nothing open that blocks the next one
        started = await client.post(_url(world), headers=admin)
        assert (started.status_code, _code(started)) == (502, "onboarding_start_failed")
        error = started.json()["error"]
        assert error["message"].startswith("Gateway onboarding start dispatch failed:")
        assert "is running at ws://127.0.0.1:" in error["message"]
        assert error["details"]["retryable"] is True
    async with database.unit_of_work() as session:
        statuses = (await session.scalars(select(BoardOnboardingSession.status))).all()
    assert sorted(statuses) == ["abandoned", "abandoned"]

    await seed(database, world.board.id, world.gateway.id)
    answered = await client.post(
        f"{_url(world)}/answers",
        json={"content": "March", "question_id": QUESTION_ID},
        headers=admin,
    )
    assert (answered.status_code, _code(answered)) == (502, "onboarding_answer_failed")
    row = (await client.get(_url(world), headers=admin)).json()
    assert len(row["messages"]) == 1  # the answer the agent never got is not recorded


async def test_openapi_tags_name_the_gateway_main_agent_only(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    agent_paths = [p for p in spec["paths"] if p.startswith("/api/v1/agent/boards/{board_id}/onb")]
    assert len(agent_paths) == 3
    for path in agent_paths:
        for operation in spec["paths"][path].values():
            assert operation["tags"] == ["agent-main"], path
