"""The heartbeat governor's policy as pure functions: a board's policy, an agent's governed
state, the next state after a tick, and the cadence that follows from it (agents/status.py derives
the offline threshold from that cadence).

Rungs: step 0 is the active cadence, step k (1..n) is ``ladder[k-1]``; a worker past the last
rung is off. A lead's cadence never exceeds the board's lead cap and a lead is never off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from mission_control.agents.models import Agent
from mission_control.boards.models import DEFAULT_GOVERNOR_LADDER, Board
from mission_control.core.text import duration_seconds

DEFAULT_EVERY = "10m"  # provisioning's default heartbeat (docs/provisioning.md#the-heartbeat-block)

Reason = Literal["active", "idle", "released"]


@dataclass(frozen=True, slots=True)
class Policy:
    enabled: bool = True
    active_every: str = "5m"
    ladder: tuple[str, ...] = tuple(DEFAULT_GOVERNOR_LADDER)
    lead_cap: str = "1h"
    activity_trigger: str = "chat_or_tasks"
    active_window: timedelta = timedelta(minutes=60)

    @property
    def counts_tasks(self) -> bool:
        return self.activity_trigger == "chat_or_tasks"


@dataclass(frozen=True, slots=True)
class GovernorState:
    """What the database holds for one agent (``every`` None = not governed)."""

    step: int = 0
    off: bool = False
    every: str | None = None
    last_active_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    state: GovernorState
    reason: Reason


def policy_of(board: Board) -> Policy:
    """The board's policy; unset columns (a board not yet flushed) take the defaults."""
    default = Policy()
    window = board.governor_active_window_minutes
    return Policy(
        enabled=board.governor_enabled is not False,
        active_every=board.governor_active_every or default.active_every,
        ladder=tuple(board.governor_ladder or default.ladder),
        lead_cap=board.governor_lead_cap or default.lead_cap,
        activity_trigger=board.governor_activity_trigger or default.activity_trigger,
        active_window=timedelta(minutes=window) if window else default.active_window,
    )


def state_of(agent: Agent) -> GovernorState:
    return GovernorState(
        step=agent.auto_heartbeat_step or 0,
        off=bool(agent.auto_heartbeat_off),
        every=agent.auto_heartbeat_every,
        last_active_at=agent.auto_heartbeat_last_active_at,
    )


def _shorter(a: str, b: str) -> str:
    return a if duration_seconds(a) <= duration_seconds(b) else b


def lead_top_step(policy: Policy) -> int:
    """The highest step a lead climbs to: the first rung at or above its cap."""
    cap = duration_seconds(policy.lead_cap)
    below = sum(1 for rung in policy.ladder if duration_seconds(rung) < cap)
    return min(below + 1, len(policy.ladder))


def cadence_at(policy: Policy, step: int, *, is_lead: bool) -> str | None:
    """The cadence of ``step``; None when that step is off (workers past the ladder)."""
    if step <= 0:
        every = policy.active_every
    elif step <= len(policy.ladder):
        every = policy.ladder[step - 1]
    elif is_lead:
        every = policy.ladder[-1]
    else:
        return None
    return _shorter(every, policy.lead_cap) if is_lead else every


def _idle_step(policy: Policy, idle_for: timedelta) -> int:
    """The rung an agent idle for ``idle_for`` has earned: it stays on each rung for at least
    that rung's cadence (so it beats at least once there) before climbing to the next."""
    step, dwelt = 1, 0
    for rung in policy.ladder:
        dwelt += duration_seconds(rung)
        if idle_for.total_seconds() < dwelt:
            return step
        step += 1
    return step  # len(ladder) + 1: past the ladder


def decide(
    state: GovernorState,
    policy: Policy,
    *,
    is_lead: bool,
    active: bool,
    now: datetime,
    idle_since: datetime,
) -> Decision:
    """The agent's state after this tick. ``idle_since`` is when it was last seen active (or
    created). An idle agent climbs at most one rung per tick."""
    if active:
        every = cadence_at(policy, 0, is_lead=is_lead)
        return Decision(GovernorState(0, False, every, now), "active")
    top = lead_top_step(policy) if is_lead else len(policy.ladder) + 1
    earned = _idle_step(policy, max(now - idle_since, timedelta(0)))
    step = max(1, min(state.step + 1, earned, top))
    if state.every is not None or state.off:
        step = max(step, min(state.step, top))  # never slide back down while idle
    every = cadence_at(policy, step, is_lead=is_lead)
    return Decision(replace(state, step=step, off=every is None, every=every), "idle")


def released(state: GovernorState) -> Decision:
    """The governor lets go of the agent: its own heartbeat settings apply again."""
    return Decision(replace(state, step=0, off=False, every=None), "released")


def governs(agent: Agent, board: Board | None) -> bool:
    """Whether the governor's state applies: the agent opted in and its board's policy is on."""
    board_on = board is None or board.governor_enabled is not False
    return agent.auto_heartbeat_enabled is not False and board_on


def configured_every(agent: Agent) -> str:
    """The cadence the agent's own heartbeat settings ask for
    (docs/provisioning.md#the-heartbeat-block)."""
    config: Mapping[str, Any] = (
        agent.heartbeat_config if isinstance(agent.heartbeat_config, dict) else {}
    )
    every = config.get("every")
    return every if isinstance(every, str) and every else DEFAULT_EVERY


def held_cadence(agent: Agent, board: Board | None) -> str | None:
    """The cadence the governor's stored state asks for (the agent's own when it holds none),
    whether or not the governor still applies to the agent; None when off."""
    held = agent.auto_heartbeat_every is not None or bool(agent.auto_heartbeat_off)
    if not held:
        return configured_every(agent)
    if agent.auto_heartbeat_off and not agent.is_board_lead:
        return None
    every = agent.auto_heartbeat_every or configured_every(agent)
    if agent.is_board_lead and board is not None:
        every = _shorter(every, policy_of(board).lead_cap)
    return every


def effective_cadence(
    agent: Agent, board: Board | None, *, governor_enabled: bool = True
) -> str | None:
    """The heartbeat cadence Mission Control wants for the agent on its gateway right now:
    the governed one while the governor holds the agent, else its own; None when off.

    ``governor_enabled`` is the process setting (MC_GOVERNOR_ENABLED): with the governor off
    nobody would ever wake an agent it switched off, so its stored state is ignored and every
    agent gets its own cadence (the state stays stored for when the governor runs again)."""
    if governor_enabled and governs(agent, board):
        return held_cadence(agent, board)
    return configured_every(agent)


def rung_label(state: GovernorState) -> str:
    """The metrics label of a rung: ``active``, ``1``..``n``, ``off`` or ``ungoverned``."""
    if state.off:
        return "off"
    if state.every is None:
        return "ungoverned"
    return "active" if state.step == 0 else str(state.step)


def describe_change(name: str, before: str | None, after: str | None, reason: Reason) -> str:
    was = before or "off"
    if after is None:
        return f"Heartbeat of {name} switched off after idling through the ladder (was {was})."
    if reason == "active":
        return f"{name} is active again: heartbeat back to every {after} (was {was})."
    if reason == "released":
        return f"Governor released {name}: heartbeat back to its own every {after} (was {was})."
    return f"{name} is idle: heartbeat slowed to every {after} (was {was})."


def ladder_seconds(ladder: Sequence[str]) -> list[int]:
    return [duration_seconds(rung) for rung in ladder]
