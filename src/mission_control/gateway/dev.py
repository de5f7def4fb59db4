"""Dev/test gateways: start an isolated OpenClaw gateway process from the install made by
scripts/install-gateway.sh, wait until it serves, and stop it (with its children) by pid."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

GatewayVersion = Literal["current", "legacy"]

NODE_VERSION = "26.10.0"
# A gateway on port P also claims P+2..P+110 (browser control and friends).
PORT_SPAN = 111
READY_MARKER = "[gateway] ready"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
_QUIET_ENV = {
    "OPENCLAW_SKIP_CHANNELS": "1",
    "OPENCLAW_SKIP_CRON": "1",
    "OPENCLAW_SKIP_GMAIL_WATCHER": "1",
    "OPENCLAW_SKIP_CANVAS_HOST": "1",
    "OPENCLAW_SKIP_BROWSER_CONTROL_SERVER": "1",
    "OPENCLAW_SKIP_STARTUP_MODEL_PREWARM": "1",
    "OPENCLAW_NO_AUTO_UPDATE": "1",
    "OPENCLAW_DISABLE_BONJOUR": "1",
    "OPENCLAW_NO_RESPAWN": "1",
}


class DevGatewayError(RuntimeError):
    """The dev gateway is not installed, did not start, or did not become ready."""


@dataclass(frozen=True)
class GatewayInstall:
    node: Path
    entry: Path

    @classmethod
    def locate(cls, install_dir: Path, version: GatewayVersion) -> GatewayInstall:
        node = install_dir / f"node-{NODE_VERSION}" / "bin" / "node"
        entry = install_dir / version / "node_modules" / "openclaw" / "openclaw.mjs"
        for path in (node, entry):
            if not path.exists():
                raise DevGatewayError(
                    f"{path} is missing: run `bash scripts/install-gateway.sh` first "
                    f"(expected the install under {install_dir})"
                )
        return cls(node=node, entry=entry)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def find_free_port(low: int = 30000, high: int = 60000, span: int = PORT_SPAN) -> int:
    """A loopback port P with P..P+span-1 all free, so the gateway's side ports fit too."""
    rng = secrets.SystemRandom()
    for _ in range(200):
        port = rng.randrange(low, high - span)
        if all(port_is_free(candidate) for candidate in range(port, port + span)):
            return port
    raise DevGatewayError(f"no free port range of {span} ports between {low} and {high}")


def quiet_config(state_dir: Path, version: GatewayVersion, tls: bool = False) -> dict[str, Any]:
    """Offline, quiet settings written before the first start (E2E.md)."""
    config: dict[str, Any] = {
        "update": {"checkOnStart": False},
        "discovery": {"mdns": {"mode": "off"}},
        "logging": {"file": str(state_dir / "gateway.log")},
        "agents": {"defaults": {"heartbeat": {"every": "0m"}}},
    }
    # 2026.5.7 rejects the whole file on this key ("Unrecognized key: catalogRefresh").
    if version == "current":
        config["models"] = {"catalogRefresh": {"enabled": False}}
    if tls:
        # The gateway generates a self-signed pair under its state dir on first start.
        config["gateway"] = {"tls": {"enabled": True, "autoGenerate": True}}
    return config


@dataclass
class DevGateway:
    install: GatewayInstall
    state_dir: Path
    port: int
    token: str = field(repr=False)
    version: GatewayVersion
    ready_timeout: float = 120.0
    tls: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _output_offset: int = field(default=0, init=False, repr=False)

    @property
    def url(self) -> str:
        scheme = "wss" if self.tls else "ws"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def output_path(self) -> Path:
        return self.state_dir / "gateway.out"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self._prepare_state()
        with self.output_path.open("ab") as output:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                self._argv(),
                cwd=self.state_dir,
                env=self.process_env(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                # Own process group: stop() signals the gateway and every child it spawned.
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        # The gateway's spawn broker starts its own process group; remember it before stopping.
        escaped = [pid for pid in descendants(process.pid) if _group_of(pid) != process.pid]
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout)
        # Children that ignored SIGTERM die with the group even if the leader exited.
        _signal_group(process.pid, signal.SIGKILL)
        for pid in escaped:
            _signal_group(pid, signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.output_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(_ANSI.sub("", text).splitlines()[-lines:])

    def _prepare_state(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        openclaw_dir = self.state_dir / ".openclaw"
        openclaw_dir.mkdir(exist_ok=True)
        config_path = openclaw_dir / "openclaw.json"
        if not config_path.exists():
            config = quiet_config(self.state_dir, self.version, self.tls)
            config_path.write_text(json.dumps(config, indent=2))
        self._output_offset = self.output_path.stat().st_size if self.output_path.exists() else 0

    def _argv(self) -> list[str]:
        return [
            str(self.install.node),
            str(self.install.entry),
            "gateway",
            "--dev",
            "--allow-unconfigured",
            "--auth",
            "token",
            "--token",
            self.token,
            "--port",
            str(self.port),
            "--bind",
            "loopback",
        ]

    def process_env(self) -> dict[str, str]:
        # Built from scratch: the gateway must not see the operator's HOME, tokens or config.
        return {
            "PATH": f"{self.install.node.parent}:{_SYSTEM_PATH}",
            "HOME": str(self.state_dir),
            "OPENCLAW_STATE_DIR": str(self.state_dir / ".openclaw"),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            **_QUIET_ENV,
        }

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            process = self.process
            if process is None or process.poll() is not None:
                code = process.returncode if process is not None else None
                raise DevGatewayError(
                    f"gateway ({self.version}) exited with code {code} before it was ready; "
                    f"last output:\n{self.log_tail()}"
                )
            if self._saw_ready() and _accepts(self.port):
                return
            time.sleep(0.1)
        raise DevGatewayError(
            f"gateway ({self.version}) on port {self.port} not ready after "
            f"{self.ready_timeout:g}s; last output:\n{self.log_tail()}"
        )

    def _saw_ready(self) -> bool:
        with self.output_path.open("rb") as output:
            output.seek(self._output_offset)
            return READY_MARKER in _ANSI.sub("", output.read().decode(errors="replace"))


def start_dev_gateway(
    install_dir: Path,
    state_dir: Path,
    port: int | None = None,
    token: str | None = None,
    version: GatewayVersion = "current",
    ready_timeout: float = 120.0,
    tls: bool = False,
) -> DevGateway:
    """Start an isolated gateway and return once it accepts connections (wss:// with `tls`)."""
    gateway = DevGateway(
        install=GatewayInstall.locate(install_dir, version),
        state_dir=state_dir.resolve(),
        port=port if port is not None else find_free_port(),
        token=token or secrets.token_urlsafe(24),
        version=version,
        ready_timeout=ready_timeout,
        tls=tls,
    )
    gateway.start()
    return gateway


def descendants(pid: int) -> list[int]:
    """All processes below `pid` (Linux /proc), children before grandchildren."""
    found: list[int] = []
    queue = [pid]
    while queue:
        parent = queue.pop(0)
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                children = [int(child) for child in task.read_text().split()]
                found.extend(children)
                queue.extend(children)
    return found


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
