"""Agent-request latency with 10 and with 10,000 agents in the database, measured in one run.

Run: .venv/bin/python -m bench.agent_auth [--requests 2000] [--postgres]

Each fleet size gets its own freshly migrated SQLite database, or with --postgres a database
on a throwaway PostgreSQL cluster started (and stopped) by the bench. Requests go through
the whole ASGI app in-process (`GET /api/v1/agent/healthz` with the agent's token), so the
figure is Mission Control's own cost: token lookup, hash check, last-seen bookkeeping and
the who-am-I queries.
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
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import insert

from mission_control.agents.models import Agent
from mission_control.app import build_runtime, create_app
from mission_control.core import migrations
from mission_control.core.db import Database
from mission_control.core.security import hash_secret, mint_token
from mission_control.settings import Settings
from tests.support import factories
from tests.support.database import create_postgres_database
from tests.support.postgres import PostgresServer


@dataclass
class Fleet:
    size: int
    client: httpx.AsyncClient
    database: Database
    headers: list[dict[str, str]]


async def _populate(database: Database, size: int, measured: int) -> list[str]:
    """``size`` agents; ``measured`` of them get real tokens, the rest share a filler hash."""
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        board = await factories.board(session, org, gw)
        gw_id, board_id = gw.id, board.id
    tokens: list[str] = []
    rows = []
    filler_hash = hash_secret("filler")  # lookups go by token id; filler hashes are never checked
    for index in range(size):
        if index < measured:
            minted = mint_token()
            tokens.append(minted.raw)
            token_id, token_hash = minted.token_id, minted.hash
        else:
            token_id, token_hash = secrets.token_hex(8), filler_hash
        name = f"Agent {index:05d}"
        rows.append(
            {
                "id": uuid.uuid4(),
                "gateway_id": gw_id,
                "board_id": board_id,
                "name": name,
                "name_key": name.lower(),
                "token_id": token_id,
                "agent_token_hash": token_hash,
                "status": "online",
            }
        )
    async with database.unit_of_work() as session:
        for start in range(0, len(rows), 1000):
            await session.execute(insert(Agent), rows[start : start + 1000])
    return tokens


async def _fleet(size: int, url: str, data_dir: Path) -> Fleet:
    await asyncio.to_thread(migrations.upgrade, url)
    database = Database(url)
    tokens = await _populate(database, size, measured=10)
    settings = Settings(
        auth_token=secrets.token_urlsafe(48),
        data_dir=data_dir,
        database_url=url,
        log_level="WARNING",
    )
    app = create_app(runtime=build_runtime(settings, database))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
    headers = [{"X-Agent-Token": token} for token in tokens]
    return Fleet(size=size, client=client, database=database, headers=headers)


async def _timed(fleet: Fleet, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = await fleet.client.get("/api/v1/agent/healthz", headers=headers)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"agent request failed: {response.status_code} {response.text}")
    return elapsed


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


async def run(requests: int, postgres_admin_url: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="mc-bench-") as tmp:
        base = Path(tmp)
        fleets = []
        for size in (10, 10_000):
            if postgres_admin_url:
                url = await create_postgres_database(postgres_admin_url, f"mc_bench_{size}")
            else:
                url = f"sqlite+aiosqlite:///{base / f'agents-{size}.db'}"
            fleets.append(await _fleet(size, url, base))
        cold: dict[int, list[float]] = {f.size: [] for f in fleets}
        warm: dict[int, list[float]] = {f.size: [] for f in fleets}
        for fleet in fleets:  # first use of each token pays the PBKDF2 check once
            for headers in fleet.headers:
                cold[fleet.size].append(await _timed(fleet, headers))
        for index in range(requests):  # interleaved so drift hits both sizes alike
            for fleet in fleets:
                headers = fleet.headers[index % len(fleet.headers)]
                warm[fleet.size].append(await _timed(fleet, headers))
        backend = fleets[0].database.dialect
        print(
            f"agent request latency, GET /api/v1/agent/healthz, {backend}, {requests} requests each"
        )
        for fleet in fleets:
            samples = warm[fleet.size]
            print(
                f"  {fleet.size:>6} agents: median {statistics.median(samples) * 1000:7.2f} ms"
                f"  p99 {_p99(samples) * 1000:7.2f} ms"
                f"  (first request per token, with PBKDF2: median "
                f"{statistics.median(cold[fleet.size]) * 1000:.1f} ms)"
            )
        small, large = (statistics.median(warm[f.size]) for f in fleets)
        p99_small, p99_large = (_p99(warm[f.size]) for f in fleets)
        ratio_median, ratio_p99 = large / small, p99_large / p99_small
        print(f"  ratio 10,000 / 10 agents: median {ratio_median:.3f}x, p99 {ratio_p99:.3f}x")
        for fleet in fleets:
            await fleet.client.aclose()
            await fleet.database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true", help="measure on PostgreSQL")
    args = parser.parse_args()
    if not args.postgres:
        asyncio.run(run(args.requests, None))
        return
    base = Path(tempfile.mkdtemp(prefix="mc-bench-pg-"))
    server = PostgresServer(base)
    try:
        asyncio.run(run(args.requests, server.start()))
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
