"""One persistent, self-healing WebSocket connection to a gateway: handshake, request multiplexing
by id, two-phase answers, event subscriptions, tick watchdog and jittered reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from mission_control.core.logging import background_context
from mission_control.gateway.errors import (
    GatewayAuthFailed,
    GatewayConnectionLost,
    GatewayError,
    GatewayInvalidRequest,
    GatewayNotReady,
    GatewayPairingRequired,
    GatewayProtocolMismatch,
    GatewayTimeout,
    GatewayUnreachable,
    classify_error,
)
from mission_control.gateway.frames import (
    EventFrame,
    FrameError,
    JsonObject,
    RequestFrame,
    ResponseFrame,
    parse_frame,
)
from mission_control.gateway.identity import DeviceIdentity, device_block
from mission_control.gateway.profile import GatewayProfile, profile_from_hello

log = structlog.get_logger(__name__)

CLIENT_ID = "gateway-client"
CLIENT_MODE = "backend"
ROLE = "operator"
MIN_PROTOCOL = 3
MAX_PROTOCOL = 4
DEFAULT_SCOPES = (
    "operator.read",
    "operator.write",
    "operator.admin",
    "operator.approvals",
    "operator.pairing",
)
# Errors that retrying the same credentials cannot fix; requests fail fast while they hold.
_OPERATOR_ACTION_ERRORS = (GatewayAuthFailed, GatewayPairingRequired, GatewayProtocolMismatch)
# Retrying these only burns the gateway's auth rate limit; a new token/target means a new
# connection. Pairing is different: the operator approves on the gateway and we get in.
_STOP_RECONNECTING = (GatewayAuthFailed, GatewayProtocolMismatch)


@dataclass(frozen=True)
class GatewayTarget:
    """Where and how to connect; also the pool key, so it is immutable and hashable."""

    url: str
    token: str = field(repr=False)
    identity_path: Path
    allow_self_signed: bool = False
    scopes: tuple[str, ...] = DEFAULT_SCOPES


@dataclass(frozen=True)
class ConnectionOptions:
    connect_timeout: float = 20.0
    request_timeout: float = 30.0
    backoff_initial: float = 0.25
    backoff_max: float = 10.0
    missed_ticks: int = 2
    max_message_bytes: int = 64 * 1024 * 1024
    client_version: str = "0.1.0"
    platform: str = "linux"
    display_name: str = "Mission Control"


def ssl_context_for(target: GatewayTarget) -> ssl.SSLContext | None:
    """TLS settings for wss:// targets; self-signed certificates only when explicitly allowed."""
    if not target.url.startswith("wss://"):
        return None
    context = ssl.create_default_context()
    if target.allow_self_signed:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def backoff_delay(attempt: int, initial: float, maximum: float) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(maximum, initial * 2**attempt)]."""
    ceiling = min(maximum, initial * (2 ** min(attempt, 30)))
    return random.uniform(0.0, ceiling)  # noqa: S311 - jitter, not security


@dataclass
class _Pending:
    method: str
    first: asyncio.Future[ResponseFrame]
    final: asyncio.Future[ResponseFrame] | None = None

    def fail(self, error: GatewayError) -> None:
        for future in (self.first, self.final):
            if future is not None and not future.done():
                future.set_exception(error)
                # The caller may have gone away; do not warn about an unretrieved exception.
                future.exception()


class EventSubscription:
    """Events of the given names, optionally only for one run id or session key."""

    def __init__(
        self,
        owner: GatewayConnection,
        events: frozenset[str],
        run_id: str | None,
        session_key: str | None,
        max_queued: int,
    ) -> None:
        self._owner = owner
        self.events = events
        self.run_id = run_id
        self.session_key = session_key.lower() if session_key else None
        self._queue: asyncio.Queue[EventFrame] = asyncio.Queue(maxsize=max_queued)

    def matches(self, frame: EventFrame) -> bool:
        if frame.event not in self.events:
            return False
        payload = frame.payload if isinstance(frame.payload, dict) else {}
        if self.run_id is not None and payload.get("runId") != self.run_id:
            return False
        key = payload.get("sessionKey")
        return self.session_key is None or (
            isinstance(key, str) and key.lower() == self.session_key
        )

    def offer(self, frame: EventFrame) -> None:
        if self._queue.full():
            # A slow consumer loses the oldest events rather than stalling the connection.
            self._queue.get_nowait()
        self._queue.put_nowait(frame)

    async def next(self, timeout: float | None = None) -> EventFrame:
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            raise GatewayTimeout(f"no matching event within {timeout}s") from None

    def close(self) -> None:
        self._owner.unsubscribe(self)

    def __aiter__(self) -> EventSubscription:
        return self

    async def __anext__(self) -> EventFrame:
        return await self._queue.get()

    def __enter__(self) -> EventSubscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> EventSubscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class GatewayConnection:
    """Shared by every caller in the process that talks to one gateway."""

    def __init__(
        self,
        target: GatewayTarget,
        options: ConnectionOptions | None = None,
        identity: DeviceIdentity | None = None,
    ) -> None:
        self.target = target
        self.options = options or ConnectionOptions()
        self.identity = identity or DeviceIdentity.load_or_create(target.identity_path)
        self.handshakes = 0
        self._ws: ClientConnection | None = None
        self._profile: GatewayProfile | None = None
        self._pending: dict[str, _Pending] = {}
        self._subscriptions: set[EventSubscription] = set()
        self._connected = asyncio.Event()
        # Replaced on every connect/failed attempt so waiters re-check the state.
        self._changed = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._closing = False
        self._last_error: GatewayError | None = None
        self._last_seen = 0.0
        # Held around every call that writes the gateway's config (see CONFIG_WRITES in
        # client.py): two writes in flight at once make the gateway supersede one reload and
        # then restart to recover, dropping every caller's requests while it does.
        self.config_writes = asyncio.Lock()

    @property
    def profile(self) -> GatewayProfile:
        if self._profile is None:
            raise GatewayUnreachable(f"not connected to {self.target.url}")
        return self._profile

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def closed(self) -> bool:
        """Whether this connection will never serve again: closed by Mission Control, or its
        supervisor stopped (a wrong token or protocol mismatch on a reconnect, or a crash)."""
        supervisor = self._supervisor
        return self._closing or (supervisor is not None and supervisor.done())

    @property
    def last_error(self) -> GatewayError | None:
        """Why the last connection attempt failed (None after a successful handshake)."""
        return self._last_error

    async def connect(self) -> GatewayProfile:
        """Connect once (raising the classified error on failure), then keep the link alive."""
        if self._supervisor is not None:
            return await self.wait_connected(self.options.connect_timeout)
        ws, profile = await self._open_when_started()
        self._attach(ws, profile)
        self._supervisor = asyncio.create_task(
            self._supervise(),
            name=f"gateway {self.target.url}",
            context=background_context(gateway_url=self.target.url),
        )
        return profile

    async def wait_connected(self, timeout: float) -> GatewayProfile:
        if self._closing:
            raise GatewayUnreachable(f"connection to {self.target.url} was closed")
        if not self._connected.is_set():
            try:
                async with asyncio.timeout(timeout):
                    while not self._connected.is_set():
                        if isinstance(self._last_error, _OPERATOR_ACTION_ERRORS):
                            raise self._last_error
                        await self._changed.wait()
            except TimeoutError:
                raise self._unreachable(timeout) from None
        return self.profile

    async def close(self) -> None:
        self._closing = True
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None and not supervisor.done():
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        self._fail_pending(GatewayUnreachable("connection closed by Mission Control"))
        self._connected.clear()

    async def request(
        self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """Send one request and return its payload, or raise the classified GatewayError."""
        budget = self._budget(timeout)
        deadline = asyncio.get_running_loop().time() + budget
        request_id, pending = await self._send(method, params, deadline, two_phase=False)
        frame = await self._await(pending.first, request_id, method, deadline, budget)
        return self._payload(frame, method)

    async def request_two_phase(
        self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> tuple[Any, asyncio.Future[ResponseFrame]]:
        """For methods that answer twice (`agent`): the accepted payload and the final future."""
        budget = self._budget(timeout)
        deadline = asyncio.get_running_loop().time() + budget
        request_id, pending = await self._send(method, params, deadline, two_phase=True)
        frame = await self._await(pending.first, request_id, method, deadline, budget)
        assert pending.final is not None
        return self._payload(frame, method), pending.final

    def subscribe(
        self,
        events: frozenset[str] | set[str] | tuple[str, ...],
        *,
        run_id: str | None = None,
        session_key: str | None = None,
        max_queued: int = 1000,
    ) -> EventSubscription:
        """Receive matching events until closed; the subscription survives reconnects."""
        subscription = EventSubscription(self, frozenset(events), run_id, session_key, max_queued)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: EventSubscription) -> None:
        self._subscriptions.discard(subscription)

    # -- connecting -------------------------------------------------------------------------

    async def _open_when_started(self) -> tuple[ClientConnection, GatewayProfile]:
        """Open, waiting out a gateway that says it is still starting (retryAfterMs)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.connect_timeout
        while True:
            try:
                return await self._open()
            except GatewayNotReady as exc:
                wait = exc.retry_after if exc.retry_after is not None else 0.5
                if loop.time() + wait > deadline:
                    raise
                await asyncio.sleep(wait)

    async def _open(self) -> tuple[ClientConnection, GatewayProfile]:
        url = self.target.url
        try:
            ws = await connect(
                url,
                ssl=ssl_context_for(self.target),
                open_timeout=self.options.connect_timeout,
                close_timeout=2.0,
                max_size=self.options.max_message_bytes,
                compression=None,
                proxy=None,
                user_agent_header=f"mission-control/{self.options.client_version}",
            )
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            raise GatewayUnreachable(f"cannot connect to gateway at {url}: {exc}") from exc
        except ValueError as exc:
            # websockets parses the port only here (e.g. "Port out of range 0-65535").
            raise GatewayUnreachable(
                f"cannot connect to gateway at {url}: the URL is invalid ({exc}); "
                "correct the gateway URL"
            ) from exc
        try:
            profile = await asyncio.wait_for(self._handshake(ws), self.options.connect_timeout)
        except TimeoutError:
            await ws.close()
            raise GatewayUnreachable(f"gateway at {url} did not complete the handshake") from None
        except BaseException:
            await ws.close()
            raise
        return ws, profile

    async def _handshake(self, ws: ClientConnection) -> GatewayProfile:
        try:
            challenge = await self._read_challenge(ws)
            request = RequestFrame(
                id=uuid.uuid4().hex, method="connect", params=self._connect_params(challenge)
            )
            await ws.send(request.encode())
            response = await self._read_response(ws, request.id)
        except ConnectionClosed as exc:
            raise GatewayUnreachable(
                f"gateway at {self.target.url} closed the connection during the handshake "
                f"({exc.rcvd.code if exc.rcvd else 'no close frame'}: "
                f"{exc.rcvd.reason if exc.rcvd else ''})"
            ) from exc
        if not response.ok:
            assert response.error is not None
            raise classify_error(
                response.error, method="connect", device_id=self.identity.device_id
            )
        if not isinstance(response.payload, dict) or response.payload.get("type") != "hello-ok":
            raise GatewayProtocolMismatch("gateway answered connect without a hello-ok payload")
        return profile_from_hello(response.payload)

    async def _read_challenge(self, ws: ClientConnection) -> JsonObject:
        while True:
            frame = parse_frame(await ws.recv())
            if isinstance(frame, EventFrame) and frame.event == "connect.challenge":
                payload = frame.payload
                if (
                    isinstance(payload, dict)
                    and isinstance(payload.get("nonce"), str)
                    and isinstance(payload.get("ts"), int)
                ):
                    return payload
                raise GatewayProtocolMismatch("connect.challenge without nonce and integer ts")

    async def _read_response(self, ws: ClientConnection, request_id: str) -> ResponseFrame:
        while True:
            frame = parse_frame(await ws.recv())
            if isinstance(frame, ResponseFrame) and frame.id == request_id:
                return frame

    def _connect_params(self, challenge: JsonObject) -> JsonObject:
        options = self.options
        scopes = list(self.target.scopes)
        return {
            "minProtocol": MIN_PROTOCOL,
            "maxProtocol": MAX_PROTOCOL,
            "client": {
                "id": CLIENT_ID,
                "version": options.client_version,
                "platform": options.platform,
                "mode": CLIENT_MODE,
                "displayName": options.display_name,
            },
            "role": ROLE,
            "scopes": scopes,
            "auth": {"token": self.target.token},
            "device": device_block(
                self.identity,
                client_id=CLIENT_ID,
                client_mode=CLIENT_MODE,
                role=ROLE,
                scopes=scopes,
                token=self.target.token,
                nonce=challenge["nonce"],
                signed_at=challenge["ts"],
                platform=options.platform,
            ),
        }

    def _attach(self, ws: ClientConnection, profile: GatewayProfile) -> None:
        self._ws = ws
        self._profile = profile
        self._last_error = None
        self._last_seen = asyncio.get_running_loop().time()
        self.handshakes += 1
        self._connected.set()
        self._notify()
        log.info(
            "gateway.connected",
            url=self.target.url,
            version=profile.server_version,
            protocol=profile.protocol,
        )

    # -- running ----------------------------------------------------------------------------

    async def _supervise(self) -> None:
        while not self._closing:
            ws = self._ws
            if ws is not None:
                await self._read_until_closed(ws)
            self._connected.clear()
            self._ws = None
            self._fail_pending(GatewayConnectionLost(f"connection to {self.target.url} was lost"))
            if self._closing:
                return
            if not await self._reconnect():
                return

    async def _reconnect(self) -> bool:
        """Reconnect with jittered backoff; False when only the operator can fix the cause."""
        attempt = 0
        while not self._closing:
            await asyncio.sleep(
                backoff_delay(attempt, self.options.backoff_initial, self.options.backoff_max)
            )
            attempt += 1
            try:
                ws, profile = await self._open()
            except GatewayError as exc:
                self._last_error = exc
                self._notify()
                log.warning("gateway.reconnect_failed", url=self.target.url, error=str(exc))
                if isinstance(exc, _STOP_RECONNECTING):
                    return False
                continue
            self._attach(ws, profile)
            return True
        return False

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _read_until_closed(self, ws: ClientConnection) -> None:
        watchdog = asyncio.create_task(self._watch_ticks(ws))
        try:
            async for message in ws:
                self._last_seen = asyncio.get_running_loop().time()
                self._dispatch(message)
        except ConnectionClosed:
            pass
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog

    async def _watch_ticks(self, ws: ClientConnection) -> None:
        interval = self.profile.tick_interval_ms / 1000.0
        limit = interval * self.options.missed_ticks
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval / 4)
            if loop.time() - self._last_seen > limit:
                log.warning("gateway.ticks_missed", url=self.target.url, silent_for=limit)
                # close() would wait for a peer that stopped answering; drop the socket instead.
                ws.transport.abort()
                return

    def _dispatch(self, message: str | bytes) -> None:
        try:
            frame = parse_frame(message)
        except FrameError as exc:
            log.warning("gateway.bad_frame", url=self.target.url, error=str(exc))
            return
        if isinstance(frame, ResponseFrame):
            self._resolve(frame)
        elif isinstance(frame, EventFrame):
            for subscription in list(self._subscriptions):
                if subscription.matches(frame):
                    subscription.offer(frame)

    def _resolve(self, frame: ResponseFrame) -> None:
        pending = self._pending.get(frame.id)
        if pending is None:
            return
        if pending.final is None:
            self._pending.pop(frame.id, None)
            _set(pending.first, frame)
            return
        if pending.first.done():
            self._pending.pop(frame.id, None)
            _set(pending.final, frame)
            return
        _set(pending.first, frame)
        accepted = frame.ok and isinstance(frame.payload, dict)
        if not (accepted and frame.payload.get("status") == "accepted"):
            # Errors and non-accepted answers (e.g. `in_flight`) are the only answer we get.
            self._pending.pop(frame.id, None)
            _set(pending.final, frame)

    # -- requests ---------------------------------------------------------------------------

    def _budget(self, timeout: float | None) -> float:
        return self.options.request_timeout if timeout is None else timeout

    async def _send(
        self, method: str, params: Mapping[str, Any] | None, deadline: float, *, two_phase: bool
    ) -> tuple[str, _Pending]:
        loop = asyncio.get_running_loop()
        await self.wait_connected(max(deadline - loop.time(), 0.0))
        ws = self._ws
        if ws is None:
            raise self._unreachable(0)
        request = RequestFrame(id=uuid.uuid4().hex, method=method, params=dict(params or {}))
        text = request.encode()
        if len(text.encode("utf-8")) > self.profile.max_payload:
            raise GatewayInvalidRequest(
                f"{method} request is larger than the gateway's limit of "
                f"{self.profile.max_payload} bytes",
                method=method,
            )
        pending = _Pending(
            method=method,
            first=loop.create_future(),
            final=loop.create_future() if two_phase else None,
        )
        self._pending[request.id] = pending
        try:
            await ws.send(text)
        except ConnectionClosed as exc:
            self._pending.pop(request.id, None)
            raise GatewayConnectionLost(
                f"connection to {self.target.url} closed while sending {method}", method=method
            ) from exc
        return request.id, pending

    async def _await(
        self,
        future: asyncio.Future[ResponseFrame],
        request_id: str,
        method: str,
        deadline: float,
        budget: float,
    ) -> ResponseFrame:
        remaining = max(deadline - asyncio.get_running_loop().time(), 0.0)
        try:
            return await asyncio.wait_for(future, remaining)
        except TimeoutError:
            raise GatewayTimeout(
                f"{method} got no answer from {self.target.url} within {budget:g}s", method=method
            ) from None
        finally:
            if future.done() is False or future.cancelled():
                self._pending.pop(request_id, None)

    def _payload(self, frame: ResponseFrame, method: str) -> Any:
        if frame.ok:
            return frame.payload
        assert frame.error is not None
        raise classify_error(frame.error, method=method, device_id=self.identity.device_id)

    def _fail_pending(self, error: GatewayError) -> None:
        pending, self._pending = self._pending, {}
        for entry in pending.values():
            entry.fail(error)

    def _unreachable(self, waited: float) -> GatewayError:
        last = self._last_error
        if isinstance(last, _OPERATOR_ACTION_ERRORS):
            return last
        reason = f": {last}" if last is not None else ""
        return GatewayUnreachable(
            f"gateway at {self.target.url} is not connected (waited {waited:g}s){reason}"
        )


def _set(future: asyncio.Future[ResponseFrame] | None, frame: ResponseFrame) -> None:
    if future is not None and not future.done():
        future.set_result(frame)
