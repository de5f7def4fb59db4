"""The dev gateway's kept state and settings (issue 16, finding 2): one token and port across
restarts, `--token` replaces the kept one, heartbeats leave the scheduler on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mission_control.gateway.dev import (
    DevGateway,
    DevGatewayError,
    GatewayInstall,
    kept_identity,
    merge_config,
    quiet_config,
)


def test_the_token_and_port_are_kept(tmp_path: Path) -> None:
    first = kept_identity(tmp_path)
    assert first.token_created
    assert (tmp_path / "gateway-token").stat().st_mode & 0o777 == 0o600
    again = kept_identity(tmp_path)
    assert (again.token, again.port) == (first.token, first.port)
    assert not again.token_created


def test_a_given_token_replaces_the_kept_one(tmp_path: Path) -> None:
    kept_identity(tmp_path)
    chosen = kept_identity(tmp_path, token="an-operator-chosen-token")
    assert chosen.token == "an-operator-chosen-token"
    assert kept_identity(tmp_path).token == "an-operator-chosen-token"
    with pytest.raises(DevGatewayError, match="at least 16"):
        kept_identity(tmp_path, token="short")


def _gateway(tmp_path: Path, heartbeats: bool) -> DevGateway:
    install = GatewayInstall(node=tmp_path / "node", entry=tmp_path / "openclaw.mjs")
    return DevGateway(
        install=install,
        state_dir=tmp_path,
        port=1,
        token="t" * 20,
        version="current",
        heartbeats=heartbeats,
    )


def test_heartbeats_leave_the_scheduler_on(tmp_path: Path) -> None:
    assert "OPENCLAW_SKIP_CRON" in _gateway(tmp_path, heartbeats=False).process_env()
    assert "OPENCLAW_SKIP_CRON" not in _gateway(tmp_path, heartbeats=True).process_env()
    assert "agents" not in quiet_config(tmp_path, "current", heartbeats=True)
    quiet = quiet_config(tmp_path, "current")
    assert quiet["agents"]["defaults"]["heartbeat"] == {"every": "0m"}


def test_a_kept_state_dir_gets_heartbeats_back_and_the_extra_config(tmp_path: Path) -> None:
    config_path = tmp_path / ".openclaw" / "openclaw.json"
    config_path.parent.mkdir()
    config_path.write_text(json.dumps(quiet_config(tmp_path, "current")))
    gateway = _gateway(tmp_path, heartbeats=True)
    gateway.extra_config = {"models": {"mode": "merge"}}
    gateway._prepare_state()
    config = json.loads(config_path.read_text())
    assert "heartbeat" not in config["agents"]["defaults"]
    assert config["models"] == {"catalogRefresh": {"enabled": False}, "mode": "merge"}


def test_merge_config_merges_objects_and_replaces_the_rest() -> None:
    merged = merge_config({"a": {"b": 1, "c": [1]}, "d": 1}, {"a": {"c": [2]}, "e": 2})
    assert merged == {"a": {"b": 1, "c": [2]}, "d": 1, "e": 2}
