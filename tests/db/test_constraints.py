"""Integrity lives in the database: uniqueness, one lead/main, pending approvals, FK actions."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent, agent_name_key
from mission_control.approvals.models import Approval, ApprovalTaskLink
from mission_control.boards.models import Board
from mission_control.core.db import Database
from mission_control.tasks.models import Task, TaskDependency
from tests.support import factories


async def _world(database: Database) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        brd = await factories.board(session, org, gw)
        return org.id, gw.id, brd.id


def _agent(gateway_id: uuid.UUID, board_id: uuid.UUID | None, name: str, **fields: object) -> Agent:
    return Agent(
        gateway_id=gateway_id, board_id=board_id, name=name, name_key=agent_name_key(name), **fields
    )


async def _insert_fails(database: Database, *rows: object) -> None:
    with pytest.raises(IntegrityError):
        async with database.unit_of_work() as session:
            session.add_all(rows)
            await session.flush()


async def test_one_lead_per_board(database: Database) -> None:
    _, gw, brd = await _world(database)
    async with database.unit_of_work() as session:
        session.add(_agent(gw, brd, "Lead A", is_board_lead=True))
        session.add(_agent(gw, brd, "Worker", is_board_lead=False))
    await _insert_fails(database, _agent(gw, brd, "Lead B", is_board_lead=True))


async def test_one_gateway_main_agent_per_gateway(database: Database) -> None:
    _, gw, _ = await _world(database)
    async with database.unit_of_work() as session:
        session.add(_agent(gw, None, "Main"))
    await _insert_fails(database, _agent(gw, None, "Second main"))


async def test_lead_needs_a_board(database: Database) -> None:
    _, gw, _ = await _world(database)
    await _insert_fails(database, _agent(gw, None, "Boardless lead", is_board_lead=True))


async def test_unique_token_id(database: Database) -> None:
    _, gw, brd = await _world(database)
    async with database.unit_of_work() as session:
        session.add(_agent(gw, brd, "One", token_id="abcdef0123456789"))
    await _insert_fails(database, _agent(gw, brd, "Two", token_id="abcdef0123456789"))


async def test_board_agent_names_unique_per_gateway_ignoring_case(database: Database) -> None:
    org, gw, brd = await _world(database)
    async with database.unit_of_work() as session:
        other = Board(organization_id=org, gateway_id=gw, name="Other", slug="other")
        session.add(other)
        await session.flush()
        other_id = other.id
        session.add(_agent(gw, brd, "Coder"))
    await _insert_fails(database, _agent(gw, other_id, "  CODER "))


async def test_unique_session_key_per_gateway(database: Database) -> None:
    _, gw, brd = await _world(database)
    async with database.unit_of_work() as session:
        session.add(_agent(gw, brd, "A", openclaw_session_id="agent:mc-x:main"))
    await _insert_fails(database, _agent(gw, brd, "B", openclaw_session_id="agent:mc-x:main"))


async def test_unique_board_slug_per_organisation(database: Database) -> None:
    org, _, _ = await _world(database)
    async with database.unit_of_work() as session:
        session.add(Board(organization_id=org, name="X", slug="same"))
    await _insert_fails(database, Board(organization_id=org, name="Y", slug="same"))
    async with database.unit_of_work() as session:
        elsewhere = await factories.organization(session, "Elsewhere")
        session.add(Board(organization_id=elsewhere.id, name="Z", slug="same"))


async def test_max_agents_cannot_be_negative(database: Database) -> None:
    org, _, _ = await _world(database)
    await _insert_fails(database, Board(organization_id=org, name="N", slug="n", max_agents=-1))


async def test_one_pending_approval_per_task(database: Database) -> None:
    _, _, brd = await _world(database)
    async with database.unit_of_work() as session:
        task = Task(board_id=brd, title="T")
        first = Approval(board_id=brd, action_type="deploy", payload={"reason": "r"})
        session.add_all([task, first])
        await session.flush()
        session.add(ApprovalTaskLink(approval_id=first.id, task_id=task.id, pending=True))
        second = Approval(board_id=brd, action_type="deploy", payload={"reason": "r"})
        session.add(second)
        await session.flush()
        task_id, first_id, second_id = task.id, first.id, second.id
    await _insert_fails(
        database, ApprovalTaskLink(approval_id=second_id, task_id=task_id, pending=True)
    )
    async with database.unit_of_work() as session:
        link = await session.get(ApprovalTaskLink, (first_id, task_id))
        assert link is not None
        link.pending = False
    async with database.unit_of_work() as session:
        session.add(ApprovalTaskLink(approval_id=second_id, task_id=task_id, pending=True))


async def test_task_cannot_depend_on_itself(database: Database) -> None:
    _, _, brd = await _world(database)
    async with database.unit_of_work() as session:
        task = Task(board_id=brd, title="T")
        session.add(task)
        await session.flush()
        task_id = task.id
    await _insert_fails(database, TaskDependency(task_id=task_id, depends_on_task_id=task_id))


async def test_deleting_an_agent_detaches_its_tasks_approvals_and_events(
    database: Database,
) -> None:
    org, gw, brd = await _world(database)
    async with database.unit_of_work() as session:
        agent = _agent(gw, brd, "Doomed")
        session.add(agent)
        await session.flush()
        session.add_all(
            [
                Task(board_id=brd, title="T", assigned_agent_id=agent.id),
                Approval(board_id=brd, agent_id=agent.id, action_type="a", payload={"reason": "r"}),
                ActivityEvent(organization_id=org, agent_id=agent.id, event_type="x", message="m"),
            ]
        )
        agent_id = agent.id
    async with database.unit_of_work() as session:
        await session.delete(await session.get(Agent, agent_id))
    async with database.unit_of_work() as session:
        assert (await session.scalar(select(Task.assigned_agent_id))) is None
        assert (await session.scalar(select(Approval.agent_id))) is None
        assert (await session.scalar(select(ActivityEvent.agent_id))) is None


async def test_deleting_a_board_removes_its_tasks_but_not_while_agents_remain(
    database: Database,
) -> None:
    _, gw, brd = await _world(database)
    async with database.unit_of_work() as session:
        session.add_all([Task(board_id=brd, title="T"), _agent(gw, brd, "Stays")])
    with pytest.raises(IntegrityError):
        async with database.unit_of_work() as session:
            await session.delete(await session.get(Board, brd))
            await session.flush()
    async with database.unit_of_work() as session:
        for agent in await session.scalars(select(Agent)):
            await session.delete(agent)
    async with database.unit_of_work() as session:
        await session.delete(await session.get(Board, brd))
    async with database.unit_of_work() as session:
        assert list(await session.scalars(select(Task))) == []
