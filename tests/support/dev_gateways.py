"""A real OpenClaw gateway for a test scope: started in its own state dir, stopped by its pid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from mission_control.gateway.dev import DevGateway, DevGatewayError, start_dev_gateway


def running_gateway(
    install_dir: Path, state_dir: Path, version: Literal["current", "legacy"] = "current"
) -> Iterator[DevGateway]:
    """Yields a started gateway (a failed start fails the test with the reason); stops it after."""
    try:
        gateway = start_dev_gateway(install_dir, state_dir, version=version)
    except DevGatewayError as exc:
        pytest.fail(f"OpenClaw gateway ({version}) did not start: {exc}", pytrace=False)
    try:
        yield gateway
    finally:
        gateway.stop()


def config_patch_count(gateway: DevGateway) -> int:
    """How many config.patch writes the gateway has audited so far. The gateway logs the write
    line before it answers the call, so a count read after a call returns includes it."""
    return gateway.output_path.read_text(errors="replace").count("config.patch write")
