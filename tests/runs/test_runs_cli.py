"""`missionctl runs` against a real Mission Control process on the run tests' database."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from mission_control.cli import app
from mission_control.core.runtime import Runtime
from mission_control.runs.models import BoardRunPolicy
from mission_control.tasks.models import Task
from tests.runs.conftest import make_world
from tests.support.mc_server import McServerProcess


@pytest.fixture(scope="module")
def served(sqlite_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[McServerProcess]:
    server = McServerProcess(
        database_url=sqlite_url,
        data_dir=tmp_path_factory.mktemp("runs-cli"),
        operator_token=secrets.token_urlsafe(48),
        secret_key=Fernet.generate_key().decode(),
        extra_env={"MC_RECONCILER_ENABLED": "false"},
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_runs_cli_lists_refuses_with_the_code_and_reports_unknown_runs(
    served: McServerProcess, runs_runtime: Runtime, tmp_path: Path
) -> None:
    world = await make_world(runs_runtime, url="ws://127.0.0.1:9", token="unused-token")
    async with runs_runtime.database.unit_of_work() as session:
        task = Task(board_id=world.board.id, title="Via CLI", assigned_agent_id=world.worker.id)
        session.add(task)
        await session.flush()
        task_id = str(task.id)
    board = str(world.board.id)
    common = ["--url", served.base_url, "--token", world.writer.token]
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, ["runs", *args, *common])
        return result.exit_code, result.stdout, result.stderr

    code, out, _ = await asyncio.to_thread(invoke, "list", board, task_id)
    assert code == 0, out
    listing = json.loads(out)
    assert listing["runs"] == []
    assert listing["usage"]["runs"] == 0
    async with runs_runtime.database.unit_of_work() as session:
        session.add(BoardRunPolicy(board_id=world.board.id, enabled=False))
    code, _, err = await asyncio.to_thread(invoke, "start", board, task_id, "--key", "cli-1")
    assert code == 1
    assert "403 runs_disabled" in err
    code, _, err = await asyncio.to_thread(invoke, "show", board, task_id, str(uuid.uuid4()))
    assert code == 1
    assert "404 not_found" in err
