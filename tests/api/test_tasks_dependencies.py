"""Dependencies: same board, no self, no cycles; blocked tasks stay in inbox unassigned; a
reopened dependency sends its unfinished dependents back to inbox."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.core.db import Database
from mission_control.tasks.models import Task
from tests.support import task_factories


async def test_dependency_validation(client: httpx.AsyncClient, database: Database) -> None:
    team = await task_factories.team(database)
    elsewhere = await task_factories.team(database, name="Other org")
    async with database.unit_of_work() as session:
        a = await task_factories.task(session, team.board, title="A")
        b = await task_factories.task(session, team.board, title="B")
        c = await task_factories.task(session, team.board, title="C")
        foreign = await task_factories.task(session, elsewhere.board, title="F")
        await task_factories.depend(session, b, a)
        await task_factories.depend(session, c, b)

    async def depend(task: Task, *on: uuid.UUID) -> httpx.Response:
        return await client.patch(
            f"{team.tasks_url}/{task.id}",
            json={"depends_on_task_ids": [str(i) for i in on]},
            headers=team.user,
        )

    itself = await depend(a, a.id)
    assert (itself.status_code, itself.json()["error"]["code"]) == (422, "invalid_dependency")
    other_board = await depend(a, foreign.id)
    assert other_board.status_code == 422
    assert other_board.json()["error"]["details"][0]["task_ids"] == [str(foreign.id)]
    for cycle in (await depend(a, b.id), await depend(a, c.id)):
        assert (cycle.status_code, cycle.json()["error"]["code"]) == (409, "dependency_cycle")
    fine = await depend(c, a.id, b.id, a.id)
    assert fine.status_code == 200, fine.text
    assert sorted(fine.json()["depends_on_task_ids"]) == sorted([str(a.id), str(b.id)])
    cleared = await depend(b)
    assert cleared.json()["depends_on_task_ids"] == []
    assert (await depend(a, b.id)).status_code == 200


async def test_blocked_task_stays_in_inbox_unassigned(
    client: httpx.AsyncClient, database: Database
) -> None:
    team = await task_factories.team(database)
    async with database.unit_of_work() as session:
        first = await task_factories.task(session, team.board, title="First")
        second = await task_factories.task(session, team.board, title="Second", status="done")
        blocked = await task_factories.task(session, team.board, title="Blocked")
        working = await task_factories.task(
            session, team.board, title="Working", status="in_progress", assignee=team.worker
        )
        await task_factories.depend(session, blocked, first, second)
    url = f"{team.tasks_url}/{blocked.id}"
    attempts = [
        await client.patch(url, json={"status": "in_progress"}, headers=team.user),
        await client.patch(url, json={"assigned_agent_id": str(team.worker.id)}, headers=team.user),
        await client.patch(
            f"{team.agent_tasks_url}/{blocked.id}",
            json={"status": "in_progress"},
            headers=team.agent_headers(team.worker_token),
        ),
        await client.patch(
            f"{team.agent_tasks_url}/{blocked.id}",
            json={"status": "in_progress", "assigned_agent_id": str(team.worker.id)},
            headers=team.agent_headers(team.lead_token),
        ),
        # Making a task that is already under way depend on unfinished work is refused too.
        await client.patch(
            f"{team.tasks_url}/{working.id}",
            json={"depends_on_task_ids": [str(first.id)]},
            headers=team.user,
        ),
    ]
    for response in attempts:
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "task_blocked"
        assert error["details"]["blocking_task_ids"] == [str(first.id)]
    # The title may still change while blocked.
    assert (await client.patch(url, json={"title": "Later"}, headers=team.user)).status_code == 200
    done = await client.patch(
        f"{team.tasks_url}/{first.id}", json={"status": "done"}, headers=team.user
    )
    assert done.status_code == 200
    unblocked = await client.get(url, headers=team.user)
    assert unblocked.json()["is_blocked"] is False
    claimed = await client.patch(
        f"{team.agent_tasks_url}/{blocked.id}",
        json={"status": "in_progress"},
        headers=team.agent_headers(team.worker_token),
    )
    assert claimed.status_code == 200
    assert claimed.json()["assigned_agent_id"] == str(team.worker.id)


async def test_reopening_sends_unfinished_dependents_back(
    client: httpx.AsyncClient, database: Database
) -> None:
    team = await task_factories.team(database)
    async with database.unit_of_work() as session:
        base = await task_factories.task(
            session, team.board, title="Base", status="done", assignee=team.worker
        )
        started = await task_factories.task(
            session, team.board, title="Started", status="in_progress", assignee=team.worker
        )
        reviewed = await task_factories.task(
            session, team.board, title="Reviewed", status="review", assignee=team.lead
        )
        finished = await task_factories.task(
            session, team.board, title="Finished", status="done", assignee=team.other
        )
        await task_factories.task(
            session, team.board, title="Unrelated", status="in_progress", assignee=team.other
        )
        for dependent in (started, reviewed, finished):
            await task_factories.depend(session, dependent, base)
    reopened = await client.patch(
        f"{team.tasks_url}/{base.id}", json={"status": "in_progress"}, headers=team.user
    )
    assert reopened.status_code == 200, reopened.text
    async with database.unit_of_work() as session:
        rows = {t.title: t for t in await session.scalars(select(Task))}
        sent_back = list(
            await session.scalars(
                select(ActivityEvent.task_id).where(ActivityEvent.event_type == "task.sent_back")
            )
        )
    states = {title: (t.status, t.assigned_agent_id) for title, t in rows.items()}
    assert states == {
        "Base": ("in_progress", team.worker.id),
        "Started": ("inbox", None),
        "Reviewed": ("inbox", None),
        "Finished": ("done", team.other.id),
        "Unrelated": ("in_progress", team.other.id),
    }
    assert set(sent_back) == {started.id, reviewed.id}
    assert len(sent_back) == 2
