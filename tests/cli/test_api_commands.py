"""`missionctl`'s everyday commands against a served Mission Control (issue 16, finding 7):
status, boards, agents, tasks, approvals, gateways and tokens over the HTTP API with a token,
tables or --json, non-zero exits with the server's message."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from mission_control.cli import app
from mission_control.cli_api.client import Api
from mission_control.core import migrations
from mission_control.demo.local import LocalGateway
from mission_control.demo.tryit import register_gateway
from mission_control.gateway.dev import DevGateway, GatewayInstall
from tests.support.mc_server import McServerProcess, free_loopback_port


@dataclass
class Served:
    url: str
    token: str
    board_id: str
    gateway_id: str

    def env(self) -> dict[str, str]:
        return {"MC_URL": self.url, "MC_TOKEN": self.token}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("cli-api")
    url = f"sqlite+aiosqlite:///{root / 'mission-control.db'}"
    migrations.upgrade(url)
    token = secrets.token_urlsafe(48)
    server = McServerProcess(
        database_url=url,
        data_dir=root / "data",
        operator_token=token,
        secret_key=Fernet.generate_key().decode(),
        extra_env={"MC_RECONCILER_ENABLED": "false"},
    )
    base = server.start()
    headers = {"Authorization": f"Bearer {token}"}
    dead = f"ws://127.0.0.1:{free_loopback_port()}"  # nothing listens: not connected
    try:
        gateway = httpx.post(
            f"{base}/api/v1/gateways",
            json={"name": "edge-cli", "url": dead, "token": "t" * 20, "workspace_root": "/srv"},
            headers=headers,
            timeout=60,
        ).json()
        board = httpx.post(
            f"{base}/api/v1/boards",
            json={"name": "CLI board", "gateway_id": gateway["id"]},
            headers=headers,
        ).json()
        for title in ("Write the runbook", "Ship the release"):
            task = httpx.post(
                f"{base}/api/v1/boards/{board['id']}/tasks", json={"title": title}, headers=headers
            ).json()
            httpx.post(
                f"{base}/api/v1/boards/{board['id']}/approvals",
                json={"action_type": "deploy", "payload": {"reason": title}, "task_id": task["id"]},
                headers=headers,
            ).raise_for_status()
        yield Served(url=base, token=token, board_id=board["id"], gateway_id=gateway["id"])
    finally:
        server.stop()


def run(served: Served, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=served.env())
    return result.exit_code, result.stdout, result.stderr


def run_json(served: Served, *args: str) -> object:
    code, out, err = run(served, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_status_reports_the_fleet_and_fails_on_a_disconnected_gateway(served: Served) -> None:
    code, out, _err = run(served, "status")
    assert code == 1  # the only gateway is not connected
    assert "edge-cli" in out
    assert "NOT connected" in out
    assert "Pending approvals: 2" in out
    code, out, _err = run(served, "status", "--json")
    report = json.loads(out)
    assert report["pending_approvals"] == 2
    assert report["agents_by_status"] == {"provisioning": 1}  # the gateway-main agent
    assert report["gateways"][0]["connected"] is False


def test_boards_agents_tasks(served: Served) -> None:
    boards = run_json(served, "boards", "list")
    assert isinstance(boards, list)
    assert [b["name"] for b in boards] == ["CLI board"]
    code, out, _err = run(served, "boards", "list")
    assert code == 0
    assert "CLI board" in out
    assert out.splitlines()[0].startswith("ID")
    agents = run_json(served, "agents", "list")
    assert isinstance(agents, list)
    (main,) = agents
    shown = run_json(served, "agents", "show", main["id"])
    assert isinstance(shown, dict)
    assert shown["id"] == main["id"]
    tasks = run_json(served, "tasks", "list", "--board", served.board_id)
    assert isinstance(tasks, list)
    assert sorted(t["title"] for t in tasks) == ["Ship the release", "Write the runbook"]


def test_approvals_list_approve_reject(served: Served) -> None:
    pending = run_json(served, "approvals", "list")
    assert isinstance(pending, list)
    assert len(pending) == 2
    first, second = pending
    approved = run_json(served, "approvals", "approve", first["id"], "--note", "ship it")
    assert isinstance(approved, dict)
    assert approved["status"] == "approved"
    rejected = run_json(served, "approvals", "reject", second["id"])
    assert isinstance(rejected, dict)
    assert rejected["status"] == "rejected"
    assert run_json(served, "approvals", "list") == []
    code, _out, err = run(served, "approvals", "approve", first["id"])
    assert code == 1
    assert "HTTP 409" in err


def test_gateways_status_and_sync(served: Served) -> None:
    listed = run_json(served, "gateways", "list")
    assert isinstance(listed, list)
    assert [g["id"] for g in listed] == [served.gateway_id]
    code, out, _err = run(served, "gateways", "status", served.gateway_id)
    assert code == 1
    assert "connected: False" in out
    assert "error:" in out
    code, out, _err = run(served, "gateways", "sync", served.gateway_id, "--json")
    assert code == 1  # the report lists the unreachable gateway
    assert json.loads(out)["errors"]


def test_tokens_create_list_revoke(served: Served) -> None:
    created = run_json(served, "tokens", "create", "ci")
    assert isinstance(created, dict)
    assert created["token"].startswith("mcu_")
    listed = run_json(served, "tokens", "list")
    assert isinstance(listed, list)
    assert created["id"] in {t["id"] for t in listed}
    assert all("token" not in t for t in listed)
    # The new token works for the commands too.
    result = CliRunner().invoke(
        app, ["boards", "list", "--json"], env={"MC_URL": served.url, "MC_TOKEN": created["token"]}
    )
    assert result.exit_code == 0, result.stderr
    assert run_json(served, "tokens", "revoke", created["id"]) == {"revoked": created["id"]}
    result = CliRunner().invoke(
        app, ["boards", "list"], env={"MC_URL": served.url, "MC_TOKEN": created["token"]}
    )
    assert result.exit_code == 1
    assert "HTTP 401" in result.stderr


def test_failures_are_messages_not_tracebacks(served: Served, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["boards", "list"], env={"MC_URL": served.url, "MC_TOKEN": "wrong" * 12}
    )
    assert result.exit_code == 1
    assert "HTTP 401" in result.stderr
    assert "Traceback" not in result.stderr
    unreachable = f"http://127.0.0.1:{free_loopback_port()}"
    result = CliRunner().invoke(
        app, ["agents", "list"], env={"MC_URL": unreachable, "MC_TOKEN": served.token}
    )
    assert result.exit_code == 1
    assert "Cannot reach Mission Control" in result.stderr
    # No token anywhere: the data dir named, exit 2.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MC_")}
    env.update({"MC_DATA_DIR": str(tmp_path), "MC_URL": served.url})
    process = subprocess.run(
        [sys.executable, "-m", "mission_control.cli", "boards", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 2
    assert str(tmp_path) in process.stderr
    assert "Traceback" not in process.stderr


def test_the_operator_token_file_is_the_default(served: Served, tmp_path: Path) -> None:
    (tmp_path / "operator-token").write_text(served.token + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MC_")}
    env.update({"MC_DATA_DIR": str(tmp_path), "MC_URL": served.url})
    process = subprocess.run(
        [sys.executable, "-m", "mission_control.cli", "boards", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    assert json.loads(process.stdout)[0]["name"] == "CLI board"


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["boards", "list"],
        ["agents", "list"],
        ["agents", "show"],
        ["tasks", "list"],
        ["approvals", "list"],
        ["approvals", "approve"],
        ["approvals", "reject"],
        ["gateways", "status"],
        ["gateways", "sync"],
        ["tokens", "list"],
        ["tokens", "create"],
        ["tokens", "revoke"],
        ["try-it"],
        ["demo-model"],
        ["dev-gateway"],
    ],
)
def test_every_command_explains_itself(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    options = "--json" in result.stdout or command[0] in ("try-it", "demo-model", "dev-gateway")
    assert options
    assert len(result.stdout.split("Options")[0]) > 60  # a sentence, not just the usage line


def test_try_it_reuses_the_registration_of_its_gateway(served: Served, tmp_path: Path) -> None:
    """Run again (a restarted dev gateway), try-it updates its registration instead of making
    a second one; the server refuses the same URL twice."""
    install = GatewayInstall(node=tmp_path / "node", entry=tmp_path / "openclaw.mjs")
    gateway = DevGateway(
        install=install,
        state_dir=tmp_path,
        port=free_loopback_port(),
        token="kept-token-" + "x" * 20,
        version="current",
    )
    local = LocalGateway(gateway=gateway, model=None, token_created=False)
    api = Api(url=served.url, token=served.token)
    said: list[str] = []
    first = register_gateway(api, local, said.append)
    again = register_gateway(api, local, said.append)
    assert again == first
    assert any("already registered" in line for line in said)
    listed = run_json(served, "gateways", "list")
    assert isinstance(listed, list)
    assert [g["url"] for g in listed].count(gateway.url) == 1
    api.request("DELETE", f"/api/v1/gateways/{first}")
