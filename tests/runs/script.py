"""The scripted model for run tests: what it answers depends on a marker in the task text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mission_control.demo.model import (
    Credentials,
    HeartbeatScript,
    Reply,
    _last_real_user_index,
    message_text,
    tool_result_after_last_user,
)

FAIL = "RUN_FAIL"  # the model call fails (HTTP 400)
SLEEP = "RUN_SLEEP"  # a long tool call (sleep 60), for cancel and timeout
NAP = "RUN_NAP"  # a tool call of 8 s, then the final answer: for restarts mid-run
FINAL_PREFIX = "Finished:"


class RunScript(HeartbeatScript):
    """Otherwise: one `echo` tool call, then a final answer naming the task's first line."""

    def decide(self, request: Mapping[str, Any]) -> tuple[Reply, Credentials | None]:
        raw = request.get("messages")
        messages = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
        index = _last_real_user_index(messages)
        text = message_text(messages[index]) if index >= 0 else ""
        if FAIL in text:
            return Reply("error", "scripted model refuses this request (RUN_FAIL)"), None
        if tool_result_after_last_user(messages):
            first = next((line for line in text.splitlines() if line.strip()), "")
            return Reply("final", f"{FINAL_PREFIX} {first.strip()}"), None
        if SLEEP in text:
            return Reply("tool_call", command="sleep 60"), None
        if NAP in text:
            return Reply("tool_call", command="sleep 8"), None
        return Reply("tool_call", command="echo run-tool-output"), None
