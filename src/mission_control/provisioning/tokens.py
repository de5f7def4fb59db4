"""Reads the agent token Mission Control wrote into a workspace file
(docs/provisioning.md#token-recovery).

Tolerates the decoration people and agents add around ``KEY=value`` lines: bullets, backticks,
bold markers, spaces around ``=``.
"""

from __future__ import annotations

import re

_LINE = re.compile(
    r"^[\s>*\-+]*`?\**\s*(?P<key>[A-Z0-9_]+)\s*\**\s*[=:]\s*`?(?P<value>[^`\s]+)`?\s*$"
)


def read_workspace_values(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match:
            values.setdefault(match.group("key"), match.group("value").strip())
    return values


def read_auth_token(text: str) -> str | None:
    token = read_workspace_values(text).get("AUTH_TOKEN", "").strip()
    return token or None
