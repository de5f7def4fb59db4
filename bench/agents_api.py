"""Agents API costs on SQLite: listing a page of 200 out of N agents (computed status for each),
and an agent's check-in, which now also writes one ``agent.updated`` stream event.

Run: .venv/bin/python -m bench.agents_api [--agents 2000] [--requests 200]

Requests go through the whole ASGI app in-process, so the figures are Mission Control's own
cost (no network, no gateway).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

from mission_control.agents.models import Agent
from mission_control.app import build_runtime, create_app
from mission_control.core import migrations
from mission_control.core.db import Database
from mission_control.core.events import StreamEvent
from mission_control.core.security import hash_secret
from mission_control.organizations.models import Role
from mission_control.settings import Settings
from tests.support import factories


async def _populate(database: Database, size: int) -> tuple[dict[str, str], dict[str, str]]:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        board = await factories.board(session, org, gw)
        admin = await factories.person(session, org, Role.ADMIN)
        _, token = await factories.agent(session, gw, board, name="Measured")
        gw_id, board_id = gw.id, board.id
    filler = hash_secret("filler")
    rows = [
        {
            "id": uuid.uuid4(),
            "gateway_id": gw_id,
            "board_id": board_id,
            "name": f"Agent {index:05d}",
            "name_key": f"agent {index:05d}",
            "token_id": uuid.uuid4().hex[:16],
            "agent_token_hash": filler,
            "heartbeat_config": {"every": "10m"},
        }
        for index in range(size - 1)
    ]
    async with database.unit_of_work() as session:
        await session.execute(insert(Agent), rows)
    return admin.headers, {"X-Agent-Token": token}


def _summary(label: str, samples: list[float]) -> str:
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    return f"{label}: median {statistics.median(samples):.1f} ms, p95 {p95:.1f} ms"


async def main(agents: int, requests: int) -> None:
    with tempfile.TemporaryDirectory(prefix="mc-bench-agents-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(migrations.upgrade, url)
        database = Database(url)
        settings = Settings(
            auth_token="b" + uuid.uuid4().hex + uuid.uuid4().hex,
            data_dir=Path(tmp),
            database_url=url,
            agent_last_seen_interval_seconds=0,
        )
        app = create_app(runtime=build_runtime(settings, database))
        admin, agent = await _populate(database, agents)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            lists, beats = [], []
            for _ in range(requests):
                start = time.perf_counter()
                answer = await client.get("/api/v1/agents", params={"limit": 200}, headers=admin)
                lists.append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 200, answer.text
            for _ in range(requests):
                start = time.perf_counter()
                answer = await client.post(
                    "/api/v1/agent/heartbeat", json={"status": "online"}, headers=agent
                )
                beats.append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 200, answer.text
        async with database.unit_of_work() as session:
            written = await session.scalar(
                select(func.count())
                .select_from(StreamEvent)
                .where(StreamEvent.kind == "agent.updated")
            )
        await database.dispose()
    print(f"{agents} agents on SQLite, {requests} requests each")
    print(_summary("GET /api/v1/agents?limit=200", lists))
    print(_summary("POST /api/v1/agent/heartbeat", beats))
    print(f"agent.updated stream events written by the check-ins: {written}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.agents, arguments.requests))
