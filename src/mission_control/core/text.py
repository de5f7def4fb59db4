"""Deterministic text keys: slugs and durations."""

from __future__ import annotations

import re

_NON_SLUG = re.compile(r"[^a-z0-9]+")
# ASCII digits only: \d also takes Arabic-Indic digits, which the gateway refuses forever.
DURATION_PATTERN = r"^[0-9]+[smhd]$"
_DURATION = re.compile(DURATION_PATTERN)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The longest heartbeat rung or cap a board policy may name (30d): longer is no heartbeat at all.
MAX_HEARTBEAT_SECONDS = 30 * 86400


def slugify(text: str) -> str:
    """Lowercase, runs of other characters become one '-'; may be empty (never random)."""
    return _NON_SLUG.sub("-", text.lower()).strip("-")


def duration_seconds(text: str) -> int:
    """'10m' -> 600. Raises ValueError for anything not matching ^[0-9]+[smhd]$."""
    if not _DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration like 30s, 10m, 1h or 1d")
    return int(text[:-1]) * _UNIT_SECONDS[text[-1]]
