"""The one retry policy for gateway calls (gateway/delivery.py `retry_call`) and the way a
provisioning step uses it (executor.retry_transient). Plain callables stand in for the call:
the policy is arithmetic over errors and time, no gateway is involved."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from mission_control.gateway.delivery import DeliveryTimeout, retry_call
from mission_control.gateway.errors import GatewayInvalidRequest, GatewayUnreachable
from mission_control.provisioning import executor


def failing(
    times: int, error: Exception, result: str = "done"
) -> tuple[list[float], Callable[[], Awaitable[str]]]:
    """A call that raises ``error`` ``times`` times, then answers; records when it was tried."""
    tried: list[float] = []

    async def call() -> str:
        tried.append(time.monotonic())
        if len(tried) <= times:
            raise error
        return result

    return tried, call


async def test_retryable_errors_are_tried_again_with_growing_pauses() -> None:
    tried, call = failing(2, GatewayUnreachable("refused"))
    assert await retry_call(call, budget_s=10.0) == "done"
    assert len(tried) == 3
    first, second = tried[1] - tried[0], tried[2] - tried[1]
    assert 0.4 <= first <= 0.7
    assert second > first


async def test_an_error_that_is_not_retryable_is_raised_at_once() -> None:
    tried, call = failing(5, GatewayInvalidRequest("bad params"))
    with pytest.raises(GatewayInvalidRequest):
        await retry_call(call, budget_s=10.0)
    assert len(tried) == 1


async def test_a_spent_budget_names_the_last_error() -> None:
    tried, call = failing(100, GatewayUnreachable("connection refused"))
    with pytest.raises(DeliveryTimeout) as raised:
        await retry_call(call, budget_s=1.0)
    assert isinstance(raised.value.last_error, GatewayUnreachable)
    assert "connection refused" in str(raised.value)
    assert 2 <= len(tried) <= 4


async def test_a_hanging_call_is_cut_at_the_budget_when_calls_are_bound() -> None:
    async def hang() -> str:
        await asyncio.sleep(5)
        return "late"

    started = time.monotonic()
    with pytest.raises(DeliveryTimeout):
        await retry_call(hang, budget_s=0.3)
    assert time.monotonic() - started < 2.0


async def test_unbound_calls_finish_past_the_budget_but_start_no_new_attempt() -> None:
    slow_tries: list[float] = []

    async def slow() -> str:
        slow_tries.append(time.monotonic())
        await asyncio.sleep(0.5)
        return "finished"

    assert await retry_call(slow, budget_s=0.1, bound_calls=False) == "finished"

    tried, call = failing(100, GatewayUnreachable("refused"))
    with pytest.raises(DeliveryTimeout):
        await retry_call(call, budget_s=0.2, bound_calls=False)
    assert len(tried) <= 2


async def test_a_provisioning_step_raises_the_gateways_own_error_when_retries_run_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(executor, "STEP_RETRY_SECONDS", 0.6)
    tried, call = failing(100, GatewayUnreachable("gateway down"))
    with pytest.raises(GatewayUnreachable) as raised:
        await executor.retry_transient(call)
    assert raised.value.retryable  # the reconciler will try the agent again
    assert len(tried) >= 2
