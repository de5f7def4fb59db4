"""Check-in load: 50 agents checking in back to back plus operators listing, on a served process.

Run: .venv/bin/python -m bench.checkin_load [--seconds 60] [--agents 50] [--operators 2]
     [--postgres]

Mission Control runs as its own uvicorn process (tests/support/mc_server.py) on a freshly
migrated SQLite file, or with --postgres on a database of a throwaway PostgreSQL cluster started
and stopped by the bench. Each agent loops `POST /api/v1/agent/heartbeat` with its own
keep-alive connection; each operator loops `GET /api/v1/agents` and
`GET /api/v1/boards/{id}/tasks`. The baseline, measured in the same run first, is one agent
checking in alone. Any answer other than 200 (or a transport error) counts as an error; zero is
expected. Prints p50/p99 latency and requests per second per kind, and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import statistics
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from mission_control.core import migrations
from mission_control.core.db import Database
from mission_control.organizations.models import Organization
from tests.support import factories
from tests.support.database import create_postgres_database
from tests.support.mc_server import McServerProcess
from tests.support.postgres import PostgresServer


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def summary(self, label: str, seconds: float, baseline: float | None = None) -> str:
        if not self.latencies:
            return f"  {label:<26} no successful requests; errors {dict(self.errors)}"
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        rate = (len(ordered) + sum(self.errors.values())) / seconds
        ratio = f"  p50 {p50 / baseline:5.1f}x baseline" if baseline else ""
        return (
            f"  {label:<26} {len(ordered):>7} ok  errors {sum(self.errors.values()):>4}"
            f"  p50 {p50:7.2f} ms  p99 {p99:8.2f} ms  {rate:8.1f} req/s{ratio}"
            + (f"  {dict(self.errors)}" if self.errors else "")
        )


async def _seed(url: str, organization_id: str, agents: int) -> tuple[list[str], str]:
    database = Database(url)
    try:
        async with database.unit_of_work() as session:
            org = await session.get(Organization, uuid.UUID(organization_id))
            assert org is not None
            gateway = await factories.gateway(session, org)
            board = await factories.board(session, org, gateway, name="Load Board")
            tokens = [(await factories.agent(session, gateway, board))[1] for _ in range(agents)]
            board_id = str(board.id)
    finally:
        await database.dispose()
    return tokens, board_id


async def _loop(
    client: httpx.AsyncClient,
    requests: list[tuple[str, str, dict[str, str]]],
    deadline: float,
    samples: Samples,
) -> None:
    index = 0
    while time.perf_counter() < deadline:
        method, path, headers = requests[index % len(requests)]
        index += 1
        started = time.perf_counter()
        try:
            response = await client.request(method, path, headers=headers)
        except httpx.HTTPError as error:
            samples.errors[type(error).__name__] += 1
            continue
        if response.status_code == 200:
            samples.latencies.append(time.perf_counter() - started)
        else:
            code = response.json().get("error", {}).get("code", "?")
            samples.errors[f"{response.status_code} {code}"] += 1


async def _phase(
    base_url: str,
    agent_tokens: list[str],
    operator_requests: list[tuple[str, str, dict[str, str]]],
    operators: int,
    seconds: float,
) -> tuple[Samples, Samples]:
    agents, listing = Samples(), Samples()
    # One pool, one keep-alive connection per concurrent loop.
    limits = httpx.Limits(max_connections=len(agent_tokens) + operators + 4)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(
                _loop(
                    client,
                    [("POST", "/api/v1/agent/heartbeat", {"X-Agent-Token": token})],
                    deadline,
                    agents,
                )
                for token in agent_tokens
            ),
            *(_loop(client, operator_requests, deadline, listing) for _ in range(operators)),
        )
    return agents, listing


async def _warm(base_url: str, tokens: list[str]) -> None:
    # The first request per token pays the PBKDF2 check; the bench measures steady state.
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for token in tokens:
            response = await client.post(
                "/api/v1/agent/heartbeat", headers={"X-Agent-Token": token}
            )
            response.raise_for_status()


async def run(url: str, data_dir: Path, agents: int, operators: int, seconds: float) -> None:
    operator_token = secrets.token_urlsafe(48)
    server = McServerProcess(
        database_url=url,
        data_dir=data_dir / "server",
        operator_token=operator_token,
        secret_key=Fernet.generate_key().decode(),
        extra_env={"MC_RECONCILER_ENABLED": "false", "MC_LOG_LEVEL": "WARNING"},
    )
    base_url = server.start()
    operator = {"Authorization": f"Bearer {operator_token}"}
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            me = (await client.get("/api/v1/organizations/me", headers=operator)).json()
        tokens, board_id = await _seed(url, me["id"], agents)
        await _warm(base_url, tokens)
        listing = [
            ("GET", "/api/v1/agents", operator),
            ("GET", f"/api/v1/boards/{board_id}/tasks", operator),
        ]
        baseline_seconds = min(10.0, seconds)
        alone, _ = await _phase(base_url, tokens[:1], listing, 0, baseline_seconds)
        loaded, listed = await _phase(base_url, tokens, listing, operators, seconds)
    finally:
        server.stop()
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    baseline = statistics.median(alone.latencies) * 1000 if alone.latencies else None
    print(f"check-in load on {backend}: {agents} agents + {operators} operators for {seconds:g} s")
    print(alone.summary("baseline: 1 agent alone", baseline_seconds))
    print(loaded.summary(f"{agents} agents checking in", seconds, baseline))
    print(listed.summary(f"{operators} operators listing", seconds))
    errors = sum(loaded.errors.values()) + sum(listed.errors.values())
    print(f"  errors under load: {errors} (expected 0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--operators", type=int, default=2)
    parser.add_argument("--postgres", action="store_true", help="measure on PostgreSQL")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="mc-bench-load-"))
    # Its own temporary directory: the cluster's service user must be able to enter it.
    pg_base = Path(tempfile.mkdtemp(prefix="mc-bench-load-pg-")) if args.postgres else None
    postgres = PostgresServer(pg_base) if pg_base is not None else None
    try:
        if postgres is not None:
            admin_url = postgres.start()
            url = asyncio.run(create_postgres_database(admin_url, "mc_bench_load"))
        else:
            url = f"sqlite+aiosqlite:///{base / 'load.db'}"
        migrations.upgrade(url)
        asyncio.run(run(url, base, args.agents, args.operators, args.seconds))
    finally:
        if postgres is not None:
            postgres.stop()
        for path in (base, pg_base):
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
