"""`missionctl gateway sync` as an operator runs it, against a migrated database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from cryptography.fernet import Fernet

from mission_control.core import migrations

REPO = Path(__file__).resolve().parents[2]


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MC_")}
    env["MC_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "mission_control.cli", "gateway", "sync", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_unknown_gateway_fails_with_a_message(tmp_path: Path) -> None:
    migrations.upgrade(f"sqlite+aiosqlite:///{tmp_path / 'mission-control.db'}")
    (tmp_path / "secret.key").write_bytes(Fernet.generate_key())  # as `missionctl serve` left it
    result = _run(tmp_path, str(uuid.uuid4()))
    assert result.returncode == 1, result.stderr
    assert "Template sync failed: gateway not found" in result.stderr


def test_bad_id_is_a_usage_error(tmp_path: Path) -> None:
    result = _run(tmp_path, "not-a-uuid")
    assert result.returncode == 2
    assert "Not an id" in result.stderr


def test_a_missing_database_is_a_message_and_nothing_is_created(tmp_path: Path) -> None:
    data_dir = tmp_path / "elsewhere"
    data_dir.mkdir()
    result = _run(data_dir, str(uuid.uuid4()))
    assert result.returncode == 2
    assert "No Mission Control database at" in result.stderr
    assert str(data_dir) in result.stderr
    assert "Traceback" not in result.stderr
    assert list(data_dir.iterdir()) == []  # no empty database, no new secret key


def test_an_unmigrated_database_says_to_upgrade(tmp_path: Path) -> None:
    (tmp_path / "mission-control.db").touch()
    result = _run(tmp_path, str(uuid.uuid4()))
    assert result.returncode == 2
    assert "missionctl db upgrade" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "secret.key").exists()


def test_no_secret_key_is_never_made_here(tmp_path: Path) -> None:
    migrations.upgrade(f"sqlite+aiosqlite:///{tmp_path / 'mission-control.db'}")
    result = _run(tmp_path, str(uuid.uuid4()))
    assert result.returncode == 2
    assert "No secret key" in result.stderr
    assert not (tmp_path / "secret.key").exists()


def test_missionctl_and_serve_sh_share_one_default_data_dir() -> None:
    """Without MC_DATA_DIR, a source checkout's commands use its .data/ (what serve.sh serves)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MC_")}
    probe = "from mission_control.settings import Settings; print(Settings().data_dir)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd="/",  # the directory a command runs from does not matter
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(result.stdout.strip()) == REPO / ".data"
    serve_sh = (REPO / "scripts" / "serve.sh").read_text()
    assert "MC_DATA_DIR=" not in serve_sh  # no second default of its own
