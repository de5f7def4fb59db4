"""`missionctl`: serve the app and manage the database."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import AnyHttpUrl, SecretStr

from mission_control.cli_api import register as register_api_commands
from mission_control.demo.commands import InstallDirOption, StateDirOption
from mission_control.demo.commands import register as register_demo_commands
from mission_control.runs import cli as runs_cli
from mission_control.settings import Settings, SettingsError

app = typer.Typer(
    help="Mission Control: a control plane for agents on OpenClaw gateways.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
gateway_app = typer.Typer(
    help="Registered gateways, directly on the database (no server needed; see also `gateways`).",
    no_args_is_help=True,
)
app.add_typer(gateway_app, name="gateway")
app.add_typer(runs_cli.app, name="runs")

# Everyday commands over the HTTP API, the demo parts, and other command groups: one line each.
register_api_commands(app)
register_demo_commands(app)

TOKEN_FILE = "operator-token"


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValueError as error:
        typer.secho(f"Invalid settings: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from error


def _token_from_data_dir(data_dir: Path) -> tuple[str, Path, bool]:
    """The operator token kept in the data dir, created (mode 0600) on first run."""
    path = data_dir / TOKEN_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), path, False
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(token + "\n", encoding="utf-8")
    return token, path, True


# Idle keep-alive connections stay open this long: longer than clients' pools keep them
# (httpx 5 s, proxies 60 s), so a client never reuses a connection the server is closing.
KEEP_ALIVE_SECONDS = 75


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8000,
    migrate: Annotated[
        bool, typer.Option(help="Upgrade the database schema before serving.")
    ] = True,
) -> None:
    """Serve the API (and apply pending migrations first)."""
    import uvicorn

    from mission_control.app import create_app
    from mission_control.core import migrations

    settings = _with_base_url(_load_settings(), host, port)
    if settings.auth_token is None:
        token, path, created = _token_from_data_dir(settings.data_dir)
        settings = settings.model_copy(update={"auth_token": SecretStr(token)})
        verb = "Created" if created else "Using"
        typer.echo(f"{verb} the operator token in {path} (set MC_AUTH_TOKEN to use your own).")
    try:
        settings.operator_token()
    except SettingsError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from error
    key_path = settings.data_dir / "secret.key"
    if settings.secret_key is None and not key_path.exists():
        typer.echo(
            f"Creating the secret key in {key_path} (it encrypts stored gateway tokens: keep it "
            "with your backups, or set MC_SECRET_KEY)."
        )
    if migrate:
        migrations.upgrade(settings.resolved_database_url)
    typer.echo(f"Mission Control on http://{host}:{port} (database: {_safe_url(settings)})")
    typer.echo(f"Agents are told to call {settings.agent_base_url} (MC_BASE_URL).")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - compared, not bound


def _with_base_url(settings: Settings, host: str, port: int) -> Settings:
    """Without MC_BASE_URL, agents are told the address this process serves on; a wildcard
    interface gives the loopback address, with a warning that remote agents need MC_BASE_URL."""
    if "base_url" in settings.model_fields_set:
        configured = settings.base_url.port
        if configured is not None and configured != port:
            typer.secho(
                f"Warning: MC_BASE_URL is {settings.agent_base_url} but this server listens on "
                f"port {port}; agents will call the MC_BASE_URL address.",
                fg=typer.colors.YELLOW,
                err=True,
            )
        return settings
    reachable = "127.0.0.1" if host in WILDCARD_HOSTS else host
    if ":" in reachable and not reachable.startswith("["):
        reachable = f"[{reachable}]"
    if host in WILDCARD_HOSTS:
        typer.secho(
            f"Warning: listening on {host or 'every interface'} without MC_BASE_URL: agents are "
            f"told http://{reachable}:{port}, which only agents on this machine reach. Set "
            "MC_BASE_URL to the address your gateways' agents can reach.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    return settings.model_copy(update={"base_url": AnyHttpUrl(f"http://{reachable}:{port}")})


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _require_served_database(settings: Settings) -> None:
    """Commands that work on the database directly need the one the server uses: an existing,
    migrated database and its secret key. Nothing is created here."""
    from sqlalchemy.engine import make_url

    from mission_control.core import migrations
    from mission_control.core.db import Database

    where = f"(data directory {settings.data_dir}; MC_DATA_DIR / MC_DATABASE_URL change it)"
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        _fail(
            f"No Mission Control database at {url.database} {where}. Serve once first "
            "(`scripts/serve.sh` or `missionctl serve`), or point MC_DATA_DIR at the data "
            "directory the server uses."
        )

    async def read() -> str | None:
        database = Database(settings.resolved_database_url)
        try:
            return await migrations.current_revision(database.engine)
        finally:
            await database.dispose()

    try:
        current = asyncio.run(read())
    except Exception as error:  # any failure to read the schema: say which database
        _fail(f"Cannot read the database {_safe_url(settings)} {where}: {error}")
    head = migrations.head_revision()
    if current != head:
        _fail(
            f"The database {_safe_url(settings)} is at schema revision {current or 'none'}, this "
            f"Mission Control needs {head}: run `missionctl db upgrade` {where}."
        )
    if settings.secret_key is None and not (settings.data_dir / "secret.key").exists():
        _fail(
            f"No secret key in {settings.data_dir} (secret.key) and MC_SECRET_KEY is unset: "
            "stored gateway tokens cannot be read. Use the data directory the server uses; a "
            "new key is never made here."
        )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from mission_control.core import migrations

    settings = _load_settings()
    migrations.upgrade(settings.resolved_database_url, revision)
    typer.echo(f"Database {_safe_url(settings)} upgraded to {revision}.")


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision the database is at, and the newest one."""
    from mission_control.core import migrations
    from mission_control.core.db import Database

    settings = _load_settings()

    async def read() -> str | None:
        database = Database(settings.resolved_database_url)
        try:
            return await migrations.current_revision(database.engine)
        finally:
            await database.dispose()

    current = asyncio.run(read())
    head = migrations.head_revision()
    state = "up to date" if current == head else "run `missionctl db upgrade`"
    typer.echo(f"current: {current or 'none'}\nhead: {head}\n{state}")


@app.command("dev-gateway")
def dev_gateway(
    install_dir: InstallDirOption = None,
    state_dir: StateDirOption = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="Port [default: the one kept in the state dir, else a free one].",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="MC_DEV_GATEWAY_TOKEN",
            help="Gateway token to use and keep [env "
            "MC_DEV_GATEWAY_TOKEN; default: the one kept in the state dir, made on first start].",
            show_default=False,
        ),
    ] = None,
    version: Annotated[str, typer.Option(help="current or legacy")] = "current",
    demo_model: Annotated[
        bool, typer.Option(help="Configure the built-in demo model as every agent's model.")
    ] = True,
) -> None:
    """Run a local, isolated OpenClaw gateway to try Mission Control against (Ctrl-C stops it).
    Its scheduler is on (agents heartbeat); its token and port are kept in the state dir, so a
    restart keeps the registration in Mission Control working."""
    import signal
    import threading

    from mission_control.demo.local import (
        default_install_dir,
        default_state_dir,
        start_local_gateway,
    )
    from mission_control.gateway.dev import DevGatewayError

    if version not in ("current", "legacy"):
        typer.secho("--version must be 'current' or 'legacy'.", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    try:
        local = start_local_gateway(
            install_dir or default_install_dir(),
            state_dir or default_state_dir(),
            token=token,
            port=port,
            version=version,  # type: ignore[arg-type]
            demo_model=demo_model,
        )
    except (DevGatewayError, FileNotFoundError) as error:
        typer.secho(
            f"The gateway did not start: {error}",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1) from error
    gateway = local.gateway
    typer.echo(f"OpenClaw gateway ready at {gateway.url}")
    kept = "new, kept" if local.token_created else "kept"
    typer.echo(f"token: {gateway.token} ({kept} in {gateway.state_dir / 'gateway-token'})")
    typer.echo(f"workspace root for Mission Control: {local.workspace_root}")
    if local.model is not None:
        typer.echo(
            f"model: the built-in DEMO model at {local.model.base_url} (scripted and offline, "
            "not an AI: it only makes agents check in; --no-demo-model to configure your own)"
        )
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    try:
        stopped.wait()
    finally:
        local.stop()
        typer.echo("gateway stopped")


@gateway_app.command("sync")
def gateway_sync(
    gateway_id: Annotated[str, typer.Argument(help="The gateway's id.")],
    include_main: Annotated[bool, typer.Option(help="Also sync the gateway agent.")] = True,
    reset_sessions: Annotated[bool, typer.Option(help="Reset the agents' sessions.")] = False,
    rotate_tokens: Annotated[bool, typer.Option(help="Give every agent a new token.")] = False,
    force_bootstrap: Annotated[bool, typer.Option(help="Rewrite BOOTSTRAP.md.")] = False,
    board_id: Annotated[str | None, typer.Option(help="Only this board's agents.")] = None,
) -> None:
    """Re-render and re-write the workspaces of every agent on a gateway; prints the report."""
    import json
    import uuid
    from dataclasses import asdict

    from mission_control.app import build_runtime
    from mission_control.provisioning import service
    from mission_control.provisioning.sync import SyncOptions, sync_templates

    try:
        gateway = uuid.UUID(gateway_id)
        board = uuid.UUID(board_id) if board_id else None
    except ValueError as error:
        typer.secho(f"Not an id: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from error
    settings = _load_settings()
    _require_served_database(settings)
    if settings.auth_token is None:
        settings = settings.model_copy(update={"auth_token": SecretStr(secrets.token_urlsafe(48))})
    options = SyncOptions(include_main, reset_sessions, rotate_tokens, force_bootstrap, board)

    async def run() -> dict[str, object]:
        runtime = build_runtime(settings)
        try:
            if include_main:
                await service.ensure_gateway_main_agent(runtime, gateway)
            return asdict(await sync_templates(runtime, gateway, options))
        finally:
            await runtime.gateway_pool.close()
            await runtime.database.dispose()

    try:
        report = asyncio.run(run())
    except ValueError as error:
        typer.secho(f"Template sync failed: {error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from error
    typer.echo(json.dumps(report, indent=2, default=str))
    if report["errors"]:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
