"""Test-side gateway helpers: the ports a gateway claims. Pointing a gateway at the scripted
model is the product's own demo provider (mission_control.demo.provider)."""

from __future__ import annotations

from mission_control.demo.provider import scripted_model_patch, use_scripted_model
from mission_control.gateway.dev import PORT_SPAN, DevGateway

__all__ = ["claimed_ports", "scripted_model_patch", "use_scripted_model"]


def claimed_ports(gateway: DevGateway) -> range:
    """A gateway on port P also claims P+2..P+110: keep every other server out of this range."""
    return range(gateway.port, gateway.port + PORT_SPAN)
