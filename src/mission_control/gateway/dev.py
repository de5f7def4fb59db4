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


def quiet_config(
    state_dir: Path, version: GatewayVersion, tls: bool = False, heartbeats: bool = False
) -> dict[str, Any]:
    """Offline, quiet settings written before the first start (E2E.md). Without
    ``heartbeats`` no agent beats by default (tests); with it each agent beats at the cadence
    Mission Control writes for it."""
    config: dict[str, Any] = {
        "update": {"checkOnStart": False},
        "discovery": {"mdns": {"mode": "off"}},
        "logging": {"file": str(state_dir / "gateway.log")},
    }
    if not heartbeats:
        config["agents"] = {"defaults": {"heartbeat": {"every": "0m"}}}
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
    heartbeats: bool = False
    extra_config: dict[str, Any] | None = field(default=None, repr=False)
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
            config = quiet_config(self.state_dir, self.version, self.tls, self.heartbeats)
            config_path.write_text(
                json.dumps(merge_config(config, self.extra_config or {}), indent=2)
            )
        elif self.heartbeats or self.extra_config:
            self._update_config(config_path)
        self._output_offset = self.output_path.stat().st_size if self.output_path.exists() else 0

    def _update_config(self, path: Path) -> None:
        """A state dir kept across starts: heartbeats back on, the extra config merged in."""
        try:
            config = json.loads(path.read_text())
        except ValueError:
            return  # rewritten by the gateway in a form we do not edit; leave it alone
        if not isinstance(config, dict):
            return
        if self.heartbeats:
            defaults = config.get("agents", {}).get("defaults", {})
            if isinstance(defaults, dict) and defaults.get("heartbeat") == {"every": "0m"}:
                del defaults["heartbeat"]
        path.write_text(json.dumps(merge_config(config, self.extra_config or {}), indent=2))

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
        quiet = dict(_QUIET_ENV)
        if self.heartbeats:
            # The gateway's scheduler runs agents' heartbeats; skipping cron stops them all.
            del quiet["OPENCLAW_SKIP_CRON"]
        return {
            "PATH": f"{self.install.node.parent}:{_SYSTEM_PATH}",
            "HOME": str(self.state_dir),
            "OPENCLAW_STATE_DIR": str(self.state_dir / ".openclaw"),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            **quiet,
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
    heartbeats: bool = False,
    extra_config: dict[str, Any] | None = None,
) -> DevGateway:
    """Start an isolated gateway and return once it accepts connections (wss:// with `tls`).
    ``heartbeats`` leaves the gateway's scheduler on; ``extra_config`` is merged into its
    config file before the start (e.g. a model provider)."""
    gateway = DevGateway(
        install=GatewayInstall.locate(install_dir, version),
        state_dir=state_dir.resolve(),
        port=port if port is not None else find_free_port(),
        token=token or secrets.token_urlsafe(24),
        version=version,
        ready_timeout=ready_timeout,
        tls=tls,
        heartbeats=heartbeats,
        extra_config=extra_config,
    )
    gateway.start()
    return gateway


def merge_config(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``patch`` merged into ``base`` recursively (objects merge, anything else replaces)."""
    merged = dict(base)
    for key, value in patch.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = merge_config(current, value)
        else:
            merged[key] = value
    return merged


# -- a kept dev gateway: same token and port across restarts ----------------------------------

TOKEN_FILE = "gateway-token"
PORT_FILE = "gateway-port"
MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class DevGatewayIdentity:
    """What a registered gateway depends on: its address and token, kept in its state dir."""

    port: int
    token: str = field(repr=False)
    token_created: bool = False


def kept_identity(
    state_dir: Path, *, token: str | None = None, port: int | None = None
) -> DevGatewayIdentity:
    """The token and port kept in ``state_dir`` (created on first use, token file mode 0600);
    ``token`` or ``port`` given replace the kept ones. A restarted dev gateway keeps its URL and
    token, so Mission Control's registration of it keeps working."""
    state_dir.mkdir(parents=True, exist_ok=True)
    token_path, port_path = state_dir / TOKEN_FILE, state_dir / PORT_FILE
    created = False
    if token is not None:
        token = token.strip()
        if len(token) < MIN_TOKEN_LENGTH:
            raise DevGatewayError(
                f"the gateway token must be at least {MIN_TOKEN_LENGTH} characters"
            )
    elif token_path.exists():
        token = token_path.read_text(encoding="utf-8").strip()
    else:
        token, created = secrets.token_urlsafe(24), True
    if not token_path.exists() or token_path.read_text(encoding="utf-8").strip() != token:
        token_path.touch(mode=0o600)
        token_path.write_text(token + "\n", encoding="utf-8")
    if port is None and port_path.exists():
        port = int(port_path.read_text(encoding="utf-8").strip())
        if not _bindable_soon(port):
            raise DevGatewayError(
                f"port {port} (kept in {port_path}) is in use: is this dev gateway already "
                "running? Stop it, or pass --port to move it (then update the registered URL)."
            )
    if port is None:
        port = find_free_port()
    port_path.write_text(f"{port}\n", encoding="utf-8")
    return DevGatewayIdentity(port=port, token=token, token_created=created)


def _bindable(port: int) -> bool:
    """Whether a listener can bind ``port`` the way the gateway does (address reuse on, so
    connections of a stopped gateway lingering in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _bindable_soon(port: int, wait: float = 10.0) -> bool:
    """A gateway stopped a moment ago may still be letting go of its ports."""
    deadline = time.monotonic() + wait
    while True:
        if _bindable(port) and _bindable(port + 2):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)


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
