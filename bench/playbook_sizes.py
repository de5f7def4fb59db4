"""Characters of each rendered workspace file and heartbeat prompt, per agent kind and gateway
kind, next to the budget (templates.SIZE_BUDGET). Rendered with a real-format token, a public
base URL and a board whose rules are all on, so every conditional consequence is present.

    .venv/bin/python -m bench.playbook_sizes
"""

from __future__ import annotations

import uuid

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.security import mint_token
from mission_control.gateway.profile import CURRENT_WORKSPACE_FILES, LEGACY_WORKSPACE_FILES
from mission_control.gateways.models import Gateway
from mission_control.provisioning.context import RenderInputs
from mission_control.provisioning.plan import GatewayCapabilities, plan_agent
from mission_control.provisioning.templates import size_budget
from mission_control.users.models import User

BASE_URL = "https://mission-control.example.com"
KINDS = ("worker", "lead", "main")


def _inputs(kind: str) -> RenderInputs:
    gateway = Gateway(id=uuid.uuid4(), organization_id=uuid.uuid4(), name="edge", url="ws://x")
    gateway.workspace_root = "/srv/openclaw"
    board = Board(
        id=uuid.uuid4(),
        organization_id=gateway.organization_id,
        gateway_id=gateway.id,
        name="Release notes",
        slug="release-notes",
        board_type="goal",
        objective="Publish the release notes",
        success_metrics={},
        goal_confirmed=True,
        require_approval_for_done=True,
        require_review_before_done=True,
        comment_required_for_review=True,
        block_status_changes_with_pending_approval=True,
        only_lead_can_change_status=kind == "worker",
        max_agents=3,
    )
    agent = Agent(
        id=uuid.uuid4(),
        gateway_id=gateway.id,
        board_id=None if kind == "main" else board.id,
        name="Writer",
        name_key="writer",
        is_board_lead=kind == "lead",
        heartbeat_config=None,
        identity_profile={"role": "Technical Writer"},
        identity_template=None,
        soul_template=None,
        auto_heartbeat_enabled=True,
        auto_heartbeat_off=False,
        auto_heartbeat_every=None,
    )
    return RenderInputs(
        agent=agent,
        board=None if kind == "main" else board,
        gateway=gateway,
        user=User(name="Ana Lopez", email="ana@example.com"),
        base_url=BASE_URL,
        auth_token=mint_token().raw,
    )


def _budget(name: str) -> int:
    return size_budget("HEARTBEAT.md" if name == "heartbeat prompt" else name)


def main() -> None:
    gateways = {
        "current": GatewayCapabilities(workspace_files=CURRENT_WORKSPACE_FILES),
        "legacy": GatewayCapabilities(
            workspace_files=LEGACY_WORKSPACE_FILES, heartbeat_prompt_in_config=False
        ),
    }
    for label, caps in gateways.items():
        for kind in KINDS:
            plan = plan_agent(_inputs(kind), caps, action="provision")
            sizes = {name: len(content) for name, content in plan.files.items()}
            if "prompt" in plan.heartbeat:
                sizes["heartbeat prompt"] = len(plan.heartbeat["prompt"])
            cells = ", ".join(
                f"{name} {size:,}/{_budget(name):,}" for name, size in sorted(sizes.items())
            )
            print(f"{label:8} {kind:7} {cells}")


if __name__ == "__main__":
    main()
