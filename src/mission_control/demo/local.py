"""A local gateway to try Mission Control against: an isolated OpenClaw gateway with its
scheduler on (agents heartbeat), the token and port it keeps in its state dir across restarts,
and, unless told otherwise, the built-in demo model configured as every agent's model."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from mission_control.demo.model import HeartbeatScript, ScriptedModelServer
from mission_control.demo.provider import DEMO_MODEL_ID, scripted_model_patch
from mission_control.gateway.dev import (
    PORT_SPAN,
    DevGateway,
    GatewayVersion,
    kept_identity,
    port_is_free,
    start_dev_gateway,
)
from mission_control.settings import Settings, default_data_dir, source_checkout

MODEL_PORT_FILE = "demo-model-port"
# The demo model's request log is for troubleshooting only; a long run keeps the newest.
KEPT_MODEL_REQUESTS = 200


def default_install_dir() -> Path:
    """Where scripts/install-gateway.sh puts Node and OpenClaw (the checkout's .cache)."""
    checkout = source_checkout()
    return (checkout if checkout is not None else Path.cwd()) / ".cache" / "gateway"


def default_state_dir() -> Path:
    """The dev gateway's HOME and state, kept in Mission Control's data directory (MC_DATA_DIR
    or its default)."""
    try:
        data_dir = Settings().data_dir
    except ValueError:
        data_dir = default_data_dir()
    return data_dir / "dev-gateway"


@dataclass
class LocalGateway:
    gateway: DevGateway
    model: ScriptedModelServer | None
    token_created: bool

    @property
    def workspace_root(self) -> Path:
        return self.gateway.state_dir / "workspaces"

    def stop(self) -> None:
        try:
            self.gateway.stop()
        finally:
            if self.model is not None:
                self.model.stop()


def start_demo_model(state_dir: Path, avoid: range) -> ScriptedModelServer:
    """The demo model on the port it used last time when that is free (so a gateway config
    written before keeps working), else on a new one; the port is kept in the state dir."""
    path = state_dir / MODEL_PORT_FILE
    kept = 0
    with contextlib.suppress(OSError, ValueError):
        kept = int(path.read_text(encoding="utf-8").strip())
    if kept and (kept in avoid or not port_is_free(kept)):
        kept = 0
    model = ScriptedModelServer(
        model_id=DEMO_MODEL_ID,
        script=HeartbeatScript(max_tool_calls_per_turn=3),
        max_total_tool_calls=None,
        keep_requests=KEPT_MODEL_REQUESTS,
        avoid_ports=[avoid],
        host_port=kept,
    )
    model.start()
    path.write_text(f"{model.port}\n", encoding="utf-8")
    return model


def start_local_gateway(
    install_dir: Path,
    state_dir: Path,
    *,
    token: str | None = None,
    port: int | None = None,
    version: GatewayVersion = "current",
    demo_model: bool = True,
) -> LocalGateway:
    """Starts the demo model (optional) and the gateway; stops what started if a step fails."""
    state_dir = state_dir.resolve()
    identity = kept_identity(state_dir, token=token, port=port)
    model = None
    extra = None
    if demo_model:
        model = start_demo_model(state_dir, range(identity.port, identity.port + PORT_SPAN))
        extra = scripted_model_patch(model.base_url)
    try:
        gateway = start_dev_gateway(
            install_dir.resolve(),
            state_dir,
            port=identity.port,
            token=identity.token,
            version=version,
            heartbeats=True,
            extra_config=extra,
        )
    except BaseException:
        if model is not None:
            model.stop()
        raise
    return LocalGateway(gateway=gateway, model=model, token_created=identity.token_created)
