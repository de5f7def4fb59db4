"""Mission Control served over real HTTP on a free loopback port, for tests that need a URL
something else (an agent's ``curl``, a browser, another process) can reach.

Two ways, both stopped by their own handle, never by process name:

- ``McServerProcess``: ``python -m uvicorn mission_control.app:create_app --factory`` as a child
  process in its own process group, configured only through ``MC_*`` environment variables.
  This is how an operator runs it; the test process shares nothing with it but the database.
- ``InProcessMcServer``: a ``uvicorn.Server`` for a given FastAPI app, on its own event loop in a
  thread. Cheaper to start; the app (and its Database) must be used only by that thread's loop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from mission_control.cli import KEEP_ALIVE_SECONDS

HOST = "127.0.0.1"
_ADDRESS_IN_USE = "address already in use"


class McServerError(RuntimeError):
    """Mission Control did not start or did not answer."""


def free_loopback_port(avoid: Sequence[range] = ()) -> int:
    """A free loopback port outside every range in ``avoid`` (e.g. a gateway's claimed ports)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port: int = sock.getsockname()[1]
        if not any(port in span for span in avoid):
            return port
    raise McServerError("no free loopback port outside the avoided ranges")


def wait_healthy(base_url: str, timeout: float, alive: object = None) -> None:
    """Polls ``/healthz`` until it answers 200; ``alive`` is a callable saying the server lives."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if callable(alive) and not alive():
            raise McServerError("Mission Control exited before it answered /healthz")
        try:
            response = httpx.get(f"{base_url}/healthz", timeout=2.0)
        except httpx.TransportError as error:
            last_error = f"{error.__class__.__name__}: {error}"
        else:
            if response.status_code == 200:
                return
            last_error = f"HTTP {response.status_code}: {response.text[:200]}"
        time.sleep(0.1)
    raise McServerError(
        f"Mission Control did not answer /healthz within {timeout:g} s: {last_error}"
    )


@dataclass
class McServerProcess:
    """Mission Control as a uvicorn child process against ``database_url`` (already migrated).

    ``base_url`` (the URL written into agents' workspaces, ``MC_BASE_URL``) is this server's own
    address. The process runs in its own session; ``stop()`` signals that group by pid."""

    database_url: str
    data_dir: Path
    operator_token: str = field(repr=False)
    secret_key: str = field(repr=False)
    avoid_ports: Sequence[range] = ()
    extra_env: Mapping[str, str] = field(default_factory=dict)
    start_timeout: float = 60.0
    port: int = 0
    # Restart on the same port (the URL agents were given stays valid), once one was chosen.
    keep_port: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "mission-control.log"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("MC_") and key not in {"PYTHONSTARTUP"}
        }
        env.update(
            {
                "MC_DATABASE_URL": self.database_url,
                "MC_DATA_DIR": str(self.data_dir),
                "MC_AUTH_TOKEN": self.operator_token,
                "MC_SECRET_KEY": self.secret_key,
                "MC_BASE_URL": self.base_url,
                "MC_LOG_LEVEL": "INFO",
                "MC_LOG_FORMAT": "console",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def argv(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "mission_control.app:create_app",
            "--factory",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--no-access-log",
            "--timeout-keep-alive",
            str(KEEP_ALIVE_SECONDS),
            "--log-level",
            "warning",
        ]

    def start(self) -> str:
        """Starts the server; returns its base URL once ``/healthz`` answers."""
        if self.running():
            return self.base_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for attempt in (1, 2, 3):
            if not (self.keep_port and self.port):
                self.port = free_loopback_port(self.avoid_ports)
            offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    self.argv(),
                    env=self.environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                wait_healthy(self.base_url, self.start_timeout, alive=self.running)
            except McServerError as error:
                output = self.log_tail(offset)
                self.stop()
                if _ADDRESS_IN_USE in output.lower() and attempt < 3:
                    continue  # someone took the port between choosing and binding it
                raise McServerError(f"{error}; its output:\n{output}") from error
            return self.base_url
        raise AssertionError("unreachable")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, offset: int = 0, chars: int = 4000) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def kill(self) -> None:
        """SIGKILL, as a crash: no shutdown code runs."""
        process, self.process = self.process, None
        if process is not None:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(10.0)

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait(timeout)
        _signal_group(process.pid, signal.SIGKILL)

    def __enter__(self) -> McServerProcess:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@dataclass
class InProcessMcServer:
    """Serves ``app`` with uvicorn on a free loopback port from a thread with its own loop."""

    app: FastAPI
    avoid_ports: Sequence[range] = ()
    start_timeout: float = 30.0
    port: int = 0
    _server: uvicorn.Server | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> str:
        if self._thread is not None:
            return self.base_url
        self.port = free_loopback_port(self.avoid_ports)
        config = uvicorn.Config(
            self.app,
            host=HOST,
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        server = uvicorn.Server(config)
        # Not in the main thread, so uvicorn installs no signal handlers of its own.
        thread = threading.Thread(target=server.run, name="mission-control", daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not server.started:
            if not thread.is_alive():
                self._thread = None
                raise McServerError(f"uvicorn stopped before serving on port {self.port}")
            if time.monotonic() > deadline:
                self.stop()
                raise McServerError(f"uvicorn not serving after {self.start_timeout:g} s")
            time.sleep(0.05)
        return self.base_url

    def stop(self, timeout: float = 10.0) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        if thread.is_alive():
            raise McServerError("uvicorn thread did not stop")

    def __enter__(self) -> InProcessMcServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
