"""Many processes, proven (issue 12): two Mission Control processes, each its own OS process on
its own loopback port, on ONE PostgreSQL database and one real OpenClaw gateway, both serving
requests (docs/provisioning.md#several-processes-on-one-postgresql).

- Exactly one reconciler and one governor lead at a time (``mc_leader{job}`` on each process's
  /metrics, and PostgreSQL's own ``pg_locks``); after a SIGKILL of the leader the other process
  takes both jobs over within one campaign interval (the handover time is printed).
- 20 agents created concurrently, half through each process, are each applied exactly once:
  one registration on the gateway, one provisioning with one token, and the token in the
  agent's workspace verifies against the hash stored in the database.
- A stream event caused through either process reaches subscribers on both (LISTEN/NOTIFY).

Every process the test starts is stopped by its pid, also when an assertion fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.core.db import Database
from mission_control.core.leader import lock_key
from mission_control.core.security import verify_secret
from mission_control.gateway import GatewayClient, GatewayConnection, GatewayTarget
from mission_control.gateway.connection import ConnectionOptions
from mission_control.gateway.dev import DevGateway
from mission_control.governor.service import LOCK_NAME as GOVERNOR_JOB
from mission_control.provisioning.tokens import read_auth_token
from tests.support import fleet
from tests.support.database import create_postgres_database
from tests.support.mc_server import McServerProcess

pytestmark = [pytest.mark.gateway, pytest.mark.timeout(900)]

RECONCILER_JOB = "provisioning-reconciler"
JOBS = (RECONCILER_JOB, GOVERNOR_JOB)
# How often a process that does not lead campaigns for each job (its controller's interval;
# the governor's may not be set below 30 s).
CAMPAIGN_SECONDS = {RECONCILER_JOB: 1.0, GOVERNOR_JOB: 30.0}
# SIGKILL frees the lock at once (the kernel closes the lock's connection and PostgreSQL ends
# its backend); on a loaded shared machine the follower's campaign may still run late.
TAKEOVER_SLACK_SECONDS = 15.0
AGENTS = 20
APPLY_TIMEOUT_SECONDS = 300.0
TOKEN_FILES = ("TOOLS.md", "AGENTS.md")


@dataclass
class Pair:
    """Two served processes on one database, the seeded organisation, and the test's own
    engine on that database."""

    first: McServerProcess
    second: McServerProcess
    world: fleet.FleetWorld
    database: Database
    agent_ids: set[uuid.UUID] = field(default_factory=set)

    @property
    def servers(self) -> tuple[McServerProcess, McServerProcess]:
        return self.first, self.second

    def alive(self) -> list[McServerProcess]:
        return [server for server in self.servers if server.running()]


@pytest.fixture(scope="module")
async def pair(
    postgres_admin_url: str, current_gateway: DevGateway, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Pair]:
    url = await create_postgres_database(postgres_admin_url, f"mc_two_{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(fleet.migrate, url)
    operator, key = fleet.new_secrets()
    world = await fleet.seed_world(url, key, current_gateway)
    base = tmp_path_factory.mktemp("two-processes")
    env = {
        "MC_RECONCILER_INTERVAL_SECONDS": str(CAMPAIGN_SECONDS[RECONCILER_JOB]),
        "MC_GOVERNOR_ENABLED": "true",
        "MC_GOVERNOR_INTERVAL_SECONDS": str(CAMPAIGN_SECONDS[GOVERNOR_JOB]),
    }
    first, second = (
        fleet.mc_process(url, base / name, operator, key, current_gateway, **env)
        for name in ("first", "second")
    )
    served = Pair(first, second, world, Database(url))
    try:
        # The first leads both jobs before the second starts: the handover then covers both.
        await asyncio.to_thread(first.start)
        await _wait_for_leaders(served, dict.fromkeys(JOBS, first), timeout=60.0)
        await asyncio.to_thread(second.start)
        yield served
    finally:
        try:
            await _stop_all(served)
        finally:
            await served.database.dispose()
            await _quiet_agents(served, current_gateway, base / "identity.json")


async def _stop_all(served: Pair) -> None:
    """Stops every process by its pid, each even when stopping another failed."""
    results = await asyncio.gather(
        *(asyncio.to_thread(server.stop) for server in served.servers), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result


# -- who leads -----------------------------------------------------------------------------------


async def _leading(server: McServerProcess) -> dict[str, bool]:
    """The process's own word (``mc_leader{job}``); a controller it does not run is absent."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10.0) as http:
        response = await http.get("/metrics")
    response.raise_for_status()
    standing: dict[str, bool] = {}
    for family in text_string_to_metric_families(response.text):
        if family.name == "mc_leader":
            for sample in family.samples:
                standing[sample.labels["job"]] = sample.value == 1.0
    return standing


async def _advisory_holders(database: Database, job: str) -> int:
    """Connections holding the job's advisory lock, as PostgreSQL sees them."""
    key = lock_key(job)
    async with database.engine.connect() as connection:
        result = await connection.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = ((CAST(:key AS bigint) >> 32) & 4294967295)::oid "
                "AND objid = (CAST(:key AS bigint) & 4294967295)::oid"
            ),
            {"key": key},
        )
        return int(result.scalar_one())


async def _leaders(served: Pair) -> dict[str, list[McServerProcess]]:
    """Per job, the live processes that say they lead it; never more than one, and never one
    that PostgreSQL does not see holding the lock."""
    standings = {server.port: await _leading(server) for server in served.alive()}
    leaders: dict[str, list[McServerProcess]] = {}
    for job in JOBS:
        leaders[job] = [s for s in served.alive() if standings[s.port].get(job, False)]
        assert len(leaders[job]) <= 1, f"two processes lead {job}: {standings}"
        if leaders[job]:
            assert await _advisory_holders(served.database, job) == 1, job
    return leaders


async def _wait_for_leaders(
    served: Pair, wanted: dict[str, McServerProcess], timeout: float, since: float | None = None
) -> dict[str, float]:
    """Polls until each job is led by the wanted process; returns, per job, the seconds from
    ``since`` (a monotonic time; default now) until it was."""
    started = time.monotonic() if since is None else since
    reached: dict[str, float] = {}
    leaders: dict[str, list[McServerProcess]] = {}
    while time.monotonic() - started < timeout:
        leaders = await _leaders(served)
        for job, server in wanted.items():
            if job not in reached and _ports(leaders)[job] == [server.port]:
                reached[job] = time.monotonic() - started
        if len(reached) == len(wanted):
            return reached
        await asyncio.sleep(0.2)
    pytest.fail(f"after {timeout:.0f} s the leaders are {_ports(leaders)}, not as wanted")


def _ports(leaders: dict[str, list[McServerProcess]]) -> dict[str, list[int]]:
    return {job: [server.port for server in found] for job, found in leaders.items()}


async def test_exactly_one_reconciler_and_one_governor_lead(pair: Pair) -> None:
    for _ in range(5):  # a few looks over several campaign rounds of the follower
        leaders = await _leaders(pair)
        assert _ports(leaders) == {job: [pair.first.port] for job in JOBS}
        standing = await _leading(pair.second)
        assert standing == dict.fromkeys(JOBS, False)  # campaigning, not leading
        await asyncio.sleep(CAMPAIGN_SECONDS[RECONCILER_JOB])


# -- streams -------------------------------------------------------------------------------------


@dataclass
class StreamLog:
    """Events one subscriber received: kind -> the ``data`` of each."""

    events: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, kind: str, data: dict[str, object]) -> None:
        self.events.setdefault(kind, []).append(data)
        self.changed.set()

    def of(self, kind: str) -> list[dict[str, object]]:
        return self.events.get(kind, [])


async def _read_events(response: httpx.Response, log: StreamLog) -> None:
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue  # keep-alive
        if line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
            continue
        if "event" in fields and "data" in fields:
            log.add(fields["event"], json.loads(fields["data"]))
        fields = {}


@contextlib.asynccontextmanager
async def _subscribed(
    server: McServerProcess, served: Pair, topics: str
) -> AsyncIterator[StreamLog]:
    """The board's SSE stream on ``server``, subscribed (the answer has started) on entry."""
    path = f"/api/v1/boards/{served.world.board_id}/stream"
    log = StreamLog()
    async with (
        httpx.AsyncClient(base_url=server.base_url, timeout=httpx.Timeout(30.0)) as http,
        http.stream(
            "GET", path, params={"topics": topics}, headers=served.world.headers
        ) as response,
    ):
        assert response.status_code == 200, await response.aread()
        reader = asyncio.create_task(_read_events(response, log))
        try:
            yield log
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


async def _until(log: StreamLog, done: Callable[[StreamLog], bool], timeout: float) -> None:
    """Waits (woken by each event) until ``done(log)`` is true."""
    async with asyncio.timeout(timeout):
        while not done(log):
            log.changed.clear()
            await log.changed.wait()


def _created_ids(log: StreamLog) -> set[uuid.UUID]:
    return {uuid.UUID(str(item["agent_id"])) for item in log.of("agent.created")}


def _contents(log: StreamLog) -> set[str]:
    return {str(item["data"]["content"]) for item in log.of("memory.created")}  # type: ignore[index]


async def test_an_event_through_either_process_reaches_subscribers_on_both(pair: Pair) -> None:
    async with (
        _subscribed(pair.first, pair, "memory") as on_first,
        _subscribed(pair.second, pair, "memory") as on_second,
    ):
        posted = set()
        for server in pair.servers:
            content = f"written through port {server.port}"
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0) as http:
                answer = await http.post(
                    f"/api/v1/boards/{pair.world.board_id}/memory",
                    json={"content": content},
                    headers=pair.world.headers,
                )
            assert answer.status_code == 201, answer.text
            posted.add(content)
        for log in (on_first, on_second):
            await _until(log, lambda seen: posted <= _contents(seen), timeout=30.0)
            assert _contents(log) == posted
            assert len(log.of("memory.created")) == len(posted)  # each once, no echo


# -- agents --------------------------------------------------------------------------------------


async def _create_through_both(pair: Pair) -> set[uuid.UUID]:
    """AGENTS concurrent creates, alternating between the two processes."""
    clients = [
        httpx.AsyncClient(base_url=server.base_url, timeout=120.0) for server in pair.servers
    ]
    try:
        answers = await asyncio.gather(
            *(
                clients[index % 2].post(
                    "/api/v1/agents",
                    json={"name": f"Twin {index:02d}", "board_id": str(pair.world.board_id)},
                    headers=pair.world.headers,
                )
                for index in range(AGENTS)
            )
        )
    finally:
        for client in clients:
            await client.aclose()
    created = {uuid.UUID(a.json()["id"]) for a in answers if a.status_code == 201}
    pair.agent_ids |= created  # quieted at the end, even if another create failed
    assert [a.status_code for a in answers] == [201] * AGENTS, [a.text for a in answers]
    return created


async def _applied(pair: Pair, agent_ids: set[uuid.UUID]) -> list[Agent]:
    """Polls until every agent's wanted generation is applied; watches the leaders meanwhile."""
    started = time.monotonic()
    rows: list[Agent] = []
    while time.monotonic() - started < APPLY_TIMEOUT_SECONDS:
        async with pair.database.sessions() as session:
            rows = list(await session.scalars(select(Agent).where(Agent.id.in_(agent_ids))))
        if len(rows) == len(agent_ids) and all(
            row.applied_generation >= row.generation for row in rows
        ):
            print(f"{len(rows)} agents applied {time.monotonic() - started:.1f} s after created")
            return rows
        await _leaders(pair)  # still never two leaders
        await asyncio.sleep(0.5)
    stuck = [(r.name, r.applied_generation, r.generation, r.last_provision_error) for r in rows]
    tails = "\n".join(s.log_tail(chars=2000) for s in pair.servers)
    pytest.fail(f"not applied within {APPLY_TIMEOUT_SECONDS:.0f} s: {stuck}\n{tails}")


async def _event_counts(pair: Pair, agent_ids: set[uuid.UUID]) -> dict[tuple[str, str], int]:
    """(agent id, activity event type) -> how many were recorded."""
    async with pair.database.sessions() as session:
        result = await session.execute(
            select(ActivityEvent.agent_id, ActivityEvent.event_type, func.count())
            .where(ActivityEvent.agent_id.in_(agent_ids))
            .group_by(ActivityEvent.agent_id, ActivityEvent.event_type)
        )
        return {(str(agent_id), kind): count for agent_id, kind, count in result.all()}


@contextlib.asynccontextmanager
async def _gateway_client(gateway: DevGateway, identity: Path) -> AsyncIterator[GatewayClient]:
    connection = GatewayConnection(
        GatewayTarget(url=gateway.url, token=gateway.token, identity_path=identity),
        ConnectionOptions(request_timeout=60.0),
    )
    await connection.connect()
    try:
        yield GatewayClient(connection)
    finally:
        await connection.close()


async def _assert_registered_once(client: GatewayClient, agent_ids: set[uuid.UUID]) -> None:
    wanted = {f"mc-{agent_id}" for agent_id in agent_ids}
    configured = fleet.gateway_agent_ids((await client.config_get()).config)
    listed = [agent.id for agent in (await client.agents_list()).agents]
    for gateway_id in wanted:
        assert configured.count(gateway_id) == 1, (gateway_id, configured)
        assert listed.count(gateway_id) == 1, (gateway_id, listed)


async def _workspace_tokens(client: GatewayClient, agent_id: uuid.UUID) -> list[str]:
    """The tokens written in the agent's workspace files on the gateway."""
    found = []
    for name in TOKEN_FILES:
        with contextlib.suppress(Exception):  # a file this release does not hold
            content = (await client.files_get(f"mc-{agent_id}", name)).content or ""
            token = read_auth_token(content)
            if token:
                found.append(token)
    return found


async def test_agents_created_through_both_processes_are_applied_once_each(
    pair: Pair, current_gateway: DevGateway, tmp_path: Path
) -> None:
    async with (
        _subscribed(pair.first, pair, "agents") as on_first,
        _subscribed(pair.second, pair, "agents") as on_second,
    ):
        created = await _create_through_both(pair)
        rows = await _applied(pair, created)
        for log in (on_first, on_second):  # creates through the other process arrive too
            await _until(log, lambda seen: created <= _created_ids(seen), timeout=30.0)
    assert all(row.generation == row.applied_generation == 1 for row in rows)
    counts = await _event_counts(pair, created)
    for agent_id in map(str, created):
        assert counts.get((agent_id, "agent.provision.direct")) == 1, agent_id  # one apply
        assert (agent_id, "agent.update.direct") not in counts
        assert (agent_id, "agent.token.rekeyed") not in counts  # never a second token
    async with _gateway_client(current_gateway, tmp_path / "identity.json") as client:
        await _assert_registered_once(client, created)
        for row in rows:
            tokens = await _workspace_tokens(client, row.id)
            assert tokens, f"no AUTH_TOKEN in {row.name}'s workspace"
            assert row.agent_token_hash is not None
            for token in tokens:
                assert verify_secret(token, row.agent_token_hash), row.name


# -- handover (last: it kills the leader) --------------------------------------------------------


async def test_the_other_process_takes_over_when_the_leader_is_killed(pair: Pair) -> None:
    assert _ports(await _leaders(pair)) == {job: [pair.first.port] for job in JOBS}
    killed = time.monotonic()
    await asyncio.to_thread(pair.first.kill)  # SIGKILL: no shutdown code releases anything
    took = await _wait_for_leaders(
        pair,
        dict.fromkeys(JOBS, pair.second),
        timeout=max(CAMPAIGN_SECONDS.values()) + TAKEOVER_SLACK_SECONDS,
        since=killed,
    )
    for job in JOBS:
        print(f"{job}: taken over {took[job]:.1f} s after the leader's SIGKILL")
        assert took[job] <= CAMPAIGN_SECONDS[job] + TAKEOVER_SLACK_SECONDS, job
    assert pair.alive() == [pair.second]


# -- cleanup -------------------------------------------------------------------------------------


async def _quiet_agents(served: Pair, gateway: DevGateway, identity: Path) -> None:
    """Turns the test's agents' heartbeats off on the session's gateway once both processes
    are stopped (so no governor writes them back), leaving it as quiet as the other tests
    expect: one config write for all of them. They are not deleted: the gateway takes a
    roster entry away only through ``agents.delete``, one reload each, minutes for 20."""
    if not served.agent_ids:
        return
    off = {"heartbeat": {"every": "0m"}}
    entries = {f"mc-{agent_id}": off for agent_id in served.agent_ids}
    async with _gateway_client(gateway, identity) as client:
        await client.config_patch_fresh(
            {"agents": {"entries": entries}}, note="two-process test cleanup"
        )
