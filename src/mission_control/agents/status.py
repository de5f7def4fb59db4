"""Computed agent status (docs/agents.md#computed-status): derived from the stored status, the
last check-in and the agent's own heartbeat cadence. Pure functions: computing a status never
writes (docs/agents.md#computing-never-writes)."""

from __future__ import annotations

from datetime import datetime, timedelta

from mission_control.agents.models import Agent, AgentStatus
from mission_control.boards.models import Board
from mission_control.core.text import duration_seconds
from mission_control.governor.policy import DEFAULT_EVERY, effective_cadence

# Never call an agent offline sooner than this, however fast it beats.
MIN_OFFLINE_AFTER = timedelta(minutes=10)
# Slack on top of two missed beats: a beat is a model turn and can run late.
OFFLINE_GRACE = timedelta(minutes=1)
# A cadence longer than this counts as this long (an agent's own config is not bounded).
LONGEST_BEAT_SECONDS = 3650 * 86400
_OFF = frozenset({"0", "0s", "0m", "0h", "0d", "off", "disabled"})


def effective_heartbeat_every(
    agent: Agent, board: Board | None = None, *, governor_enabled: bool = True
) -> str | None:
    """The cadence the gateway beats this agent at; None when its heartbeat is off.

    The governor's policy is the one place that knows how its state and the agent's own
    heartbeat config combine; with the board, its policy (enabled, lead cap) applies too, and
    with ``governor_enabled=False`` (MC_GOVERNOR_ENABLED off) the agent's own cadence.
    """
    every = effective_cadence(agent, board, governor_enabled=governor_enabled)
    if every is None:
        return None
    text = every.strip().lower()
    return None if text in _OFF else text


def offline_after(
    agent: Agent, board: Board | None = None, *, governor_enabled: bool = True
) -> timedelta | None:
    """How long without a check-in before the agent counts as offline
    (docs/agents.md#offline-threshold): two missed beats of its own cadence plus slack, never
    under ten minutes; None when it does not beat (an agent whose heartbeat is switched off is
    idle, not dead)."""
    every = effective_heartbeat_every(agent, board, governor_enabled=governor_enabled)
    if every is None:
        return None
    try:
        seconds = duration_seconds(every)
    except ValueError:
        seconds = duration_seconds(DEFAULT_EVERY)
    seconds = min(seconds, LONGEST_BEAT_SECONDS)  # "1000000000d" must not overflow timedelta
    return max(MIN_OFFLINE_AFTER, timedelta(seconds=2 * seconds) + OFFLINE_GRACE)


def computed_status(agent: Agent, now: datetime, *, governor_enabled: bool = True) -> str:
    """docs/agents.md#computed-status with the per-agent threshold; the row is only read."""
    stored = agent.status or AgentStatus.PROVISIONING
    if stored in (AgentStatus.DELETING, AgentStatus.UPDATING):
        return stored
    if agent.last_seen_at is None:
        return AgentStatus.PROVISIONING
    threshold = offline_after(agent, governor_enabled=governor_enabled)
    if threshold is not None and now - agent.last_seen_at > threshold:
        return AgentStatus.OFFLINE
    return stored
