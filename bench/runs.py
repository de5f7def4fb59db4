"""Task runs end to end: request -> first progress entry and request -> terminal state (median
of N sequential runs), and M concurrent runs on one gateway (all terminal? wall time). The
baseline, measured in the same run, is the same agent turn started straight on the gateway
(`agent` on a fresh session, no Mission Control): first event and final answer.

Starts its own gateway (needs `bash scripts/install-gateway.sh`), the scripted model of the run
tests, and Mission Control in-process on a fresh SQLite database; stops them at the end.

    .venv/bin/python -m bench.runs [--runs 10] [--concurrent 20] [--baseline 5]   (repo root)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import structlog
from sqlalchemy import func, select

from mission_control.app import build_runtime, create_app
from mission_control.core import migrations
from mission_control.core.clock import utcnow
from mission_control.core.runtime import Runtime
from mission_control.demo.model import ScriptedModelServer
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.connection import GatewayTarget
from mission_control.gateway.dev import start_dev_gateway
from mission_control.runs.executor import manager_for
from mission_control.runs.models import TERMINAL_STATUSES, TaskRun, TaskRunLogEntry
from mission_control.settings import Settings
from mission_control.tasks.models import Task
from tests.e2e.gateway_setup import claimed_ports, use_scripted_model
from tests.runs.conftest import World, make_world
from tests.runs.script import RunScript

REPO = Path(__file__).resolve().parents[1]
MODEL = "scripted-run"


async def _task(runtime: Runtime, world: World, title: str) -> uuid.UUID:
    async with runtime.database.unit_of_work() as session:
        task = Task(board_id=world.board.id, title=title, assigned_agent_id=world.worker.id)
        session.add(task)
        await session.flush()
        return task.id


async def _wait_terminal(runtime: Runtime, run_ids: list[str], timeout: float) -> list[TaskRun]:
    ids = [uuid.UUID(i) for i in run_ids]
    deadline = time.monotonic() + timeout
    while True:
        async with runtime.database.sessions() as session:
            rows = list(
                (await session.execute(select(TaskRun).where(TaskRun.id.in_(ids)))).scalars()
            )
            if all(r.status in TERMINAL_STATUSES for r in rows) or time.monotonic() > deadline:
                session.expunge_all()
                return rows
        await asyncio.sleep(0.1)


async def _first_log_at(runtime: Runtime, run_id: uuid.UUID) -> Any:
    async with runtime.database.sessions() as session:
        query = select(func.min(TaskRunLogEntry.created_at)).where(TaskRunLogEntry.run_id == run_id)
        return (await session.execute(query)).scalar_one()


async def _start(http: httpx.AsyncClient, world: World, task_id: uuid.UUID) -> str:
    response = await http.post(world.runs_url(task_id), json={}, headers=world.writer.headers)
    response.raise_for_status()
    run_id: str = response.json()["id"]
    return run_id


async def sequential(
    runtime: Runtime, http: httpx.AsyncClient, world: World, count: int
) -> tuple[list[float], list[float], list[str]]:
    first, terminal, statuses = [], [], []
    for index in range(count):
        task_id = await _task(runtime, world, f"Sequential run {index}")
        asked = utcnow()
        run_id = await _start(http, world, task_id)
        (run,) = await _wait_terminal(runtime, [run_id], timeout=300)
        logged = await _first_log_at(runtime, run.id)
        statuses.append(run.status)
        if logged is not None:
            first.append((logged - asked).total_seconds())
        if run.ended_at is not None:
            terminal.append((run.ended_at - asked).total_seconds())
    return first, terminal, statuses


async def concurrent(
    runtime: Runtime, http: httpx.AsyncClient, world: World, count: int
) -> tuple[float, dict[str, int]]:
    tasks = [await _task(runtime, world, f"Concurrent run {i}") for i in range(count)]
    started = time.monotonic()
    run_ids = await asyncio.gather(*(_start(http, world, t) for t in tasks))
    rows = await _wait_terminal(runtime, list(run_ids), timeout=900)
    wall = time.monotonic() - started
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return wall, counts


async def baseline(client: GatewayClient, count: int) -> tuple[list[float], list[float]]:
    """The same turn straight on the gateway: `agent` on a fresh child of the main session."""
    first, final = [], []
    for index in range(count):
        key = f"agent:main:bench:{uuid.uuid4()}"
        await client.child_session_create(
            "main", key=key, parent_session_key="agent:main:main", label=f"bench {index}"
        )
        with client.subscribe_run(session_key=key) as events:
            started = time.monotonic()
            run = await client.agent(f"Baseline run {index}", session_key=key)
            await events.next(timeout=300)
            first.append(time.monotonic() - started)
            await run.result(timeout=300)
            final.append(time.monotonic() - started)
        await client.session_delete(key)
    return first, final


def _line(name: str, samples: list[float], base: list[float] | None = None) -> str:
    if not samples:
        return f"{name:<34} no samples"
    median = statistics.median(samples)
    text = f"{name:<34} median {median:7.2f} s  min {min(samples):6.2f}  max {max(samples):6.2f}"
    if base:
        text += f"  ratio vs baseline {median / statistics.median(base):5.2f}"
    return text


async def main(args: argparse.Namespace) -> None:
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="mc-bench-runs-") as tmp:
        root = Path(tmp)
        gateway = start_dev_gateway(REPO / ".cache" / "gateway", root / "gateway")
        model = ScriptedModelServer(
            model_id=MODEL, script=RunScript(), avoid_ports=[claimed_ports(gateway)]
        )
        model.start()
        url = f"sqlite+aiosqlite:///{root / 'mc.db'}"
        await asyncio.to_thread(migrations.upgrade, url)
        settings = Settings(
            auth_token=secrets.token_urlsafe(48),
            data_dir=root / "mc",
            database_url=url,
            reconciler_enabled=False,
        )
        runtime = build_runtime(settings)
        manager_for(runtime).start_supervisor()
        try:
            target = GatewayTarget(
                url=gateway.url, token=gateway.token, identity_path=runtime.device_identity_path
            )
            client = await runtime.gateway_pool.client(target)
            await use_scripted_model(client, model.base_url, MODEL, run_timeout_seconds=300)
            world = await make_world(runtime, gateway)
            transport = httpx.ASGITransport(app=create_app(runtime=runtime))
            async with httpx.AsyncClient(transport=transport, base_url="http://mc.test") as http:
                limits = {"max_runs_per_agent": 100, "max_runs_per_board": 100}
                policy = await http.patch(
                    world.policy_url, json=limits, headers=world.writer.headers
                )
                policy.raise_for_status()
                print("warming up (first turn of a fresh gateway agent)...", flush=True)
                await sequential(runtime, http, world, 1)
                print(f"gateway {client.profile.server_version}, scripted model, 1 tool call/run")
                base_first, base_final = await baseline(client, args.baseline)
                print(_line(f"baseline first event (n={len(base_first)})", base_first))
                print(_line(f"baseline final answer (n={len(base_final)})", base_final), flush=True)
                first, terminal, statuses = await sequential(runtime, http, world, args.runs)
                print(_line(f"request -> first progress (n={len(first)})", first, base_first))
                print(_line(f"request -> terminal (n={len(terminal)})", terminal, base_final))
                print(f"sequential statuses: {sorted(set(statuses))}", flush=True)
                wall, counts = await concurrent(runtime, http, world, args.concurrent)
            terminal_count = sum(v for k, v in counts.items() if k in TERMINAL_STATUSES)
            print(
                f"{args.concurrent} concurrent runs: {terminal_count} terminal {counts}, "
                f"wall {wall:.1f} s"
            )
        finally:
            await manager_for(runtime).close()
            await runtime.gateway_pool.close()
            await runtime.database.dispose()
            model.stop()
            gateway.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--baseline", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
