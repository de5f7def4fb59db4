"""``missionctl try-it`` and ``missionctl demo-model``: the demo parts on the command line."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from mission_control.cli_api.client import DEFAULT_URL, CliError, TokenOption, fail
from mission_control.demo.local import default_install_dir, default_state_dir
from mission_control.demo.model import HeartbeatScript, ScriptedModelServer
from mission_control.demo.provider import DEMO_MODEL_ID, scripted_model_patch
from mission_control.demo.tryit import TryItOptions, run_try_it
from mission_control.gateway.dev import DevGatewayError
from mission_control.settings import Settings, default_data_dir

InstallDirOption = Annotated[
    Path | None,
    typer.Option(
        help="Where scripts/install-gateway.sh put Node and OpenClaw [default: the "
        "checkout's .cache/gateway].",
        show_default=False,
    ),
]
StateDirOption = Annotated[
    Path | None,
    typer.Option(
        help="The dev gateway's HOME and state, kept across runs (token, port, "
        "agents) [default: <data dir>/dev-gateway].",
        show_default=False,
    ),
]


def _data_dir() -> Path:
    try:
        return Settings().data_dir
    except ValueError:
        return default_data_dir()


def _stop_on_signals() -> threading.Event:
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    return stopped


def try_it(
    url: Annotated[
        str,
        typer.Option(
            envvar="MC_URL",
            help="Mission Control to use; one is started there "
            "(missionctl serve) when none answers [env MC_URL].",
        ),
    ] = DEFAULT_URL,
    token: TokenOption = None,
    install_dir: InstallDirOption = None,
    state_dir: StateDirOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the agent.")] = 180.0,
    keep_running: Annotated[
        bool,
        typer.Option(
            help="Keep the gateway (and a server started here) running until Ctrl-C; "
            "--no-keep-running stops everything once the agent is online."
        ),
    ] = True,
) -> None:
    """Try Mission Control in one command: a local gateway with heartbeats, a kept token and
    the built-in DEMO model (scripted and offline; it only makes agents check in), registered
    with Mission Control, a board and an agent, shown coming online."""
    options = TryItOptions(
        url=url,
        token=token,
        install_dir=install_dir or default_install_dir(),
        state_dir=state_dir or default_state_dir(),
        timeout=timeout,
        keep_running=keep_running,
        server_log=_data_dir() / "try-it-server.log",
    )
    stop = _stop_on_signals()
    try:
        result = run_try_it(options, typer.echo, stop)
    except CliError as error:
        fail(error.message, error.code)
    except (DevGatewayError, FileNotFoundError) as error:
        fail(f"The gateway did not start: {error}")
    typer.echo(
        json.dumps(
            {
                "gateway_id": result.gateway_id,
                "board_id": result.board_id,
                "agent_id": result.agent_id,
                "agent_status": result.agent_status,
            }
        )
    )


def demo_model(
    port: Annotated[int, typer.Option(help="Loopback port (0: a free one).")] = 0,
) -> None:
    """Serve the built-in DEMO model alone (scripted, offline, not an AI: each turn it makes the
    agent call Mission Control's heartbeat and stops) and print the gateway config that uses it
    (`openclaw config patch` / config.patch). Ctrl-C stops it."""
    server = ScriptedModelServer(
        model_id=DEMO_MODEL_ID,
        script=HeartbeatScript(max_tool_calls_per_turn=3),
        max_total_tool_calls=None,
        keep_requests=200,
        host_port=port,
    )
    try:
        server.start()
    except RuntimeError as error:
        fail(str(error))
    typer.echo(f"Demo model (scripted, offline) at {server.base_url}")
    typer.echo("Gateway config patch that makes it every agent's model:")
    typer.echo(json.dumps(scripted_model_patch(server.base_url), indent=2))
    stopped = _stop_on_signals()
    try:
        stopped.wait()
    finally:
        server.stop()
        typer.echo("demo model stopped")


def register(app: typer.Typer) -> None:
    app.command("try-it")(try_it)
    app.command("demo-model")(demo_model)
