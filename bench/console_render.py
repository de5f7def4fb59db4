"""Console figures: board page render time with 1,000 tasks (vs 10 tasks, same run) and the
time from a task change committed to the change visible in a browser (live update).

Run: .venv/bin/python -m bench.console_render [--renders 30] [--changes 20] [--tasks 1000]

Starts a throwaway PostgreSQL cluster and Mission Control as its own process (uvicorn), signs
in through the console's own form (a session cookie), then:

- render: ``GET /boards/{id}`` as the signed-in operator, one request at a time, wall time
  from request sent to full body received (server render + transfer), for a board of
  ``--tasks`` tasks and for a baseline board of 10 tasks;
- live: headless Chromium (Debian's, tests/support/browser.py) keeps the board page open;
  each change is a ``PATCH`` through the API (moving one task between inbox and in progress);
  the latency runs from the API's answer (the change is committed before it answers) to the
  moment a MutationObserver in the page sees the card in its new column. Measured on both
  boards. Browser and bench share the machine's clock.
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
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from playwright.async_api import async_playwright
from sqlalchemy import insert

from mission_control.core import migrations
from mission_control.core.db import Database
from mission_control.organizations.service import ensure_local_owner, user_context
from mission_control.tasks.models import Task
from tests.support import factories
from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.database import create_postgres_database
from tests.support.mc_server import McServerProcess
from tests.support.postgres import PostgresServer

STATUSES = ("inbox", "in_progress", "review", "done")
OBSERVE = """([cardId, target]) => {
  window.__seen = null;
  const check = () => {
    const card = document.getElementById(cardId);
    if (card && card.dataset.status === target && window.__seen === null) {
      window.__seen = Date.now();
    }
  };
  if (window.__observer) window.__observer.disconnect();
  window.__observer = new MutationObserver(check);
  window.__observer.observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


async def arrange(database: Database, sizes: list[int]) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """One board per size in the operator's organisation; returns (board id, a task id)."""
    boards = []
    async with database.unit_of_work() as session:
        owner = await ensure_local_owner(session)
        organization = (await user_context(session, owner, None)).organization
        for size in sizes:
            board = await factories.board(session, organization, name=f"Bench {size}")
            board.require_approval_for_done = False
            ids = [uuid.uuid4() for _ in range(size)]
            rows = [
                {
                    "id": ids[index],
                    "board_id": board.id,
                    "title": f"Task {index:04d} of the benchmark board",
                    "status": STATUSES[index % 4] if index else "inbox",
                    "priority": "medium",
                    "version": 1,
                }
                for index in range(size)
            ]
            await session.execute(insert(Task), rows)
            boards.append((board.id, ids[0]))
    return boards


async def sign_in(base_url: str, token: str) -> httpx.Cookies:
    async with httpx.AsyncClient(base_url=base_url) as client:
        form = await client.get("/sign-in")
        csrf = form.cookies["mc_csrf"]
        answer = await client.post("/sign-in", data={"csrf_token": csrf, "token": token})
        if answer.status_code != 303:
            raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.text[:200]}")
        return client.cookies


async def render_times(
    base_url: str, cookies: httpx.Cookies, board_id: uuid.UUID, n: int
) -> list[float]:
    timings = []
    async with httpx.AsyncClient(base_url=base_url, cookies=cookies, timeout=60) as client:
        await client.get(f"/boards/{board_id}")  # warm up
        for _ in range(n):
            started = time.perf_counter()
            response = await client.get(f"/boards/{board_id}")
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"board page answered {response.status_code}")
    return timings


async def live_latencies(
    base_url: str,
    token: str,
    cookies: httpx.Cookies,
    board_id: uuid.UUID,
    task_id: uuid.UUID,
    n: int,
) -> list[float]:
    latencies = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        context = await browser.new_context(base_url=base_url)
        host = httpx.URL(base_url).host
        await context.add_cookies(
            [
                {"name": name, "value": value, "domain": host, "path": "/"}
                for name, value in cookies.items()
            ]
        )
        page = await context.new_page()
        await page.goto(f"/boards/{board_id}")
        await page.wait_for_selector('body[data-live="open"]')
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
            for index in range(n):
                target = "in_progress" if index % 2 == 0 else "inbox"
                await page.evaluate(OBSERVE, [f"card-{task_id}", target])
                response = await api.patch(
                    f"/api/v1/boards/{board_id}/tasks/{task_id}", json={"status": target}
                )
                committed = time.time() * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"PATCH answered {response.status_code}: {response.text}")
                await page.wait_for_function("() => window.__seen !== null", timeout=30_000)
                seen = await page.evaluate("() => window.__seen")
                latencies.append(max(0.0, float(seen) - committed))
                await asyncio.sleep(0.3)  # let the page settle between changes
        await browser.close()
    return latencies


def report(label: str, values: list[float]) -> float:
    median = statistics.median(values)
    print(
        f"{label}: median {median:.1f} ms, p95 {percentile(values, 0.95):.1f} ms, "
        f"min {min(values):.1f} ms, max {max(values):.1f} ms (n={len(values)})"
    )
    return median


async def run(args: argparse.Namespace, admin_url: str, base: Path) -> None:
    url = await create_postgres_database(admin_url, "mc_bench_console")
    await asyncio.to_thread(migrations.upgrade, url)
    database = Database(url)
    token = secrets.token_urlsafe(48)
    (big_board, big_task), (small_board, small_task) = await arrange(database, [args.tasks, 10])
    await database.dispose()
    server = McServerProcess(
        database_url=url,
        data_dir=base / "mc",
        operator_token=token,
        secret_key=Fernet.generate_key().decode("ascii"),
        extra_env={"MC_RECONCILER_ENABLED": "false"},
    )
    server.start()
    try:
        cookies = await sign_in(server.base_url, token)
        small = report(
            "board page, 10 tasks",
            await render_times(server.base_url, cookies, small_board, args.renders),
        )
        big = report(
            f"board page, {args.tasks} tasks",
            await render_times(server.base_url, cookies, big_board, args.renders),
        )
        print(f"render ratio {args.tasks} vs 10 tasks (medians): {big / small:.1f}x")
        report(
            "change committed -> visible, 10-task board",
            await live_latencies(
                server.base_url, token, cookies, small_board, small_task, args.changes
            ),
        )
        report(
            f"change committed -> visible, {args.tasks}-task board",
            await live_latencies(
                server.base_url, token, cookies, big_board, big_task, args.changes
            ),
        )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=30)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=1000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="mc-bench-console-"))
    pg_base = Path(tempfile.mkdtemp(prefix="mc-bench-console-pg-"))
    postgres = PostgresServer(pg_base)
    try:
        admin_url = postgres.start()
        asyncio.run(run(args, admin_url, base))
    finally:
        postgres.stop()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(pg_base, ignore_errors=True)


if __name__ == "__main__":
    main()
