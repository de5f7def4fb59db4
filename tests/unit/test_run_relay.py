"""Gateway run events (shapes recorded from openclaw 2026.9.6) to run log entries."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from mission_control.runs.executor import child_session_key
from mission_control.runs.relay import Relay, history_items, last_assistant_text

KEY = "agent:main:mcrun:1"


def _agent(stream: str, data: dict[str, object]) -> dict[str, Any]:
    return {"runId": "r1", "sessionKey": KEY, "stream": stream, "data": data}


def test_a_turn_becomes_status_lifecycle_tool_and_one_assistant_entry() -> None:
    relay = Relay()
    frames: list[tuple[str, dict[str, Any]]] = [
        ("agent", _agent("run_status", {"phase": "preparing_workspace"})),
        ("agent", _agent("run_status", {"phase": "preparing_workspace"})),
        ("agent", _agent("lifecycle", {"phase": "start", "startedAt": 1})),
        ("agent", _agent("usage", {"outputTokens": 20})),
        (
            "agent",
            _agent(
                "item",
                {
                    "kind": "tool",
                    "phase": "start",
                    "name": "exec",
                    "title": "Exec print text",
                    "toolCallId": "c1",
                },
            ),
        ),
        ("agent", _agent("item", {"kind": "tool", "phase": "update", "name": "exec"})),
        ("agent", _agent("command_output", {"phase": "end", "output": "hi\n", "exitCode": 0})),
        (
            "agent",
            _agent("item", {"kind": "tool", "phase": "end", "name": "exec", "status": "completed"}),
        ),
        ("agent", _agent("assistant", {"text": "Fin", "delta": "Fin", "itemId": "m1"})),
        ("agent", _agent("assistant", {"text": "Finished.", "delta": "ished.", "itemId": "m1"})),
        ("agent", _agent("lifecycle", {"phase": "end", "stopReason": "stop", "aborted": False})),
        (
            "chat",
            {
                "runId": "r1",
                "sessionKey": KEY,
                "state": "final",
                "message": {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "Finished."}],
                },
            },
        ),
    ]
    items = [item for event, payload in frames for item in relay.feed(event, payload)]
    assert [(i.kind, i.text) for i in items] == [
        ("status", "preparing workspace"),
        ("lifecycle", "started"),
        ("tool", "call exec: Exec print text"),
        ("tool", "output: hi"),
        ("tool", "exec completed"),
        ("assistant", "Finished."),
        ("lifecycle", "ended: stop"),
    ]
    assert relay.terminal == "final"
    assert relay.final_text == "Finished."


def test_history_catch_up_entries_are_marked() -> None:
    messages: list[dict[str, object]] = [
        {"role": "assistant", "content": [{"type": "toolCall", "name": "exec"}]},
        {"role": "toolResult", "toolName": "exec", "isError": True},
        {"role": "assistant", "content": [{"type": "text", "text": "Done here."}]},
    ]
    items = history_items(messages)
    assert [(i.kind, i.text) for i in items] == [
        ("tool", "call exec"),
        ("tool", "exec failed"),
        ("assistant", "Done here."),
    ]
    assert all(i.data is not None and i.data["source"] == "history" for i in items)
    assert last_assistant_text(messages) == "Done here."


def test_child_session_key_names_the_parent_agent_and_the_run() -> None:
    run_id = uuid.uuid4()
    assert child_session_key("agent:worker-7:main", run_id) == f"agent:worker-7:mcrun:{run_id}"
    with pytest.raises(ValueError, match="not an agent session key"):
        child_session_key("main", run_id)
