"""Delivering a message into a gateway session, and the one retry policy every delivery uses
(docs/gateway.md#delivering-a-message)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from mission_control.gateway.client import GatewayClient
from mission_control.gateway.connection import GatewayTarget
from mission_control.gateway.errors import GatewayError, GatewayTimeout
from mission_control.gateway.pool import GatewayPool

T = TypeVar("T")

DELIVERY_BUDGET_SECONDS = 45.0
BASE_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 5.0
JITTER = 0.15


@dataclass(frozen=True, slots=True)
class Pooled:
    """Where a delivery takes its client: the pool is asked again on every attempt, so an
    attempt after a connection closed for good gets a fresh one."""

    pool: GatewayPool
    target: GatewayTarget


ClientSource = GatewayClient | Pooled


class DeliveryTimeout(GatewayTimeout):
    """Transient gateway errors (or no answer) lasted the whole budget; ``last_error`` is the
    last transient error seen, if any."""

    default_retryable = False

    def __init__(self, message: str, *, last_error: GatewayError | None = None) -> None:
        super().__init__(message)
        self.last_error = last_error


def _budget_text(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60} minutes" if whole >= 120 else f"{whole} seconds"


def _spent(budget_s: float, error: GatewayError | None) -> DeliveryTimeout:
    if error is None:
        return DeliveryTimeout(f"The gateway did not answer within {_budget_text(budget_s)}.")
    return DeliveryTimeout(
        f"Gateway unreachable after {_budget_text(budget_s)} (gateway delivery timeout). "
        f"Last error: {error}",
        last_error=error,
    )


async def _client_of(source: ClientSource) -> GatewayClient:
    if isinstance(source, Pooled):
        return await source.pool.client(source.target)
    return source


def _pause(error: GatewayError, delay: float, remaining: float) -> float:
    wait = error.retry_after if error.retry_after is not None else delay
    factor = 1 + random.uniform(-JITTER, JITTER)  # noqa: S311 - jitter, not a secret
    return max(0.0, min(wait * factor, remaining))


async def _attempts(
    call: Callable[[], Awaitable[T]], budget_s: float, seen: list[GatewayError]
) -> T:
    deadline = time.monotonic() + budget_s
    delay = BASE_DELAY_SECONDS
    while True:
        try:
            return await call()
        except GatewayError as error:
            if not error.retryable:
                raise
            seen.append(error)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _spent(budget_s, error) from error
            await asyncio.sleep(_pause(error, delay, remaining))
            delay = min(2 * delay, MAX_DELAY_SECONDS)


async def retry_call(
    call: Callable[[], Awaitable[T]], *, budget_s: float, bound_calls: bool = True
) -> T:
    """Runs ``call``; retries what the gateway marks retryable (unreachable, connection lost,
    restarting, rate limited) with a jittered backoff of 0.5 s doubling to 5 s, honouring
    ``retry_after``, until ``budget_s`` is spent (then ``DeliveryTimeout``, also when a call
    hangs past it). Anything else is raised at once. The one retry policy for gateway calls.
    ``bound_calls=False`` leaves a running call to its own timeouts: the budget then only
    decides whether another attempt starts."""
    seen: list[GatewayError] = []
    if not bound_calls:
        return await _attempts(call, budget_s, seen)
    try:
        async with asyncio.timeout(budget_s):
            return await _attempts(call, budget_s, seen)
    except TimeoutError as error:
        raise _spent(budget_s, seen[-1] if seen else None) from error


async def retry_gateway(
    source: ClientSource,
    call: Callable[[GatewayClient], Awaitable[T]],
    *,
    budget_s: float = DELIVERY_BUDGET_SECONDS,
) -> T:
    """``retry_call`` for a call that takes a client: each attempt takes it from ``source``."""

    async def attempt() -> T:
        return await call(await _client_of(source))

    return await retry_call(attempt, budget_s=budget_s)


async def deliver_message(
    source: ClientSource,
    session_key: str,
    message: str,
    *,
    idempotency_key: str,
    deliver: bool,
    label: str | None = None,
    budget_s: float = DELIVERY_BUDGET_SECONDS,
) -> str | None:
    """Sends ``message`` into the session (``sessions.patch`` with ``label`` first, which
    creates the session, when a label is given) under ``retry_gateway``'s policy; every
    attempt reuses ``idempotency_key``, so a message whose answer was lost runs once.
    Returns the gateway's run id."""

    async def attempt(client: GatewayClient) -> str | None:
        if label is not None:
            await client.sessions_patch(session_key, label=label)
        sent = await client.chat_send(
            session_key, message, idempotency_key=idempotency_key, deliver=deliver
        )
        return sent.run_id

    return await retry_gateway(source, attempt, budget_s=budget_s)
