"""The governor's pure policy: the ladder, the lead cap, activity, release, cadence and offline
threshold, and the partial config entries it patches with."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from mission_control.agents.models import Agent
from mission_control.agents.status import computed_status, offline_after
from mission_control.boards.models import Board
from mission_control.gateway.config_plan import HeartbeatEntry, plan_config_change
from mission_control.governor.policy import (
    GovernorState,
    Policy,
    decide,
    effective_cadence,
    lead_top_step,
    policy_of,
    released,
)
from mission_control.provisioning.plan import GatewayCapabilities, desired_heartbeat

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
TICK = timedelta(minutes=5)
POLICY = Policy()


def _walk(policy: Policy, *, is_lead: bool, ticks: int) -> list[tuple[timedelta, str | None]]:
    """Cadence after each tick of an agent idle since T0, with the tick when it changed."""
    state = GovernorState()
    changes: list[tuple[timedelta, str | None]] = []
    for index in range(1, ticks + 1):
        now = T0 + index * TICK
        decision = decide(state, policy, is_lead=is_lead, active=False, now=now, idle_since=T0)
        if decision.state.every != state.every or decision.state.off != state.off:
            changes.append((now - T0, decision.state.every))
        state = decision.state
    return changes


def test_idle_worker_climbs_each_rung_after_one_beat_there_then_goes_off() -> None:
    changes = _walk(POLICY, is_lead=False, ticks=2 * 24 * 12)
    assert [every for _at, every in changes] == ["10m", "30m", "1h", "3h", "6h", None]
    minutes = [int(at.total_seconds() // 60) for at, _every in changes]
    # 10m is entered on the first idle tick; each next rung once the previous one has lasted.
    assert minutes == [5, 10, 40, 100, 280, 640]


def test_idle_lead_stops_at_its_cap_and_is_never_switched_off() -> None:
    changes = _walk(POLICY, is_lead=True, ticks=3 * 24 * 12)
    assert [every for _at, every in changes] == ["10m", "30m", "1h"]
    assert lead_top_step(POLICY) == 3


def test_lead_cap_between_rungs_and_below_the_active_cadence() -> None:
    between = Policy(lead_cap="45m")
    assert [every for _at, every in _walk(between, is_lead=True, ticks=500)] == [
        "10m",
        "30m",
        "45m",
    ]
    tight = Policy(lead_cap="2m")
    decision = decide(GovernorState(), tight, is_lead=True, active=True, now=T0, idle_since=T0)
    assert decision.state.every == "2m"
    idle = decide(GovernorState(), tight, is_lead=True, active=False, now=T0, idle_since=T0)
    assert idle.state.every == "2m"
    assert not idle.state.off


def test_activity_returns_to_the_active_cadence_at_once() -> None:
    off = GovernorState(step=6, off=True, every=None, last_active_at=T0)
    now = T0 + timedelta(days=1)
    decision = decide(off, POLICY, is_lead=False, active=True, now=now, idle_since=T0)
    assert decision.reason == "active"
    assert decision.state == GovernorState(step=0, off=False, every="5m", last_active_at=now)


def test_an_agent_idle_for_long_climbs_one_rung_per_tick() -> None:
    state = GovernorState()
    seen = []
    for index in range(7):
        now = T0 + index * TICK
        decision = decide(
            state, POLICY, is_lead=False, active=False, now=now, idle_since=T0 - timedelta(days=9)
        )
        state = decision.state
        seen.append(state.every)
    assert seen == ["10m", "30m", "1h", "3h", "6h", None, None]


def test_a_lowered_lead_cap_takes_effect_on_the_next_tick() -> None:
    high = GovernorState(step=5, every="6h")  # the cap used to be 6h
    decision = decide(high, POLICY, is_lead=True, active=False, now=T0, idle_since=T0)
    assert decision.state.step == 3
    assert decision.state.every == "1h"


def test_release_clears_the_governed_state() -> None:
    decision = released(GovernorState(step=6, off=True, every=None, last_active_at=T0))
    assert decision.state == GovernorState(step=0, off=False, every=None, last_active_at=T0)


def _board(**fields: Any) -> Board:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "organization_id": uuid.uuid4(),
        "name": "B",
        "slug": "b",
        "governor_enabled": True,
        "governor_active_every": "5m",
        "governor_ladder": ["10m", "30m", "1h", "3h", "6h"],
        "governor_lead_cap": "1h",
        "governor_activity_trigger": "chat_or_tasks",
        "governor_active_window_minutes": 60,
    }
    return Board(**{**values, **fields})


def _agent(*, lead: bool = False, **fields: Any) -> Agent:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "gateway_id": uuid.uuid4(),
        "board_id": uuid.uuid4(),
        "name": "A",
        "name_key": "a",
        "is_board_lead": lead,
        "auto_heartbeat_enabled": True,
        "auto_heartbeat_off": False,
        "auto_heartbeat_every": None,
        "heartbeat_config": None,
    }
    return Agent(**{**values, **fields})


def test_effective_cadence_follows_state_policy_and_opt_out() -> None:
    board = _board()
    assert effective_cadence(_agent(), board) == "10m"  # not governed yet: provisioning default
    assert effective_cadence(_agent(heartbeat_config={"every": "20m"}), board) == "20m"
    assert effective_cadence(_agent(auto_heartbeat_every="3h"), board) == "3h"
    assert effective_cadence(_agent(auto_heartbeat_off=True), board) is None
    lead_above_cap = _agent(lead=True, auto_heartbeat_every="6h", auto_heartbeat_off=True)
    assert effective_cadence(lead_above_cap, board) == "1h"
    assert effective_cadence(_agent(auto_heartbeat_off=True), _board(governor_enabled=False)) == (
        "10m"
    )
    opted_out = _agent(auto_heartbeat_enabled=False, auto_heartbeat_off=True)
    assert effective_cadence(opted_out, board) == "10m"
    assert policy_of(board) == POLICY


def test_provisioning_writes_the_governed_cadence_and_the_gateway_off_form() -> None:
    caps = GatewayCapabilities(workspace_files=frozenset({"AGENTS.md"}))
    board = _board()
    off = desired_heartbeat(_agent(auto_heartbeat_off=True), None, caps, board)
    assert off["every"] == "0m"
    lead = desired_heartbeat(_agent(lead=True, auto_heartbeat_every="3h"), "beat", caps, board)
    assert lead == {"every": "1h", "target": "last", "prompt": "beat"}


def test_a_governor_disabled_by_setting_hands_agents_their_own_cadence() -> None:
    """MC_GOVERNOR_ENABLED=false: nobody would wake an agent the governor switched off, so its
    stored state is ignored everywhere the cadence is computed."""
    board = _board()
    caps = GatewayCapabilities(workspace_files=frozenset({"AGENTS.md"}))
    switched_off = _agent(auto_heartbeat_off=True, auto_heartbeat_step=6)
    slowed = _agent(heartbeat_config={"every": "20m"}, auto_heartbeat_every="6h")
    assert effective_cadence(switched_off, board, governor_enabled=False) == "10m"
    assert effective_cadence(slowed, board, governor_enabled=False) == "20m"
    assert effective_cadence(switched_off, board, governor_enabled=True) is None
    block = desired_heartbeat(switched_off, None, caps, board, governor_enabled=False)
    assert block["every"] == "10m"
    assert desired_heartbeat(slowed, None, caps, board, governor_enabled=False)["every"] == "20m"
    assert offline_after(switched_off, board, governor_enabled=False) == timedelta(minutes=21)
    asleep = _agent(auto_heartbeat_off=True, last_seen_at=T0 - timedelta(days=30))
    assert computed_status(asleep, T0, governor_enabled=False) == "offline"


def test_offline_threshold_follows_the_governed_cadence() -> None:
    board = _board()
    assert offline_after(_agent(auto_heartbeat_every="5m"), board) == timedelta(minutes=11)
    assert offline_after(_agent(auto_heartbeat_every="1h"), board) == timedelta(hours=2, minutes=1)
    assert offline_after(_agent(auto_heartbeat_off=True), board) is None
    lead = _agent(lead=True, auto_heartbeat_every="3h")  # held at the board's 1h lead cap
    assert offline_after(lead, board) == timedelta(hours=2, minutes=1)
    seen = T0 - timedelta(minutes=90)
    assert computed_status(_agent(auto_heartbeat_every="1h", last_seen_at=seen), T0) != "offline"
    assert computed_status(_agent(auto_heartbeat_every="5m", last_seen_at=seen), T0) == "offline"
    asleep = _agent(auto_heartbeat_off=True, last_seen_at=T0 - timedelta(days=30))
    assert computed_status(asleep, T0) != "offline"


def test_partial_entries_change_only_the_cadence_of_existing_blocks() -> None:
    config: dict[str, Any] = {
        "agents": {
            "entries": {
                "main": {"default": True},
                "mc-a": {
                    "workspace": "/w/a",
                    "heartbeat": {"every": "10m", "target": "last", "prompt": "p"},
                },
                "mc-b": {"workspace": "/w/b"},
            }
        }
    }
    entries = [
        HeartbeatEntry("mc-a", "/elsewhere", {"every": "0m"}, partial=True),
        HeartbeatEntry("mc-b", "/w/b", {"every": "5m"}, partial=True),  # no block: not ours
        HeartbeatEntry("mc-gone", "/w/g", {"every": "5m"}, partial=True),  # not on the gateway
    ]
    change = plan_config_change(config, "agents.entries", entries, include_defaults=False)
    assert change.patch == {"agents": {"entries": {"mc-a": {"heartbeat": {"every": "0m"}}}}}
    config["agents"]["entries"]["mc-a"]["heartbeat"]["every"] = "0m"
    same = plan_config_change(config, "agents.entries", entries[:1], include_defaults=False)
    assert same.patch is None


def test_partial_entries_on_the_legacy_list_keep_every_other_entry() -> None:
    config: dict[str, Any] = {
        "agents": {
            "list": [
                {"id": "main", "heartbeat": {"every": "30m"}},
                {"id": "mc-a", "workspace": "/w/a", "heartbeat": {"every": "10m", "x": 1}},
            ]
        }
    }
    entry = HeartbeatEntry("mc-a", "/w/a", {"every": "1h"}, partial=True)
    change = plan_config_change(config, "agents.list", [entry], include_defaults=False)
    assert change.patch == {
        "agents": {
            "list": [
                {"id": "main", "heartbeat": {"every": "30m"}},
                {"id": "mc-a", "workspace": "/w/a", "heartbeat": {"every": "1h", "x": 1}},
            ]
        }
    }
