"""A fleet created at once: N agents created back to back through the HTTP API, on a real
gateway of each release, with the scripted model making woken agents check in (issue 19).

For each release and each N, a fresh gateway (its bare default config plus the scripted model
as default model), a fresh SQLite database and Mission Control served as its own process (with
its reconciler) are started. Then N ``POST /api/v1/agents`` go out one after another and the
agents list is polled until every agent is online or the deadline passes. Printed:

- time to all accepted (the last create answered), to all provisioned (no provisioning pending
  any more), to all online (checked in);
- per-agent create -> online median and p95, and the median create answer time;
- how many ``config.patch`` writes the gateway audited;
- the CPU time the gateway (with every process it spawned) spent from the first create to the end,
  per agent, and the floor that puts under "all online" on this machine's cores;
- every agent never online, as a FAILURE line with its status and last error;
- with ``--second-wake``, once all are online: every agent is sent a second message straight
  through the gateway and the time and gateway CPU until all have checked in again are printed
  (the cost of a warm turn, which no provisioning work shares).

    .venv/bin/python -m bench.fleet_create [--sizes 10 50 100] [--releases current legacy]
        [--deadline 180] [--second-wake]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from mission_control.gateway.client import GatewayClient
from mission_control.gateway.connection import ConnectionOptions, GatewayConnection, GatewayTarget
from mission_control.gateway.dev import DevGateway, GatewayVersion, descendants
from tests.support import fleet
from tests.support.dev_gateways import config_patch_count

POLL_SECONDS = 0.25
SECOND_WAKE_DEADLINE_SECONDS = 180.0


@dataclass
class Figures:
    release: str
    size: int
    answers: list[float] = field(default_factory=list)
    accepted: float = 0.0
    provisioned: float | None = None
    online: float | None = None
    per_agent: list[float] = field(default_factory=list)
    patches: int = 0
    gateway_cpu: float | None = None
    gateway_cpu_provisioned: float | None = None
    mc_cpu: float | None = None
    second_wake: float | None = None
    second_wake_cpu: float | None = None
    failures: list[str] = field(default_factory=list)


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants, with their reaped children."""
    ticks = 0
    for member in [pid, *descendants(pid)]:
        try:
            stat = Path(f"/proc/{member}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        # utime, stime, cutime, cstime are fields 14-17 of /proc/<pid>/stat.
        ticks += sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


async def _create(
    http: httpx.AsyncClient, world: fleet.FleetWorld, size: int, figures: Figures
) -> dict[uuid.UUID, float]:
    sent: dict[uuid.UUID, float] = {}
    for index in range(size):
        started = time.monotonic()
        response = await http.post(
            "/api/v1/agents",
            json={"name": f"Fleet {index:03d}", "board_id": str(world.board_id)},
            headers=world.headers,
        )
        figures.answers.append(time.monotonic() - started)
        if response.status_code != 201:
            figures.failures.append(f"create {index}: HTTP {response.status_code} {response.text}")
            continue
        sent[uuid.UUID(response.json()["id"])] = started
    return sent


async def _watch(
    http: httpx.AsyncClient,
    world: fleet.FleetWorld,
    sent: dict[uuid.UUID, float],
    t0: float,
    deadline: float,
    figures: Figures,
    gateway_cpu: Callable[[], float],
) -> None:
    online_at: dict[uuid.UUID, float] = {}
    last: dict[uuid.UUID, dict[str, object]] = {}
    first = True
    while first or time.monotonic() < deadline:
        first = False
        now = time.monotonic()
        for item in await fleet.list_agents(http, world):
            agent_id = uuid.UUID(item["id"])
            last[agent_id] = item
            if agent_id in sent and item["status"] == "online" and agent_id not in online_at:
                online_at[agent_id] = now
        pending = [a for a in sent if last.get(a, {}).get("provision_pending", True)]
        if figures.provisioned is None and not pending:
            figures.provisioned = now - t0
            figures.gateway_cpu_provisioned = gateway_cpu()
        if len(online_at) == len(sent):
            figures.online = now - t0
            break
        await asyncio.sleep(POLL_SECONDS)
    figures.per_agent = [online_at[a] - sent[a] for a in online_at]
    for agent_id in sent:
        if agent_id not in online_at:
            item = last.get(agent_id, {})
            figures.failures.append(
                f"{item.get('name', agent_id)} never online: status={item.get('status')} "
                f"pending={item.get('provision_pending')} error={item.get('last_provision_error')}"
            )


async def _second_wake(
    http: httpx.AsyncClient,
    world: fleet.FleetWorld,
    gateway: DevGateway,
    identity: Path,
    gateway_cpu: Callable[[], float],
    figures: Figures,
) -> None:
    """Every agent, already online, is messaged again; waits until each has checked in anew."""
    agents = await fleet.list_agents(http, world)
    seen = {item["id"]: item["last_seen_at"] for item in agents}
    connection = GatewayConnection(
        GatewayTarget(url=gateway.url, token=gateway.token, identity_path=identity),
        ConnectionOptions(request_timeout=60.0),
    )
    await connection.connect()
    try:
        client = GatewayClient(connection)
        cpu_before, started = gateway_cpu(), time.monotonic()
        for item in agents:
            await client.chat_send(
                str(item["openclaw_session_id"]),
                "Check in with Mission Control again now, as AGENTS.md describes.",
                idempotency_key=f"bench-second-{item['id']}",
                deliver=True,
            )
        while time.monotonic() < started + SECOND_WAKE_DEADLINE_SECONDS:
            listed = await fleet.list_agents(http, world)
            now = {item["id"]: item["last_seen_at"] for item in listed}
            if all(now.get(agent_id) != last for agent_id, last in seen.items()):
                figures.second_wake = time.monotonic() - started
                break
            await asyncio.sleep(POLL_SECONDS)
        figures.second_wake_cpu = gateway_cpu() - cpu_before
    finally:
        await connection.close()


async def run_one(
    release: GatewayVersion,
    size: int,
    deadline_s: float,
    keep: bool = False,
    second_wake: bool = False,
) -> Figures:
    figures = Figures(release=release, size=size)
    with tempfile.TemporaryDirectory(prefix=f"fleet-{release}-{size}-") as tmp:
        state = (
            Path(tempfile.mkdtemp(prefix=f"fleet-{release}-{size}-kept-")) if keep else Path(tmp)
        )
        if keep:
            print(f"state kept in {state}")
        gateway = await asyncio.to_thread(fleet.start_gateway, state / "gw", release)
        model = fleet.start_model(gateway)
        server = None
        try:
            await fleet.configure_model(gateway, model, state / "probe-identity.json")
            patches_before = config_patch_count(gateway)
            url = f"sqlite+aiosqlite:///{state / 'mc.db'}"
            await asyncio.to_thread(fleet.migrate, url)
            operator, key = fleet.new_secrets()
            world = await fleet.seed_world(url, key, gateway)
            server = fleet.mc_process(url, state / "mc", operator, key, gateway)
            await asyncio.to_thread(server.start)
            gateway_pid, mc_pid = gateway.pid, server.pid
            assert gateway_pid is not None
            assert mc_pid is not None
            cpu_before = tree_cpu_seconds(gateway_pid)
            mc_before = tree_cpu_seconds(mc_pid)

            def gateway_cpu() -> float:
                return tree_cpu_seconds(gateway_pid) - cpu_before

            async with httpx.AsyncClient(base_url=server.base_url, timeout=300.0) as http:
                t0 = time.monotonic()
                sent = await _create(http, world, size, figures)
                figures.accepted = time.monotonic() - t0
                await _watch(http, world, sent, t0, t0 + deadline_s, figures, gateway_cpu)
                figures.gateway_cpu = gateway_cpu()
                figures.mc_cpu = tree_cpu_seconds(mc_pid) - mc_before
                if second_wake and figures.online is not None:
                    await _second_wake(
                        http, world, gateway, state / "bench-identity.json", gateway_cpu, figures
                    )
            figures.patches = config_patch_count(gateway) - patches_before
        finally:
            # Plain calls, not awaited threads: they must run even while the run is cancelled.
            if server is not None:
                server.stop()
            model.stop()
            gateway.stop()
    return figures


def _fmt(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def report(figures: Figures) -> None:
    print(f"\n== {figures.release} gateway, {figures.size} agents created back to back ==")
    answers = figures.answers or [0.0]
    print(
        f"all accepted:       {figures.accepted:.1f} s (median answer "
        f"{statistics.median(answers):.2f} s, max {max(answers):.2f} s)"
    )
    print(f"all provisioned:    {_fmt(figures.provisioned)}")
    print(f"all online:         {_fmt(figures.online)}")
    if figures.per_agent:
        print(
            f"create -> online:   median {statistics.median(figures.per_agent):.1f} s, "
            f"p95 {_p95(figures.per_agent):.1f} s ({len(figures.per_agent)} online)"
        )
    print(f"config.patch count: {figures.patches}")
    if figures.gateway_cpu is not None:
        cores = os.cpu_count() or 1
        print(
            f"gateway CPU:        {figures.gateway_cpu:.1f} s "
            f"({figures.gateway_cpu / figures.size:.2f} s per agent; on {cores} cores that alone "
            f"takes {figures.gateway_cpu / cores:.1f} s), "
            f"{_fmt(figures.gateway_cpu_provisioned)} of it until all provisioned"
        )
    if figures.mc_cpu is not None:
        print(f"Mission Control CPU: {figures.mc_cpu:.1f} s")
    if figures.second_wake_cpu is not None:
        print(
            f"second wake:        all checked in again after {_fmt(figures.second_wake)}, "
            f"gateway CPU {figures.second_wake_cpu:.1f} s "
            f"({figures.second_wake_cpu / figures.size:.2f} s per warm turn)"
        )
    for failure in figures.failures:
        print(f"FAILURE: {failure}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument(
        "--releases", nargs="+", default=["current", "legacy"], choices=["current", "legacy"]
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=180.0,
        help="seconds after the first create to wait for every agent online",
    )
    parser.add_argument("--keep", action="store_true", help="keep the state dirs and logs")
    parser.add_argument(
        "--second-wake",
        action="store_true",
        help="once all are online, wake every agent again and measure the warm turns",
    )
    args = parser.parse_args()
    # A bench stopped from outside still stops the gateway and Mission Control it started.
    task = asyncio.current_task()
    assert task is not None
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        asyncio.get_running_loop().add_signal_handler(stop_signal, task.cancel)
    failed = False
    for release in args.releases:
        for size in args.sizes:
            figures = await run_one(release, size, args.deadline, args.keep, args.second_wake)
            report(figures)
            failed = failed or bool(figures.failures)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
