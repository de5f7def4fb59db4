"""Coordination's gateway work under the coordination backoff
(docs/coordination.md#delivery-and-the-coordination-backoff): deliver a message into an agent's
session, read and write its SOUL.md. One idempotency key per message, reused by every
retry, so a message whose first attempt did land runs only once."""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from mission_control.core.runtime import Runtime
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.errors import GatewayError, GatewayTimeout
from mission_control.gateways.models import Gateway

T = TypeVar("T")
SOUL_FILE = "SOUL.md"


@dataclass(frozen=True, slots=True)
class Backoff:
    timeout_s: float = 45.0
    base_delay_s: float = 0.5
    max_delay_s: float = 5.0
    jitter: float = 0.15
    label: str = "gateway coordination"


class CoordinationTimeout(GatewayTimeout):
    """Transient gateway errors lasted the whole coordination budget."""

    default_retryable = False


def trace_id(correlation_id: str | None, prefix: str) -> str:
    """The caller's correlation id, else ``<prefix>:<12 hex>``; for logs only
    (docs/coordination.md#trace-ids)."""
    if correlation_id and correlation_id.strip():
        return correlation_id.strip()
    return f"{prefix}:{secrets.token_hex(6)}"


def _budget_text(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60} minutes" if whole >= 120 else f"{whole} seconds"


async def with_backoff(call: Callable[[], Awaitable[T]], policy: Backoff) -> T:
    """Retries what the gateway marks retryable (unreachable, restarting, busy, rate limited:
    typed, not guessed from text) until the budget is spent; anything else is raised at once."""
    deadline = time.monotonic() + policy.timeout_s
    delay = policy.base_delay_s
    while True:
        try:
            return await call()
        except GatewayError as error:
            if not error.retryable:
                raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CoordinationTimeout(
                    f"Gateway unreachable after {_budget_text(policy.timeout_s)} "
                    f"({policy.label} timeout). Last error: {error}"
                ) from error
            wait = error.retry_after if error.retry_after is not None else delay
            factor = 1 + random.uniform(-policy.jitter, policy.jitter)  # noqa: S311 - jitter
            await asyncio.sleep(max(0.0, min(min(wait, remaining) * factor, remaining)))
            delay = min(2 * delay, policy.max_delay_s)


def policy_for(runtime: Runtime) -> Backoff:
    return Backoff(timeout_s=runtime.settings.coordination_retry_seconds)


async def _client(runtime: Runtime, gateway: Gateway) -> GatewayClient:
    return await runtime.gateway_pool.client(runtime.gateway_target(gateway))


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
    """Each attempt ensures the session, then sends the message
    (docs/coordination.md#delivery-and-the-coordination-backoff)."""

    async def attempt() -> None:
        client = await _client(runtime, gateway)
        await client.sessions_patch(session_key, label=label)
        await client.chat_send(
            session_key, message, idempotency_key=idempotency_key, deliver=deliver
        )

    await with_backoff(attempt, policy_for(runtime))


async def read_soul(runtime: Runtime, gateway: Gateway, gateway_agent_id: str) -> str | None:
    async def attempt() -> str | None:
        client = await _client(runtime, gateway)
        return (await client.files_get(gateway_agent_id, SOUL_FILE)).content

    return await with_backoff(attempt, policy_for(runtime))


async def write_soul(
    runtime: Runtime, gateway: Gateway, gateway_agent_id: str, content: str
) -> None:
    async def attempt() -> None:
        client = await _client(runtime, gateway)
        await client.files_set(gateway_agent_id, SOUL_FILE, content)

    await with_backoff(attempt, policy_for(runtime))
