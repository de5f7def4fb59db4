"""The transition table: every board rule flag x actor kind x from/to status, against an explicit
table of expectations written from PRODUCT.md "Tasks" (not derived from the code)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from mission_control.core.db import Database
from mission_control.tasks.models import Task
from tests.support import task_factories
from tests.support.task_factories import Team

STATUSES = ("inbox", "in_progress", "review", "done")
MOVES = [(a, b) for a in STATUSES for b in STATUSES if a != b]
ACTORS = ("user", "lead", "worker_assigned", "worker_unassigned", "worker_other")

# Who holds the task before the move. Users and the lead meet tasks where the rules leave
# them (inbox unassigned, in progress with the worker, review with the lead, done with the
# worker); the worker meets tasks assigned to it, unassigned, or assigned to another worker.
CANONICAL_HOLDER = {"inbox": None, "in_progress": "worker", "review": "lead", "done": "worker"}
WORKER_HOLDER = {"worker_assigned": "worker", "worker_unassigned": None, "worker_other": "other"}

# (actor, from, to) -> (HTTP status, assignee afterwards | error code), with every flag off.
Expectation = tuple[int, str | None]
BASE: dict[tuple[str, str, str], Expectation] = {
    # Users change anything; entering review hands the task to the lead.
    ("user", "inbox", "in_progress"): (200, None),
    ("user", "inbox", "review"): (200, "lead"),
    ("user", "inbox", "done"): (200, None),
    ("user", "in_progress", "inbox"): (200, "worker"),
    ("user", "in_progress", "review"): (200, "lead"),
    ("user", "in_progress", "done"): (200, "worker"),
    ("user", "review", "inbox"): (200, "lead"),
    ("user", "review", "in_progress"): (200, "lead"),
    ("user", "review", "done"): (200, "lead"),
    ("user", "done", "inbox"): (200, "worker"),
    ("user", "done", "in_progress"): (200, "worker"),
    ("user", "done", "review"): (200, "lead"),
    # Leads: review -> done, review -> inbox (rework: back to the worker who sent it); inbox ->
    # in_progress only while assigning (a status-only move is refused).
    ("lead", "inbox", "in_progress"): (403, "lead_transition"),
    ("lead", "inbox", "review"): (403, "lead_transition"),
    ("lead", "inbox", "done"): (403, "lead_transition"),
    ("lead", "in_progress", "inbox"): (403, "lead_transition"),
    ("lead", "in_progress", "review"): (403, "lead_transition"),
    ("lead", "in_progress", "done"): (403, "lead_transition"),
    ("lead", "review", "inbox"): (200, "worker"),
    ("lead", "review", "in_progress"): (403, "lead_transition"),
    ("lead", "review", "done"): (200, "lead"),
    ("lead", "done", "inbox"): (403, "lead_transition"),
    ("lead", "done", "in_progress"): (403, "lead_transition"),
    ("lead", "done", "review"): (403, "lead_transition"),
}
# Workers on their own or unassigned tasks: in_progress/done take the task, inbox drops it,
# review hands it to the lead. On another worker's task: refused.
WORKER_RESULT = {"inbox": None, "in_progress": "worker", "review": "lead", "done": "worker"}
for _move in MOVES:
    for _actor in ("worker_assigned", "worker_unassigned"):
        BASE[(_actor, *_move)] = (200, WORKER_RESULT[_move[1]])
    BASE[("worker_other", *_move)] = (403, "not_assignee")

CLAIMING_WORKERS = ("worker_assigned", "worker_unassigned")
TO_DONE_NOT_FROM_REVIEW = [("inbox", "done"), ("in_progress", "done")]
TO_DONE = [("inbox", "done"), ("in_progress", "done"), ("review", "done")]
TO_REVIEW = [("inbox", "review"), ("in_progress", "review"), ("done", "review")]


def _rows(
    actors: tuple[str, ...], moves: list[tuple[str, str]], result: Expectation
) -> dict[tuple[str, str, str], Expectation]:
    return {(actor, *move): result for actor in actors for move in moves}


@dataclass(frozen=True)
class Config:
    flags: dict[str, bool]
    overrides: dict[tuple[str, str, str], Expectation]
    approval: str | None = None  # a linked approval in this state on every task


CONFIGS = {
    "no_rules": Config({}, {}),
    "only_lead_can_change_status": Config(
        {"only_lead_can_change_status": True},
        _rows(CLAIMING_WORKERS, MOVES, (403, "lead_only")),
    ),
    "require_review_before_done": Config(
        {"require_review_before_done": True},
        _rows(("user", *CLAIMING_WORKERS), TO_DONE_NOT_FROM_REVIEW, (409, "review_required")),
    ),
    "require_approval_for_done": Config(
        {"require_approval_for_done": True},
        _rows(("user", *CLAIMING_WORKERS), TO_DONE, (409, "approval_required"))
        | {("lead", "review", "done"): (409, "approval_required")},
    ),
    "require_approval_for_done_approved": Config(
        {"require_approval_for_done": True}, {}, approval="approved"
    ),
    "block_status_changes_with_pending_approval": Config(
        {"block_status_changes_with_pending_approval": True},
        _rows(("user", *CLAIMING_WORKERS), MOVES, (409, "pending_approval"))
        | {
            ("lead", "review", "inbox"): (409, "pending_approval"),
            ("lead", "review", "done"): (409, "pending_approval"),
        },
        approval="pending",
    ),
    "block_status_changes_without_pending_approval": Config(
        {"block_status_changes_with_pending_approval": True}, {}, approval="approved"
    ),
    "comment_required_for_review": Config(
        {"comment_required_for_review": True},
        _rows(("user", *CLAIMING_WORKERS), TO_REVIEW, (422, "comment_required")),
    ),
}


def _holder(actor: str, status: str) -> str | None:
    return WORKER_HOLDER[actor] if actor in WORKER_HOLDER else CANONICAL_HOLDER[status]


def _headers(team: Team, actor: str) -> dict[str, str]:
    if actor == "user":
        return team.user
    return team.agent_headers(team.lead_token if actor == "lead" else team.worker_token)


def _url(team: Team, actor: str, task: Task) -> str:
    base = team.tasks_url if actor == "user" else team.agent_tasks_url
    return f"{base}/{task.id}"


@pytest.mark.parametrize("config_name", list(CONFIGS))
async def test_transition_table(
    client: httpx.AsyncClient, database: Database, config_name: str
) -> None:
    config = CONFIGS[config_name]
    expected = BASE | config.overrides
    assert len(expected) == len(ACTORS) * len(MOVES)
    team = await task_factories.team(database, rules=config.flags)
    agents = {"worker": team.worker, "other": team.other, "lead": team.lead, None: None}
    names: dict[str | None, str | None] = {
        str(agent.id): name for name, agent in agents.items() if agent is not None
    }
    names[None] = None
    cases: dict[tuple[str, str, str], Task] = {}
    async with database.unit_of_work() as session:
        for actor, source, target in expected:
            holder = agents[_holder(actor, source)]
            task = await task_factories.task(
                session,
                team.board,
                title=f"{actor} {source}->{target}",
                status=source,
                assignee=holder,
                review_sender=team.worker if source == "review" else None,
            )
            if config.approval is not None:
                await task_factories.approval(session, team.board, [task], status=config.approval)
            cases[(actor, source, target)] = task

    mismatches = []
    refused = []
    for key, task in cases.items():
        actor, source, target = key
        response = await client.patch(
            _url(team, actor, task), json={"status": target}, headers=_headers(team, actor)
        )
        body = response.json()
        if response.status_code == 200:
            got: Expectation = (200, names[body["assigned_agent_id"]])
            if body["status"] != target:
                mismatches.append(f"{key}: status {body['status']}")
        else:
            got = (response.status_code, body["error"]["code"])
            refused.append(key)
        if got != expected[key]:
            mismatches.append(f"{key}: expected {expected[key]}, got {got}")
    # A refused change leaves the task exactly as it was.
    async with database.unit_of_work() as session:
        for key in refused:
            stored = await session.get(Task, cases[key].id)
            assert stored is not None
            held_by = names[str(stored.assigned_agent_id) if stored.assigned_agent_id else None]
            if (stored.status, held_by, stored.version) != (key[1], _holder(key[0], key[1]), 1):
                mismatches.append(f"{key}: refused but stored {stored.status}, {held_by}")
    assert mismatches == []
