"""Computed agent status (SPEC 6.2): derived from the stored status, the last check-in and the
agent's own heartbeat cadence. Pure functions: computing a status never writes (§11.22)."""

from __future__ import annotations

from datetime import datetime, timedelta

from mission_control.agents.models import Agent, AgentStatus
from mission_control.core.text import duration_seconds

# The cadence an agent beats at when nothing overrides it (provisioning's DEFAULT_HEARTBEAT).
DEFAULT_EVERY = "10m"
# Never call an agent offline sooner than this, however fast it beats.
MIN_OFFLINE_AFTER = timedelta(minutes=10)
# Slack on top of two missed beats: a beat is a model turn and can run late.
OFFLINE_GRACE = timedelta(minutes=1)
_OFF = frozenset({"0", "0s", "0m", "0h", "0d", "off", "disabled"})


def effective_heartbeat_every(agent: Agent) -> str | None:
    """The cadence the gateway beats this agent at; None when its heartbeat is off.

    The one place that knows how the governor (SPEC 10) and the agent's own heartbeat config
    combine, so the governed cadence can be swapped in here alone.
    """
    governed = agent.auto_heartbeat_enabled
    if governed and agent.auto_heartbeat_off and not agent.is_board_lead:
        return None
    if governed and agent.auto_heartbeat_every:
        every: object = agent.auto_heartbeat_every
    else:
        config = agent.heartbeat_config if isinstance(agent.heartbeat_config, dict) else {}
        every = config.get("every") or DEFAULT_EVERY
    text = str(every).strip().lower()
    return None if text in _OFF else text


def offline_after(agent: Agent) -> timedelta | None:
    """How long without a check-in before the agent counts as offline (§11.38): two missed
    beats of its own cadence plus slack, never under ten minutes; None when it does not beat
    (an agent whose heartbeat is switched off is idle, not dead)."""
    every = effective_heartbeat_every(agent)
    if every is None:
        return None
    try:
        seconds = duration_seconds(every)
    except ValueError:
        seconds = duration_seconds(DEFAULT_EVERY)
    return max(MIN_OFFLINE_AFTER, timedelta(seconds=2 * seconds) + OFFLINE_GRACE)


def computed_status(agent: Agent, now: datetime) -> str:
    """SPEC 6.2 with the per-agent threshold; the agent row is only read."""
    stored = agent.status or AgentStatus.PROVISIONING
    if stored in (AgentStatus.DELETING, AgentStatus.UPDATING):
        return stored
    if agent.last_seen_at is None:
        return AgentStatus.PROVISIONING
    threshold = offline_after(agent)
    if threshold is not None and now - agent.last_seen_at > threshold:
        return AgentStatus.OFFLINE
    return stored
