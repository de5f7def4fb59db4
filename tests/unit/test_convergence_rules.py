"""The pure rules behind accepted-at-once provisioning and convergence: which failures park an
agent, how a pending intent's flags merge, what the answer says next, and the config keys the
gateway profile lets the planner write."""

from __future__ import annotations

import uuid

from jinja2 import TemplateError

from mission_control.agents.models import Agent
from mission_control.agents.schemas import next_step
from mission_control.gateway.config_plan import HeartbeatEntry, plan_config_change
from mission_control.gateway.errors import (
    GatewayAuthFailed,
    GatewayConfigConflict,
    GatewayInvalidRequest,
    GatewayNotFound,
    GatewayUnreachable,
    GatewayUnsupportedFile,
)
from mission_control.gateway.profile import WritableConfig, schema_children, writable_from_schema
from mission_control.provisioning.batch import needs_a_change
from mission_control.provisioning.service import pending_options, request_apply


def _agent() -> Agent:
    return Agent(
        id=uuid.uuid4(), gateway_id=uuid.uuid4(), name="A", generation=0, applied_generation=0
    )


def test_only_failures_a_change_must_fix_park() -> None:
    assert needs_a_change(TemplateError("bad"))
    assert needs_a_change(GatewayUnsupportedFile('unsupported file "TOOLS.md"'))
    assert needs_a_change(GatewayInvalidRequest("invalid config: channels.defaults: nope"))
    # What an interrupted attempt or an outage leaves behind is retried and re-planned.
    assert not needs_a_change(GatewayInvalidRequest('agent "mc-1" not found'))
    assert not needs_a_change(GatewayNotFound("the gateway did not list agent mc-1 within 15 s"))
    assert not needs_a_change(GatewayConfigConflict("config changed since last load"))
    assert not needs_a_change(GatewayUnreachable("not connected"))
    assert not needs_a_change(GatewayAuthFailed("token mismatch"))


def test_an_update_on_a_pending_provisioning_keeps_it_and_its_flags() -> None:
    agent = _agent()
    request_apply(agent, "provision", reset_session=True)
    request_apply(agent, "update")  # e.g. a board refresh before the first apply
    assert agent.provision_action == "provision"
    options = pending_options(agent)
    assert (options.action, options.wake, options.reset_session) == ("provision", True, True)

    agent.applied_generation = agent.generation
    request_apply(agent, "update", wake=True, reset_session=True, force_bootstrap=True)
    request_apply(agent, "update")  # a refresh on top keeps the operator's wake
    options = pending_options(agent)
    assert (options.action, options.wake, options.force_bootstrap) == ("update", True, True)

    agent.applied_generation = agent.generation
    request_apply(agent, "update")
    assert pending_options(agent).wake is False


def test_next_step_says_what_happens() -> None:
    agent = _agent()
    assert next_step(agent) is None
    request_apply(agent, "provision")
    assert "reconciler applies this" in (next_step(agent) or "")
    assert "wakes the agent" in (next_step(agent) or "")
    agent.provision_parked_generation = agent.generation
    assert "Waiting for a fix" in (next_step(agent) or "")
    request_apply(agent, "update")  # an operator's change unparks
    assert agent.provision_parked_generation is None


def test_legacy_schema_without_channel_defaults_writes_none() -> None:
    lookup = {"children": [{"key": "every"}, {"key": "target"}, {"key": "prompt"}]}
    assert schema_children(lookup) == frozenset({"every", "target", "prompt"})
    assert schema_children(None) is None
    writable = writable_from_schema({"path": "tools.exec.host"}, None, lookup)
    assert writable.heartbeat_visibility == frozenset()
    entry = HeartbeatEntry("mc-1", "/w/mc-1", {"every": "10m", "unknownKey": 1}, name="One")
    change = plan_config_change({}, "agents.list", [entry], writable=writable)
    assert change.patch is not None
    assert "channels" not in change.patch
    assert change.patch["tools"] == {"exec": {"host": "gateway"}}
    assert change.patch["agents"]["list"] == [
        {"id": "mc-1", "workspace": "/w/mc-1", "name": "One", "heartbeat": {"every": "10m"}}
    ]


def test_current_schema_writes_the_visibility_it_lists() -> None:
    writable = WritableConfig(
        exec_host=True,
        heartbeat_visibility=frozenset({"showOk", "showAlerts", "useIndicator"}),
        heartbeat_keys=None,
        source="schema",
    )
    change = plan_config_change({}, "agents.entries", [], writable=writable)
    assert change.patch == {
        "tools": {"exec": {"host": "gateway"}},
        "channels": {
            "defaults": {
                "heartbeatVisibility": {"showOk": False, "showAlerts": True, "useIndicator": True}
            }
        },
    }
