"""Pure transition rules: cycles, lead assignment, explicit assignees, precedence of refusals."""

from __future__ import annotations

import uuid

import pytest

from mission_control.core.errors import Conflict, DomainError, Forbidden, InvalidInput
from mission_control.tasks.transitions import (
    ActorRole,
    BoardRules,
    Change,
    Facts,
    Outcome,
    TaskState,
    check_blocked,
    decide,
    has_cycle,
)

A, B, C, D = (uuid.uuid4() for _ in range(4))
LEAD, WORKER, OTHER = (uuid.uuid4() for _ in range(3))


def test_has_cycle() -> None:
    edges = [(B, A), (C, B)]  # B waits on A, C waits on B
    assert has_cycle(edges, A, [C]) is True
    assert has_cycle(edges, A, [B]) is True
    assert has_cycle(edges, D, [C]) is False
    assert has_cycle(edges, C, [A]) is False
    # The task's old edges are being replaced, so they do not count.
    assert has_cycle([(A, B), (B, C)], A, [C]) is False
    assert has_cycle([(A, B), (C, A)], A, [C]) is True


def test_user_review_honours_an_explicit_assignee() -> None:
    outcome = decide(
        ActorRole("user"),
        TaskState("in_progress", WORKER),
        BoardRules(),
        Change(status="review", assignee_given=True, assignee_id=OTHER),
        Facts(lead_id=LEAD),
    )
    assert (outcome.status, outcome.assignee_id, outcome.review_sender_id) == (
        "review",
        OTHER,
        WORKER,
    )


def test_worker_review_without_a_lead_leaves_it_unassigned() -> None:
    outcome = decide(
        ActorRole("worker", WORKER),
        TaskState("in_progress", WORKER),
        BoardRules(),
        Change(status="review"),
        Facts(lead_id=None),
    )
    assert (outcome.assignee_id, outcome.review_sender_id) == (None, WORKER)


def test_lead_rework_without_a_known_sender_is_unassigned() -> None:
    outcome = decide(
        ActorRole("lead", LEAD),
        TaskState("review", LEAD),
        BoardRules(),
        Change(status="inbox"),
        Facts(),
    )
    assert (outcome.status, outcome.assignee_id, outcome.rework) == ("inbox", None, True)


def test_lead_starts_a_task_only_while_assigning_a_worker() -> None:
    outcome = decide(
        ActorRole("lead", LEAD),
        TaskState("inbox", None),
        BoardRules(),
        Change(status="in_progress", assignee_given=True, assignee_id=WORKER),
        Facts(),
    )
    assert (outcome.assignee_id, outcome.stamp_in_progress) == (WORKER, True)
    with pytest.raises(Forbidden) as refused:
        decide(
            ActorRole("lead", LEAD),
            TaskState("inbox", None),
            BoardRules(),
            Change(status="in_progress", assignee_given=True, assignee_id=None),
            Facts(),
        )
    assert refused.value.code == "lead_transition"


def test_lead_may_keep_itself_as_the_reviewer() -> None:
    # Re-sending the current assignee (itself, in review) is not self-assignment.
    outcome = decide(
        ActorRole("lead", LEAD),
        TaskState("review", LEAD),
        BoardRules(),
        Change(assignee_given=True, assignee_id=LEAD, fields=frozenset({"title"})),
        Facts(),
    )
    assert outcome.assignee_id == LEAD


@pytest.mark.parametrize(
    ("rules", "facts", "error", "code"),
    [
        # 403 before any 409.
        (
            BoardRules(only_lead_can_change_status=True, require_review_before_done=True),
            Facts(),
            Forbidden,
            "lead_only",
        ),
        # Pending approval before blocking, blocking before review, review before approval.
        (
            BoardRules(
                block_status_changes_with_pending_approval=True, require_review_before_done=True
            ),
            Facts(pending_approval_ids=[A], blocking_task_ids=[B]),
            Conflict,
            "pending_approval",
        ),
        (
            BoardRules(require_review_before_done=True),
            Facts(blocking_task_ids=[B]),
            Conflict,
            "task_blocked",
        ),
        (
            BoardRules(require_review_before_done=True, require_approval_for_done=True),
            Facts(),
            Conflict,
            "review_required",
        ),
        (BoardRules(require_approval_for_done=True), Facts(), Conflict, "approval_required"),
    ],
)
def test_refusal_precedence(
    rules: BoardRules, facts: Facts, error: type[DomainError], code: str
) -> None:
    with pytest.raises(error) as refused:
        decide(
            ActorRole("worker", WORKER),
            TaskState("inbox", None),
            rules,
            Change(status="done"),
            facts,
        )
    assert refused.value.code == code


def test_comment_rule_accepts_a_comment_in_the_same_call() -> None:
    rules = BoardRules(comment_required_for_review=True)
    state = TaskState("in_progress", WORKER)
    with pytest.raises(InvalidInput):
        decide(
            ActorRole("worker", WORKER), state, rules, Change(status="review", comment=" "), Facts()
        )
    outcome = decide(
        ActorRole("worker", WORKER), state, rules, Change(status="review", comment="ready"), Facts()
    )
    assert outcome.status == "review"


def test_main_agent_changes_nothing() -> None:
    with pytest.raises(Forbidden):
        decide(
            ActorRole("main"),
            TaskState("inbox", None),
            BoardRules(),
            Change(fields=frozenset({"comment"})),
            Facts(),
        )


def test_a_blocked_refusal_names_the_blocking_tasks_and_their_status() -> None:
    outcome = Outcome(status="in_progress", assignee_id=A)
    with pytest.raises(Conflict) as caught:
        check_blocked(outcome, [B], [(B, "Draft the notes", "review")])
    error = caught.value
    assert error.code == "task_blocked"
    assert f"'Draft the notes' ({B}) is review" in error.message
    assert "Work on another task" in error.message
    assert error.details == {
        "blocking_task_ids": [str(B)],
        "blocking_tasks": [{"id": str(B), "title": "Draft the notes", "status": "review"}],
    }
    # Unblocked or staying in inbox unassigned: no refusal.
    check_blocked(Outcome(status="inbox", assignee_id=None), [B], [(B, "Draft", "review")])
