"""`missionctl`: serve the app and manage the database."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr

from mission_control.runs import cli as runs_cli
from mission_control.settings import Settings, SettingsError

app = typer.Typer(
    help="Mission Control: a control plane for agents on OpenClaw gateways.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
gateway_app = typer.Typer(help="Registered gateways.", no_args_is_help=True)
app.add_typer(gateway_app, name="gateway")
app.add_typer(runs_cli.app, name="runs")

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

    settings = _load_settings()
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
    if migrate:
        migrations.upgrade(settings.resolved_database_url)
    typer.echo(f"Mission Control on http://{host}:{port} (database: {_safe_url(settings)})")
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


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
    install_dir: Annotated[
        Path, typer.Option(help="Where scripts/install-gateway.sh put Node and OpenClaw.")
    ] = Path(".cache/gateway"),
    state_dir: Annotated[
        Path, typer.Option(help="The gateway's own HOME and state (created if missing).")
    ] = Path(".data/dev-gateway"),
    port: Annotated[int | None, typer.Option(help="Port (default: a free one).")] = None,
    version: Annotated[str, typer.Option(help="current or legacy")] = "current",
) -> None:
    """Run a local, isolated OpenClaw gateway to try Mission Control against (Ctrl-C stops it)."""
    import signal
    import threading

    from mission_control.gateway.dev import DevGatewayError, start_dev_gateway

    if version not in ("current", "legacy"):
        typer.secho("--version must be 'current' or 'legacy'.", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        gateway = start_dev_gateway(
            install_dir.resolve(),
            state_dir,
            port=port,
            version=version,  # type: ignore[arg-type]
        )
    except (DevGatewayError, FileNotFoundError) as error:
        typer.secho(
            f"The gateway did not start: {error}\n"
            "Install it first: bash scripts/install-gateway.sh",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1) from error
    typer.echo(f"OpenClaw gateway ready at {gateway.url}")
    typer.echo(f"token: {gateway.token}")
    typer.echo(f"workspace root for Mission Control: {state_dir.resolve() / 'workspaces'}")
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    try:
        stopped.wait()
    finally:
        gateway.stop()
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
