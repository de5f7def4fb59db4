"""From gateway run events (and history messages) to run log entries: assistant text, tool
calls and lifecycle. Pure: the executor feeds frames in and writes what comes out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXT_CHARS = 4000
OUTPUT_CHARS = 500
TERMINAL_CHAT_STATES = frozenset({"final", "aborted", "error"})


@dataclass(frozen=True, slots=True)
class LogItem:
    kind: str  # lifecycle | status | assistant | tool | error
    text: str
    data: dict[str, Any] | None = None


@dataclass
class Relay:
    """Keeps assistant deltas until their message is complete, so one reply is one entry."""

    _assistant: dict[str, str] = field(default_factory=dict)
    _phases: set[str] = field(default_factory=set)
    terminal: str | None = None
    final_text: str | None = None
    error_text: str | None = None

    def feed(self, event: str, payload: dict[str, Any]) -> list[LogItem]:
        if event == "agent":
            return self._agent(payload)
        if event == "chat":
            return self._chat(payload)
        return []

    def flush(self) -> list[LogItem]:
        items = [
            LogItem("assistant", _clip(text, TEXT_CHARS))
            for text in self._assistant.values()
            if text
        ]
        self._assistant.clear()
        return items

    def _agent(self, payload: dict[str, Any]) -> list[LogItem]:
        stream = payload.get("stream")
        data = payload.get("data")
        data = data if isinstance(data, dict) else {}
        if stream == "assistant":
            key = str(data.get("itemId") or "assistant")
            text = data.get("text")
            if isinstance(text, str):
                self._assistant[key] = text
            elif isinstance(data.get("delta"), str):
                self._assistant[key] = self._assistant.get(key, "") + data["delta"]
            return []
        if stream == "lifecycle":
            return self._lifecycle(data)
        if stream == "run_status":
            phase = data.get("phase")
            if isinstance(phase, str) and phase not in self._phases:
                self._phases.add(phase)
                return [LogItem("status", phase.replace("_", " "))]
            return []
        if stream == "item" and data.get("kind") == "tool":
            return self._tool(data)
        if stream == "command_output" and data.get("phase") == "end":
            output = data.get("output")
            if isinstance(output, str) and output.strip():
                return [
                    LogItem(
                        "tool",
                        f"output: {_clip(output.strip(), OUTPUT_CHARS)}",
                        {"tool_call_id": data.get("toolCallId"), "exit_code": data.get("exitCode")},
                    )
                ]
        return []

    def _lifecycle(self, data: dict[str, Any]) -> list[LogItem]:
        phase = data.get("phase")
        if phase == "start":
            return [LogItem("lifecycle", "started")]
        if phase == "end":
            reason = data.get("stopReason")
            suffix = " (aborted)" if data.get("aborted") else ""
            return [*self.flush(), LogItem("lifecycle", f"ended: {reason or 'done'}{suffix}")]
        if phase == "error":
            message = str(data.get("error") or data.get("message") or "error")
            self.error_text = message
            return [*self.flush(), LogItem("error", _clip(message, TEXT_CHARS))]
        return []

    def _tool(self, data: dict[str, Any]) -> list[LogItem]:
        phase = data.get("phase")
        name = str(data.get("name") or "tool")
        title = str(data.get("title") or name)
        details = {"tool": name, "tool_call_id": data.get("toolCallId"), "phase": phase}
        if phase == "start":
            return [*self.flush(), LogItem("tool", f"call {name}: {title}", details)]
        if phase == "end":
            status = str(data.get("status") or "done")
            return [LogItem("tool", f"{name} {status}", details)]
        return []

    def _chat(self, payload: dict[str, Any]) -> list[LogItem]:
        state = payload.get("state")
        if state not in TERMINAL_CHAT_STATES:
            return []
        self.terminal = str(state)
        text = message_text(payload.get("message"))
        if state == "final" and text:
            self.final_text = text
        if state == "error":
            self.error_text = str(payload.get("errorMessage") or payload.get("error") or "error")
        return self.flush()


def message_text(message: object) -> str:
    """The text parts of a transcript message (string content or a list of parts)."""
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = []
    for part in content if isinstance(content, list) else []:
        if (
            isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        ):
            parts.append(part["text"])
    return "\n".join(parts)


def history_items(messages: list[dict[str, Any]]) -> list[LogItem]:
    """Log entries for transcript messages read back from `chat.history` (catch-up)."""
    items: list[LogItem] = []
    for message in messages:
        role = message.get("role")
        source = {"source": "history"}
        if role == "assistant":
            for part in message.get("content") or []:
                if isinstance(part, dict) and part.get("type") == "toolCall":
                    name = str(part.get("name") or "tool")
                    items.append(LogItem("tool", f"call {name}", {**source, "tool": name}))
            text = message_text(message)
            if text:
                items.append(LogItem("assistant", _clip(text, TEXT_CHARS), source))
        elif role == "toolResult":
            name = str(message.get("toolName") or "tool")
            status = "failed" if message.get("isError") else "completed"
            items.append(LogItem("tool", f"{name} {status}", {**source, "tool": name}))
    return items


def last_assistant_text(messages: list[dict[str, Any]]) -> str | None:
    for message in reversed(messages):
        if message.get("role") == "assistant":
            text = message_text(message)
            if text:
                return text
    return None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
