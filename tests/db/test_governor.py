"""The governor's decision phase on both backends: activity signals, persisted state, activity
events, metrics, a gateway that cannot be reached, and exactly one governor acting at a time."""

from __future__ import annotations

import asyncio
import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.app import build_runtime
from mission_control.boards.models import Board
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.gateways.models import Gateway
from mission_control.governor.service import EVENT_TYPE, Governor
from mission_control.organizations.models import Organization
from mission_control.settings import Settings
from tests.support import board_factories, factories, task_factories


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
async def runtime(database: Database, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(
        auth_token=secrets.token_urlsafe(48), data_dir=tmp_path, database_url=database.url
    )
    runtime = build_runtime(settings, database)
    yield runtime
    await runtime.gateway_pool.close()


@dataclass
class Fleet:
    gateway_id: uuid.UUID
    agents: dict[str, uuid.UUID]


async def _board(
    session: AsyncSession, org: Organization, gw: Gateway, name: str, **policy: object
) -> Board:
    board = await factories.board(session, org, gw, name=name)
    for column, value in policy.items():
        setattr(board, column, value)
    return board


async def _fleet(database: Database) -> Fleet:
    """Five boards on one (unreachable) gateway, each showing one kind of activity."""
    now = utcnow()
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        gw.url = f"ws://127.0.0.1:{_closed_port()}"
        idle = await _board(session, org, gw, "Idle")
        chatty = await _board(session, org, gw, "Chatty")
        tasky = await _board(session, org, gw, "Tasky")
        chat_only = await _board(session, org, gw, "Chat only", governor_activity_trigger="chat")
        paused = await _board(session, org, gw, "Paused")
        stale = await _board(session, org, gw, "Stale chat")
        agents: dict[str, Agent] = {}
        agents["idle_lead"], _ = await factories.agent(
            session, gw, idle, name="Idle Lead", lead=True
        )
        agents["idle_worker"], _ = await factories.agent(session, gw, idle, name="Idle Worker")
        agents["chatty"], _ = await factories.agent(session, gw, chatty, name="Chatty")
        agents["tasky"], _ = await factories.agent(session, gw, tasky, name="Tasky")
        agents["chat_only"], _ = await factories.agent(session, gw, chat_only, name="Chat Only")
        agents["paused"], _ = await factories.agent(session, gw, paused, name="Paused")
        agents["stale"], _ = await factories.agent(session, gw, stale, name="Stale")
        agents["main"], _ = await factories.agent(session, gw, None, name="Main")
        await board_factories.memory(
            session, chatty, "hello", created_at=now - timedelta(minutes=40)
        )
        await board_factories.memory(session, idle, "a note, not chat", is_chat=False)
        await board_factories.memory(session, stale, "old", created_at=now - timedelta(minutes=61))
        await board_factories.memory(session, paused, "/pause")
        await task_factories.task(session, tasky, status="in_progress", assignee=agents["tasky"])
        await task_factories.task(session, chat_only, status="review", assignee=agents["chat_only"])
        await task_factories.task(session, idle, status="inbox", assignee=agents["idle_worker"])
        return Fleet(gw.id, {key: agent.id for key, agent in agents.items()})


async def _agents(database: Database, fleet: Fleet) -> dict[str, Agent]:
    agents: dict[str, Agent] = {}
    async with database.unit_of_work() as session:
        for key, agent_id in fleet.agents.items():
            agent = await session.get(Agent, agent_id)
            assert agent is not None
            agents[key] = agent
    return agents


async def _events(database: Database) -> list[ActivityEvent]:
    async with database.unit_of_work() as session:
        rows = await session.scalars(
            select(ActivityEvent).where(ActivityEvent.event_type == EVENT_TYPE)
        )
        return list(rows)


async def test_activity_decides_the_cadence_and_state_is_persisted(runtime: Runtime) -> None:
    database = runtime.database
    fleet = await _fleet(database)
    governor = Governor(runtime)
    now = utcnow()
    report = await governor.run_once(now)

    assert report.agents == 7  # board agents only: the gateway-main agent is not governed
    assert list(report.failed) == [fleet.gateway_id]  # unreachable, yet the tick completed
    agents = await _agents(database, fleet)
    every = {key: agent.auto_heartbeat_every for key, agent in agents.items()}
    assert every == {
        "idle_lead": "10m",
        "idle_worker": "10m",
        "chatty": "5m",  # chat 40 minutes ago, inside the 60-minute window
        "tasky": "5m",  # trigger B: an assigned task in progress
        "chat_only": "10m",  # its task is in review, but this board counts chat only
        "paused": "10m",  # the /pause message is no activity
        "stale": "10m",  # chat 61 minutes ago is outside the window
        "main": None,
    }
    assert agents["chatty"].auto_heartbeat_last_active_at == now
    assert agents["chatty"].auto_heartbeat_step == 0
    assert agents["idle_worker"].auto_heartbeat_step == 1
    assert agents["idle_worker"].auto_heartbeat_last_active_at is None

    # An event only where the cadence changed (10m was already the provisioning default).
    events = await _events(database)
    assert sorted(str(e.agent_id) for e in events) == sorted(
        str(fleet.agents[key]) for key in ("chatty", "tasky")
    )
    assert all(e.details and e.details["to"] == "5m" and e.details["from"] == "10m" for e in events)

    metrics = generate_latest(runtime.registry).decode()
    assert 'mc_governor_agents{rung="1"} 5.0' in metrics
    assert 'mc_governor_agents{rung="active"} 2.0' in metrics
    assert 'mc_governor_gateway_syncs_total{outcome="failed"} 1.0' in metrics

    # Ten minutes on: idle agents have had their 10m beat and slow down; active ones stay.
    later = await governor.run_once(now + timedelta(minutes=10))
    idle = ("idle_lead", "idle_worker", "chat_only", "paused", "stale")
    assert set(later.changed) == {fleet.agents[key] for key in idle}
    agents = await _agents(database, fleet)
    assert agents["idle_worker"].auto_heartbeat_every == "30m"
    assert agents["idle_lead"].auto_heartbeat_every == "30m"
    assert agents["chatty"].auto_heartbeat_every == "5m"  # 50 minutes after the chat: still in


async def test_an_opted_out_agent_and_a_disabled_board_are_released(runtime: Runtime) -> None:
    database = runtime.database
    fleet = await _fleet(database)
    governor = Governor(runtime)
    now = utcnow()
    for minutes in (0, 10, 40):
        await governor.run_once(now + timedelta(minutes=minutes))
    async with database.unit_of_work() as session:
        worker = await session.get(Agent, fleet.agents["idle_worker"])
        lead = await session.get(Agent, fleet.agents["idle_lead"])
        assert worker is not None
        assert lead is not None
        assert worker.auto_heartbeat_every == lead.auto_heartbeat_every == "1h"
        worker.auto_heartbeat_enabled = False
        board = await session.get(Board, lead.board_id)
        assert board is not None
        board.governor_enabled = False
    report = await governor.run_once(now + timedelta(minutes=45))
    assert {fleet.agents["idle_worker"], fleet.agents["idle_lead"]} <= set(report.changed)
    agents = await _agents(database, fleet)
    for key in ("idle_worker", "idle_lead"):
        assert agents[key].auto_heartbeat_every is None
        assert not agents[key].auto_heartbeat_off
    released = [
        e for e in await _events(database) if e.details and e.details["reason"] == "released"
    ]
    assert sorted(str(e.agent_id) for e in released) == sorted(
        str(fleet.agents[key]) for key in ("idle_lead", "idle_worker")
    )
    assert {e.details["to"] for e in released if e.details} == {"10m"}


async def test_lowering_the_lead_cap_records_the_change_the_gateway_gets(
    runtime: Runtime,
) -> None:
    database = runtime.database
    fleet = await _fleet(database)
    governor = Governor(runtime)
    now = utcnow()
    for minutes in (0, 10, 40):
        await governor.run_once(now + timedelta(minutes=minutes))
    lead_id = fleet.agents["idle_lead"]
    async with database.unit_of_work() as session:
        lead = await session.get(Agent, lead_id)
        assert lead is not None
        assert lead.auto_heartbeat_every == "1h"
        board = await session.get(Board, lead.board_id)
        assert board is not None
        board.governor_lead_cap = "30m"
    seen_before = {e.id for e in await _events(database)}
    report = await governor.run_once(now + timedelta(minutes=45))
    assert lead_id in report.changed
    new = [e for e in await _events(database) if e.id not in seen_before and e.agent_id == lead_id]
    assert len(new) == 1
    assert new[0].details is not None
    assert (new[0].details["from"], new[0].details["to"]) == ("1h", "30m")


async def test_one_gateways_bad_data_does_not_stop_the_others(runtime: Runtime) -> None:
    database = runtime.database
    fleet = await _fleet(database)
    now = utcnow()
    async with database.unit_of_work() as session:
        good = await session.get(Gateway, fleet.gateway_id)
        assert good is not None
        org_row = await session.get(Organization, good.organization_id)
        assert org_row is not None
        # Written before the API validated roots, or straight into the database.
        bad = await factories.gateway(session, org_row, name="gw-bad")
        bad.url = f"ws://127.0.0.1:{_closed_port()}"
        bad.workspace_root = ""
        bad_board = await _board(session, org_row, bad, "On the bad gateway")
        stranded, _ = await factories.agent(session, bad, bad_board, name="Stranded")
        await board_factories.memory(session, bad_board, "busy", created_at=now)
    report = await Governor(runtime).run_once(now)

    assert list(report.agent_errors) == [stranded.id]
    assert "workspace_root" in report.agent_errors[stranded.id]
    assert list(report.failed) == [fleet.gateway_id]  # tried (unreachable), not skipped
    agents = await _agents(database, fleet)
    assert agents["chatty"].auto_heartbeat_every == "5m"
    assert agents["idle_worker"].auto_heartbeat_every == "10m"
    events = await _events(database)
    assert stranded.id not in {e.agent_id for e in events}
    assert fleet.agents["chatty"] in {e.agent_id for e in events}
    async with database.unit_of_work() as session:
        untouched = await session.get(Agent, stranded.id)
        assert untouched is not None
        assert untouched.auto_heartbeat_every is None  # nothing stored; retried next tick


async def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_two_governors_one_acts_and_the_other_takes_over(
    runtime: Runtime, tmp_path: Path
) -> None:
    # The second governor has its own engine and connection pool, as another process would.
    other_database = Database(runtime.database.url)
    settings = runtime.settings.model_copy(update={"data_dir": tmp_path / "other"})
    other_runtime = build_runtime(settings, other_database)
    first, second = Governor(runtime, interval=0.05), Governor(other_runtime, interval=0.05)
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    tasks = [
        asyncio.create_task(first.run(stop_first)),
        asyncio.create_task(second.run(stop_second)),
    ]
    try:
        assert await _wait_for(lambda: first.ticks + second.ticks >= 10)
        acting, waiting, stop_acting = (
            (first, second, stop_first) if first.ticks else (second, first, stop_second)
        )
        assert acting.ticks >= 10
        assert waiting.ticks == 0
        stop_acting.set()
        await tasks[0 if acting is first else 1]
        assert await _wait_for(lambda: waiting.ticks >= 1)
    finally:
        stop_first.set()
        stop_second.set()
        await asyncio.gather(*tasks)
        await other_runtime.gateway_pool.close()
        await other_database.dispose()
