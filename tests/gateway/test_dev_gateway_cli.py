"""`missionctl dev-gateway`: an operator's local gateway, started and stopped by the CLI."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.gateway


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_dev_gateway_command(gateway_install: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MC_")}
    log = tmp_path / "out.log"
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
                str(tmp_path / "gw"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 150
        match = None
        while time.monotonic() < deadline and match is None:
            assert process.poll() is None, log.read_text()
            match = re.search(r"ready at ws://127\.0\.0\.1:(\d+)", log.read_text())
            time.sleep(0.2)
        assert match is not None, log.read_text()
        port = int(match.group(1))
        assert _accepts(port)
        assert "token: " in log.read_text()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
    assert "gateway stopped" in log.read_text()
    assert not _accepts(port)
