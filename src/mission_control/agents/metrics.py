"""Scrape-time figures of the fleet for /metrics: agents by computed status, and each registered
gateway's connection as this process's gateway pool holds it (nothing is connected for it)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from mission_control.agents.models import Agent
from mission_control.agents.status import computed_status
from mission_control.core.clock import utcnow
from mission_control.core.runtime import Runtime
from mission_control.core.security import SecretBoxError
from mission_control.gateways.models import Gateway


async def refresh_fleet_metrics(runtime: Runtime) -> None:
    """Sets the fleet gauges from the database and the pool."""
    now = utcnow()
    async with runtime.database.unit_of_work() as session:
        agents = list(await session.scalars(select(Agent)))
        gateways = list(await session.scalars(select(Gateway)))
    counts = Counter(computed_status(agent, now) for agent in agents)
    runtime.fleet_metrics.set_agents(dict(counts))
    states = []
    for gateway in gateways:
        try:
            connected = runtime.gateway_pool.is_connected(runtime.gateway_target(gateway))
        except SecretBoxError:
            connected = False  # its token cannot be read: it cannot be connected either
        states.append((str(gateway.id), gateway.name, connected))
    runtime.fleet_metrics.set_gateways(states)
