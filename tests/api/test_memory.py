"""Board and group memory for users and agents: access, filters, chat, @mentions (never the
sender), and /pause and /resume (the latest-command-per-board query on both databases)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import httpx

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.memory import service as memory_service
from mission_control.notifications.models import Notification
from mission_control.organizations.models import Role
from tests.support import board_factories, factories
from tests.support.factories import Person


@dataclass
class Scene:
    board: Board
    other: Board
    lead: Agent
    lead_token: str
    alice: Agent
    alice_token: str
    bob: Agent
    stranger_token: str
    owner: Person
    reader: Person
    outsider: Person


async def _board_with_agents(database: Database) -> Scene:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        board = await factories.board(session, org, gw, name="Ops")
        other = await factories.board(session, org, gw, name="Other")
        lead, lead_token = await factories.agent(session, gw, board, name="Lead One", lead=True)
        alice, alice_token = await factories.agent(session, gw, board, name="Alice Bot")
        bob, _ = await factories.agent(session, gw, board, name="bob")
        _, stranger_token = await factories.agent(session, gw, other, name="Stranger")
        return Scene(
            board=board,
            other=other,
            lead=lead,
            lead_token=lead_token,
            alice=alice,
            alice_token=alice_token,
            bob=bob,
            stranger_token=stranger_token,
            owner=await factories.person(session, org, Role.OWNER),
            reader=await factories.person(session, org, grants={board.id: (True, False)}),
            outsider=await factories.person(session, org),
        )


async def _notified(database: Database) -> list[tuple[uuid.UUID, str]]:
    async with database.unit_of_work() as session:
        rows = await board_factories.notifications(session)
    return sorted((row.agent_id, row.kind) for row in rows)


async def _clear_notifications(database: Database) -> None:
    from sqlalchemy import delete

    async with database.unit_of_work() as session:
        await session.execute(delete(Notification))


async def test_users_write_and_filter_board_memory(
    client: httpx.AsyncClient, database: Database
) -> None:
    s = await _board_with_agents(database)
    board, owner, reader, outsider = s.board, s.owner, s.reader, s.outsider
    url = f"/api/v1/boards/{board.id}/memory"
    note = {"content": "Deploy notes", "tags": ["ops", "ops", " deploy "], "source": "runbook"}
    created = await client.post(url, json=note, headers=owner.headers)
    assert created.status_code == 201, created.text
    assert created.json()["tags"] == ["ops", "deploy"]
    assert created.json()["is_chat"] is False
    chat = await client.post(
        url,
        json={"content": "hello team", "is_chat": True},
        headers=owner.headers,
    )
    assert chat.status_code == 201

    listed = await client.get(url, headers=reader.headers)
    assert listed.status_code == 200
    assert [item["content"] for item in listed.json()["items"]] == ["hello team", "Deploy notes"]
    only_chat = await client.get(url, params={"is_chat": "true"}, headers=reader.headers)
    assert [item["content"] for item in only_chat.json()["items"]] == ["hello team"]
    tagged = await client.get(url, params={"tag": "deploy"}, headers=reader.headers)
    assert [item["content"] for item in tagged.json()["items"]] == ["Deploy notes"]
    partial_tag = await client.get(url, params={"tag": "dep"}, headers=reader.headers)
    assert partial_tag.json()["total"] == 0
    by_source = await client.get(url, params={"source": "runbook"}, headers=reader.headers)
    assert by_source.json()["total"] == 1

    # Read-only grant: may read, not write; no grant: forbidden.
    denied = await client.post(url, json={"content": "x"}, headers=reader.headers)
    assert denied.status_code == 403
    hidden = await client.get(url, headers=outsider.headers)
    assert hidden.status_code == 403
    # Input errors are 422 with the error body, never a 500.
    for bad in ({"content": "   "}, {"content": "x", "colour": "red"}, {"content": "x" * 20001}):
        response = await client.post(url, json=bad, headers=owner.headers)
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "validation_error"


async def test_other_organisation_board_is_not_found(
    client: httpx.AsyncClient, database: Database
) -> None:
    s = await _board_with_agents(database)
    async with database.unit_of_work() as session:
        elsewhere = await factories.organization(session, "Elsewhere")
        foreign_owner = await factories.person(session, elsewhere, Role.OWNER)
    response = await client.get(
        f"/api/v1/boards/{s.board.id}/memory",
        headers=foreign_owner.headers,
    )
    assert response.status_code == 404


async def test_agents_use_only_their_own_board(
    client: httpx.AsyncClient, database: Database
) -> None:
    s = await _board_with_agents(database)
    board, other = s.board, s.other
    alice = {"X-Agent-Token": s.alice_token}
    url = f"/api/v1/agent/boards/{board.id}/memory"
    written = await client.post(
        url, json={"content": "Found the bug", "tags": ["reply"]}, headers=alice
    )
    assert written.status_code == 201, written.text
    assert written.json()["author_agent_id"] == str(s.alice.id)
    listed = await client.get(url, headers=alice)
    assert listed.json()["total"] == 1
    foreign = await client.get(f"/api/v1/agent/boards/{other.id}/memory", headers=alice)
    assert foreign.status_code == 403
    stranger = await client.get(url, headers={"X-Agent-Token": s.stranger_token})
    assert stranger.status_code == 403


async def test_mentions_notify_named_agents_and_never_the_sender(
    client: httpx.AsyncClient, database: Database
) -> None:
    s = await _board_with_agents(database)
    board = s.board
    lead, alice, bob, owner = s.lead.id, s.alice.id, s.bob.id, s.owner

    # A user mentions a multi-word name (any case) and the lead.
    await client.post(
        f"/api/v1/boards/{board.id}/memory",
        json={"content": "@ALICE BOT and @lead: please look", "is_chat": True},
        headers=owner.headers,
    )
    assert await _notified(database) == sorted([(alice, "mention"), (lead, "mention")])
    await _clear_notifications(database)

    # Alice mentions herself, the lead and bob: everyone but Alice hears about it.
    await client.post(
        f"/api/v1/agent/boards/{board.id}/memory",
        json={"content": "@Alice Bot @lead @bob done; email me at x@bob.example", "is_chat": True},
        headers={"X-Agent-Token": s.alice_token},
    )
    assert await _notified(database) == sorted([(lead, "mention"), (bob, "mention")])
    await _clear_notifications(database)

    # No mention: a user's chat goes to the lead; an agent's chat goes to nobody; a name
    # inside a longer word is not a mention.
    await client.post(
        f"/api/v1/boards/{board.id}/memory",
        json={"content": "status please, @bobby?", "is_chat": True},
        headers=owner.headers,
    )
    assert await _notified(database) == [(lead, "chat")]
    await _clear_notifications(database)
    await client.post(
        f"/api/v1/agent/boards/{board.id}/memory",
        json={"content": "working on it", "is_chat": True},
        headers={"X-Agent-Token": s.alice_token},
    )
    # The lead mentioning @lead does not notify itself.
    await client.post(
        f"/api/v1/agent/boards/{board.id}/memory",
        json={"content": "note to @lead (me)", "is_chat": False},
        headers={"X-Agent-Token": s.lead_token},
    )
    assert await _notified(database) == []


async def test_group_memory_reaches_every_lead_and_checks_access(
    client: httpx.AsyncClient, database: Database
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        first = await factories.board(session, org, gw, name="First")
        second = await factories.board(session, org, gw, name="Second")
        group = await board_factories.board_group(session, org)
        await board_factories.join_group(session, group, first, second)
        lead1, lead1_token = await factories.agent(session, gw, first, name="L1", lead=True)
        lead2, _ = await factories.agent(session, gw, second, name="L2", lead=True)
        worker, worker_token = await factories.agent(session, gw, second, name="W")
        owner = await factories.person(session, org, Role.OWNER)
        partial = await factories.person(session, org, grants={first.id: (True, True)})
    url = f"/api/v1/board-groups/{group.id}/memory"
    posted = await client.post(
        url, json={"content": "@all weekly sync", "is_chat": True}, headers=owner.headers
    )
    assert posted.status_code == 201, posted.text
    assert await _notified(database) == sorted([(lead1.id, "mention"), (lead2.id, "mention")])
    await _clear_notifications(database)

    by_lead = await client.post(
        f"/api/v1/agent/board-groups/{group.id}/memory",
        json={"content": "@all I am blocked, @W can you help?", "is_chat": True},
        headers={"X-Agent-Token": lead1_token},
    )
    assert by_lead.status_code == 201, by_lead.text
    assert await _notified(database) == sorted([(lead2.id, "mention"), (worker.id, "mention")])

    listed = await client.get(
        f"/api/v1/agent/board-groups/{group.id}/memory", headers={"X-Agent-Token": worker_token}
    )
    assert listed.json()["total"] == 2
    # Group memory reaches both boards: a grant on one board is not enough.
    assert (await client.get(url, headers=partial.headers)).status_code == 403
    assert (await client.get(url, headers=owner.headers)).json()["total"] == 2


async def test_pause_and_resume_commands(client: httpx.AsyncClient, database: Database) -> None:
    s = await _board_with_agents(database)
    board = s.board
    owner = s.owner
    url = f"/api/v1/boards/{board.id}/memory"
    state = f"/api/v1/boards/{board.id}/chat/state"
    assert (await client.get(state, headers=owner.headers)).json()["paused"] is False

    await client.post(url, json={"content": " /Pause\n", "is_chat": True}, headers=owner.headers)
    assert (await client.get(state, headers=owner.headers)).json()["paused"] is True
    # Relayed to every agent of the board.
    kinds = await _notified(database)
    assert sorted(kinds) == sorted(
        (agent, "chat_command") for agent in (s.lead.id, s.alice.id, s.bob.id)
    )
    await _clear_notifications(database)

    # Not commands: extra words, or a note rather than chat.
    await client.post(url, json={"content": "/resume now", "is_chat": True}, headers=owner.headers)
    await client.post(url, json={"content": "/resume"}, headers=owner.headers)
    assert (await client.get(state, headers=owner.headers)).json()["paused"] is True
    # "/resume now" is ordinary chat: it goes to the lead like any other user message.
    assert await _notified(database) == [(s.lead.id, "chat")]
    await _clear_notifications(database)

    # An agent resumes: the others are told, the sender is not.
    await client.post(
        f"/api/v1/agent/boards/{board.id}/memory",
        json={"content": "/RESUME", "is_chat": True},
        headers={"X-Agent-Token": s.alice_token},
    )
    assert (await client.get(state, headers=owner.headers)).json()["paused"] is False
    assert sorted(await _notified(database)) == sorted(
        (agent, "chat_command") for agent in (s.lead.id, s.bob.id)
    )


async def test_paused_boards_query_takes_the_latest_command_per_board(database: Database) -> None:
    now = utcnow()
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        paused, resumed, never, notes_only, chatter = [
            await factories.board(session, org, name=name)
            for name in ("Paused", "Resumed", "Never", "Notes", "Chatter")
        ]
        steps = [
            (paused, "/resume", True, 1),
            (paused, "/pause", True, 2),
            (paused, "ordinary chat after the pause", True, 3),
            (resumed, "/pause", True, 1),
            (resumed, "  /RESUME ", True, 2),
            (resumed, "/pause now", True, 3),
            (never, "hello", True, 1),
            (notes_only, "/pause", False, 1),
            (chatter, "/pause", True, 5),
            (chatter, "/resume", True, 4),
        ]
        for board, content, is_chat, minute in steps:
            await board_factories.memory(
                session, board, content, is_chat=is_chat, created_at=now + timedelta(minutes=minute)
            )
        ids = [board.id for board in (paused, resumed, never, notes_only, chatter)]
        found = await memory_service.paused_board_ids(session, ids)
        none = await memory_service.paused_board_ids(session, [])
        only_resumed = await memory_service.paused_board_ids(session, [resumed.id])
    assert found == {paused.id, chatter.id}
    assert none == set()
    assert only_resumed == set()
