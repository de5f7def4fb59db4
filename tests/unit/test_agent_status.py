"""Computed status (docs/agents.md#computed-status): the offline threshold follows each agent's
own cadence and the governor's (docs/agents.md#offline-threshold), and computing never changes
the row (docs/agents.md#computing-never-writes)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mission_control.agents.models import Agent
from mission_control.agents.status import computed_status, effective_heartbeat_every, offline_after
from mission_control.core.clock import utcnow


def _agent(**fields: Any) -> Agent:
    values: dict[str, Any] = {
        "name": "A",
        "name_key": "a",
        "status": "online",
        "is_board_lead": False,
        "heartbeat_config": None,
        "auto_heartbeat_enabled": True,
        "auto_heartbeat_off": False,
        "auto_heartbeat_every": None,
        "last_seen_at": None,
    }
    values.update(fields)
    return Agent(**values)


@pytest.mark.parametrize(
    ("fields", "every", "minutes"),
    [
        ({}, "10m", 21),
        ({"heartbeat_config": {"every": "30m"}}, "30m", 61),
        ({"heartbeat_config": {"every": "1m"}}, "1m", 10),  # never under ten minutes
        ({"auto_heartbeat_every": "3h"}, "3h", 361),  # the governor's cadence wins
        ({"auto_heartbeat_every": "3h", "auto_heartbeat_enabled": False}, "10m", 21),
        ({"heartbeat_config": {"every": "0m"}}, None, None),
        ({"auto_heartbeat_off": True}, None, None),
        ({"auto_heartbeat_off": True, "is_board_lead": True}, "10m", 21),  # leads never off
    ],
)
def test_threshold_follows_the_cadence(
    fields: dict[str, Any], every: str | None, minutes: int | None
) -> None:
    agent = _agent(**fields)
    assert effective_heartbeat_every(agent) == every
    expected = timedelta(minutes=minutes) if minutes is not None else None
    assert offline_after(agent) == expected


def test_a_huge_cadence_does_not_overflow() -> None:
    agent = _agent(heartbeat_config={"every": "1000000000d"})
    assert offline_after(agent) == timedelta(days=2 * 3650, minutes=1)
    assert computed_status(_agent(heartbeat_config={"every": "1000000000d"}), utcnow())


def test_status_rules_and_no_writes() -> None:
    now = utcnow()
    assert computed_status(_agent(last_seen_at=None), now) == "provisioning"
    for kept in ("updating", "deleting"):
        old = now - timedelta(days=1)
        assert computed_status(_agent(status=kept, last_seen_at=old), now) == kept
    recent = _agent(status="busy", last_seen_at=now - timedelta(minutes=20))
    assert computed_status(recent, now) == "busy"
    stale = _agent(last_seen_at=now - timedelta(minutes=22))
    assert computed_status(stale, now) == "offline"
    assert stale.status == "online"  # the row is only read
    idle = _agent(auto_heartbeat_off=True, last_seen_at=now - timedelta(days=2))
    assert computed_status(idle, now) == "online"  # heartbeat off: idle, not dead
    unparsable = _agent(heartbeat_config={"every": "often"}, last_seen_at=now)
    assert offline_after(unparsable) == timedelta(minutes=21)
