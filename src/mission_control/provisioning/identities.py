"""Deterministic identities on a gateway: agent ids, session keys and workspace paths
(docs/provisioning.md#identities).

Nothing here is random or derived from a display name: the same agent row always maps to the
same gateway agent, session and directory (docs/provisioning.md#never-random-never-from-the-name).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from mission_control.core.text import slugify
from mission_control.gateway.session_keys import session_key

MAIN_AGENT_PREFIX = "mc-gateway-"
LEAD_AGENT_PREFIX = "lead-"
WORKER_AGENT_PREFIX = "mc-"
MAIN_SESSION_LABEL = "Gateway Agent"


def gateway_main_agent_id(gateway_id: uuid.UUID) -> str:
    return f"{MAIN_AGENT_PREFIX}{gateway_id}"


def gateway_main_session_key(gateway_id: uuid.UUID) -> str:
    return session_key(gateway_main_agent_id(gateway_id))


def legacy_gateway_main_session_key(gateway_id: uuid.UUID) -> str:
    """Older records carry ``agent:gateway-<id>:main``; provisioning rewrites it."""
    return session_key(f"gateway-{gateway_id}")


def lead_agent_id(board_id: uuid.UUID) -> str:
    return f"{LEAD_AGENT_PREFIX}{board_id}"


def worker_agent_id(agent_id: uuid.UUID) -> str:
    return f"{WORKER_AGENT_PREFIX}{agent_id}"


@dataclass(frozen=True, slots=True)
class AgentRef:
    """The few agent fields identities depend on."""

    id: uuid.UUID
    gateway_id: uuid.UUID
    board_id: uuid.UUID | None
    is_board_lead: bool

    @property
    def is_gateway_main(self) -> bool:
        return self.board_id is None


def gateway_agent_id(agent: AgentRef) -> str:
    """The agent's id on its gateway."""
    if agent.board_id is None:
        return gateway_main_agent_id(agent.gateway_id)
    if agent.is_board_lead:
        return lead_agent_id(agent.board_id)
    return worker_agent_id(agent.id)


def agent_session_key(agent: AgentRef) -> str:
    """The agent's main session key on its gateway."""
    return session_key(gateway_agent_id(agent))


def workspace_path(workspace_root: str, agent: AgentRef) -> str:
    """``<root>/workspace-<key>``; gateway-main agents keep the historical
    ``workspace-gateway-<id>`` directory so existing workspaces do not move."""
    root = workspace_root.strip()
    if not root:
        raise ValueError("The gateway has no workspace_root; set it before provisioning agents.")
    root = root.rstrip("/")  # "/" itself is a valid root: workspaces are /workspace-<key>
    key = gateway_agent_id(agent)
    if key.startswith(MAIN_AGENT_PREFIX):
        key = key.removeprefix("mc-")
    return f"{root}/workspace-{slugify(key)}"
