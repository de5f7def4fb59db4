"""Task transition rules (PRODUCT.md "Tasks"): who may change what, and what a change leads to.

Pure: the service gathers the facts from the database, this module decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from mission_control.core.errors import Conflict, Forbidden, InvalidInput
from mission_control.tasks.actors import ActorKind

INBOX, IN_PROGRESS, REVIEW, DONE = "inbox", "in_progress", "review", "done"
# What a worker may touch besides status; anything else is the lead's or a user's.
WORKER_FIELDS = frozenset({"custom_fields", "comment"})


@dataclass(frozen=True, slots=True)
class BoardRules:
    only_lead_can_change_status: bool = False
    require_review_before_done: bool = False
    require_approval_for_done: bool = False
    block_status_changes_with_pending_approval: bool = False
    comment_required_for_review: bool = False


@dataclass(frozen=True, slots=True)
class TaskState:
    status: str
    assignee_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Change:
    """What the caller asked for. ``fields`` names every other field present in the request."""

    status: str | None = None
    assignee_given: bool = False
    assignee_id: uuid.UUID | None = None
    fields: frozenset[str] = frozenset()
    comment: str | None = None

    def target(self, current: str) -> str | None:
        """The new status, or None when the status does not change."""
        return self.status if self.status is not None and self.status != current else None


@dataclass(frozen=True, slots=True)
class Facts:
    """Database facts the rules need; the service fills only what the change makes relevant."""

    lead_id: uuid.UUID | None = None
    blocking_task_ids: Sequence[uuid.UUID] = ()
    # (id, title, status) of each blocking task, so a refusal can name them.
    blocking_tasks: Sequence[tuple[uuid.UUID, str, str]] = ()
    pending_approval_ids: Sequence[uuid.UUID] = ()
    has_approved_approval: bool = False
    assignee_commented: bool = False
    review_sender_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    assignee_id: uuid.UUID | None
    stamp_in_progress: bool = False
    rework: bool = False
    # Set when the task enters review: the agent who sent it there (rework goes back to it).
    review_sender_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class ActorRole:
    kind: ActorKind
    agent_id: uuid.UUID | None = None


def decide(
    actor: ActorRole, task: TaskState, rules: BoardRules, change: Change, facts: Facts
) -> Outcome:
    """The task's status and assignee after ``change``, or the domain error that forbids it.

    Order: who may (403), then board rules and blocking (409), then the review comment (422).
    """
    authorize(actor, task, rules, change, change.target(task.status))
    return settle(actor, task, rules, change, facts)


def settle(
    actor: ActorRole, task: TaskState, rules: BoardRules, change: Change, facts: Facts
) -> Outcome:
    """The outcome of an authorised change, or the board rule that refuses it."""
    target = change.target(task.status)
    outcome = resulting_state(actor, task, change, target, facts)
    check_rules(task, target, outcome, rules, change, facts)
    return outcome


def authorize(
    actor: ActorRole, task: TaskState, rules: BoardRules, change: Change, target: str | None
) -> None:
    if actor.kind == "main":
        raise Forbidden(
            "The gateway-main agent may read tasks but not change them.", code="read_only"
        )
    if actor.kind == "worker":
        _authorize_worker(actor, task, rules, change, target)
    elif actor.kind == "lead":
        _authorize_lead(actor, task, change, target)


def _authorize_worker(
    actor: ActorRole, task: TaskState, rules: BoardRules, change: Change, target: str | None
) -> None:
    if task.assignee_id is not None and task.assignee_id != actor.agent_id:
        raise Forbidden(
            "This task is assigned to another agent; workers change only their own or "
            "unassigned tasks: pick one from your tasks (assigned_agent_id = your id).",
            code="not_assignee",
        )
    extra = sorted(set(change.fields) - WORKER_FIELDS) + (
        ["assigned_agent_id"] if change.assignee_given else []
    )
    if extra:
        raise Forbidden(
            f"Workers may change only status, comment and custom fields, not {', '.join(extra)}.",
            code="worker_field",
            details={"fields": extra},
        )
    if target is not None and rules.only_lead_can_change_status:
        raise Forbidden(
            "On this board only the lead changes task status; comment and ask the lead.",
            code="lead_only",
        )


def _authorize_lead(actor: ActorRole, task: TaskState, change: Change, target: str | None) -> None:
    if (
        change.assignee_given
        and change.assignee_id == actor.agent_id
        and change.assignee_id != task.assignee_id
    ):
        raise Forbidden(
            "A lead never assigns a task to itself; assign a worker.", code="lead_self_assign"
        )
    if target is None:
        return
    from_review = task.status == REVIEW and target in (DONE, INBOX)
    starting = (
        task.status == INBOX
        and target == IN_PROGRESS
        and change.assignee_given
        and change.assignee_id is not None
    )
    if not (from_review or starting):
        raise Forbidden(
            f"A lead may not move a task from {task.status} to {target}: leads move review to "
            "done or back to inbox, or inbox to in_progress while assigning a worker.",
            code="lead_transition",
        )


def resulting_state(
    actor: ActorRole, task: TaskState, change: Change, target: str | None, facts: Facts
) -> Outcome:
    assignee = change.assignee_id if change.assignee_given else task.assignee_id
    if target is None:
        return Outcome(status=task.status, assignee_id=assignee)
    if target == REVIEW:
        # Whoever held the task sent it to review; rework goes back to them.
        sender = actor.agent_id if actor.kind == "worker" else task.assignee_id
        # A worker hands the task to the lead; a user's explicit assignee wins.
        if actor.kind == "worker" or (not change.assignee_given and facts.lead_id is not None):
            assignee = facts.lead_id
        return Outcome(status=REVIEW, assignee_id=assignee, review_sender_id=sender)
    if actor.kind == "worker":
        if target in (IN_PROGRESS, DONE):
            return Outcome(status=target, assignee_id=actor.agent_id, stamp_in_progress=True)
        return Outcome(status=target, assignee_id=None)
    if actor.kind == "lead" and task.status == REVIEW and target == INBOX:
        back_to = change.assignee_id if change.assignee_given else facts.review_sender_id
        return Outcome(status=INBOX, assignee_id=back_to, rework=True)
    return Outcome(status=target, assignee_id=assignee, stamp_in_progress=target == IN_PROGRESS)


def check_rules(
    task: TaskState,
    target: str | None,
    outcome: Outcome,
    rules: BoardRules,
    change: Change,
    facts: Facts,
) -> None:
    if target is not None and rules.block_status_changes_with_pending_approval:
        _refuse_pending(facts.pending_approval_ids)
    check_blocked(outcome, facts.blocking_task_ids, facts.blocking_tasks)
    if target == DONE and rules.require_review_before_done and task.status != REVIEW:
        raise Conflict(
            "This board requires review before done: move the task to review first.",
            code="review_required",
        )
    if target == DONE and rules.require_approval_for_done and not facts.has_approved_approval:
        raise Conflict(
            "This board requires an approved approval linked to the task before done: raise "
            'one (POST .../approvals with {"action_type": "mark_done", "task_id": "<this '
            'task>", "payload": {"reason": "..."}}), wait until a person approves it, then '
            "move the task to done again.",
            code="approval_required",
        )
    if target == REVIEW and rules.comment_required_for_review:
        has_comment = bool(change.comment and change.comment.strip())
        if not (has_comment or facts.assignee_commented):
            raise InvalidInput(
                "This board requires a comment to enter review: send `comment` with the change "
                "or comment on the task first.",
                code="comment_required",
                details=[{"field": "comment", "location": "body", "message": "required"}],
            )


def _refuse_pending(pending_approval_ids: Sequence[uuid.UUID]) -> None:
    if pending_approval_ids:
        raise Conflict(
            "A linked approval is still pending; status changes wait until a person resolves "
            "it (its status is in GET .../approvals?task_id=<this task>); try again after that.",
            code="pending_approval",
            details={"approval_ids": [str(i) for i in pending_approval_ids]},
        )


def check_blocked(
    outcome: Outcome,
    blocking_task_ids: Sequence[uuid.UUID],
    blocking_tasks: Sequence[tuple[uuid.UUID, str, str]] = (),
) -> None:
    """A task with unfinished dependencies stays in inbox, unassigned; the refusal names them."""
    if blocking_task_ids and (outcome.status != INBOX or outcome.assignee_id is not None):
        named = "; ".join(f"{title!r} ({id_}) is {status}" for id_, title, status in blocking_tasks)
        raise Conflict(
            "The task is blocked by unfinished dependencies"
            + (f" ({named})" if named else "")
            + ": it stays in inbox, unassigned, until they are done. Work on another task "
            "meanwhile; this one can be assigned once they are done.",
            code="task_blocked",
            details={
                "blocking_task_ids": [str(i) for i in blocking_task_ids],
                "blocking_tasks": [
                    {"id": str(task_id), "title": title, "status": status}
                    for task_id, title, status in blocking_tasks
                ],
            },
        )


def has_cycle(
    edges: Collection[tuple[uuid.UUID, uuid.UUID]],
    task_id: uuid.UUID,
    depends_on: Collection[uuid.UUID],
) -> bool:
    """Whether making ``task_id`` depend on ``depends_on`` closes a cycle in ``edges``.

    ``edges`` are (task, depends on) pairs of the board, without the task's own old edges.
    """
    graph: dict[uuid.UUID, set[uuid.UUID]] = {}
    for source, target in edges:
        if source != task_id:
            graph.setdefault(source, set()).add(target)
    # A cycle exists when the task is reachable from any of its new dependencies.
    stack, seen = list(depends_on), set()
    while stack:
        node = stack.pop()
        if node == task_id:
            return True
        if node in seen:
            continue
        seen.add(node)
        stack.extend(graph.get(node, ()))
    return False
