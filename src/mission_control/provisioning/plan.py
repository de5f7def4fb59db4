"""Pure planning: from database state and the gateway's capabilities, what the agent's gateway
state should be (registration, workspace files, heartbeat entry). No I/O here."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.governor.policy import effective_cadence
from mission_control.provisioning.context import (
    AgentKind,
    RenderInputs,
    agent_kind,
    agent_ref,
    render_context,
)
from mission_control.provisioning.identities import (
    agent_session_key,
    gateway_agent_id,
    workspace_path,
)
from mission_control.provisioning.templates import (
    PRESERVED_ON_UPDATE,
    file_names,
    include_bootstrap,
    render_heartbeat_prompt,
    render_workspace,
)

DEFAULT_HEARTBEAT: Mapping[str, Any] = {"every": "10m", "target": "last"}
HEARTBEAT_OFF: Mapping[str, Any] = {"every": "0m"}


@dataclass(frozen=True, slots=True)
class GatewayCapabilities:
    """What provisioning needs to know about a gateway (from its GatewayProfile)."""

    workspace_files: frozenset[str]
    heartbeat_off: Mapping[str, Any] = field(default_factory=lambda: dict(HEARTBEAT_OFF))
    heartbeat_prompt_in_config: bool = True


@dataclass(frozen=True, slots=True)
class AgentPlan:
    kind: AgentKind
    gateway_agent_id: str
    display_name: str
    workspace: str
    session_key: str
    files: Mapping[str, str]
    preserved: frozenset[str]
    heartbeat: Mapping[str, Any]


def desired_heartbeat(
    agent: Agent,
    prompt: str | None,
    capabilities: GatewayCapabilities,
    board: Board | None = None,
    *,
    governor_enabled: bool = True,
) -> dict[str, Any]:
    """The explicit heartbeat block: defaults, the agent's overrides, then the governor's state
    (so provisioning never re-enables what the governor switched off,
    docs/governor.md#provisioning-keeps-the-governed-cadence, and a lead never
    beats slower than its board's cap); the agent's own cadence when the governor is disabled
    by setting."""
    block: dict[str, Any] = {**DEFAULT_HEARTBEAT}
    if isinstance(agent.heartbeat_config, dict):
        block.update(agent.heartbeat_config)
    every = effective_cadence(agent, board, governor_enabled=governor_enabled)
    if every is None:
        block.update(capabilities.heartbeat_off)
    else:
        block["every"] = every
    if prompt and capabilities.heartbeat_prompt_in_config:
        block["prompt"] = prompt
    return block


def plan_agent(
    inputs: RenderInputs,
    capabilities: GatewayCapabilities,
    *,
    action: str,
    force_bootstrap: bool = False,
    existing_files: Mapping[str, bool] | None = None,
    governor_enabled: bool = True,
) -> AgentPlan:
    """``existing_files`` maps names already in the workspace to their "missing" flag;
    ``governor_enabled`` is MC_GOVERNOR_ENABLED (whether the governor's state applies)."""
    agent = inputs.agent
    ref = agent_ref(agent)
    kind = agent_kind(agent)
    context = render_context(inputs)
    bootstrap = include_bootstrap(action, force_bootstrap, existing_files)
    names = file_names(kind, capabilities.workspace_files, include_bootstrap=bootstrap)
    files = render_workspace(
        context,
        names=names,
        identity_template=agent.identity_template,
        soul_template=agent.soul_template,
    )
    prompt = render_heartbeat_prompt(context)
    return AgentPlan(
        kind=kind,
        gateway_agent_id=gateway_agent_id(ref),
        display_name=agent.name,
        workspace=workspace_path(inputs.gateway.workspace_root, ref),
        session_key=agent_session_key(ref),
        files=files,
        preserved=PRESERVED_ON_UPDATE[kind],
        heartbeat=desired_heartbeat(
            agent, prompt, capabilities, inputs.board, governor_enabled=governor_enabled
        ),
    )


def files_to_write(
    plan: AgentPlan,
    existing_files: Mapping[str, bool] | None,
    *,
    action: str,
    overwrite: bool = False,
) -> dict[str, str]:
    """Empty content is never written; on update, agent-editable files are only (re)created
    when absent or reported missing (docs/provisioning.md#writing-files)."""
    existing = existing_files or {}
    writes: dict[str, str] = {}
    for name, content in plan.files.items():
        if not content:
            continue
        keep = action == "update" and not overwrite and name in plan.preserved
        if keep and name in existing and not existing[name]:
            continue
        writes[name] = content
    return writes


def unsupported(names: Collection[str], capabilities: GatewayCapabilities) -> list[str]:
    return sorted(set(names) - capabilities.workspace_files)
