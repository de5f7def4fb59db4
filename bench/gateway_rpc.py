"""Latency of gateway RPCs on the persistent connection versus a fresh connection per call.

Starts its own isolated gateway (needs `bash scripts/install-gateway.sh` first), measures `health`
and `agents.files.get` both ways in the same run, prints median, p99 and the ratio, then stops it.

    .venv/bin/python bench/gateway_rpc.py [--calls 200] [--fresh-calls 40] [--version current]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog

from mission_control.gateway import GatewayClient, GatewayConnection, GatewayTarget
from mission_control.gateway.dev import start_dev_gateway

REPO = Path(__file__).resolve().parents[1]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


async def timed(count: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000.0)
    return samples


async def fresh_call(target: GatewayTarget, method: str, params: dict[str, Any]) -> None:
    connection = GatewayConnection(target)
    await connection.connect()
    try:
        await connection.request(method, params)
    finally:
        await connection.close()


async def measure(target: GatewayTarget, calls: int, fresh_calls: int) -> None:
    connection = GatewayConnection(target)
    await connection.connect()
    client = GatewayClient(connection)
    agent_id = client.profile.default_agent_id
    await client.files_set(agent_id, "AGENTS.md", "# bench\n" + "x" * 2000)
    cases: dict[str, dict[str, Any]] = {
        "health": {},
        "agents.files.get": {"agentId": agent_id, "name": "AGENTS.md"},
    }
    print(f"gateway {client.profile.server_version} (protocol {client.profile.protocol})")
    print(f"{'method':<18} {'mode':<11} {'n':>4} {'median ms':>10} {'p99 ms':>9}")
    try:
        for method, params in cases.items():
            on_persistent = functools.partial(connection.request, method, params)
            on_fresh = functools.partial(fresh_call, target, method, params)
            await timed(10, on_persistent)  # warm-up
            persistent = await timed(calls, on_persistent)
            fresh = await timed(fresh_calls, on_fresh)
            for mode, samples in (("persistent", persistent), ("fresh", fresh)):
                print(
                    f"{method:<18} {mode:<11} {len(samples):>4} "
                    f"{statistics.median(samples):>10.2f} {percentile(samples, 0.99):>9.2f}"
                )
            ratio = statistics.median(fresh) / statistics.median(persistent)
            print(f"{method:<18} fresh/persistent median ratio: {ratio:.1f}x")
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--fresh-calls", type=int, default=40)
    parser.add_argument("--version", choices=["current", "legacy"], default="current")
    args = parser.parse_args()
    # One connect log line per fresh-connection sample would drown the figures.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="mc-bench-gateway-") as state:
        started = time.perf_counter()
        gateway = start_dev_gateway(REPO / ".cache" / "gateway", Path(state), version=args.version)
        print(f"gateway ready in {time.perf_counter() - started:.1f}s on {gateway.url}")
        try:
            target = GatewayTarget(
                url=gateway.url, token=gateway.token, identity_path=Path(state) / "device.pem"
            )
            asyncio.run(measure(target, args.calls, args.fresh_calls))
        finally:
            gateway.stop()


if __name__ == "__main__":
    main()
