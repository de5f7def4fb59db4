"""GatewayPool: one shared GatewayClient per gateway target for the whole process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from mission_control.gateway.client import GatewayClient
from mission_control.gateway.connection import ConnectionOptions, GatewayConnection, GatewayTarget

log = structlog.get_logger(__name__)


class GatewayPool:
    """Created by the app's lifespan; `close()` on shutdown ends every connection."""

    def __init__(self, options: ConnectionOptions | None = None) -> None:
        self._options = options or ConnectionOptions()
        self._clients: dict[GatewayTarget, GatewayClient] = {}
        self._locks: dict[GatewayTarget, asyncio.Lock] = {}
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def client(self, target: GatewayTarget) -> GatewayClient:
        """The connected client for `target`, connecting on first use and again when the pooled
        connection is closed for good (e.g. the gateway refused its token on a reconnect)."""
        if self._closed:
            raise RuntimeError("gateway pool is closed")
        existing = self._serving(target)
        if existing is not None:
            return existing
        lock = self._locks.setdefault(target, asyncio.Lock())
        async with lock:
            existing = self._serving(target)
            if existing is not None:
                return existing
            await self._evict(target)
            connection = GatewayConnection(target, self._options)
            await connection.connect()
            client = GatewayClient(connection)
            self._clients[target] = client
            return client

    def _serving(self, target: GatewayTarget) -> GatewayClient | None:
        client = self._clients.get(target)
        return client if client is not None and not client.connection.closed else None

    async def _evict(self, target: GatewayTarget) -> None:
        """Drop a pooled client whose connection stopped; the caller opens a fresh one."""
        client = self._clients.pop(target, None)
        if client is None:
            return
        error = client.connection.last_error
        log.info("gateway.pool_evicted", url=target.url, error=str(error) if error else None)
        await client.connection.close()

    def peek(self, target: GatewayTarget) -> GatewayClient | None:
        """The client for `target` if one was opened; never connects (for status displays)."""
        return self._clients.get(target)

    def is_connected(self, target: GatewayTarget) -> bool:
        """Whether this pool holds a live connection to ``target`` (never connects)."""
        client = self._clients.get(target)
        return client is not None and client.connection.connected

    async def discard(self, target: GatewayTarget) -> None:
        """Close and forget one target (e.g. its token or URL changed)."""
        client = self._clients.pop(target, None)
        if client is not None:
            await client.connection.close()

    async def close(self) -> None:
        self._closed = True
        clients, self._clients = list(self._clients.values()), {}
        results = await asyncio.gather(
            *(client.connection.close() for client in clients), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result

    def __len__(self) -> int:
        return len(self._clients)


@contextlib.asynccontextmanager
async def open_pool(options: ConnectionOptions | None = None) -> AsyncIterator[GatewayPool]:
    pool = GatewayPool(options)
    try:
        yield pool
    finally:
        await pool.close()
