"""Every command verbatim (issue 15): the playbooks Mission Control writes into a worker's, a
lead's and the gateway agent's AGENTS.md are read back from the real gateway, every command is
extracted, only the placeholders the text explains are filled, and each one is run with the
shell against the served Mission Control with the agent's own token. Each must succeed, or be
refused with exactly the code the text announces, and every command and every announced refusal
of every kind must have been run: a command added to a template without a step here fails.

The gateway is real because some commands reach it (create and delete a worker, ask the user,
relay to a lead, onboarding); the agents are provisioned without a wake, so no model runs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from mission_control.agents.models import Agent
from mission_control.core.runtime import Runtime
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.dev import DevGateway
from mission_control.organizations.models import Organization
from mission_control.provisioning import service
from mission_control.provisioning.context import agent_ref
from mission_control.provisioning.identities import gateway_agent_id
from mission_control.provisioning.tokens import read_auth_token
from mission_control.tasks.models import Tag
from tests.e2e.conftest import E2ESecrets, E2ETimings
from tests.support import factories, playbook
from tests.support.mc_server import McServerProcess

# Provisioning three agents on a loaded machine is slow.
pytestmark = [pytest.mark.gateway, pytest.mark.timeout(900)]

GATEWAY_RETRIES = 3


@dataclass
class Playbook:
    """One agent's AGENTS.md as the gateway holds it, and what the test ran from it."""

    kind: str
    agent_id: uuid.UUID
    text: str
    ran: set[str] = field(default_factory=set)
    refused: set[tuple[str, str]] = field(default_factory=set)
    seconds: dict[str, float] = field(default_factory=dict)

    def _run(self, name: str, values: Mapping[str, str]) -> Any:
        started = time.monotonic()
        answer = playbook.run(self._line(name, values))
        self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - started
        self.ran.add(name)
        return answer

    @property
    def commands(self) -> dict[str, playbook.Command]:
        return playbook.commands(self.text)

    def _line(self, name: str, values: Mapping[str, str]) -> str:
        command = self.commands[name]
        legend = playbook.placeholder_legend(self.text)
        assert command.placeholders <= legend, f"{self.kind} {name}: unexplained placeholders"
        assert set(values) <= command.placeholders, f"{self.kind} {name}: {set(values)}"
        return command.filled(values)

    def ok(self, name: str, **values: str) -> Any:
        answer = self._run(name, values)
        for _attempt in range(GATEWAY_RETRIES):
            # The playbook: a `gateway_...` refusal of a command that reaches the gateway
            # means "busy or unreachable, run it again later" (a loaded gateway does that).
            code = playbook.error_code(answer) or ""
            if not (code.startswith("gateway_") and name in playbook.through_gateway(self.text)):
                break
            time.sleep(2.0)
            answer = self._run(name, values)
        assert playbook.error_code(answer) is None, f"{self.kind} {name}: {answer}"
        return answer

    def refused_with(self, name: str, code: str, **values: str) -> dict[str, Any]:
        assert (name, code) in playbook.refusals(self.text), (
            f"{self.kind}: the text does not say `{name}` is refused with `{code}`"
        )
        answer = self._run(name, values)
        assert playbook.error_code(answer) == code, f"{self.kind} {name}: {answer}"
        self.refused.add((name, code))
        error: dict[str, Any] = answer["error"]
        return error

    def check_all_exercised(self) -> None:
        missing = set(self.commands) - self.ran
        assert not missing, f"{self.kind}: commands in the playbook no test step ran: {missing}"
        unproven = playbook.refusals(self.text) - self.refused
        assert not unproven, f"{self.kind}: announced refusals never provoked: {unproven}"


async def _world(
    runtime: Runtime, http: httpx.AsyncClient, operator: dict[str, str], gateway: DevGateway
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]:
    """In the operator's organisation: a gateway row for the real gateway, a board with strict
    rules, a worker, a tag. Returns gateway, board, worker, lead, main agent ids."""
    me = await http.get("/api/v1/organizations/me", headers=operator)
    assert me.status_code == 200, me.text
    suffix = uuid.uuid4().hex[:6]
    async with runtime.database.unit_of_work() as session:
        org = await session.get(Organization, uuid.UUID(me.json()["id"]))
        assert org is not None
        gw = await factories.gateway(session, org, name=f"playbooks-{suffix}")
        gw.url = gateway.url
        gw.token_ciphertext = runtime.secrets.encrypt(gateway.token)
        gw.workspace_root = str(gateway.state_dir / "workspaces")
        board = await factories.board(session, org, gw, name=f"Playbooks {suffix}")
        board.require_approval_for_done = True
        board.comment_required_for_review = True
        board.block_status_changes_with_pending_approval = True
        board.max_agents = 2
        worker, _token = await factories.agent(session, gw, board, name=f"Scout {suffix}")
        session.add(Tag(organization_id=org.id, name="docs", slug=f"docs-{suffix}"))
    lead_id, _created = await service.ensure_board_lead(runtime, board.id)
    main_id = await service.ensure_gateway_main_agent(runtime, gw.id)
    for agent_id in (worker.id, lead_id, main_id):
        outcome = await service.apply_agent(runtime, agent_id, service.ApplyOptions(wake=False))
        assert outcome.ok, f"provisioning failed: {outcome.error}"
    return gw.id, board.id, worker.id, lead_id, main_id


async def _playbook(
    runtime: Runtime, client: GatewayClient, kind: str, agent_id: uuid.UUID
) -> Playbook:
    async with runtime.database.unit_of_work() as session:
        agent = await session.get(Agent, agent_id, populate_existing=True)
        assert agent is not None
    held = await client.files_get(gateway_agent_id(agent_ref(agent)), "AGENTS.md")
    text = held.content or ""
    assert read_auth_token(text), f"no AUTH_TOKEN in the {kind}'s AGENTS.md"
    return Playbook(kind=kind, agent_id=agent_id, text=text)


async def test_every_playbook_command_runs_as_written(
    e2e_runtime: Runtime,
    e2e_client: GatewayClient,
    e2e_gateway: DevGateway,
    mission_control: McServerProcess,
    e2e_secrets: E2ESecrets,
    e2e_timings: E2ETimings,
) -> None:
    runtime = e2e_runtime
    began = time.monotonic()
    operator = {"Authorization": f"Bearer {e2e_secrets.operator_token}"}
    async with httpx.AsyncClient(base_url=mission_control.base_url, timeout=240.0) as http:
        _gw_id, board_id, worker_id, lead_id, main_id = await _world(
            runtime, http, operator, e2e_gateway
        )
        provisioned = time.monotonic()
        worker = await _playbook(runtime, e2e_client, "worker", worker_id)
        lead = await _playbook(runtime, e2e_client, "lead", lead_id)
        main = await _playbook(runtime, e2e_client, "main", main_id)

        for agent in (worker, lead, main):
            assert agent.ok("check-in")["agent"]["id"] == str(agent.agent_id)

        # The lead plans: two tasks, the second waiting for the first; a spare worker.
        agents = lead.ok("list-agents")
        assert {a["id"] for a in agents} == {str(worker_id), str(lead_id)}
        tag_id = lead.ok("list-tags")["items"][0]["id"]
        first = lead.ok("create-task", TITLE="Draft the notes", TEXT="First draft")
        second = lead.ok(
            "create-dependent-task",
            TITLE="Publish the notes",
            TEXT="After the draft",
            DEPENDS_ON_ID=first["id"],
        )
        assert second["depends_on_task_ids"] == [first["id"]]
        assert second["is_blocked"]
        assert tag_id in lead.ok("tag-task", TASK_ID=first["id"], TAG_ID=tag_id)["tag_ids"]
        blocked = lead.refused_with(
            "assign-task", "task_blocked", TASK_ID=second["id"], AGENT_ID=str(worker_id)
        )
        assert "'Draft the notes'" in blocked["message"]
        assert "is inbox" in blocked["message"]
        assert blocked["details"]["blocking_tasks"] == [
            {"id": first["id"], "title": "Draft the notes", "status": "inbox"}
        ]
        lead.refused_with(
            "assign-task", "lead_self_assign", TASK_ID=first["id"], AGENT_ID=str(lead_id)
        )
        lead.ok("assign-task", TASK_ID=first["id"], AGENT_ID=str(worker_id))
        spare = lead.ok("create-worker", NAME=f"Spare {uuid.uuid4().hex[:4]}")
        lead.refused_with("create-worker", "board_agent_limit", NAME="One too many")
        other = lead.ok("create-task", TITLE="For the spare worker", TEXT="For the spare")
        lead.ok("assign-task", TASK_ID=other["id"], AGENT_ID=spare["id"])

        # The worker's beat.
        mine = worker.ok("my-tasks")["items"]
        assert [t["id"] for t in mine] == [first["id"]]
        worker.refused_with("claim-task", "task_blocked", TASK_ID=second["id"])
        worker.refused_with("claim-task", "not_assignee", TASK_ID=other["id"])
        assert worker.ok("claim-task", TASK_ID=first["id"])["status"] == "in_progress"
        assert worker.ok("read-task", TASK_ID=first["id"])["id"] == first["id"]
        worker.refused_with("submit-for-review", "comment_required", TASK_ID=first["id"], TEXT=" ")
        worker.ok("comment", TASK_ID=first["id"], TEXT="Draft is in notes.md")
        handed = worker.ok("submit-for-review", TASK_ID=first["id"], TEXT="Draft done")
        assert (handed["status"], handed["assigned_agent_id"]) == ("review", str(lead_id))

        # The lead reviews: not yet (no approval), sent back once, then the approval.
        assert [t["id"] for t in lead.ok("review-queue")["items"]] == [first["id"]]
        assert lead.ok("task-comments", TASK_ID=first["id"])["total"] == 2
        lead.refused_with("accept-done", "approval_required", TASK_ID=first["id"])
        back = lead.ok("send-back", TASK_ID=first["id"], TEXT="Add a summary")
        assert (back["status"], back["assigned_agent_id"]) == ("inbox", str(worker_id))
        feedback = worker.ok("task-comments", TASK_ID=first["id"])["items"]
        assert any(c["message"] == "Add a summary" for c in feedback)
        worker.ok("claim-task", TASK_ID=first["id"])
        worker.ok("submit-for-review", TASK_ID=first["id"], TEXT="Summary added")
        approval = lead.ok("raise-approval", TASK_ID=first["id"], TEXT="Reviewed twice")
        lead.refused_with("accept-done", "pending_approval", TASK_ID=first["id"])
        worker.ok("raise-approval", TASK_ID=second["id"], TAG="publish", TEXT="Goes public")
        resolved = await http.post(
            f"/api/v1/boards/{board_id}/approvals/{approval['id']}/resolve",
            headers=operator,
            json={"status": "approved"},
        )
        assert resolved.status_code == 200, resolved.text
        statuses = [a["status"] for a in lead.ok("task-approvals", TASK_ID=first["id"])["items"]]
        assert statuses == ["approved"]
        assert lead.ok("accept-done", TASK_ID=first["id"])["status"] == "done"
        unblocked = lead.ok("read-task", TASK_ID=second["id"])
        assert not unblocked["is_blocked"]
        assert {t["id"] for t in lead.ok("list-tasks")["items"]} >= {first["id"], second["id"]}

        # Memory, chat and mentions.
        worker.ok("write-memory", TEXT="Notes live in notes.md", TAG="docs")
        worker.ok("chat-reply", TEXT="On it")
        lead.ok("write-memory", TEXT="Plan agreed", TAG="plan")
        lead.ok("comment", TASK_ID=second["id"], TEXT="Next up")
        contents = {m["content"] for m in worker.ok("read-memory")["items"]}
        assert {"Notes live in notes.md", "On it", "Plan agreed"} <= contents
        assert lead.ok("read-memory")["total"] >= 3

        # What reaches the gateway: asking the user, relaying, onboarding, removing a worker.
        assert lead.ok("ask-user", TEXT="Which channel should the notes go to?")
        started = await http.post(f"/api/v1/boards/{board_id}/onboarding", headers=operator)
        assert started.status_code == 201, started.text
        board = str(board_id)
        assert main.ok("onboarding-read", BOARD_ID=board)["status"] == "active"
        asked = main.ok("onboarding-ask", BOARD_ID=board, TEXT="Who reads them?", OPTION="Team")
        assert asked["messages"][-1]["content"] == "Who reads them?"
        draft = main.ok("onboarding-draft", BOARD_ID=board, TEXT="Publish release notes weekly")
        assert draft["status"] == "draft_ready"
        main.ok("relay-to-lead", BOARD_ID=board, TEXT="The user asks for a status update")
        main.ok("reply-to-lead", BOARD_ID=board, TEXT="The notes go to the team channel")
        main.ok("broadcast", TEXT="Maintenance tonight")
        lead.ok("delete-worker", AGENT_ID=spare["id"])
        # Accepted at once: the agent shows as deleting until the engine has removed it from
        # the gateway (the served process runs no reconciler here: the test's engine does it).
        listed = {a["id"]: a["status"] for a in lead.ok("list-agents")}
        assert listed.get(str(spare["id"]), "deleting") == "deleting", listed
        removed = await service.delete_agent(runtime, uuid.UUID(str(spare["id"])))
        assert removed.ok, removed.error
        assert str(spare["id"]) not in {a["id"] for a in lead.ok("list-agents")}

    for agent in (worker, lead, main):
        agent.check_all_exercised()
    slowest = sorted(
        ((s, f"{a.kind} {n}") for a in (worker, lead, main) for n, s in a.seconds.items()),
        reverse=True,
    )[:4]
    count = sum(len(a.ran) for a in (worker, lead, main))
    e2e_timings.lines.append(
        f"playbook commands: {count} commands of 3 kinds in {time.monotonic() - provisioned:.1f} s "
        f"(after {provisioned - began:.1f} s provisioning 3 agents); slowest: "
        + ", ".join(f"{label} {s:.1f} s" for s, label in slowest)
    )
