"""Session keys as the gateway names them, ``agent:<agent id>:<rest>``: built and read only here."""

from __future__ import annotations

PREFIX = "agent"
MAIN = "main"
SUBAGENT_KIND = "subagent"


def session_key(agent_id: str, rest: str = MAIN) -> str:
    """An agent's session key, lower-cased as the gateway stores it (``agent:<id>:main``)."""
    return f"{PREFIX}:{agent_id}:{rest}".lower()


def child_session_key(agent_id: str, kind: str, child_id: str) -> str:
    """``agent:<agent id>:<kind>:<child id>``: a session spawned under an agent's own."""
    return f"{PREFIX}:{agent_id}:{kind}:{child_id}"


def agent_id_of(key: str | None) -> str | None:
    """``agent:<id>:<rest>`` -> ``<id>``; None for anything else."""
    if not key:
        return None
    parts = key.split(":")
    if len(parts) >= 3 and parts[0] == PREFIX and parts[1] and parts[2]:
        return parts[1]
    return None


def owning_agent_id(key: str) -> str:
    """The agent a session key belongs to; ValueError when it is not an agent's session key."""
    agent_id = agent_id_of(key)
    if agent_id is None:
        raise ValueError(f"not an agent session key: {key!r}")
    return agent_id
