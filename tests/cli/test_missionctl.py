"""`missionctl` as an operator runs it: a real server process on a free port, and db commands."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mission_control.core import migrations

MISSIONCTL = [sys.executable, "-m", "mission_control.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MC_")}
    return {**env, "MC_DATA_DIR": str(data_dir), **extra}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [*MISSIONCTL, "serve", "--port", str(port)],
        env=_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = (tmp_path / "serve.log").read_text(errors="replace")
                pytest.fail(f"missionctl serve exited early:\n{output}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("missionctl serve did not answer /healthz within 30 s")
        yield base, tmp_path
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def test_serve_creates_token_database_and_answers(server: tuple[str, Path]) -> None:
    base, data_dir = server
    token_file = data_dir / "operator-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert (data_dir / "secret.key").stat().st_mode & 0o777 == 0o600
    assert (data_dir / "mission-control.db").exists()
    assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
    token = token_file.read_text().strip()
    me = httpx.get(f"{base}/api/v1/organizations/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["role"] == "owner"


def test_serve_refuses_a_short_token(tmp_path: Path) -> None:
    result = subprocess.run(
        [*MISSIONCTL, "serve", "--port", str(_free_port())],
        env=_env(tmp_path, MC_AUTH_TOKEN="too-short"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "at least 50" in result.stderr


def test_db_upgrade_and_current(tmp_path: Path) -> None:
    before = subprocess.run(
        [*MISSIONCTL, "db", "current"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "current: none" in before.stdout
    subprocess.run(
        [*MISSIONCTL, "db", "upgrade"], env=_env(tmp_path), check=True, capture_output=True
    )
    after = subprocess.run(
        [*MISSIONCTL, "db", "current"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"current: {migrations.head_revision()}" in after.stdout
    assert "up to date" in after.stdout


def test_serve_tells_agents_the_port_it_serves_on(server: tuple[str, Path]) -> None:
    """`serve --port P` without MC_BASE_URL writes http://127.0.0.1:P into workspaces."""
    base, data_dir = server
    log = (data_dir / "serve.log").read_text(errors="replace")
    assert f"Agents are told to call {base} (MC_BASE_URL)." in log
    assert f"Creating the secret key in {data_dir / 'secret.key'}" in log
