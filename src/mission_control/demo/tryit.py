"""``missionctl try-it``: the README's try-it path in one command. It uses the Mission Control
at --url (starting one there when none answers), starts the local dev gateway with heartbeats,
its kept token and the demo model, registers the gateway, creates a board and an agent, and
shows the agent come online. Run again, it reuses what the last run registered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from mission_control.cli_api.client import Api, CliError, resolve_token
from mission_control.demo.local import LocalGateway, start_local_gateway
from mission_control.gateway.dev import GatewayVersion

API = "/api/v1"
GATEWAY_NAME = "try-it local gateway"
BOARD_NAME = "Try-it board"
BOARD_SLUG = "try-it"
AGENT_NAME = "Demo Agent"
SERVER_START_SECONDS = 60.0

Say = Callable[[str], None]


@dataclass
class TryItOptions:
    url: str
    token: str | None
    install_dir: Path
    state_dir: Path
    version: GatewayVersion = "current"
    timeout: float = 180.0
    keep_running: bool = True
    server_log: Path = Path("try-it-server.log")


@dataclass
class TryItResult:
    gateway_id: str
    board_id: str
    agent_id: str
    agent_status: str


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def start_server(url: str, log_path: Path, say: Say) -> subprocess.Popen[bytes]:
    """``missionctl serve`` on the URL's host and port, in this data directory; its output goes
    to ``log_path``."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 8000
    say(
        f"No Mission Control answers at {url}: starting one (missionctl serve --port {port}; "
        f"log: {log_path})."
    )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed argv
            [
                sys.executable,
                "-m",
                "mission_control.cli",
                "serve",
                "--host",
                host,
                "--port",
                str(port),
            ],
            env=os.environ.copy(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise CliError(f"missionctl serve exited with code {process.returncode}:\n{tail}")
        if _healthy(url):
            return process
        time.sleep(0.2)
    stop_server(process)
    raise CliError(f"Mission Control did not answer at {url} within {SERVER_START_SECONDS:.0f} s.")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def register_gateway(api: Api, local: LocalGateway, say: Say) -> str:
    """Registers the local gateway, or reuses (and updates) the registration of its URL."""
    for gateway in api.pages(f"{API}/gateways"):
        if gateway["url"].rstrip("/") == local.gateway.url.rstrip("/"):
            return _update_registration(api, str(gateway["id"]), local, say)
    body = {
        "name": f"{GATEWAY_NAME} :{local.gateway.port}",
        "url": local.gateway.url,
        "token": local.gateway.token,
        "workspace_root": str(local.workspace_root),
    }
    try:
        created = api.post(f"{API}/gateways", body)
    except CliError as error:
        if error.error_code != "gateway_url_taken" or not isinstance(error.details, dict):
            raise
        return _update_registration(api, str(error.details["gateway_id"]), local, say)
    say(f"Registered gateway {created['id']} ({local.gateway.url}).")
    main = created.get("main_agent") or {}
    if main.get("error"):
        say(f"  gateway agent: {main['error']}")
    return str(created["id"])


def _update_registration(api: Api, gateway_id: str, local: LocalGateway, say: Say) -> str:
    say(f"Gateway {local.gateway.url} is already registered ({gateway_id}); updating it.")
    patch = {"token": local.gateway.token, "workspace_root": str(local.workspace_root)}
    api.request("PATCH", f"{API}/gateways/{gateway_id}", body=patch)
    return gateway_id


def ensure_board(api: Api, gateway_id: str, say: Say) -> str:
    for board in api.pages(f"{API}/boards"):
        if board["slug"] == BOARD_SLUG:
            if board.get("gateway_id") != gateway_id:
                api.request("PATCH", f"{API}/boards/{board['id']}", body={"gateway_id": gateway_id})
            say(f"Using board {board['name']} ({board['id']}).")
            return str(board["id"])
    body = {
        "name": BOARD_NAME,
        "slug": BOARD_SLUG,
        "gateway_id": gateway_id,
        "description": "Created by `missionctl try-it` with the demo model.",
    }
    board = api.post(f"{API}/boards", body)
    say(f"Created board {board['name']} ({board['id']}).")
    return str(board["id"])


def ensure_agent(api: Api, board_id: str, say: Say) -> str:
    for agent in api.pages(f"{API}/agents", board_id=board_id):
        if agent["name"] == AGENT_NAME:
            say(f"Using agent {AGENT_NAME} ({agent['id']}); waking it again.")
            api.request("PATCH", f"{API}/agents/{agent['id']}", body={}, params={"force": True})
            return str(agent["id"])
    agent = api.post(f"{API}/agents", {"board_id": board_id, "name": AGENT_NAME})
    say(f"Created agent {AGENT_NAME} ({agent['id']}): {agent['status']}.")
    return str(agent["id"])


def wait_online(
    api: Api, agent_id: str, timeout: float, say: Say, stop: threading.Event | None = None
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last = None
    agent: dict[str, Any] = {}
    while time.monotonic() < deadline:
        if stop is not None and stop.is_set():
            raise CliError("Interrupted before the agent came online.", 130)
        agent = api.get(f"{API}/agents/{agent_id}")
        shown = (agent["status"], agent.get("last_provision_error"))
        if shown != last:
            error = f" ({shown[1]})" if shown[1] else ""
            say(f"  agent status: {shown[0]}{error}")
            last = shown
        if agent["status"] == "online":
            return agent
        time.sleep(1.0)
    raise CliError(
        f"The agent did not come online within {timeout:.0f} s (status {agent.get('status')}, "
        f"last provisioning error: {agent.get('last_provision_error')}). Check "
        f"`missionctl agents show {agent_id}` and the gateway log in its state dir."
    )


def run_try_it(options: TryItOptions, say: Say, stop: threading.Event) -> TryItResult:
    """The whole path; with ``keep_running`` it then waits for ``stop`` before shutting down
    what it started (the gateway, the demo model, and the server if it started one)."""
    url = options.url.rstrip("/")
    server = None if _healthy(url) else start_server(url, options.server_log, say)
    local: LocalGateway | None = None
    try:
        api = Api(url=url, token=resolve_token(options.token))
        say("Starting the local gateway with the demo model (scripted, offline: not an AI)...")
        local = start_local_gateway(options.install_dir, options.state_dir, version=options.version)
        say(f"Gateway ready at {local.gateway.url} (state: {local.gateway.state_dir}).")
        gateway_id = register_gateway(api, local, say)
        board_id = ensure_board(api, gateway_id, say)
        agent_id = ensure_agent(api, board_id, say)
        agent = wait_online(api, agent_id, options.timeout, say, stop)
        say(f"Agent {agent['name']} is online (last seen {agent['last_seen_at']}).")
        say(f"Look around: missionctl status --url {url}   ·   API docs: {url}/api/v1/docs")
        if options.keep_running:
            say(
                "Ctrl-C stops the gateway and the demo model"
                + (" and Mission Control." if server else ".")
            )
            stop.wait()
        return TryItResult(gateway_id, board_id, agent_id, agent["status"])
    finally:
        if local is not None:
            local.stop()
        if server is not None:
            stop_server(server)
