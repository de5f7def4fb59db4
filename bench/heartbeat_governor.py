"""Heartbeat turns per day for a sample fleet, with and without the heartbeat governor.

Run: .venv/bin/python -m bench.heartbeat_governor [--days 3]

Fleet: 20 board agents on four boards of one gateway (a lead and four workers each). One board
is busy: user chat every 30 minutes from 08:00 to 20:00 and every worker with a task in progress
from 09:00 to 18:00. Three boards are idle (their last chat was two days before the run).

What is real and what is simulated: the governor is the real controller (`Governor.run_once`,
its activity queries, decisions, persisted state) on a real SQLite database, ticked every 300 s
of a *simulated* clock. No gateway is involved (the gateway row points at a closed port, so
each tick's config sync fails fast); the beats are *simulated* from each agent's cadence after
every tick: an agent beats every `cadence` since its last beat (a faster cadence starts from the
change), never while off. Without the governor every agent beats at the provisioning default
(10m). A heartbeat turn is one model call.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from mission_control.agents.models import Agent
from mission_control.app import build_runtime
from mission_control.boards.models import Board
from mission_control.core import migrations
from mission_control.core.db import Database
from mission_control.core.logging import configure_logging
from mission_control.core.text import duration_seconds
from mission_control.governor.policy import DEFAULT_EVERY, effective_cadence
from mission_control.governor.service import Governor
from mission_control.memory.models import BoardMemory
from mission_control.settings import Settings
from mission_control.tasks.models import Task
from tests.support import factories

START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # a Monday, midnight
TICK = timedelta(seconds=300)
BOARDS = ("Busy", "Idle A", "Idle B", "Idle C")
WORKERS_PER_BOARD = 4


@dataclass
class Beats:
    """Simulated gateway scheduling of one agent's heartbeats."""

    cadence: str | None = DEFAULT_EVERY
    last: datetime = START
    next_at: datetime | None = START + timedelta(seconds=duration_seconds(DEFAULT_EVERY))
    per_day: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def set_cadence(self, cadence: str | None, now: datetime) -> None:
        if cadence == self.cadence:
            return
        self.cadence = cadence
        if cadence is None:
            self.next_at = None
            return
        step = timedelta(seconds=duration_seconds(cadence))
        self.next_at = max(now, self.last + step) if self.next_at else now + step

    def run_until(self, until: datetime) -> None:
        while self.next_at is not None and self.next_at < until:
            self.per_day[(self.next_at - START).days] += 1
            self.last = self.next_at
            assert self.cadence is not None
            self.next_at = self.last + timedelta(seconds=duration_seconds(self.cadence))


@dataclass
class Fleet:
    busy_board: uuid.UUID
    board_of: dict[uuid.UUID, str]


async def _populate(database: Database) -> Fleet:
    created = START - timedelta(days=2)
    board_of: dict[uuid.UUID, str] = {}
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        gw.url = "ws://127.0.0.1:9"  # nothing listens: the config sync fails fast, by design
        busy: Board | None = None
        for name in BOARDS:
            board = await factories.board(session, org, gw, name=name)
            busy = busy or board
            session.add(
                BoardMemory(board_id=board.id, content="hi", is_chat=True, created_at=created)
            )
            for index in range(WORKERS_PER_BOARD + 1):
                agent, _token = await factories.agent(
                    session, gw, board, name=f"{name} {index}", lead=index == 0
                )
                agent.created_at = created
                board_of[agent.id] = name
                if name == "Busy" and index:
                    session.add(Task(board_id=board.id, title="Work", assigned_agent_id=agent.id))
        assert busy is not None
        return Fleet(busy.id, board_of)


async def _busy_board_activity(database: Database, fleet: Fleet, now: datetime) -> None:
    """Chat every 30 minutes 08:00-20:00; workers' tasks in progress 09:00-18:00."""
    hour = now.hour + now.minute / 60
    async with database.unit_of_work() as session:
        if 8 <= hour < 20 and now.minute % 30 == 0:
            session.add(
                BoardMemory(
                    board_id=fleet.busy_board, content="status?", is_chat=True, created_at=now
                )
            )
        status = "in_progress" if 9 <= hour < 18 else "inbox"
        await session.execute(
            update(Task).where(Task.board_id == fleet.busy_board).values(status=status)
        )


async def _cadences(database: Database) -> dict[uuid.UUID, str | None]:
    async with database.unit_of_work() as session:
        rows = await session.execute(select(Agent, Board).join(Board, Board.id == Agent.board_id))
        return {agent.id: effective_cadence(agent, board) for agent, board in rows.all()}


async def simulate(days: int) -> None:
    configure_logging("CRITICAL", "console")
    with tempfile.TemporaryDirectory(prefix="mc-bench-governor-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'governor.db'}"
        await asyncio.to_thread(migrations.upgrade, url)
        database = Database(url)
        settings = Settings(
            auth_token=secrets.token_urlsafe(48), data_dir=Path(tmp), database_url=url
        )
        runtime = build_runtime(settings, database)
        fleet = await _populate(database)
        governor = Governor(runtime)
        governed = {agent_id: Beats() for agent_id in fleet.board_of}
        plain = {agent_id: Beats() for agent_id in fleet.board_of}
        now, end = START, START + timedelta(days=days)
        while now < end:
            await _busy_board_activity(database, fleet, now)
            await governor.run_once(now)
            for agent_id, cadence in (await _cadences(database)).items():
                governed[agent_id].set_cadence(cadence, now)
            for beats in (*governed.values(), *plain.values()):
                beats.run_until(now + TICK)
            now += TICK
        await runtime.gateway_pool.close()
        await database.dispose()
    _report(fleet, plain, governed, days)


def _report(
    fleet: Fleet, plain: dict[uuid.UUID, Beats], governed: dict[uuid.UUID, Beats], days: int
) -> None:
    print(
        f"heartbeat turns per day, {len(fleet.board_of)} agents (1 busy board, 3 idle), "
        f"simulated clock, governor tick 300 s, {days} days from Monday 00:00"
    )
    print(
        "  real: Governor.run_once, its queries and decisions on SQLite; simulated: the clock "
        "and the beats (from each agent's cadence); no gateway"
    )
    print(f"  {'day':<5} {'board':<8} {'without':>8} {'with':>8} {'saved':>7}")
    for day in range(days):
        total_plain = total_governed = 0
        for board in BOARDS:
            ids = [agent_id for agent_id, name in fleet.board_of.items() if name == board]
            without = sum(plain[a].per_day[day] for a in ids)
            with_governor = sum(governed[a].per_day[day] for a in ids)
            total_plain += without
            total_governed += with_governor
            print(
                f"  {day + 1:<5} {board:<8} {without:>8} {with_governor:>8} "
                f"{_saved(without, with_governor):>7}"
            )
        print(
            f"  {day + 1:<5} {'all':<8} {total_plain:>8} {total_governed:>8} "
            f"{_saved(total_plain, total_governed):>7}"
        )


def _saved(without: int, with_governor: int) -> str:
    return f"{100 * (without - with_governor) / without:.0f}%" if without else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(simulate(args.days))


if __name__ == "__main__":
    main()
