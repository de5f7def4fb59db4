"""Approvals over HTTP: raise (reason, merged task links, same board), one pending per task,
list and filters, resolution by users only, notifications, activity and stream events."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.approvals.models import ApprovalTaskLink
from mission_control.core.db import Database
from mission_control.core.events import StreamEvent
from mission_control.notifications.models import Notification
from mission_control.organizations.models import Role
from tests.support import factories, task_factories
from tests.support.task_factories import Team


def _url(team: Team, *, agent: bool = False) -> str:
    prefix = "/api/v1/agent/boards" if agent else "/api/v1/boards"
    return f"{prefix}/{team.board.id}/approvals"


def _body(*task_ids: object, **extra: Any) -> dict[str, Any]:
    return {
        "action_type": "mark_done",
        "payload": {"reason": "All checks pass"},
        "task_ids": [str(t) for t in task_ids],
        **extra,
    }


async def test_raise_merges_links_and_validates(
    client: httpx.AsyncClient, database: Database
) -> None:
    team = await task_factories.team(database)
    other = await task_factories.team(database, name="Other")
    async with database.unit_of_work() as session:
        a = await task_factories.task(session, team.board, title="A")
        b = await task_factories.task(session, team.board, title="B")
        foreign = await task_factories.task(session, other.board, title="F")
    worker = team.agent_headers(team.worker_token)
    raised = await client.post(
        _url(team, agent=True),
        json=_body(b.id, a.id, task_id=str(a.id), confidence=80, rubric_scores={"tests": 90}),
        headers=worker,
    )
    assert raised.status_code == 201, raised.text
    body = raised.json()
    assert sorted(body["task_ids"]) == sorted([str(a.id), str(b.id)])
    assert (body["status"], body["agent_id"], body["confidence"]) == (
        "pending",
        str(team.worker.id),
        80,
    )
    assert body["rubric_scores"] == {"tests": 90}
    invalid: list[tuple[dict[str, Any], str]] = [
        ({**_body(a.id), "payload": {}}, "payload"),
        ({**_body(a.id), "payload": {"reason": "  "}}, "payload"),
        (_body(a.id, confidence=101), "confidence"),
        (_body(a.id, rubric_scores={"x": -1}), "rubric_scores.x"),
        (_body(), "task_ids"),
        (_body(foreign.id), "task_ids"),
        (_body(a.id, surprise=True), "surprise"),
    ]
    for payload, field in invalid:
        response = await client.post(_url(team), json=payload, headers=team.user)
        assert response.status_code == 422, (payload, response.text)
        assert response.json()["error"]["details"][0]["field"] == field
    main = await client.post(
        _url(team, agent=True), json=_body(a.id), headers=team.agent_headers(team.main_token)
    )
    assert main.status_code == 403
    foreign_agent = await client.post(
        _url(team, agent=True), json=_body(a.id), headers=other.agent_headers(other.lead_token)
    )
    assert foreign_agent.status_code == 403


async def test_one_pending_approval_per_task(client: httpx.AsyncClient, database: Database) -> None:
    team = await task_factories.team(database)
    async with database.unit_of_work() as session:
        a = await task_factories.task(session, team.board, title="A")
        b = await task_factories.task(session, team.board, title="B")
        c = await task_factories.task(session, team.board, title="C")
    first = await client.post(_url(team), json=_body(a.id, b.id), headers=team.user)
    assert first.status_code == 201
    conflict = await client.post(_url(team), json=_body(c.id, b.id), headers=team.user)
    assert conflict.status_code == 409
    error = conflict.json()["error"]
    assert error["code"] == "pending_approval"
    assert error["details"]["task_ids"] == [str(b.id)]
    assert error["details"]["approval_ids"] == [first.json()["id"]]
    # Nothing of the refused approval remains.
    listed = (await client.get(_url(team), headers=team.user)).json()
    assert [item["id"] for item in listed["items"]] == [first.json()["id"]]
    resolved = await client.post(
        f"{_url(team)}/{first.json()['id']}/resolve", json={"status": "rejected"}, headers=team.user
    )
    assert resolved.status_code == 200
    again = await client.post(_url(team), json=_body(c.id, b.id), headers=team.user)
    assert again.status_code == 201


async def test_raced_approvals_exactly_one_conflict(
    client: httpx.AsyncClient, database: Database
) -> None:
    team = await task_factories.team(database)
    async with database.unit_of_work() as session:
        task = await task_factories.task(session, team.board)
    url = _url(team, agent=True)
    responses = await asyncio.gather(
        client.post(url, json=_body(task.id), headers=team.agent_headers(team.worker_token)),
        client.post(url, json=_body(task.id), headers=team.agent_headers(team.lead_token)),
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    winner = next(r for r in responses if r.status_code == 201)
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["error"]["details"]["approval_ids"] == [winner.json()["id"]]
    async with database.unit_of_work() as session:
        links = list(await session.scalars(select(ApprovalTaskLink)))
    assert [(link.task_id, link.pending) for link in links] == [(task.id, True)]


async def test_list_get_and_filters(client: httpx.AsyncClient, database: Database) -> None:
    team = await task_factories.team(database)
    async with database.unit_of_work() as session:
        a = await task_factories.task(session, team.board, title="A")
        b = await task_factories.task(session, team.board, title="B")
        approved = await task_factories.approval(session, team.board, [a], status="approved")
        pending = await task_factories.approval(session, team.board, [b])
    worker = team.agent_headers(team.worker_token)

    async def ids(query: str) -> list[str]:
        response = await client.get(f"{_url(team, agent=True)}?{query}", headers=worker)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids("status=pending") == [str(pending.id)]
    assert await ids("status=approved") == [str(approved.id)]
    assert await ids(f"task_id={a.id}") == [str(approved.id)]
    assert sorted(await ids("")) == sorted([str(approved.id), str(pending.id)])
    one = await client.get(f"{_url(team)}/{pending.id}", headers=team.user)
    assert one.json()["task_ids"] == [str(b.id)]
    assert (await client.get(f"{_url(team)}?status=maybe", headers=team.user)).status_code == 422
    other = await task_factories.team(database, name="Other")
    assert (await client.get(f"{_url(team)}/{pending.id}", headers=other.user)).status_code == 404


async def test_resolution_by_users_only(client: httpx.AsyncClient, database: Database) -> None:
    team = await task_factories.team(database, rules={"require_approval_for_done": True})
    async with database.unit_of_work() as session:
        task = await task_factories.task(
            session, team.board, status="in_progress", assignee=team.worker
        )
        reader = await factories.person(
            session, team.org, Role.MEMBER, grants={team.board.id: (True, False)}
        )
    worker = team.agent_headers(team.worker_token)
    task_url = f"{team.agent_tasks_url}/{task.id}"
    early = await client.patch(task_url, json={"status": "done"}, headers=worker)
    assert (early.status_code, early.json()["error"]["code"]) == (409, "approval_required")
    raised = await client.post(_url(team, agent=True), json=_body(task.id), headers=worker)
    resolve_url = f"{_url(team)}/{raised.json()['id']}/resolve"
    for headers in (
        {"Authorization": f"Bearer {team.lead_token}"},
        {"Authorization": f"Bearer {team.worker_token}"},
        reader.headers,
    ):
        refused = await client.post(resolve_url, json={"status": "approved"}, headers=headers)
        assert refused.status_code == 403
    bad = await client.post(resolve_url, json={"status": "pending"}, headers=team.user)
    assert bad.status_code == 422
    approved = await client.post(
        resolve_url, json={"status": "approved", "note": "Ship it"}, headers=team.user
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["resolution_note"]) == ("approved", "Ship it")
    assert body["resolved_by_user_id"] == str(team.admin.user.id)
    twice = await client.post(resolve_url, json={"status": "rejected"}, headers=team.user)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "approval_resolved")
    done = await client.patch(task_url, json={"status": "done"}, headers=worker)
    assert done.status_code == 200, done.text
    async with database.unit_of_work() as session:
        links = list(await session.scalars(select(ApprovalTaskLink)))
        notified = list(await session.scalars(select(Notification)))
        activity = [e.event_type for e in await session.scalars(select(ActivityEvent))]
        streamed = [e.kind for e in await session.scalars(select(StreamEvent))]
    assert [link.pending for link in links] == [False]
    resolutions = {(n.agent_id, n.kind) for n in notified if n.kind == "approval_resolved"}
    assert resolutions == {
        (team.lead.id, "approval_resolved"),
        (team.worker.id, "approval_resolved"),
    }
    assert "approval.created" in activity
    assert "approval.approved" in activity
    assert "approval.created" in streamed
    assert "approval.resolved" in streamed
