"""A throwaway PostgreSQL cluster for the test session, on a free loopback port."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SERVICE_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found; run scripts/install-postgres.sh "
        "(the test command does this)."
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """initdb + postgres in ``base_dir``; as root it runs as the 'postgres' user
    (initdb refuses root)."""

    base_dir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "sock"

    def _run_as(self) -> str | None:
        return SERVICE_USER if os.geteuid() == 0 else None

    def _prepare_dirs(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        user = self._run_as()
        if user is None:
            return
        try:
            entry = pwd.getpwnam(user)
        except KeyError as error:
            raise PostgresUnavailable(
                f"running as root needs the '{user}' system user (created by Debian's package)"
            ) from error
        # The service user must be able to reach its directories.
        for path in (self.base_dir, self.socket_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def start(self, timeout: float = 60.0) -> str:
        """Start the cluster; returns an asyncpg SQLAlchemy URL to its 'postgres' database."""
        bindir = find_bindir()
        self._prepare_dirs()
        log = self.base_dir / "initdb.log"
        with log.open("wb") as out:
            result = subprocess.run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                user=self._run_as(),
                check=False,
            )
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {log.read_text()[-2000:]}")
        self.port = free_port()
        server_log = (self.base_dir / "server.log").open("wb")
        self.process = subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.socket_dir),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            stdout=server_log,
            stderr=subprocess.STDOUT,
            user=self._run_as(),
            start_new_session=True,
        )
        self._wait_ready(timeout)
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                log = (self.base_dir / "server.log").read_text(errors="replace")
                raise PostgresUnavailable(f"postgres exited at start: {log[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
            except OSError:
                time.sleep(0.1)
                continue
            if self._accepts_queries():
                return
            time.sleep(0.1)
        raise PostgresUnavailable(f"postgres did not accept connections within {timeout:.0f} s")

    def _accepts_queries(self) -> bool:
        psql = find_bindir() / "psql"
        if not psql.exists():
            return True
        result = subprocess.run(
            [
                str(psql),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-tAc",
                "SELECT 1",
            ],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SIGINT is PostgreSQL's "fast shutdown": roll back clients, stop cleanly.
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
