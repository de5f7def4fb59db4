"""Tasks over HTTP: CRUD and filters, access per actor, lead and worker rules, comments,
notifications and activity."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.core.events import StreamEvent
from mission_control.notifications.models import Notification
from mission_control.organizations.models import Role
from mission_control.tasks.models import Task, TaskTag
from tests.support import factories, task_factories


async def _notifications(database: Database) -> list[tuple[str, str]]:
    async with database.unit_of_work() as session:
        rows = await session.scalars(select(Notification).order_by(Notification.created_at))
        return [(str(n.agent_id), n.kind) for n in rows]


async def _events(database: Database, task_id: str) -> list[str]:
    task_uuid = uuid.UUID(task_id)
    async with database.unit_of_work() as session:
        rows = await session.scalars(
            select(ActivityEvent)
            .where(ActivityEvent.task_id == task_uuid)
            .order_by(ActivityEvent.id)
        )
        return [e.event_type for e in rows]


async def test_create_get_update_delete(client: httpx.AsyncClient, database: Database) -> None:
    team = await task_factories.team(database)
    async with database.unit_of_work() as session:
        tag = await task_factories.tag(session, team.org)
    payload = {
        "title": "  Write docs ",
        "description": "All of them",
        "priority": "high",
        "due_at": "2026-12-01T10:00:00+01:00",
        "assigned_agent_id": str(team.worker.id),
        "tag_ids": [str(tag.id)],
    }
    created = await client.post(team.tasks_url, json=payload, headers=team.user)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["title"] == "Write docs"
    assert body["status"] == "inbox"
    assert body["assigned_agent_id"] == str(team.worker.id)
    assert body["due_at"].startswith("2026-12-01T09:00:00")
    assert body["tag_ids"] == [str(tag.id)]
    assert body["created_by_user_id"] == str(team.admin.user.id)
    assert body["version"] == 1
    url = f"{team.tasks_url}/{body['id']}"
    assert (await client.get(url, headers=team.user)).json() == body

    patched = await client.patch(url, json={"title": "Docs", "tag_ids": []}, headers=team.user)
    assert patched.status_code == 200
    assert patched.json()["title"] == "Docs"
    assert patched.json()["tag_ids"] == []
    assert patched.json()["version"] == 2

    assert await _notifications(database) == [(str(team.worker.id), "assignment")]
    assert await _events(database, body["id"]) == [
        "task.created",
        "task.assigned",
        "task.updated",
    ]
    assert (await client.delete(url, headers=team.user)).status_code == 204
    assert (await client.get(url, headers=team.user)).status_code == 404


async def test_list_filters_and_pages(client: httpx.AsyncClient, database: Database) -> None:
    team = await task_factories.team(database)
    now = utcnow()
    async with database.unit_of_work() as session:
        tag = await task_factories.tag(session, team.org, "Urgent")
        first = await task_factories.task(session, team.board, title="Alpha report")
        second = await task_factories.task(
            session, team.board, title="Beta", status="in_progress", assignee=team.worker
        )
        third = await task_factories.task(session, team.board, title="Gamma")
        await task_factories.depend(session, third, second)
        first.due_at = now + timedelta(days=1)
        second.due_at = now + timedelta(days=5)
        session.add(TaskTag(task_id=second.id, tag_id=tag.id))

    async def titles(query: str) -> set[str]:
        response = await client.get(f"{team.tasks_url}?{query}", headers=team.user)
        assert response.status_code == 200, response.text
        return {item["title"] for item in response.json()["items"]}

    assert await titles("status=inbox") == {"Alpha report", "Gamma"}
    assert await titles("status=inbox&status=in_progress") == {"Alpha report", "Beta", "Gamma"}
    assert await titles(f"assigned_agent_id={team.worker.id}") == {"Beta"}
    assert await titles(f"tag_id={tag.id}") == {"Beta"}
    due = (now + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    assert await titles(f"due_before={due}") == {"Alpha report"}
    assert await titles(f"due_after={due}") == {"Beta"}
    assert await titles("blocked=true") == {"Gamma"}
    assert await titles("blocked=false") == {"Alpha report", "Beta"}
    assert await titles("search=REPORT") == {"Alpha report"}
    page = (await client.get(f"{team.tasks_url}?limit=2&offset=2", headers=team.user)).json()
    assert (page["total"], len(page["items"]), page["limit"], page["offset"]) == (3, 1, 2, 2)
    gamma = (await client.get(f"{team.tasks_url}/{third.id}", headers=team.user)).json()
    assert gamma["is_blocked"] is True
    assert gamma["blocked_by_task_ids"] == [str(second.id)]
    for bad_due in ("2026-01-01T00:00:00", "9999-12-31T23:59:59-14:00"):
        bad = await client.get(team.tasks_url, params={"due_before": bad_due}, headers=team.user)
        assert bad.status_code == 422


async def test_invalid_input_is_422(client: httpx.AsyncClient, database: Database) -> None:
    team = await task_factories.team(database)
    for payload, field in (
        ({"title": " "}, "title"),
        ({"title": "x", "status": "later"}, "status"),
        ({"title": "x", "priority": "meh"}, "priority"),
        ({"title": "x", "due_at": "2026-12-01T10:00:00"}, "due_at"),
        ({"title": "x", "due_at": "9999-12-31T23:59:59-14:00"}, "due_at"),
        ({"title": "x", "surprise": 1}, "surprise"),
        ({"title": "x", "assigned_agent_id": str(team.main.id)}, "assigned_agent_id"),
        ({"title": "x", "tag_ids": [str(team.board.id)]}, "tag_ids"),
    ):
        response = await client.post(team.tasks_url, json=payload, headers=team.user)
        assert response.status_code == 422, (payload, response.text)
        assert response.json()["error"]["details"][0]["field"] == field
    created = await client.post(team.tasks_url, json={"title": "x"}, headers=team.user)
    url = f"{team.tasks_url}/{created.json()['id']}"
    response = await client.patch(url, json={"status": None}, headers=team.user)
    assert response.status_code == 422
    unknown = await client.patch(
        f"{team.tasks_url}/{team.board.id}", json={"title": "y"}, headers=team.user
    )
    assert unknown.status_code == 404


async def test_access(client: httpx.AsyncClient, database: Database) -> None:
    team = await task_factories.team(database)
    stranger = await task_factories.team(database, name="Elsewhere")
    async with database.unit_of_work() as session:
        task = await task_factories.task(session, team.board)
        reader = await factories.person(session, team.org, grants={team.board.id: (True, False)})
        outsider = await factories.person(session, team.org, Role.MEMBER)
    url = f"{team.tasks_url}/{task.id}"
    # Another organisation's board: not found, whether read or written.
    assert (await client.get(url, headers=stranger.user)).status_code == 404
    assert (await client.patch(url, json={"title": "x"}, headers=stranger.user)).status_code == 404
    # A member with read access reads but may not write; without a grant, nothing.
    assert (await client.get(url, headers=reader.headers)).status_code == 200
    for response in (
        await client.patch(url, json={"title": "x"}, headers=reader.headers),
        await client.post(team.tasks_url, json={"title": "x"}, headers=reader.headers),
        await client.delete(url, headers=reader.headers),
        await client.get(url, headers=outsider.headers),
    ):
        assert response.status_code == 403
    # Agents reach only their own board; the gateway-main agent reads but never writes.
    foreign = stranger.agent_headers(stranger.worker_token)
    agent_url = f"{team.agent_tasks_url}/{task.id}"
    assert (await client.get(agent_url, headers=foreign)).status_code == 403
    assert (
        await client.patch(agent_url, json={"status": "done"}, headers=foreign)
    ).status_code == 403
    main = team.agent_headers(team.main_token)
    assert (await client.get(agent_url, headers=main)).status_code == 200
    refused = await client.patch(agent_url, json={"status": "in_progress"}, headers=main)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "read_only"
    # Agents cannot use the user routes, users cannot delete through agent routes.
    as_bearer = {"Authorization": f"Bearer {team.worker_token}"}
    assert (await client.get(url, headers=as_bearer)).status_code == 403
    async with database.unit_of_work() as session:
        assert await session.get(Task, task.id) is not None


async def test_lead_creates_assigns_and_reviews(
    client: httpx.AsyncClient, database: Database
) -> None:
    team = await task_factories.team(database)
    lead = team.agent_headers(team.lead_token)
    worker = team.agent_headers(team.worker_token)
    created = await client.post(team.agent_tasks_url, json={"title": "Build"}, headers=lead)
    assert created.status_code == 201, created.text
    assert created.json()["created_by_agent_id"] == str(team.lead.id)
    url = f"{team.agent_tasks_url}/{created.json()['id']}"
    self_assign = await client.patch(
        url, json={"assigned_agent_id": str(team.lead.id)}, headers=lead
    )
    assert (self_assign.status_code, self_assign.json()["error"]["code"]) == (
        403,
        "lead_self_assign",
    )
    started = await client.patch(
        url, json={"status": "in_progress", "assigned_agent_id": str(team.worker.id)}, headers=lead
    )
    assert started.status_code == 200, started.text
    assert started.json()["assigned_agent_id"] == str(team.worker.id)
    assert started.json()["in_progress_at"] is not None
    to_review = await client.patch(url, json={"status": "review"}, headers=worker)
    assert to_review.json()["assigned_agent_id"] == str(team.lead.id)
    rework = await client.patch(url, json={"status": "inbox", "comment": "Redo"}, headers=lead)
    assert rework.status_code == 200, rework.text
    assert rework.json()["assigned_agent_id"] == str(team.worker.id)
    assert await _notifications(database) == [
        (str(team.worker.id), "assignment"),
        (str(team.lead.id), "assignment"),
        (str(team.worker.id), "rework"),
    ]
    events = await _events(database, created.json()["id"])
    assert events.count("task.status_changed") == 3
    assert "task.rework" in events
    assert "task.review_requested" in events
    async with database.unit_of_work() as session:
        rows = await session.scalars(select(StreamEvent).order_by(StreamEvent.id))
        kinds = [e.kind for e in rows if e.kind.startswith("task.")]
    assert kinds[:2] == ["task.created", "task.updated"]
    assert "task.comment.created" in kinds
    denied = await client.post(team.agent_tasks_url, json={"title": "Mine"}, headers=worker)
    assert denied.status_code == 403


async def test_worker_changes_only_status_comment_and_fields(
    client: httpx.AsyncClient, database: Database
) -> None:
    team = await task_factories.team(database)
    async with database.unit_of_work() as session:
        task = await task_factories.task(session, team.board)
        await task_factories.field(session, team.org, team.board, "estimate", "integer")
    url = f"{team.agent_tasks_url}/{task.id}"
    worker = team.agent_headers(team.worker_token)
    payloads: list[dict[str, Any]] = [
        {"title": "Mine now"},
        {"assigned_agent_id": str(team.worker.id)},
        {"depends_on_task_ids": []},
        {"priority": "urgent"},
    ]
    for payload in payloads:
        response = await client.patch(url, json=payload, headers=worker)
        assert response.status_code == 403, payload
        assert response.json()["error"]["code"] == "worker_field"
    allowed = await client.patch(
        url,
        json={"status": "in_progress", "custom_fields": {"estimate": 3}, "comment": "On it"},
        headers=worker,
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["custom_fields"] == {"estimate": 3}
    assert allowed.json()["assigned_agent_id"] == str(team.worker.id)


async def test_comments(client: httpx.AsyncClient, database: Database) -> None:
    team = await task_factories.team(database)
    async with database.unit_of_work() as session:
        task = await task_factories.task(session, team.board, assignee=team.other)
    user_url = f"{team.tasks_url}/{task.id}/comments"
    agent_url = f"{team.agent_tasks_url}/{task.id}/comments"
    first = await client.post(user_url, json={"message": "Please hurry"}, headers=team.user)
    assert first.status_code == 201
    assert first.json()["author_user_id"] == str(team.admin.user.id)
    by_other = await client.post(
        agent_url, json={"message": "Working"}, headers=team.agent_headers(team.other_token)
    )
    assert by_other.status_code == 201
    assert by_other.json()["author_agent_id"] == str(team.other.id)
    by_lead = await client.post(
        agent_url, json={"message": "ok"}, headers=team.agent_headers(team.lead_token)
    )
    assert by_lead.status_code == 201
    not_theirs = await client.post(
        agent_url, json={"message": "mine?"}, headers=team.agent_headers(team.worker_token)
    )
    assert (not_theirs.status_code, not_theirs.json()["error"]["code"]) == (403, "not_assignee")
    main = await client.post(
        agent_url, json={"message": "hi"}, headers=team.agent_headers(team.main_token)
    )
    assert main.status_code == 403
    blank = await client.post(user_url, json={"message": "  "}, headers=team.user)
    assert blank.status_code == 422
    thread = (await client.get(agent_url, headers=team.agent_headers(team.main_token))).json()
    assert [c["message"] for c in thread["items"]] == ["Please hurry", "Working", "ok"]
    assert thread["total"] == 3


async def test_comment_required_for_review(client: httpx.AsyncClient, database: Database) -> None:
    team = await task_factories.team(database, rules={"comment_required_for_review": True})
    started = utcnow() - timedelta(minutes=5)
    async with database.unit_of_work() as session:
        same_call = await task_factories.task(
            session, team.board, status="in_progress", assignee=team.worker, in_progress_at=started
        )
        earlier = await task_factories.task(
            session, team.board, status="in_progress", assignee=team.worker, in_progress_at=started
        )
        stale = await task_factories.task(
            session, team.board, status="in_progress", assignee=team.worker, in_progress_at=started
        )
        by_someone_else = await task_factories.task(
            session, team.board, status="in_progress", assignee=team.worker, in_progress_at=started
        )
        await task_factories.comment(session, earlier, "Done, see PR", author=team.worker)
        old = await task_factories.comment(session, stale, "Started", author=team.worker)
        old.created_at = started - timedelta(minutes=1)
        await task_factories.comment(session, by_someone_else, "Hm", author=team.lead)
    worker = team.agent_headers(team.worker_token)

    async def review(task: Task, **extra: str) -> httpx.Response:
        url = f"{team.agent_tasks_url}/{task.id}"
        return await client.patch(url, json={"status": "review", **extra}, headers=worker)

    assert (await review(same_call, comment="Ready: tests pass")).status_code == 200
    assert (await review(earlier)).status_code == 200
    for task in (stale, by_someone_else):
        response = await review(task)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "comment_required"
    thread = await client.get(f"{team.tasks_url}/{same_call.id}/comments", headers=team.user)
    assert [c["message"] for c in thread.json()["items"]] == ["Ready: tests pass"]
