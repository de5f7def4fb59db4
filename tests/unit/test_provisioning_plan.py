"""Pure provisioning: identities, rendering context, templates, plans and config patches."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.security import mint_token
from mission_control.gateway.config_plan import HeartbeatEntry, plan_config_change
from mission_control.gateway.session_keys import agent_id_of
from mission_control.gateways.models import Gateway
from mission_control.provisioning.context import RenderInputs, render_context, user_variables
from mission_control.provisioning.identities import (
    AgentRef,
    agent_session_key,
    gateway_agent_id,
    workspace_path,
)
from mission_control.provisioning.plan import (
    GatewayCapabilities,
    desired_heartbeat,
    files_to_write,
    plan_agent,
)
from mission_control.provisioning.templates import include_bootstrap, size_budget
from mission_control.provisioning.tokens import read_auth_token
from mission_control.users.models import User

CURRENT = GatewayCapabilities(
    workspace_files=frozenset(
        {"AGENTS.md", "SOUL.md", "IDENTITY.md", "USER.md", "BOOTSTRAP.md", "MEMORY.md"}
    )
)
LEGACY = GatewayCapabilities(
    workspace_files=CURRENT.workspace_files | {"TOOLS.md", "HEARTBEAT.md"},
    heartbeat_prompt_in_config=False,
)
GW = uuid.UUID("00000000-0000-0000-0000-0000000000aa")
BOARD = uuid.UUID("00000000-0000-0000-0000-0000000000bb")
AGENT = uuid.UUID("00000000-0000-0000-0000-0000000000cc")


def _gateway() -> Gateway:
    return Gateway(
        id=GW, organization_id=uuid.uuid4(), name="edge", url="ws://x", workspace_root="/srv/oc/"
    )


def _board() -> Board:
    return Board(
        id=BOARD,
        organization_id=uuid.uuid4(),
        gateway_id=GW,
        name="Launch",
        slug="launch",
        board_type="goal",
        objective="Ship v1",
        success_metrics={"users": 10},
        goal_confirmed=True,
        require_approval_for_done=True,
        require_review_before_done=False,
        comment_required_for_review=True,
        block_status_changes_with_pending_approval=False,
        only_lead_can_change_status=False,
        max_agents=3,
    )


def _agent(kind: str, **fields: Any) -> Agent:
    defaults: dict[str, Any] = {
        "id": AGENT,
        "gateway_id": GW,
        "board_id": None if kind == "main" else BOARD,
        "name": "Coder",
        "name_key": "coder",
        "is_board_lead": kind == "lead",
        "auto_heartbeat_enabled": True,
        "auto_heartbeat_off": False,
        "auto_heartbeat_every": None,
        "heartbeat_config": None,
        "identity_profile": {"role": "Backend Engineer", "emoji": None, "skills": ["a", " ", "b"]},
        "identity_template": None,
        "soul_template": None,
    }
    return Agent(**{**defaults, **fields})


def _inputs(
    agent: Agent,
    user: User | None = None,
    *,
    base_url: str = "http://mc:8000/",
    token: str = "mca_tok",  # noqa: S107  (a fake token for rendering)
) -> RenderInputs:
    board = None if agent.board_id is None else _board()
    return RenderInputs(
        agent=agent, board=board, gateway=_gateway(), user=user, base_url=base_url, auth_token=token
    )


def test_identities_are_deterministic() -> None:
    worker = AgentRef(id=AGENT, gateway_id=GW, board_id=BOARD, is_board_lead=False)
    lead = AgentRef(id=AGENT, gateway_id=GW, board_id=BOARD, is_board_lead=True)
    main = AgentRef(id=AGENT, gateway_id=GW, board_id=None, is_board_lead=False)
    assert gateway_agent_id(worker) == f"mc-{AGENT}"
    assert agent_session_key(lead) == f"agent:lead-{BOARD}:main"
    assert agent_session_key(main) == f"agent:mc-gateway-{GW}:main"
    assert workspace_path("/srv/oc/", worker) == f"/srv/oc/workspace-mc-{AGENT}"
    assert workspace_path("/srv/oc", lead) == f"/srv/oc/workspace-lead-{BOARD}"
    assert workspace_path("/srv/oc", main) == f"/srv/oc/workspace-gateway-{GW}"
    # "/" is a valid workspace root (the gateways API accepts it): workspaces sit at the top.
    assert workspace_path("/", worker) == f"/workspace-mc-{AGENT}"
    assert workspace_path("/", main) == f"/workspace-gateway-{GW}"
    assert agent_id_of("agent:abc:main") == "abc"
    assert agent_id_of("agent::main") is None
    with pytest.raises(ValueError, match="workspace_root"):
        workspace_path("  ", worker)


def test_user_variables() -> None:
    assert user_variables(None)["user_name"] == ""
    blank_preferred = User(name="Ana Lopez", email="ana@x.io", preferred_name="   ")
    assert user_variables(blank_preferred)["user_preferred_name"] == "Ana"
    email_only = User(name=None, email="ana.lopez@x.io", preferred_name=None)
    values = user_variables(email_only)
    assert values["user_name"] == "ana.lopez@x.io"
    assert values["user_preferred_name"] == "ana.lopez"
    assert (
        user_variables(User(name="Bo", preferred_name="Bobby Tables"))["user_preferred_name"]
        == "Bobby"
    )


def test_context_identity_normalisation() -> None:
    context = render_context(_inputs(_agent("worker")))
    assert context["identity_role"] == "Backend Engineer"
    assert context["identity_emoji"] == ":gear:"
    assert context["board_success_metrics"] == '{"users": 10}'
    assert context["base_url"] == "http://mc:8000"
    assert all(isinstance(value, str) for value in context.values())


@pytest.mark.parametrize("kind", ["worker", "lead", "main"])
@pytest.mark.parametrize("caps", [CURRENT, LEGACY], ids=["current", "legacy"])
def test_rendered_files_fit_the_gateway_and_budget(kind: str, caps: GatewayCapabilities) -> None:
    # A real token and a long public URL: the playbooks repeat both in every command.
    token = mint_token().raw
    base_url = "https://mission-control.operations.example.com/"
    plan = plan_agent(
        _inputs(_agent(kind), User(name="Ana", email="a@x.io"), base_url=base_url, token=token),
        caps,
        action="provision",
    )
    assert set(plan.files) <= caps.workspace_files
    assert ("BOOTSTRAP.md" in plan.files) == (kind == "lead")
    tools_file = "TOOLS.md" if "TOOLS.md" in caps.workspace_files else "AGENTS.md"
    assert read_auth_token(plan.files[tools_file]) == token
    assert "BASE_URL=https://mission-control.operations.example.com" in plan.files[tools_file]
    assert ("BOARD_ID=" in plan.files[tools_file]) == (kind != "main")
    for name, content in plan.files.items():
        assert content, name
        assert len(content) <= size_budget(name), (name, len(content))
    assert ("prompt" in plan.heartbeat) == caps.heartbeat_prompt_in_config
    prompt = plan.heartbeat.get("prompt") or plan.files["HEARTBEAT.md"]
    assert "`check-in`" in prompt
    assert prompt.rstrip().endswith("NO_REPLY.")
    assert len(prompt) <= size_budget("HEARTBEAT.md")


def test_overrides_render_with_the_same_context() -> None:
    agent = _agent("worker", soul_template="  Soul of {{ agent_name }}  ", identity_template=" ")
    plan = plan_agent(_inputs(agent), CURRENT, action="provision")
    assert plan.files["SOUL.md"] == "Soul of Coder"
    assert plan.files["IDENTITY.md"].startswith("# Identity")


@pytest.mark.parametrize(
    ("action", "force", "listing", "expected"),
    [
        ("provision", False, None, True),
        ("update", True, {}, True),
        ("update", False, {}, False),
        ("update", False, {"AGENTS.md": False}, True),
        ("update", False, {"BOOTSTRAP.md": True}, False),
        ("update", False, {"BOOTSTRAP.md": False}, True),
    ],
)
def test_bootstrap_rule(
    action: str, force: bool, listing: dict[str, bool] | None, expected: bool
) -> None:
    assert include_bootstrap(action, force, listing) is expected


def test_update_preserves_agent_edited_files() -> None:
    plan = plan_agent(
        _inputs(_agent("worker")), CURRENT, action="update", existing_files={"USER.md": False}
    )
    present = {"USER.md": False, "MEMORY.md": False}
    assert "USER.md" not in files_to_write(plan, present, action="update")
    assert "MEMORY.md" not in files_to_write(plan, present, action="update")
    assert "MEMORY.md" in files_to_write(plan, {"MEMORY.md": True}, action="update")
    assert "USER.md" in files_to_write(plan, present, action="provision")
    assert "USER.md" in files_to_write(plan, present, action="update", overwrite=True)
    main_plan = plan_agent(_inputs(_agent("main")), CURRENT, action="update")
    assert "USER.md" in files_to_write(main_plan, present, action="update")


def test_heartbeat_follows_overrides_and_governor() -> None:
    agent = _agent("worker", heartbeat_config={"every": "30m", "activeHours": {"start": "08:00"}})
    assert desired_heartbeat(agent, None, CURRENT) == {
        "every": "30m",
        "target": "last",
        "activeHours": {"start": "08:00"},
    }
    governed = _agent("worker", auto_heartbeat_every="3h")
    assert desired_heartbeat(governed, None, CURRENT)["every"] == "3h"
    off = _agent("worker", auto_heartbeat_off=True)
    assert desired_heartbeat(off, None, CURRENT)["every"] == "0m"
    lead_off = _agent("lead", auto_heartbeat_off=True, auto_heartbeat_every="1h")
    assert desired_heartbeat(lead_off, None, CURRENT)["every"] == "1h"


def test_plan_ignores_the_governor_state_when_the_governor_is_disabled() -> None:
    off = _agent("worker", auto_heartbeat_off=True)
    assert plan_agent(_inputs(off), CURRENT, action="update").heartbeat["every"] == "0m"
    plan = plan_agent(_inputs(off), CURRENT, action="update", governor_enabled=False)
    assert plan.heartbeat["every"] == "10m"  # its own (default) cadence, switched back on


ENTRY = HeartbeatEntry(
    agent_id="mc-a", workspace="/w/workspace-mc-a", heartbeat={"every": "10m", "target": "last"}
)


def test_config_change_adds_entries_and_defaults_once() -> None:
    config: dict[str, Any] = {"agents": {"entries": {"main": {"default": True}}}}
    change = plan_config_change(config, "agents.entries", [ENTRY], effective_every={"main": "30m"})
    assert change.patch == {
        "tools": {"exec": {"host": "gateway"}},
        "channels": {
            "defaults": {
                "heartbeatVisibility": {"showOk": False, "showAlerts": True, "useIndicator": True}
            }
        },
        "agents": {
            "entries": {
                "mc-a": {
                    "workspace": "/w/workspace-mc-a",
                    "heartbeat": {"every": "10m", "target": "last"},
                },
                "main": {"heartbeat": {"every": "30m"}},
            }
        },
    }
    assert change.kept_heartbeating == ("main",)


def test_config_change_is_none_when_converged() -> None:
    config = {
        "tools": {"exec": {"host": "node"}},
        "channels": {
            "defaults": {
                "heartbeatVisibility": {"showOk": True, "showAlerts": True, "useIndicator": False}
            }
        },
        "agents": {
            "entries": {
                "mc-a": {
                    "workspace": "/w/workspace-mc-a",
                    "heartbeat": {"every": "10m", "target": "last"},
                }
            }
        },
    }
    assert plan_config_change(config, "agents.entries", [ENTRY]).patch is None


def test_config_change_replaces_stale_heartbeat_keys_and_keeps_operator_values() -> None:
    config = {
        "tools": {"exec": {"host": "gateway"}},
        "channels": {"defaults": {"heartbeatVisibility": {"showOk": True}}},
        "agents": {
            "ownership": "explicit",
            "entries": {
                "mc-a": {
                    "workspace": "/w/workspace-mc-a",
                    "model": "m",
                    "heartbeat": {"every": "1h", "lightContext": True},
                },
                "ops": {},
            },
        },
    }
    change = plan_config_change(config, "agents.entries", [ENTRY], effective_every={"ops": None})
    assert change.patch == {
        "channels": {
            "defaults": {"heartbeatVisibility": {"showAlerts": True, "useIndicator": True}}
        },
        "agents": {
            "entries": {
                "mc-a": {"heartbeat": {"lightContext": None, "every": "10m", "target": "last"}}
            }
        },
    }
    assert change.kept_heartbeating == ()


def test_agents_joining_a_bare_roster_make_ownership_explicit() -> None:
    # The current release refuses a roster of several agents without agents.ownership.
    second = HeartbeatEntry(agent_id="mc-b", workspace="/w/workspace-mc-b", heartbeat={})
    change = plan_config_change({}, "agents.entries", [ENTRY, second], include_defaults=False)
    assert change.patch is not None
    assert change.patch["agents"]["ownership"] == "explicit"
    assert set(change.patch["agents"]["entries"]) == {"mc-a", "mc-b"}
    alone = plan_config_change({}, "agents.entries", [ENTRY], include_defaults=False)
    assert alone.patch is not None
    assert "ownership" not in alone.patch["agents"]
    joined = plan_config_change(
        {"agents": {"entries": {"ops": {}}}}, "agents.entries", [ENTRY], include_defaults=False
    )
    assert joined.patch is not None
    assert joined.patch["agents"]["ownership"] == "explicit"
    operator_set = {"agents": {"ownership": "implicit-main", "entries": {"ops": {}}}}
    kept = plan_config_change(operator_set, "agents.entries", [ENTRY], include_defaults=False)
    assert kept.patch is not None
    assert "ownership" not in kept.patch["agents"]


def test_legacy_list_is_merged_whole() -> None:
    config = {
        "tools": {"exec": {"host": "gateway"}},
        "channels": {
            "defaults": {
                "heartbeatVisibility": {"showOk": False, "showAlerts": True, "useIndicator": True}
            }
        },
        "agents": {"list": [{"id": "main"}, {"id": "mc-a", "workspace": "/old", "model": "m"}]},
    }
    change = plan_config_change(config, "agents.list", [ENTRY])
    assert change.patch == {
        "agents": {
            "list": [
                {"id": "main"},
                {
                    "id": "mc-a",
                    "workspace": "/w/workspace-mc-a",
                    "model": "m",
                    "heartbeat": {"every": "10m", "target": "last"},
                },
            ]
        }
    }


def test_token_parser_tolerates_decoration() -> None:
    for line in (
        "AUTH_TOKEN=abc_1-2",
        "- AUTH_TOKEN=abc_1-2",
        "`AUTH_TOKEN=abc_1-2`",
        "* **AUTH_TOKEN** = `abc_1-2`",
    ):
        assert read_auth_token(f"# Tools\n\n{line}\nOTHER=x\n") == "abc_1-2", line
    assert read_auth_token("nothing here") is None
