"""The texts coordination sends (docs/coordination.md#messages-and-the-reply-protocol): who asks,
about which board, the content, and how to answer (a non-chat board memory item, never OpenClaw
chat)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Literal

LeadMessageKind = Literal["question", "handoff"]


def reply_protocol(base_url: str, board_id: uuid.UUID, tags: Sequence[str], source: str) -> str:
    body = json.dumps({"content": "<your answer>", "tags": list(tags), "source": source})
    return (
        "Reply by writing a non-chat memory item on the board (never answer in OpenClaw chat):\n"
        f"POST {base_url}/api/v1/agent/boards/{board_id}/memory\n"
        f"Body: {body}"
    )


def _optional(label: str, value: str | None) -> list[str]:
    value = (value or "").strip()
    return [f"{label}: {value}"] if value else []


def ask_user(
    *,
    board_name: str,
    board_id: uuid.UUID,
    lead_name: str,
    correlation_id: str | None,
    preferred_channel: str | None,
    content: str,
    reply_tags: Sequence[str],
    reply_source: str,
    base_url: str,
) -> str:
    lines = [
        "LEAD REQUEST: ASK THE USER",
        f"Board: {board_name}",
        f"Board ID: {board_id}",
        f"From lead: {lead_name}",
        *_optional("Correlation ID", correlation_id),
        *_optional("Preferred channel", preferred_channel),
        "",
        content.strip(),
        "",
        "Reach the user through this gateway's configured channels (Slack, SMS, ...); if none "
        "reaches them, post the question in the Mission Control board chat.",
        "",
        reply_protocol(base_url, board_id, reply_tags, reply_source),
    ]
    return "\n".join(lines)


def to_lead(
    *,
    kind: LeadMessageKind,
    board_name: str,
    board_id: uuid.UUID,
    from_agent: str,
    correlation_id: str | None,
    content: str,
    reply_tags: Sequence[str],
    reply_source: str,
    base_url: str,
) -> str:
    lines = [
        f"GATEWAY MAIN {kind.upper()}",
        f"Board: {board_name}",
        f"Board ID: {board_id}",
        f"From agent: {from_agent}",
        *_optional("Correlation ID", correlation_id),
        "",
        content.strip(),
        "",
        reply_protocol(base_url, board_id, reply_tags, reply_source),
    ]
    return "\n".join(lines)
