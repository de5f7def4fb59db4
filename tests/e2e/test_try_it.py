"""The README's try-it path (issue 16): `missionctl try-it` from a fresh data directory starts
a local gateway with heartbeats, a kept token and the demo model, starts Mission Control,
registers the gateway, creates a board and an agent, and the agent comes online. (A restarted
dev gateway keeping its URL and token: tests/gateway/test_dev_gateway_cli.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mc_server import free_loopback_port

pytestmark = pytest.mark.gateway

RUN_TIMEOUT = 400


def _try_it(data_dir: Path, install_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MC_")}
    env["MC_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mission_control.cli",
            "try-it",
            "--url",
            f"http://127.0.0.1:{port}",
            "--install-dir",
            str(install_dir),
            "--no-keep-running",
            "--timeout",
            "240",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


def _result(run: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr[-3000:]}"
    last = run.stdout.strip().splitlines()[-1]
    result: dict[str, str] = json.loads(last)
    return result


@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_try_it_from_a_fresh_data_dir_brings_an_agent_online(
    gateway_install: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    port = free_loopback_port()
    first = _try_it(data_dir, gateway_install, port)
    result = _result(first)
    assert result["agent_status"] == "online"
    assert "demo model" in first.stdout
    assert "Agent Demo Agent is online" in first.stdout
    state = data_dir / "dev-gateway"
    assert (state / "gateway-token").stat().st_mode & 0o777 == 0o600
    assert (data_dir / "operator-token").exists()
