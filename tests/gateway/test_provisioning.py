"""The provisioning engine against a real OpenClaw gateway (its own, so config state is ours)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.app import build_runtime, create_app
from mission_control.boards.models import Board
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.core.security import verify_secret
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.dev import DevGateway
from mission_control.gateways.models import Gateway
from mission_control.memory.models import BoardMemory
from mission_control.organizations.models import Organization, OrganizationMember, Role
from mission_control.provisioning import lease, repository, service
from mission_control.provisioning.batch import BatchItem, apply_batch
from mission_control.provisioning.context import RenderInputs, agent_ref
from mission_control.provisioning.identities import gateway_agent_id
from mission_control.provisioning.plan import AgentPlan, plan_agent
from mission_control.provisioning.reconciler import Reconciler
from mission_control.provisioning.sync import SyncOptions, sync_templates
from mission_control.provisioning.tokens import read_auth_token
from mission_control.settings import Settings
from mission_control.users.models import User
from tests.support import factories
from tests.support.database import empty_all_tables
from tests.support.dev_gateways import config_patch_count, running_gateway

pytestmark = pytest.mark.gateway


@pytest.fixture(scope="module")
def gateway(
    gateway_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    yield from running_gateway(gateway_install, tmp_path_factory.mktemp("openclaw-prov"))


@pytest.fixture
async def runtime(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    database = Database(sqlite_url)
    await empty_all_tables(database)
    settings = Settings(
        auth_token=secrets.token_urlsafe(48),
        data_dir=tmp_path,
        database_url=sqlite_url,
        base_url="http://127.0.0.1:9/",
    )
    runtime = build_runtime(settings, database)
    yield runtime
    await runtime.gateway_pool.close()
    await empty_all_tables(database)
    await database.dispose()


async def _world(runtime: Runtime, gw: DevGateway) -> tuple[uuid.UUID, uuid.UUID]:
    async with runtime.database.unit_of_work() as session:
        org = await factories.organization(session)
        owner = User(auth_subject=f"t:{uuid.uuid4().hex}", name="Ana Lopez", email="ana@x.io")
        session.add(owner)
        await session.flush()
        session.add(OrganizationMember(organization_id=org.id, user_id=owner.id, role=Role.OWNER))
        row = Gateway(
            organization_id=org.id,
            name=f"edge-{uuid.uuid4().hex[:6]}",
            url=gw.url,
            token_ciphertext=runtime.secrets.encrypt(gw.token),
            workspace_root=str(gw.state_dir / "workspaces"),
        )
        session.add(row)
        await session.flush()
        board = await factories.board(session, org, row, name="Launch")
        return row.id, board.id


async def _new_agent(
    runtime: Runtime,
    gateway_id: uuid.UUID,
    board_id: uuid.UUID | None,
    name: str,
    *,
    lead: bool = False,
) -> uuid.UUID:
    async with runtime.database.unit_of_work() as session:
        agent = Agent(
            gateway_id=gateway_id,
            board_id=board_id,
            name=name,
            name_key=name.lower(),
            is_board_lead=lead,
        )
        session.add(agent)
        service.request_apply(agent, "provision")
        await session.flush()
        return agent.id


async def _client(runtime: Runtime, gateway_id: uuid.UUID) -> GatewayClient:
    async with runtime.database.unit_of_work() as session:
        row = await session.get(Gateway, gateway_id)
        assert row is not None
    return await runtime.gateway_pool.client(runtime.gateway_target(row))


async def _transcript_text(
    runtime: Runtime, gateway_id: uuid.UUID, session_key: str, expected: str
) -> str:
    """The session's chat history as text, polled until it holds `expected` (the gateway writes
    the transcript asynchronously) or ten seconds pass."""
    client = await _client(runtime, gateway_id)
    text = ""
    for _ in range(100):
        text = str((await client.chat_history(session_key, limit=50)).raw)
        if expected in text:
            break
        await asyncio.sleep(0.1)
    return text


async def _plan(runtime: Runtime, agent: Agent, client: GatewayClient, token: str) -> AgentPlan:
    """What the engine should have written, re-derived from the database and the gateway."""
    async with runtime.database.unit_of_work() as session:
        board, gateway = await repository.board_and_gateway(session, agent)
        assert gateway is not None
        user = await repository.organization_owner(session, gateway.organization_id)
    inputs = RenderInputs(agent, board, gateway, user, runtime.settings.agent_base_url, token)
    return plan_agent(inputs, service.capabilities(client.profile), action="provision")


async def _agent(runtime: Runtime, agent_id: uuid.UUID) -> Agent:
    async with runtime.database.unit_of_work() as session:
        agent = await session.get(Agent, agent_id)
        assert agent is not None
        return agent


async def test_provision_update_and_delete(runtime: Runtime, gateway: DevGateway) -> None:
    gateway_id, board_id = await _world(runtime, gateway)
    client = await _client(runtime, gateway_id)
    # The operator's own default agent beats implicitly; our blocks must not silence it.
    await client.config_patch_fresh({"agents": {"defaults": {"heartbeat": {"every": "30m"}}}})

    worker = await _new_agent(runtime, gateway_id, board_id, "Coder")
    lead = await _new_agent(runtime, gateway_id, board_id, "Lead Agent", lead=True)
    main_id = await service.ensure_gateway_main_agent(runtime, gateway_id)
    outcomes = {}
    for agent_id in (worker, lead, main_id):
        outcome = await service.apply_agent(runtime, agent_id, service.ApplyOptions(wake=False))
        assert outcome.ok, outcome.error
        outcomes[agent_id] = outcome
    assert outcomes[worker].kept_heartbeating == ("main",)
    assert outcomes[lead].kept_heartbeating == ()

    snapshot = await client.config_get()
    entries = snapshot.config["agents"]["entries"]
    assert entries["main"]["heartbeat"] == {"every": "30m"}
    for agent_id in (worker, lead, main_id):
        agent = await _agent(runtime, agent_id)
        gid = gateway_agent_id(agent_ref(agent))
        assert entries[gid]["heartbeat"]["every"] == "10m"
        # The beat's steps name the playbook's commands (AGENTS.md), first of all `check-in`.
        assert "1. `check-in`." in entries[gid]["heartbeat"]["prompt"]
        assert "NO_REPLY" in entries[gid]["heartbeat"]["prompt"]
        assert agent.applied_generation == agent.generation == 1
        assert agent.openclaw_session_id == f"agent:{gid}:main"
        agents_md = (await client.files_get(gid, "AGENTS.md")).content or ""
        token = read_auth_token(agents_md)
        assert token is not None
        assert agent.agent_token_hash is not None
        assert verify_secret(token, agent.agent_token_hash)
        plan = await _plan(runtime, agent, client, token)
        assert ("BOOTSTRAP.md" in plan.files) == (agent_id == lead)
        for name, content in plan.files.items():
            assert (await client.files_get(gid, name)).content == content, name

    # The agent edits its own files; an update keeps them and keeps its token.
    worker_gid = gateway_agent_id(agent_ref(await _agent(runtime, worker)))
    await client.files_set(worker_gid, "USER.md", "# User\nNotes the agent wrote.")
    await client.files_set(worker_gid, "MEMORY.md", "# Memory\nLearned things.")
    before = await _agent(runtime, worker)
    updated = await service.apply_agent(
        runtime, worker, service.ApplyOptions(action="update", wake=False)
    )
    assert updated.ok, updated.error
    assert not updated.token_rotated
    assert not updated.config_patched  # nothing changed in the config: no patch at all
    assert "USER.md" not in updated.files_written
    assert (
        await client.files_get(worker_gid, "USER.md")
    ).content == "# User\nNotes the agent wrote."
    assert (await client.files_get(worker_gid, "MEMORY.md")).content == "# Memory\nLearned things."
    assert (await _agent(runtime, worker)).agent_token_hash == before.agent_token_hash

    deleted = await service.delete_agent(runtime, worker)
    assert deleted.ok, deleted.error
    assert await _eventually_gone(client, worker_gid)
    sessions = (await client.sessions_list()).sessions
    assert not [s for s in sessions if worker_gid in s.key]
    async with runtime.database.unit_of_work() as session:
        assert await session.get(Agent, worker) is None
        types = set(await session.scalars(select(ActivityEvent.event_type)))
    assert {"agent.provision.direct", "agent.update.direct", "agent.delete.direct"} <= types


async def test_outage_delays_work_and_reconciler_converges(
    runtime: Runtime, gateway: DevGateway
) -> None:
    gateway_id, board_id = await _world(runtime, gateway)
    await _client(runtime, gateway_id)
    gateway.stop()
    try:
        agent_id = await _new_agent(runtime, gateway_id, board_id, "Patient")
        failed = await service.apply_agent(runtime, agent_id, service.ApplyOptions(wake=False))
        assert not failed.ok
        stuck = await _agent(runtime, agent_id)
        assert stuck.applied_generation < stuck.generation
        assert stuck.last_provision_error
    finally:
        gateway.start()
    reconciler = Reconciler(runtime)
    report = await reconciler.run_once()
    if agent_id not in report.applied:  # the pool may still be reconnecting after the restart
        reconciler._backoff.clear()
        report = await reconciler.run_once()
    assert agent_id in report.applied
    done = await _agent(runtime, agent_id)
    assert done.applied_generation == done.generation
    assert done.last_provision_error is None
    client = await _client(runtime, gateway_id)
    gid = gateway_agent_id(agent_ref(done))
    assert [a.id for a in (await client.agents_list()).agents].count(gid) == 1
    async with runtime.database.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(Agent)) == 1


async def _eventually_gone(client: GatewayClient, agent_id: str) -> bool:
    """The gateway's agent list lags a delete by a second or two."""
    for _ in range(50):
        if (await client.agents_list()).get(agent_id) is None:
            return True
        await asyncio.sleep(0.2)
    return False


async def test_template_sync_of_twenty_agents(runtime: Runtime, gateway: DevGateway) -> None:
    gateway_id, board_id = await _world(runtime, gateway)
    async with runtime.database.unit_of_work() as session:
        board = await session.get(Board, board_id)
        assert board is not None
        org = await session.get(Organization, board.organization_id)
        gw_row = await session.get(Gateway, gateway_id)
        assert org is not None
        assert gw_row is not None
        paused = await factories.board(session, org, gw_row, name="Paused")
        session.add(BoardMemory(board_id=paused.id, content="/pause", is_chat=True))
        paused_id = paused.id
    # All but one were provisioned before; "Worker 00" was just created and is still pending
    # its first (waking) provisioning, which a sync must not swallow.
    provisioned = [await _new_agent(runtime, gateway_id, board_id, "Sync Lead", lead=True)]
    fresh = await _new_agent(runtime, gateway_id, board_id, "Worker 00")
    for index in range(1, 17):
        provisioned.append(await _new_agent(runtime, gateway_id, board_id, f"Worker {index:02d}"))
    await _mark_provisioned(runtime, provisioned)
    broken = await _new_agent(runtime, gateway_id, board_id, "Broken Soul")
    async with runtime.database.unit_of_work() as session:
        row = await session.get(Agent, broken)
        assert row is not None
        row.soul_template = "{{ no_such_variable }}"
    await _new_agent(runtime, gateway_id, paused_id, "Sleeper")
    await service.ensure_gateway_main_agent(runtime, gateway_id)

    before = config_patch_count(gateway)
    report = await sync_templates(runtime, gateway_id)
    assert report.agents_updated == 18  # lead + 17 workers
    assert report.agents_skipped == 2  # the paused board's agent and the broken template
    assert report.main_updated
    assert [(e.agent_name, e.message.split(" (")[0]) for e in report.errors] == [
        ("Broken Soul", "The agent's custom identity or soul template does not render")
    ]
    assert config_patch_count(gateway) - before == 1  # one config.patch for the whole gateway
    for agent_id in provisioned:
        synced = await _agent(runtime, agent_id)
        assert synced.applied_generation == synced.generation
        assert synced.provision_action is None
    pending = await _agent(runtime, fresh)
    assert pending.provision_action == "provision"  # the sync did not consume the intent
    assert pending.applied_generation < pending.generation
    assert pending.agent_token_hash is not None  # the token its workspace holds is kept

    again = await sync_templates(runtime, gateway_id)
    assert again.agents_updated == 18
    assert not again.config_patched
    assert config_patch_count(gateway) - before == 1
    client = await _client(runtime, gateway_id)
    listed = {a.id for a in (await client.agents_list()).agents}
    assert sum(1 for agent_id in listed if agent_id.startswith(("mc-", "lead-"))) >= 19

    # The reconciler still provisions the fresh agent, and wakes it, with the synced token.
    reconciled = await Reconciler(runtime).run_once()
    assert fresh in reconciled.applied
    woken = await _agent(runtime, fresh)
    assert woken.applied_generation == woken.generation
    assert woken.provision_action is None
    assert woken.wake_attempts == 1
    assert woken.checkin_deadline_at is not None
    assert woken.agent_token_hash == pending.agent_token_hash


async def _mark_provisioned(runtime: Runtime, agent_ids: list[uuid.UUID]) -> None:
    async with runtime.database.unit_of_work() as session:
        for agent_id in agent_ids:
            row = await session.get(Agent, agent_id)
            assert row is not None
            row.applied_generation = row.generation
            row.provision_action = None
            row.provision_requested_at = None


async def _workspace_token(runtime: Runtime, gateway_id: uuid.UUID, agent_id: uuid.UUID) -> str:
    client = await _client(runtime, gateway_id)
    gid = gateway_agent_id(agent_ref(await _agent(runtime, agent_id)))
    token = read_auth_token((await client.files_get(gid, "AGENTS.md")).content or "")
    assert token is not None
    return token


async def _agent_api_status(runtime: Runtime, token: str) -> int:
    """What Mission Control's agent API answers to this token (200 or 401)."""
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://mc.test") as http:
        response = await http.get("/api/v1/agent/healthz", headers={"X-Agent-Token": token})
    return response.status_code


async def _provisioned(
    runtime: Runtime, gateway_id: uuid.UUID, board_id: uuid.UUID, name: str
) -> uuid.UUID:
    agent_id = await _new_agent(runtime, gateway_id, board_id, name)
    outcome = await service.apply_agent(runtime, agent_id, service.ApplyOptions(wake=False))
    assert outcome.ok, outcome.error
    return agent_id


async def test_template_sync_token_recovery_rotation_and_mismatch(
    runtime: Runtime, gateway: DevGateway
) -> None:
    gateway_id, board_id = await _world(runtime, gateway)
    agent_id = await _provisioned(runtime, gateway_id, board_id, "Keyed")
    first = await _workspace_token(runtime, gateway_id, agent_id)
    stored = (await _agent(runtime, agent_id)).agent_token_hash

    # Recovery: the workspace token matches the stored hash, so it is kept.
    kept = await sync_templates(runtime, gateway_id, SyncOptions(include_main=False))
    assert kept.agents_updated == 1, kept.errors
    assert kept.warnings == []
    assert await _workspace_token(runtime, gateway_id, agent_id) == first
    assert (await _agent(runtime, agent_id)).agent_token_hash == stored
    assert await _agent_api_status(runtime, first) == 200

    # Rotation: a new token works, the old one no longer does; not a warning (it was asked).
    rotated = await sync_templates(
        runtime, gateway_id, SyncOptions(include_main=False, rotate_tokens=True)
    )
    assert rotated.agents_updated == 1, rotated.errors
    assert rotated.warnings == []
    second = await _workspace_token(runtime, gateway_id, agent_id)
    assert second != first
    assert await _agent_api_status(runtime, second) == 200
    assert await _agent_api_status(runtime, first) == 401

    # Mismatch: someone edited the workspace token; the agent is re-keyed, and the operator told.
    client = await _client(runtime, gateway_id)
    gid = gateway_agent_id(agent_ref(await _agent(runtime, agent_id)))
    agents_md = (await client.files_get(gid, "AGENTS.md")).content or ""
    await client.files_set(gid, "AGENTS.md", agents_md.replace(second, "mca_edited_by_hand"))
    rekeyed = await sync_templates(runtime, gateway_id, SyncOptions(include_main=False))
    assert rekeyed.agents_updated == 1, rekeyed.errors
    assert rekeyed.errors == []
    assert [(w.agent_id, w.agent_name, w.board_id) for w in rekeyed.warnings] == [
        (agent_id, "Keyed", board_id)
    ]
    assert "given a new token" in rekeyed.warnings[0].message
    assert "no longer matched" in rekeyed.warnings[0].message
    third = await _workspace_token(runtime, gateway_id, agent_id)
    assert third not in (first, second, "mca_edited_by_hand")
    assert await _agent_api_status(runtime, third) == 200
    assert await _agent_api_status(runtime, second) == 401
    async with runtime.database.unit_of_work() as session:
        events = list(
            await session.scalars(
                select(ActivityEvent).where(ActivityEvent.event_type == "agent.token.rekeyed")
            )
        )
    assert [(e.agent_id, e.message) for e in events] == [(agent_id, rekeyed.warnings[0].message)]


async def test_template_sync_config_failure_keeps_the_written_tokens(
    runtime: Runtime, gateway: DevGateway
) -> None:
    """A token is rotated together with its workspace write
    (docs/provisioning.md#a-new-token-is-stored-with-its-workspace). When the one
    config.patch then fails (here: a heartbeat setting the real gateway rejects), every
    agent's new token is stored all the same, so none is locked out."""
    gateway_id, board_id = await _world(runtime, gateway)
    calm = await _provisioned(runtime, gateway_id, board_id, "Calm")
    odd = await _provisioned(runtime, gateway_id, board_id, "Odd Beat")
    old = {a: await _workspace_token(runtime, gateway_id, a) for a in (calm, odd)}
    async with runtime.database.unit_of_work() as session:
        row = await session.get(Agent, odd)
        assert row is not None
        row.heartbeat_config = {"every": "10m", "target": 42}  # the gateway wants a string

    report = await sync_templates(
        runtime, gateway_id, SyncOptions(include_main=False, rotate_tokens=True)
    )
    assert not report.config_patched
    assert [e.message.split(":")[0] for e in report.errors] == ["Heartbeat config not applied"]
    assert "re-run the sync" in report.errors[0].message
    for agent_id in (calm, odd):
        new = await _workspace_token(runtime, gateway_id, agent_id)
        assert new != old[agent_id]
        assert await _agent_api_status(runtime, new) == 200
        assert await _agent_api_status(runtime, old[agent_id]) == 401


async def test_template_sync_leaves_deleting_and_busy_agents_alone(
    runtime: Runtime, gateway: DevGateway
) -> None:
    gateway_id, board_id = await _world(runtime, gateway)
    going = await _new_agent(runtime, gateway_id, board_id, "Going")
    busy = await _new_agent(runtime, gateway_id, board_id, "Busy")
    async with runtime.database.unit_of_work() as session:
        row = await session.get(Agent, going)
        assert row is not None
        row.delete_requested_at = row.created_at
        row.status = "deleting"
    # The reconciler (or a request, in any process) is applying it right now.
    assert await lease.claim(runtime.database, busy, "other-worker")
    report = await sync_templates(runtime, gateway_id, SyncOptions(include_main=False))
    async with runtime.database.unit_of_work() as session:
        held = await session.get(Agent, busy)
        assert held is not None
        assert held.provision_lease_owner == "other-worker"  # the sync released only its own
    assert report.agents_updated == 0
    assert report.agents_skipped == 1
    assert [(e.agent_name, e.message.split(":")[0]) for e in report.errors] == [("Busy", "Skipped")]
    client = await _client(runtime, gateway_id)
    listed = (await client.agents_list()).get
    for agent_id in (going, busy):
        assert listed(gateway_agent_id(agent_ref(await _agent(runtime, agent_id)))) is None
    still = await _agent(runtime, going)
    assert still.status == "deleting"
    assert still.applied_generation == 0


async def test_permanent_failure_is_parked_until_the_agent_changes(
    runtime: Runtime, gateway: DevGateway
) -> None:
    gateway_id, board_id = await _world(runtime, gateway)
    agent_id = await _new_agent(runtime, gateway_id, board_id, "Broken")
    async with runtime.database.unit_of_work() as session:
        row = await session.get(Agent, agent_id)
        assert row is not None
        row.soul_template = "{{ no_such_variable }}"
    reconciler = Reconciler(runtime)
    assert (await reconciler.run_once()).failed == [agent_id]
    reconciler._backoff.clear()  # not merely backing off: parked
    assert (await reconciler.run_once()).parked == [agent_id]
    # A restarted reconciler tries once more; the same failure is not recorded twice.
    assert (await Reconciler(runtime).run_once()).failed == [agent_id]

    async def failures() -> int:
        async with runtime.database.unit_of_work() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(ActivityEvent)
                    .where(
                        ActivityEvent.agent_id == agent_id,
                        ActivityEvent.event_type == "agent.provision.failed",
                    )
                )
                or 0
            )

    assert await failures() == 1
    stuck = await _agent(runtime, agent_id)
    assert "does not render" in (stuck.last_provision_error or "")

    # The operator fixes the template: the agent's generation moves and it is applied.
    async with runtime.database.unit_of_work() as session:
        row = await session.get(Agent, agent_id)
        assert row is not None
        row.soul_template = None
        service.request_apply(row, "provision")
    assert (await reconciler.run_once()).applied == [agent_id]
    assert await failures() == 1


async def test_missed_check_in_is_rewoken_then_given_up(
    runtime: Runtime, gateway: DevGateway
) -> None:
    """No model answers on this gateway, so the woken agent never checks in: the reconciler
    wakes it again at the deadline, then marks it offline with the reason after the last try."""
    runtime.settings = runtime.settings.model_copy(
        update={"checkin_timeout_seconds": 0.2, "max_wake_attempts": 2}
    )
    gateway_id, board_id = await _world(runtime, gateway)
    agent_id = await _new_agent(runtime, gateway_id, board_id, "Sleepy")
    woke = await service.apply_agent(runtime, agent_id, service.ApplyOptions(wake=True))
    assert woke.ok, woke.error
    assert woke.woke
    first = await _agent(runtime, agent_id)
    assert first.wake_attempts == 1
    assert first.checkin_deadline_at is not None
    reconciler = Reconciler(runtime)

    await asyncio.sleep(0.3)
    report = await reconciler.run_once()
    assert report.rewoken == [agent_id]
    again = await _agent(runtime, agent_id)
    assert again.wake_attempts == 2
    assert again.status != "offline"
    # The re-wake reached the agent's session: its transcript holds the second wake message.
    # (The gateway logs a chat.send only when it is slow, so its log is no proof either way.)
    assert again.openclaw_session_id is not None
    assert "wake attempt 2 of 2" in await _transcript_text(
        runtime, gateway_id, again.openclaw_session_id, "wake attempt 2 of 2"
    )

    await asyncio.sleep(0.3)
    report = await reconciler.run_once()
    assert report.gave_up == [agent_id]
    given_up = await _agent(runtime, agent_id)
    assert given_up.status == "offline"
    assert given_up.checkin_deadline_at is None
    assert "did not check in after 2 wake attempt(s)" in (given_up.last_provision_error or "")
    assert "MC_BASE_URL" in (given_up.last_provision_error or "")
    report = await reconciler.run_once()
    assert agent_id not in report.rewoken + report.gave_up  # settled: nothing more to do
    async with runtime.database.unit_of_work() as session:
        types = list(
            await session.scalars(
                select(ActivityEvent.event_type)
                .where(ActivityEvent.agent_id == agent_id)
                .order_by(ActivityEvent.created_at)
            )
        )
    assert types.count("agent.wakeup.sent") == 1
    assert types.count("agent.wakeup.retried") == 1
    assert types.count("agent.checkin.missed") == 1

    # The operator updates the agent to wake it again: a new count of attempts starts, so the
    # reconciler re-wakes it at the deadline instead of giving up at once.
    async with runtime.database.unit_of_work() as session:
        row = await session.get(Agent, agent_id)
        assert row is not None
        service.request_apply(row, "update")
    updated = await service.apply_agent(
        runtime, agent_id, service.ApplyOptions(action="update", wake=True)
    )
    assert updated.ok, updated.error
    assert (await _agent(runtime, agent_id)).wake_attempts == 1
    await asyncio.sleep(0.3)
    report = await reconciler.run_once()
    assert report.rewoken == [agent_id]
    assert report.gave_up == []
    assert (await _agent(runtime, agent_id)).wake_attempts == 2


async def test_a_fresh_agent_is_woken_without_a_session_reset(
    runtime: Runtime, gateway: DevGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create asks for a session reset, but an agent the batch registers has no session yet:
    the reset is skipped (each one costs the gateway an archive of an empty transcript). A later
    update of the same agent that asks for one still resets its session."""
    gateway_id, board_id = await _world(runtime, gateway)
    agent_id = await _new_agent(runtime, gateway_id, board_id, "Fresh")
    resets: list[str] = []
    real_reset = GatewayClient.sessions_reset

    async def recording_reset(self: GatewayClient, key: str) -> None:
        resets.append(key)
        await real_reset(self, key)

    monkeypatch.setattr(GatewayClient, "sessions_reset", recording_reset)
    create = service.ApplyOptions(wake=True, reset_session=True)
    first = await apply_batch(runtime, gateway_id, [BatchItem(agent_id, create)], owner="test")
    outcome = first.outcomes[agent_id]
    assert outcome.ok, outcome.error
    assert outcome.created
    assert outcome.woke
    assert resets == []

    update = service.ApplyOptions(action="update", wake=True, reset_session=True)
    second = await apply_batch(runtime, gateway_id, [BatchItem(agent_id, update)], owner="test")
    again = second.outcomes[agent_id]
    assert again.ok, again.error
    assert not again.created
    session_key = (await _agent(runtime, agent_id)).openclaw_session_id
    assert resets == [session_key]
