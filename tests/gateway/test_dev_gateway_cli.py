"""`missionctl dev-gateway`: an operator's local gateway, started and stopped by the CLI, with
its scheduler on (agents heartbeat), the demo model configured, and the same URL and token
after a restart (issue 16, finding 2)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mission_control.demo.provider import demo_model_ref

pytestmark = pytest.mark.gateway


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _run_once(gateway_install: Path, state_dir: Path, log: Path, *extra: str) -> str:
    """Starts the command, waits for ready, stops it with Ctrl-C; returns its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MC_")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mission_control.cli",
                "dev-gateway",
                "--install-dir",
                str(gateway_install),
                "--state-dir",
                str(state_dir),
                *extra,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    port = None
    try:
        deadline = time.monotonic() + 150
        match = None
        while time.monotonic() < deadline and match is None:
            assert process.poll() is None, log.read_text()
            match = re.search(r"ready at ws://127\.0\.0\.1:(\d+)", log.read_text())
            time.sleep(0.2)
        assert match is not None, log.read_text()
        port = int(match.group(1))
        while "model: " not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _accepts(port)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
    output = log.read_text()
    assert "gateway stopped" in output
    assert port is not None
    assert not _accepts(port)
    return output


def _url_and_token(output: str) -> tuple[str, str]:
    url = re.search(r"ready at (ws://\S+)", output)
    token = re.search(r"token: (\S+)", output)
    assert url is not None
    assert token is not None
    return url.group(1), token.group(1)


@pytest.mark.timeout(600)
def test_dev_gateway_keeps_url_and_token_and_beats(gateway_install: Path, tmp_path: Path) -> None:
    state_dir = tmp_path / "gw"
    first = _run_once(gateway_install, state_dir, tmp_path / "first.log")
    url, token = _url_and_token(first)
    assert "built-in DEMO model" in first
    config = json.loads((state_dir / ".openclaw" / "openclaw.json").read_text())
    # Heartbeats on: no "every agent off" default, and the scheduler is not skipped.
    assert "heartbeat" not in config.get("agents", {}).get("defaults", {})
    assert config["agents"]["defaults"]["model"]["primary"] == demo_model_ref()

    second = _run_once(gateway_install, state_dir, tmp_path / "second.log")
    assert _url_and_token(second) == (url, token)  # a registration keeps working
