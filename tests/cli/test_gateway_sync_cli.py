"""`missionctl gateway sync` as an operator runs it, against a migrated database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from mission_control.core import migrations


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
    result = _run(tmp_path, str(uuid.uuid4()))
    assert result.returncode == 1, result.stderr
    assert "Template sync failed: gateway not found" in result.stderr


def test_bad_id_is_a_usage_error(tmp_path: Path) -> None:
    result = _run(tmp_path, "not-a-uuid")
    assert result.returncode == 2
    assert "Not an id" in result.stderr
