"""Connection behaviour that a real gateway cannot be made to show on demand (silent ticks every
30 s, dropped sockets, slow and out-of-order answers), against a scripted loopback WebSocket peer
that replays the handshake recorded from openclaw 2026.9.6."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from mission_control.gateway import (
    GatewayAuthFailed,
    GatewayConnectionLost,
    GatewayPool,
    GatewayRateLimited,
    GatewayTarget,
    GatewayTimeout,
)
from mission_control.gateway.client import ConfigPatched, GatewayClient
from mission_control.gateway.connection import ConnectionOptions, GatewayConnection

HELLO = json.loads((Path(__file__).parent / "data" / "hello_2026.9.6.json").read_text())["hello"][
    "payload"
]
TICK_MS = 200


class ScriptedGateway:
    """Speaks just enough of the protocol: challenge, hello-ok, ticks and a few test methods."""

    def __init__(self) -> None:
        self.handshakes = 0
        self.connect_attempts = 0
        # Error objects to answer the next connects with, in order (then hello-ok again).
        self.connect_errors: list[dict[str, Any]] = []
        # Error objects for the next config.patch calls, in order (then success).
        self.patch_errors: list[dict[str, Any]] = []
        self.patch_calls: list[tuple[float, str]] = []
        # Config writes (config.patch, agents.delete) take this long; the most in flight at once.
        self.write_delay = 0.0
        self.writes_in_flight = 0
        self.most_writes_in_flight = 0
        self.server: Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = next(iter(self.server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def handle(self, ws: ServerConnection) -> None:
        challenge = {"nonce": "nonce-1", "ts": int(time.time() * 1000)}
        await ws.send(
            json.dumps({"type": "event", "event": "connect.challenge", "payload": challenge})
        )
        connect = json.loads(await ws.recv())
        assert connect["method"] == "connect"
        assert connect["params"]["device"]["nonce"] == "nonce-1"
        self.connect_attempts += 1
        if self.connect_errors:
            error = self.connect_errors.pop(0)
            await ws.send(
                json.dumps({"type": "res", "id": connect["id"], "ok": False, "error": error})
            )
            await ws.close(1008)
            return
        hello = copy.deepcopy(HELLO)
        hello["policy"]["tickIntervalMs"] = TICK_MS
        await ws.send(
            json.dumps({"type": "res", "id": connect["id"], "ok": True, "payload": hello})
        )
        self.handshakes += 1
        ticking = asyncio.Event()
        ticking.set()
        ticker = asyncio.create_task(self._tick(ws, ticking))
        try:
            async for message in ws:
                task = asyncio.create_task(self._answer(ws, json.loads(message), ticking))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except ConnectionClosed:
            pass
        finally:
            ticker.cancel()

    async def _tick(self, ws: ServerConnection, ticking: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(TICK_MS / 1000)
            if ticking.is_set():
                await ws.send(json.dumps({"type": "event", "event": "tick", "payload": {}}))

    async def _answer(
        self, ws: ServerConnection, request: dict[str, Any], ticking: asyncio.Event
    ) -> None:
        method, params, request_id = request["method"], request["params"], request["id"]
        if method == "echo":
            await asyncio.sleep(params.get("delay", 0))
            await self._reply(ws, request_id, params)
        elif method == "agent":
            accepted = {"runId": params["idempotencyKey"], "status": "accepted"}
            await self._reply(ws, request_id, accepted)
            await asyncio.sleep(0.05)
            await self._reply(ws, request_id, {"runId": params["idempotencyKey"], "status": "ok"})
        elif method == "config.get":
            await self._reply(ws, request_id, {"config": {}, "hash": f"h{len(self.patch_calls)}"})
        elif method in ("config.patch", "agents.delete"):
            await self._write(ws, request_id, method, params)
        elif method == "silence":
            ticking.clear()
            await self._reply(ws, request_id, {})
        elif method == "drop":
            await ws.close()

    async def _write(
        self, ws: ServerConnection, request_id: str, method: str, params: dict[str, Any]
    ) -> None:
        self.writes_in_flight += 1
        self.most_writes_in_flight = max(self.most_writes_in_flight, self.writes_in_flight)
        try:
            await asyncio.sleep(self.write_delay)
        finally:
            self.writes_in_flight -= 1
        if method == "agents.delete":
            await self._reply(ws, request_id, {"ok": True, "agentId": params["agentId"]})
        else:
            self.patch_calls.append((time.monotonic(), params["baseHash"]))
            if self.patch_errors:
                error = self.patch_errors.pop(0)
                frame = {"type": "res", "id": request_id, "ok": False, "error": error}
                await ws.send(json.dumps(frame))
            else:
                hash_after = f"h{len(self.patch_calls)}"
                await self._reply(ws, request_id, {"ok": True, "hash": hash_after})

    async def _reply(self, ws: ServerConnection, request_id: str, payload: Any) -> None:
        with_ok = {"type": "res", "id": request_id, "ok": True, "payload": payload}
        # The client may have dropped the socket on purpose (timeouts, watchdog tests).
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps(with_ok))


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedGateway]:
    peer = ScriptedGateway()
    async with serve(peer.handle, "127.0.0.1", 0) as server:
        peer.server = server
        yield peer


@pytest.fixture
async def connection(scripted: ScriptedGateway, tmp_path: Path) -> AsyncIterator[GatewayConnection]:
    target = GatewayTarget(url=scripted.url, token="tok", identity_path=tmp_path / "device.pem")
    options = ConnectionOptions(request_timeout=5.0, backoff_initial=0.05, backoff_max=0.2)
    conn = GatewayConnection(target, options)
    await conn.connect()
    yield conn
    await conn.close()


async def test_out_of_order_answers_reach_their_callers(connection: GatewayConnection) -> None:
    delays = [0.2 - i * 0.01 for i in range(20)]
    answers = await asyncio.gather(
        *(connection.request("echo", {"n": i, "delay": d}) for i, d in enumerate(delays))
    )
    assert [answer["n"] for answer in answers] == list(range(20))


async def test_agent_answers_twice(connection: GatewayConnection) -> None:
    run = await GatewayClient(connection).agent("hi", agent_id="main", idempotency_key="run-1")
    assert run.status == "accepted"
    result = await run.result(timeout=5)
    assert result.status == "ok"
    assert result.ok


async def test_timeout_leaves_the_connection_usable(connection: GatewayConnection) -> None:
    with pytest.raises(GatewayTimeout):
        await connection.request("echo", {"delay": 2}, timeout=0.2)
    assert (await connection.request("echo", {"n": 1}))["n"] == 1
    assert connection.handshakes == 1


async def test_two_missed_ticks_mean_dead_and_the_client_reconnects(
    connection: GatewayConnection, scripted: ScriptedGateway
) -> None:
    await connection.request("silence")
    deadline = time.monotonic() + 5
    # Polls the handshake counter; the client has no event for "reconnected" to wait on.
    while connection.handshakes < 2 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    assert connection.handshakes == 2
    assert scripted.handshakes == 2
    assert (await connection.request("echo", {"n": 7}))["n"] == 7


async def test_in_flight_request_fails_when_the_socket_drops(
    connection: GatewayConnection,
) -> None:
    slow = asyncio.create_task(connection.request("echo", {"delay": 3}))
    await asyncio.sleep(0.05)
    results = await asyncio.gather(connection.request("drop"), slow, return_exceptions=True)
    assert all(isinstance(result, GatewayConnectionLost) for result in results)
    # The next call waits for the reconnect and succeeds.
    assert (await connection.request("echo", {"n": 2}))["n"] == 2


async def test_pool_shares_one_client_per_target(scripted: ScriptedGateway, tmp_path: Path) -> None:
    target = GatewayTarget(url=scripted.url, token="tok", identity_path=tmp_path / "device.pem")
    pool = GatewayPool()
    first, second = await asyncio.gather(pool.client(target), pool.client(target))
    assert first is second
    assert scripted.handshakes == 1
    await pool.close()
    assert not first.connection.connected
    with pytest.raises(RuntimeError):
        await pool.client(target)


TOKEN_MISMATCH = {
    "code": "INVALID_REQUEST",
    "message": "unauthorized: gateway token mismatch (provide gateway auth token)",
    "details": {"code": "AUTH_TOKEN_MISMATCH", "recommendedNextStep": "retry_with_device_token"},
}


async def test_auth_failure_on_reconnect_stops_retrying_and_fails_fast(
    connection: GatewayConnection, scripted: ScriptedGateway
) -> None:
    scripted.connect_errors = [TOKEN_MISMATCH] * 5
    results = await asyncio.gather(connection.request("drop"), return_exceptions=True)
    assert isinstance(results[0], GatewayConnectionLost)
    started = time.monotonic()
    with pytest.raises(GatewayAuthFailed):
        # Waits for the one failed reconnect, then fails without waiting out its timeout.
        await connection.request("echo", {"n": 1}, timeout=20.0)
    assert time.monotonic() - started < 10.0  # far below the request's own timeout
    attempts = scripted.connect_attempts
    await asyncio.sleep(0.5)
    assert scripted.connect_attempts == attempts
    with pytest.raises(GatewayAuthFailed):
        await connection.request("echo", {"n": 1}, timeout=0.1)


async def test_connect_waits_while_the_gateway_is_still_starting(
    scripted: ScriptedGateway, tmp_path: Path
) -> None:
    scripted.connect_errors = [
        {
            "code": "UNAVAILABLE",
            "message": "gateway is starting",
            "retryable": True,
            "retryAfterMs": 100,
            "details": {"reason": "startup-sidecars"},
        }
    ]
    target = GatewayTarget(url=scripted.url, token="tok", identity_path=tmp_path / "device.pem")
    conn = GatewayConnection(target, ConnectionOptions(connect_timeout=5.0))
    try:
        profile = await conn.connect()
        assert profile.protocol == 4
        assert scripted.connect_attempts == 2
    finally:
        await conn.close()


async def test_config_patch_fresh_retries_once_on_stale_hash(
    connection: GatewayConnection, scripted: ScriptedGateway
) -> None:
    scripted.patch_errors = [
        {"code": "INVALID_REQUEST", "message": "config changed since last load"}
    ]
    result = await GatewayClient(connection).config_patch_fresh({"a": 1}, base_hash="stale")
    assert result == ConfigPatched(hash="h2")  # the retry's answer
    assert [base for _, base in scripted.patch_calls] == ["stale", "h1"]


async def test_config_patch_fresh_waits_out_the_rate_limit(
    connection: GatewayConnection, scripted: ScriptedGateway
) -> None:
    scripted.patch_errors = [
        {
            "code": "UNAVAILABLE",
            "message": "rate limit exceeded for config.patch; retry after 1s",
            "retryable": True,
            "retryAfterMs": 300,
        }
    ]
    await GatewayClient(connection).config_patch_fresh({"a": 1}, base_hash="h0")
    (first, _), (second, _) = scripted.patch_calls
    assert second - first >= 0.3


async def test_config_patch_fresh_gives_up_on_long_rate_limits(
    connection: GatewayConnection, scripted: ScriptedGateway
) -> None:
    scripted.patch_errors = [
        {"code": "UNAVAILABLE", "message": "rate limit", "retryable": True, "retryAfterMs": 90_000}
    ]
    with pytest.raises(GatewayRateLimited) as caught:
        await GatewayClient(connection).config_patch_fresh(
            {"a": 1}, base_hash="h0", max_rate_limit_wait=1.0
        )
    assert caught.value.retry_after == 90.0
    assert len(scripted.patch_calls) == 1


async def test_config_writes_go_one_at_a_time_other_calls_do_not_wait(
    connection: GatewayConnection, scripted: ScriptedGateway
) -> None:
    """Two config writes in flight make the real gateway supersede a reload and restart; the
    connection sends them one after the other, while other requests pass alongside."""
    scripted.write_delay = 0.3
    client = GatewayClient(connection)
    started = time.monotonic()
    deleting = asyncio.create_task(client.agents_delete("mc-old"))
    patching = asyncio.create_task(client.config_patch({"a": 1}, base_hash="h0"))
    await asyncio.sleep(0.05)
    echoed = await client.call("echo", {"delay": 0})
    echo_time = time.monotonic() - started
    await asyncio.gather(deleting, patching)
    assert echoed == {"delay": 0}
    assert echo_time < 0.3  # not held behind the writes
    assert scripted.most_writes_in_flight == 1
    assert time.monotonic() - started >= 0.6  # the two writes ran back to back
