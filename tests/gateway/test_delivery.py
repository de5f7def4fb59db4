"""deliver_message against a real gateway: the message lands in the session, the session is made
with its label, a gateway that is down when the delivery starts is waited out, and an error the
gateway will not get over is raised at once (docs/gateway.md#delivering-a-message)."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mission_control.gateway import GatewayAuthFailed, GatewayClient
from mission_control.gateway.connection import ConnectionOptions, GatewayTarget
from mission_control.gateway.delivery import DeliveryTimeout, Pooled, deliver_message
from mission_control.gateway.dev import DevGateway
from mission_control.gateway.pool import open_pool
from tests.gateway.conftest import target_for
from tests.support.dev_gateways import running_gateway

pytestmark = pytest.mark.gateway

FAST_RECONNECT = ConnectionOptions(backoff_initial=0.05, backoff_max=0.5)


@pytest.fixture(scope="module")
def own_gateway(
    gateway_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    """A gateway of this module alone: one test stops and starts it."""
    yield from running_gateway(gateway_install, tmp_path_factory.mktemp("delivery") / "gateway")


def _key() -> str:
    return f"agent:main:mc-delivery-{uuid.uuid4().hex[:8]}"


async def _history_texts(client: GatewayClient, key: str, expected: str) -> list[str]:
    """The session's message texts once the gateway appended ``expected`` (at most 20 s)."""
    texts: list[str] = []
    for _ in range(100):
        history = await client.chat_history(key, limit=50)
        texts = [message.text for message in history.messages]
        if any(expected in text for text in texts):
            return texts
        await asyncio.sleep(0.2)
    return texts


async def test_message_lands_in_a_session_made_with_its_label(
    own_gateway: DevGateway, tmp_path: Path
) -> None:
    key, label = _key(), f"Delivery {uuid.uuid4().hex[:6]}"
    async with open_pool(FAST_RECONNECT) as pool:
        source = Pooled(pool, target_for(own_gateway, tmp_path / "device.pem"))
        run_id = await deliver_message(
            source,
            key,
            "hello from the delivery test",
            idempotency_key=key,
            deliver=False,
            label=label,
        )
        client = await pool.client(source.target)
        rows = {row.key: row for row in (await client.sessions_list()).sessions}
        texts = await _history_texts(client, key, "hello from the delivery test")
    assert run_id == key  # the gateway derives the run id from our idempotency key
    assert rows[key].label == label
    assert any("hello from the delivery test" in text for text in texts), texts


async def test_a_gateway_down_when_the_delivery_starts_is_waited_out(
    own_gateway: DevGateway, tmp_path: Path
) -> None:
    key = _key()
    target = target_for(own_gateway, tmp_path / "device.pem")
    await asyncio.to_thread(own_gateway.stop)
    async with open_pool(FAST_RECONNECT) as pool:
        delivery = asyncio.create_task(
            deliver_message(
                Pooled(pool, target),
                key,
                "sent while it restarted",
                idempotency_key=key,
                deliver=False,
                label="Restarted",
                budget_s=90.0,
            )
        )
        await asyncio.sleep(1.0)
        assert not delivery.done()  # the refused connects are being retried
        await asyncio.to_thread(own_gateway.start)
        run_id = await delivery
        texts = await _history_texts(await pool.client(target), key, "sent while it restarted")
    assert run_id == key
    assert sum("sent while it restarted" in text for text in texts) == 1, texts


async def test_a_refused_token_is_raised_at_once_with_its_message(
    own_gateway: DevGateway, tmp_path: Path
) -> None:
    target = target_for(own_gateway, tmp_path / "device.pem", token="not-the-token")
    async with open_pool(FAST_RECONNECT) as pool:
        started = time.monotonic()
        with pytest.raises(GatewayAuthFailed) as refused:
            await deliver_message(
                Pooled(pool, target),
                _key(),
                "never sent",
                idempotency_key=_key(),
                deliver=False,
                label="Refused",
                budget_s=60.0,
            )
    assert time.monotonic() - started < 10.0
    assert "token" in str(refused.value).lower()


async def test_a_budget_spent_on_transient_errors_names_the_last_one(tmp_path: Path) -> None:
    port = _closed_port()
    target = target_for_closed_port(port, tmp_path)
    async with open_pool(FAST_RECONNECT) as pool:
        started = time.monotonic()
        with pytest.raises(DeliveryTimeout) as spent:
            await deliver_message(
                Pooled(pool, target),
                _key(),
                "never sent",
                idempotency_key=_key(),
                deliver=True,
                budget_s=1.5,
            )
    elapsed = time.monotonic() - started
    assert 1.0 < elapsed < 5.0
    message = str(spent.value)
    assert message.startswith("Gateway unreachable after 1 seconds (gateway delivery timeout).")
    assert f"127.0.0.1:{port}" in message
    assert not spent.value.retryable


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def target_for_closed_port(port: int, tmp_path: Path) -> GatewayTarget:
    return GatewayTarget(
        url=f"ws://127.0.0.1:{port}", token="unused", identity_path=tmp_path / "device.pem"
    )
