"""The variables workspace templates are rendered with: all strings, always complete
(docs/provisioning.md#template-variables)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.gateways.models import Gateway
from mission_control.provisioning.identities import (
    AgentRef,
    agent_session_key,
    gateway_agent_id,
    gateway_main_session_key,
    workspace_path,
)
from mission_control.users.models import User

AgentKind = Literal["board_worker", "board_lead", "gateway_main"]

IDENTITY_DEFAULTS = {
    "role": "Generalist",
    "communication_style": "direct, concise, practical",
    "emoji": ":gear:",
    "autonomy_level": "",
    "verbosity": "",
    "output_format": "",
    "update_cadence": "",
    "purpose": "",
    "personality": "",
    "custom_instructions": "",
}


BOARD_KEYS = (
    "board_id",
    "board_name",
    "board_slug",
    "board_type",
    "board_objective",
    "board_success_metrics",
    "board_target_date",
    "board_goal_confirmed",
    "board_rule_require_approval_for_done",
    "board_rule_require_review_before_done",
    "board_rule_comment_required_for_review",
    "board_rule_block_status_changes_with_pending_approval",
    "board_rule_only_lead_can_change_status",
    "board_rule_max_agents",
)


def agent_ref(agent: Agent) -> AgentRef:
    return AgentRef(
        id=agent.id,
        gateway_id=agent.gateway_id,
        board_id=agent.board_id,
        is_board_lead=agent.is_board_lead,
    )


def agent_kind(agent: Agent) -> AgentKind:
    if agent.board_id is None:
        return "gateway_main"
    return "board_lead" if agent.is_board_lead else "board_worker"


def normalize_identity_profile(profile: Any) -> dict[str, str]:
    """Objects only; nulls dropped; lists joined by ', '; everything else stringified, trimmed."""
    if not isinstance(profile, dict):
        return {}
    normalized: dict[str, str] = {}
    for key, value in profile.items():
        if value is None:
            continue
        if isinstance(value, list):
            text = ", ".join(str(item).strip() for item in value if str(item).strip())
        else:
            text = str(value).strip()
        if text:
            normalized[str(key)] = text
    return normalized


def identity_variables(profile: Any) -> dict[str, str]:
    normalized = normalize_identity_profile(profile)
    return {
        f"identity_{key}": normalized.get(key, default)
        for key, default in IDENTITY_DEFAULTS.items()
    }


def _email_local_part(email: str | None) -> str:
    email = (email or "").strip()
    if not email:
        return ""
    local = email.split("@", 1)[0].strip()
    return local or email


def user_variables(user: User | None) -> dict[str, str]:
    if user is None:
        return {
            "user_name": "",
            "user_preferred_name": "",
            "user_pronouns": "",
            "user_timezone": "",
            "user_notes": "",
            "user_context": "",
        }
    display = (user.name or "").strip() or (user.email or "").strip()
    preferred_words = (user.preferred_name or "").split()
    if preferred_words:
        preferred = preferred_words[0]
    elif display:
        preferred = _email_local_part(display) if "@" in display else display.split()[0]
    else:
        preferred = _email_local_part(user.email)
    return {
        "user_name": display,
        "user_preferred_name": preferred,
        "user_pronouns": user.pronouns or "",
        "user_timezone": user.timezone or "",
        "user_notes": user.notes or "",
        "user_context": user.context or "",
    }


def _flag(value: bool) -> str:
    return "true" if value else "false"


def board_variables(board: Board | None) -> dict[str, str]:
    if board is None:
        return dict.fromkeys(BOARD_KEYS, "")
    return {
        "board_id": str(board.id),
        "board_name": board.name,
        "board_slug": board.slug,
        "board_type": board.board_type,
        "board_objective": board.objective or "",
        "board_success_metrics": json.dumps(board.success_metrics or {}),
        "board_target_date": board.target_date.isoformat() if board.target_date else "",
        "board_goal_confirmed": _flag(board.goal_confirmed),
        "board_rule_require_approval_for_done": _flag(board.require_approval_for_done),
        "board_rule_require_review_before_done": _flag(board.require_review_before_done),
        "board_rule_comment_required_for_review": _flag(board.comment_required_for_review),
        "board_rule_block_status_changes_with_pending_approval": _flag(
            board.block_status_changes_with_pending_approval
        ),
        "board_rule_only_lead_can_change_status": _flag(board.only_lead_can_change_status),
        "board_rule_max_agents": str(board.max_agents),
    }


@dataclass(frozen=True, slots=True)
class RenderInputs:
    agent: Agent
    board: Board | None
    gateway: Gateway
    user: User | None
    base_url: str
    auth_token: str
    role_soul_markdown: str = ""
    role_soul_source_url: str = ""


CORE_KEYS = (
    "agent_kind",
    "agent_name",
    "agent_id",
    "gateway_agent_id",
    "gateway_name",
    "is_board_lead",
    "is_main_agent",
    "session_key",
    "workspace_path",
    "workspace_root",
    "base_url",
    "auth_token",
    "main_session_key",
    "directory_role_soul_markdown",
    "directory_role_soul_source_url",
)


def context_keys() -> frozenset[str]:
    """Every variable a workspace template (and an agent's override template) may use."""
    return frozenset(
        (*CORE_KEYS, *BOARD_KEYS, *user_variables(None), *identity_variables(None))
    ) | {"tools_in_agents_md"}


def render_context(inputs: RenderInputs) -> dict[str, str]:
    agent, board, gateway = inputs.agent, inputs.board, inputs.gateway
    if agent.board_id is not None and board is None:
        raise ValueError("A board agent is rendered with its board.")
    ref = agent_ref(agent)
    kind = agent_kind(agent)
    return {
        "agent_kind": kind,
        "agent_name": agent.name,
        "agent_id": str(agent.id),
        "gateway_agent_id": gateway_agent_id(ref),
        "gateway_name": gateway.name,
        "is_board_lead": _flag(kind == "board_lead"),
        "is_main_agent": _flag(kind == "gateway_main"),
        "session_key": agent_session_key(ref),
        "workspace_path": workspace_path(gateway.workspace_root, ref),
        "workspace_root": gateway.workspace_root,
        "base_url": inputs.base_url.rstrip("/"),
        "auth_token": inputs.auth_token,
        "main_session_key": gateway_main_session_key(gateway.id),
        "directory_role_soul_markdown": inputs.role_soul_markdown if kind == "board_worker" else "",
        "directory_role_soul_source_url": (
            inputs.role_soul_source_url if kind == "board_worker" else ""
        ),
        **board_variables(board),
        **user_variables(inputs.user),
        **identity_variables(agent.identity_profile),
    }
