"""/metrics shows the fleet (issue 16, finding 7): agents by computed status and each gateway's
connection, computed at scrape time."""

from __future__ import annotations

from datetime import timedelta

import httpx

from mission_control.agents.models import AgentStatus
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from tests.support import factories


def _sample(text: str, name: str, labels: str) -> float | None:
    prefix = f"{name}{{{labels}}} "
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line[len(prefix) :])
    return None


async def test_agents_by_status_and_gateway_connection(
    client: httpx.AsyncClient, database: Database
) -> None:
    now = utcnow()
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gateway = await factories.gateway(session, org, name="edge-metrics")
        board = await factories.board(session, org, gateway)
        for _ in range(2):
            online, _token = await factories.agent(session, gateway, board)
            online.status, online.last_seen_at = AgentStatus.ONLINE, now
        stale, _token = await factories.agent(session, gateway, board)
        stale.status, stale.last_seen_at = AgentStatus.ONLINE, now - timedelta(days=2)
        await factories.agent(session, gateway, board)  # never seen: provisioning
    text = (await client.get("/metrics")).text
    assert _sample(text, "mc_agents", 'status="online"') == 2.0
    assert _sample(text, "mc_agents", 'status="offline"') == 1.0
    assert _sample(text, "mc_agents", 'status="provisioning"') == 1.0
    labels = f'gateway="edge-metrics",gateway_id="{gateway.id}"'
    assert _sample(text, "mc_gateway_connected", labels) == 0.0

    async with database.unit_of_work() as session:
        await factories.agent(session, gateway, board)
    again = (await client.get("/metrics")).text
    assert _sample(again, "mc_agents", 'status="provisioning"') == 2.0
