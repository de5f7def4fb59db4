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
- every agent never online, as a FAILURE line with its status and last error.

    .venv/bin/python -m bench.fleet_create [--sizes 10 50 100] [--releases current legacy]
        [--deadline 180]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from mission_control.gateway.dev import GatewayVersion
from tests.support import fleet
from tests.support.dev_gateways import config_patch_count

POLL_SECONDS = 0.25


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
    failures: list[str] = field(default_factory=list)


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


async def run_one(
    release: GatewayVersion, size: int, deadline_s: float, keep: bool = False
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
            async with httpx.AsyncClient(base_url=server.base_url, timeout=300.0) as http:
                t0 = time.monotonic()
                sent = await _create(http, world, size, figures)
                figures.accepted = time.monotonic() - t0
                await _watch(http, world, sent, t0, t0 + deadline_s, figures)
            figures.patches = config_patch_count(gateway) - patches_before
        finally:
            if server is not None:
                await asyncio.to_thread(server.stop)
            model.stop()
            await asyncio.to_thread(gateway.stop)
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
    args = parser.parse_args()
    failed = False
    for release in args.releases:
        for size in args.sizes:
            figures = await run_one(release, size, args.deadline, args.keep)
            report(figures)
            failed = failed or bool(figures.failures)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
