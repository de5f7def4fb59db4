"""Coordination's gateway work under the gateway's one retry policy with the coordination budget
(docs/coordination.md#delivery-and-the-coordination-backoff): deliver a message into an agent's
session, read and write its SOUL.md."""

from __future__ import annotations

import secrets

from mission_control.core.runtime import Runtime
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.delivery import Pooled, deliver_message, retry_gateway
from mission_control.gateways.models import Gateway

SOUL_FILE = "SOUL.md"


def trace_id(correlation_id: str | None, prefix: str) -> str:
    """The caller's correlation id, else ``<prefix>:<12 hex>``; for logs only
    (docs/coordination.md#trace-ids)."""
    if correlation_id and correlation_id.strip():
        return correlation_id.strip()
    return f"{prefix}:{secrets.token_hex(6)}"


def _source(runtime: Runtime, gateway: Gateway) -> Pooled:
    return Pooled(runtime.gateway_pool, runtime.gateway_target(gateway))


def _budget(runtime: Runtime) -> float:
    return runtime.settings.coordination_retry_seconds


async def send(
    runtime: Runtime,
    gateway: Gateway,
    *,
    session_key: str,
    label: str,
    message: str,
    deliver: bool,
    idempotency_key: str,
) -> None:
    """Ensures the session and sends the message under the coordination budget
    (docs/coordination.md#delivery-and-the-coordination-backoff)."""
    await deliver_message(
        _source(runtime, gateway),
        session_key,
        message,
        idempotency_key=idempotency_key,
        deliver=deliver,
        label=label,
        budget_s=_budget(runtime),
    )


async def read_soul(runtime: Runtime, gateway: Gateway, gateway_agent_id: str) -> str | None:
    async def read(client: GatewayClient) -> str | None:
        return (await client.files_get(gateway_agent_id, SOUL_FILE)).content

    return await retry_gateway(_source(runtime, gateway), read, budget_s=_budget(runtime))


async def write_soul(
    runtime: Runtime, gateway: Gateway, gateway_agent_id: str, content: str
) -> None:
    async def write(client: GatewayClient) -> None:
        await client.files_set(gateway_agent_id, SOUL_FILE, content)

    await retry_gateway(_source(runtime, gateway), write, budget_s=_budget(runtime))
