"""SSE fan-out: time until N subscribers of one process all received an event, and database
queries per event.

Run: .venv/bin/python -m bench.sse_fanout [--subscribers 1000] [--events 20] [--postgres]

The server is the real app on uvicorn on a free loopback port in this process (so a
SQLAlchemy ``before_cursor_execute`` listener can count its queries). The subscribers are
real HTTP streaming clients (httpx, ``GET /api/v1/boards/{id}/stream?topics=tasks``) spread
over a few child processes so that parsing 1,000 streams does not run in the server's event
loop. Each event is one committed transaction calling ``events.emit``; the clock starts just
before the commit and stops when the last subscriber has parsed the event (CLOCK_MONOTONIC is
shared by all processes). Queries are counted in two windows: the emitting transaction
(commit included) and the fan-out (from the commit until every subscriber has the event).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import shutil
import socket
import statistics
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import uvloop
from sqlalchemy import event

from mission_control.app import build_runtime, create_app
from mission_control.core import migrations
from mission_control.core.db import Database
from mission_control.core.events import bus_for, emit
from mission_control.organizations.models import Role
from mission_control.settings import Settings
from tests.support import factories
from tests.support.database import create_postgres_database
from tests.support.postgres import PostgresServer


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- subscriber processes ------------------------------------------------------------------


async def _subscribe(
    http: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    events: int,
    received: list[dict[int, float]],
    connected: asyncio.Event,
    opened: list[int],
    total: int,
) -> None:
    seen: dict[int, float] = {}
    received.append(seen)
    async with http.stream("GET", path, headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"stream refused: {response.status_code}")
        opened[0] += 1
        if opened[0] == total:
            connected.set()
        buffer = b""
        async for chunk in response.aiter_raw():
            # Cheap parsing: only the data lines matter here, and they are one line each.
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.startswith(b"data:"):
                    payload = json.loads(line[5:])
                    seen[int(payload["data"]["seq"])] = time.monotonic()
            if len(seen) == events:
                return


async def _run_subscribers(
    base: str, path: str, token: str, count: int, events: int, out: Queue[Any]
) -> None:
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {token}"}
    received: list[dict[int, float]] = []
    connected = asyncio.Event()
    opened = [0]
    timeout = httpx.Timeout(10.0, read=600.0)  # streams sit idle between events
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as http:
        tasks = [
            asyncio.create_task(
                _subscribe(http, path, headers, events, received, connected, opened, count)
            )
            for _ in range(count)
        ]
        await connected.wait()
        out.put(("connected", count))
        # Report, per event, when the last of this process's subscribers had it.
        reported = 0
        while reported < events:
            await asyncio.sleep(0.001)
            while reported < events and all(reported in seen for seen in received):
                out.put(("event", reported, max(seen[reported] for seen in received)))
                reported += 1
        await asyncio.gather(*tasks)
    latencies = {k: [seen[k] for seen in received] for k in range(events)}
    out.put(("done", latencies))


def _subscriber_process(
    base: str, path: str, token: str, count: int, events: int, out: Queue[Any]
) -> None:
    uvloop.run(_run_subscribers(base, path, token, count, events, out))


# -- server and measurement ----------------------------------------------------------------


@dataclass
class Counter:
    statements: int = 0

    def __call__(self, *_args: Any) -> None:
        self.statements += 1


async def _setup(database: Database) -> tuple[Any, Any, str]:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        board = await factories.board(session, org, name="Fan-out")
        owner = await factories.person(session, org, Role.OWNER)
    return org, board, owner.token


async def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class Inbox:
    """Messages from the subscriber processes, taken by kind (processes interleave them)."""

    def __init__(self, queue: Queue[Any]) -> None:
        self.queue = queue
        self.held: list[Any] = []

    def take(self, kind: str, expected: int, timeout: float) -> list[Any]:
        taken = [message for message in self.held if message[0] == kind][:expected]
        for message in taken:
            self.held.remove(message)
        deadline = time.monotonic() + timeout
        while len(taken) < expected:
            message = self.queue.get(timeout=max(0.1, deadline - time.monotonic()))
            (taken if message[0] == kind else self.held).append(message)
        return taken


async def run(url: str, data_dir: Path, subscribers: int, events: int, processes: int) -> None:
    database = Database(url)
    await asyncio.to_thread(migrations.upgrade, url)
    org, board, token = await _setup(database)
    runtime = build_runtime(
        Settings(auth_token=secrets.token_urlsafe(48), data_dir=data_dir, database_url=url),
        database,
    )
    port = _free_port()
    config = uvicorn.Config(
        create_app(runtime=runtime),
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        backlog=4096,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    await _wait_for(lambda: server.started, 10, "uvicorn")
    base = f"http://127.0.0.1:{port}"
    path = f"/api/v1/boards/{board.id}/stream?topics=tasks"
    async with httpx.AsyncClient(base_url=base) as http:
        # The first use of a token pays its PBKDF2 check; do it once before the herd arrives.
        warm = await http.get(
            "/api/v1/users/me/tokens", headers={"Authorization": f"Bearer {token}"}
        )
        if warm.status_code != 200:
            raise RuntimeError(f"token check failed: {warm.status_code} {warm.text}")
    context = multiprocessing.get_context("spawn")
    queue: Queue[Any] = context.Queue()
    shares = [subscribers // processes + (i < subscribers % processes) for i in range(processes)]
    children = [
        context.Process(target=_subscriber_process, args=(base, path, token, share, events, queue))
        for share in shares
    ]
    for child in children:
        child.start()
    inbox = Inbox(queue)
    bus = bus_for(database)
    connect_started = time.monotonic()
    await asyncio.to_thread(inbox.take, "connected", processes, 300)
    await _wait_for(lambda: bus.subscriber_count == subscribers, 60, "subscriptions")
    connect_seconds = time.monotonic() - connect_started

    counter = Counter()
    event.listen(database.engine.sync_engine, "before_cursor_execute", counter)
    all_received: list[float] = []
    starts: list[float] = []
    write_queries: list[int] = []
    fanout_queries: list[int] = []
    for seq in range(events):
        counter.statements = 0
        started = time.monotonic()
        starts.append(started)
        async with database.unit_of_work() as session:
            emit(
                session,
                "task.created",
                organization_id=org.id,
                board_id=board.id,
                data={"seq": seq},
            )
        write_queries.append(counter.statements)
        counter.statements = 0
        acks = await asyncio.to_thread(inbox.take, "event", processes, 60)
        fanout_queries.append(counter.statements)
        all_received.append(max(ack[2] for ack in acks) - started)
        await asyncio.sleep(0.2)  # let the streams go quiet between events
    event.remove(database.engine.sync_engine, "before_cursor_execute", counter)
    finals = await asyncio.to_thread(inbox.take, "done", processes, 60)
    for child in children:
        child.join(30)

    server.should_exit = True
    await serving
    await database.dispose()
    each = [t - starts[k] for final in finals for k, times in final[1].items() for t in times]
    _report(
        database.dialect,
        subscribers,
        processes,
        connect_seconds,
        all_received,
        each,
        write_queries,
        fanout_queries,
    )


def _p(samples: list[float], q: int) -> float:
    return (
        statistics.quantiles(samples, n=100, method="inclusive")[q - 1]
        if len(samples) > 1
        else samples[0]
    )


def _report(
    backend: str,
    subscribers: int,
    processes: int,
    connect_seconds: float,
    all_received: list[float],
    each: list[float],
    write_queries: list[int],
    fanout_queries: list[int],
) -> None:
    ms = [value * 1000 for value in all_received]
    print(
        f"SSE fan-out, {backend}, {subscribers} subscribers on one server process "
        f"(clients in {processes} processes), {len(ms)} events"
    )
    print(f"  connecting all subscribers: {connect_seconds:.1f} s")
    print(
        f"  time until all received one event: median {statistics.median(ms):.1f} ms, "
        f"p99 {_p(ms, 99):.1f} ms, min {min(ms):.1f} ms, max {max(ms):.1f} ms"
    )
    each_ms = [value * 1000 for value in each]
    print(
        f"  per subscriber ({len(each_ms)} deliveries): median {statistics.median(each_ms):.1f} "
        f"ms, p99 {_p(each_ms, 99):.1f} ms"
    )
    print(
        f"  queries per event: writer transaction {statistics.mean(write_queries):.1f} "
        f"(stream row insert{' + pg_notify' if backend == 'postgresql' else ''}, commit "
        f"bookkeeping), fan-out {statistics.mean(fanout_queries):.1f} "
        f"(max {max(fanout_queries)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--client-processes", type=int, default=max(1, (os.cpu_count() or 2)))
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="mc-bench-sse-"))
    server: PostgresServer | None = None
    try:
        if args.postgres:
            server = PostgresServer(Path(tempfile.mkdtemp(prefix="mc-bench-sse-pg-")))
            admin_url = server.start()
            url = asyncio.run(create_postgres_database(admin_url, "mc_bench_sse"))
        else:
            url = f"sqlite+aiosqlite:///{base / 'bench.db'}"
        # uvloop, as `uvicorn` itself picks when it is installed (uvicorn[standard]).
        uvloop.run(run(url, base, args.subscribers, args.events, args.client_processes))
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(server.base_dir, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
