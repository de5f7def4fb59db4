"""The playbooks in agents' workspaces are well formed: every command is one named, filled-in
curl; placeholders are explained; refusals name real commands; the heartbeat prompt uses only
commands the agent has; board rules show up as consequences. (Running each command against a
live Mission Control is tests/e2e/test_playbook_commands.py.)"""

from __future__ import annotations

import re

import pytest

from mission_control.core.security import mint_token
from mission_control.provisioning.plan import GatewayCapabilities, plan_agent
from mission_control.users.models import User
from tests.support import playbook
from tests.unit.test_provisioning_plan import BOARD, CURRENT, LEGACY, _agent, _board, _inputs

KINDS = ["worker", "lead", "main"]
STATUS_WORDS = {"inbox", "review", "done"}
_BACKTICKED = re.compile(r"`([a-z][a-z-]*)`")


def _files(kind: str, caps: GatewayCapabilities, **board_flags: bool) -> tuple[str, str, str]:
    token = mint_token().raw
    inputs = _inputs(_agent(kind), User(name="Ana"), token=token)
    if inputs.board is not None:
        for name, value in board_flags.items():
            setattr(inputs.board, name, value)
    plan = plan_agent(inputs, caps, action="provision")
    prompt = plan.heartbeat.get("prompt") or plan.files["HEARTBEAT.md"]
    return plan.files["AGENTS.md"], prompt, token


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("caps", [CURRENT, LEGACY], ids=["current", "legacy"])
def test_every_command_is_filled_in_and_explained(kind: str, caps: GatewayCapabilities) -> None:
    text, prompt, token = _files(kind, caps)
    commands = playbook.commands(text)
    assert "check-in" in commands
    assert text.count("```sh") == len(commands)
    legend = playbook.placeholder_legend(text)
    for command in commands.values():
        assert command.line.startswith("curl -sS -X "), command.line
        assert f'-H "X-Agent-Token: {token}"' in command.line
        assert "http://mc:8000/api/v1/agent/" in command.line
        assert command.placeholders <= legend, (command.name, command.placeholders - legend)
        if kind != "main" and "/boards/" in command.line:
            assert f"/boards/{BOARD}/" in command.line, command.line
    for name, _code in playbook.refusals(text):
        assert name in commands, name
    assert playbook.through_gateway(text) <= set(commands)
    expected_gateway = {"lead": {"create-worker", "delete-worker", "ask-user"}}
    expected_gateway["main"] = {"relay-to-lead", "broadcast"}
    assert playbook.through_gateway(text) == expected_gateway.get(kind, set())
    named_in_prompt = set(_BACKTICKED.findall(prompt)) - STATUS_WORDS
    assert named_in_prompt, prompt
    assert named_in_prompt <= set(commands), named_in_prompt - set(commands)


def test_the_commands_are_the_same_on_both_gateway_kinds() -> None:
    for kind in KINDS:
        current, _prompt, _token = _files(kind, CURRENT)
        legacy, _prompt, _token = _files(kind, LEGACY)
        lines = {n: c.when for n, c in playbook.commands(current).items()}
        assert lines == {n: c.when for n, c in playbook.commands(legacy).items()}


def test_board_rules_read_as_consequences() -> None:
    strict = {
        "require_approval_for_done": True,
        "comment_required_for_review": True,
        "only_lead_can_change_status": True,
        "block_status_changes_with_pending_approval": True,
    }
    worker, _prompt, _token = _files("worker", CURRENT, **strict)
    assert {
        ("claim-task", "lead_only"),
        ("submit-for-review", "comment_required"),
        ("claim-task", "task_blocked"),
    } <= playbook.refusals(worker)
    lead, lead_prompt, _token = _files("lead", CURRENT, **strict)
    assert {("accept-done", "approval_required"), ("accept-done", "pending_approval")} <= (
        playbook.refusals(lead)
    )
    assert "To finish a task you first need an approved approval" in lead
    assert "`raise-approval`" in lead_prompt

    relaxed = dict.fromkeys(strict, False)
    worker, _prompt, _token = _files("worker", CURRENT, **relaxed)
    assert not {code for _name, code in playbook.refusals(worker)} & {
        "lead_only",
        "comment_required",
    }
    lead, lead_prompt, _token = _files("lead", CURRENT, **relaxed)
    assert "no approval is needed on this board" in lead
    assert "raise-approval" not in lead_prompt
    assert f"allows {_board().max_agents} worker(s)" in lead
