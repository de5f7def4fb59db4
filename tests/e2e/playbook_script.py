"""A scripted model that works from the playbooks: it knows how a board worker and a board lead
go about their job (the procedure the heartbeat prompt spells out), but not a single Mission
Control URL or route. Every command it runs is one it found in the text the gateway sent it
(the ```sh blocks of AGENTS.md in the system prompt), filled in with ids it read from earlier
answers; its own id and kind come from the AGENT_ID= / AGENT_KIND= lines of that text, the work
to plan from a person's message in the board chat (read with the playbook's memory command).

Each reply is decided from the request alone: the turn's earlier tool results are replayed
through the agent's procedure (a generator), whose next step is the next command. An error
answer ends the turn with the error's message, as a careful model would report it.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mission_control.demo.model import (
    Credentials,
    HeartbeatScript,
    Reply,
    is_real_user_message,
    message_text,
)
from tests.support import playbook

Step = tuple[str, dict[str, str]]
Procedure = Generator[Step, Any, str]

NO_REPLY = "NO_REPLY"
SEND_BACK_NOTE = "Please add a short summary at the top."
_LINE = re.compile(r"^(?P<key>AGENT_ID|AGENT_KIND)=(?P<value>\S+)\s*$", re.MULTILINE)
_NUMBERED = re.compile(r"^\s*\d+\.\s+(?P<title>[^`\n]+?)\s*$", re.MULTILINE)
APPROVAL_RULE = "To finish a task you first need an approved approval"


@dataclass(frozen=True)
class Turn:
    kind: str
    me: str
    text: str
    commands: Mapping[str, playbook.Command]
    request: str


def _items(answer: Any) -> list[dict[str, Any]]:
    if isinstance(answer, dict) and isinstance(answer.get("items"), list):
        return [i for i in answer["items"] if isinstance(i, dict)]
    if isinstance(answer, list):
        return [i for i in answer if isinstance(i, dict)]
    return []


def _refusal(answer: Any) -> str | None:
    if playbook.error_code(answer) is None:
        return None
    return f"Mission Control refused: {answer['error'].get('message')}"


def _plain(text: str) -> str:
    """Command bodies are single-quoted: the playbook says no single quotes."""
    return text.replace("'", "")


def planned_titles(memory: list[dict[str, Any]]) -> list[str]:
    """The newest numbered plan a person wrote in the board chat, in order."""
    for item in memory:
        if item.get("is_chat") and item.get("author_user_id") and isinstance(item["content"], str):
            titles = [_plain(m.group("title")) for m in _NUMBERED.finditer(item["content"])]
            if titles:
                return titles
    return []


def worker_turn(turn: Turn) -> Procedure:
    yield ("check-in", {})
    tasks = _items((yield ("my-tasks", {})))
    current = [t for t in tasks if t["status"] == "in_progress"] or [
        t for t in tasks if t["status"] == "inbox" and not t["is_blocked"]
    ]
    if not current:
        return NO_REPLY
    task = current[0]
    ids = {"TASK_ID": str(task["id"])}
    if task["status"] == "inbox":
        claimed = yield ("claim-task", ids)
        if refused := _refusal(claimed):
            return refused
    comments = _items((yield ("task-comments", ids)))
    feedback = [c for c in comments if c.get("author_agent_id") not in (None, turn.me)]
    note = (
        f"Addressed the review: {feedback[-1]['message']}"
        if feedback
        else f"Started on {task['title']}."
    )
    yield ("comment", {**ids, "TEXT": _plain(note)})
    handed = yield ("submit-for-review", {**ids, "TEXT": _plain(f"Done: {task['title']}.")})
    return _refusal(handed) or f"Handed in {task['title']} for review."


def lead_turn(turn: Turn) -> Procedure:
    yield ("check-in", {})
    done: list[str] = []
    tasks = _items((yield ("list-tasks", {})))
    if not tasks:
        previous: str | None = None
        for title in planned_titles(_items((yield ("read-memory", {})))):
            values = {"TITLE": title, "TEXT": f"From the plan in the board chat: {title}"}
            if previous is None:
                created = yield ("create-task", values)
            else:
                created = yield ("create-dependent-task", {**values, "DEPENDS_ON_ID": previous})
            if refused := _refusal(created):
                return refused
            previous = str(created["id"])
            done.append(f"planned {title}")
    for task in _items((yield ("review-queue", {}))):
        ids = {"TASK_ID": str(task["id"])}
        comments = _items((yield ("task-comments", ids)))
        if not any(c.get("author_agent_id") == turn.me for c in comments):
            if refused := _refusal((yield ("send-back", {**ids, "TEXT": SEND_BACK_NOTE}))):
                return refused
            done.append(f"sent back {task['title']}")
            continue
        if APPROVAL_RULE in turn.text:
            approvals = _items((yield ("task-approvals", ids)))
            if not approvals:
                reason = f"Reviewed {task['title']} twice; ready to finish."
                raised = yield ("raise-approval", {**ids, "TEXT": _plain(reason)})
                if refused := _refusal(raised):
                    return refused
                done.append(f"asked approval for {task['title']}")
                continue
            if not any(a["status"] == "approved" for a in approvals):
                continue
        if refused := _refusal((yield ("accept-done", ids))):
            return refused
        done.append(f"finished {task['title']}")
    tasks = _items((yield ("list-tasks", {})))
    ready = [
        t
        for t in tasks
        if t["status"] == "inbox" and t["assigned_agent_id"] is None and not t["is_blocked"]
    ]
    if ready:
        workers = [a for a in _items((yield ("list-agents", {}))) if not a["is_board_lead"]]
        if not workers:
            return "No worker on the board to assign to."
        for task in ready:
            ids = {"TASK_ID": str(task["id"]), "AGENT_ID": str(workers[0]["id"])}
            if refused := _refusal((yield ("assign-task", ids))):
                return refused
            done.append(f"assigned {task['title']}")
    return "; ".join(done) or NO_REPLY


PROCEDURES = {"board_worker": worker_turn, "board_lead": lead_turn}


def _turn_of(messages: Sequence[Mapping[str, Any]]) -> tuple[int, str]:
    for index in range(len(messages) - 1, -1, -1):
        if is_real_user_message(messages[index]):
            return index, message_text(messages[index])
    return -1, ""


@dataclass
class PlaybookScript(HeartbeatScript):
    """Board agents follow their playbook; anything else gets the plain check-in script.
    ``board_id`` (a test's own board) limits the playbook to agents whose prompt names it, so
    agents other tests left on the shared gateway only check in."""

    max_tool_calls_per_turn: int = 25
    board_id: str = ""

    def decide(self, request: Mapping[str, Any]) -> tuple[Reply, Credentials | None]:
        raw = request.get("messages")
        messages = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
        system = "\n".join(
            message_text(m) for m in messages if m.get("role") in {"system", "developer"}
        )
        found = dict(_LINE.findall(system))
        procedure = PROCEDURES.get(found.get("AGENT_KIND", ""))
        if procedure is None or "AGENT_ID" not in found or self.board_id not in system:
            return super().decide(request)
        start, request_text = _turn_of(messages)
        results = [
            playbook.first_json(message_text(m))
            for m in messages[start + 1 :]
            if m.get("role") == "tool"
        ]
        if len(results) >= self.max_tool_calls_per_turn:
            return Reply("refusal", "Tool-call limit for this turn reached."), None
        turn = Turn(
            kind=found["AGENT_KIND"],
            me=found["AGENT_ID"],
            text=system,
            commands=playbook.commands(system, strict=False),
            request=request_text,
        )
        steps = procedure(turn)
        try:
            step = next(steps)
            for result in results:
                step = steps.send(result)
        except StopIteration as end:
            return Reply("final", str(end.value)), None
        name, values = step
        command = turn.commands.get(name)
        if command is None:
            return Reply("refusal", f"My playbook has no `{name}` command."), None
        return Reply("tool_call", command=command.filled(values)), None
