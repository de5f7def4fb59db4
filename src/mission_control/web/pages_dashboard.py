"""The dashboard: gateways, agents by status, pending approvals, done per board, activity."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import readable_board_ids
from mission_control.activity import service as activity
from mission_control.activity.repository import ActivityFilters
from mission_control.agents import lifecycle
from mission_control.agents.schemas import AgentRead
from mission_control.boards import service as boards
from mission_control.boards.models import Board
from mission_control.core.clock import utcnow
from mission_control.core.runtime import Runtime
from mission_control.gateway.errors import GatewayPairingRequired
from mission_control.gateways import service as gateways
from mission_control.gateways.models import Gateway
from mission_control.web import repository
from mission_control.web.charts import BarChart, bar_chart
from mission_control.web.rendering import render
from mission_control.web.routing import ConsoleRoute, Tx, WebDep

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

AGENT_STATUSES = ("online", "provisioning", "updating", "offline")
LIST_LIMIT = 500


@dataclass(frozen=True)
class GatewayState:
    gateway: Gateway
    state: str
    version: str
    pairing: str


@dataclass(frozen=True)
class BoardThroughput:
    board: Board
    total: int
    chart: BarChart


def gateway_state(runtime: Runtime, gateway: Gateway) -> GatewayState:
    """What this process knows about its link to the gateway, without connecting."""
    try:
        client = runtime.gateway_pool.peek(runtime.gateway_target(gateway))
    except Exception:  # an undecryptable token: the gateway cannot be reached at all
        return GatewayState(gateway, "token unreadable", "unknown", "unknown")
    if client is None:
        return GatewayState(gateway, "not connected yet", "unknown", "unknown")
    connection = client.connection
    if connection.connected:
        return GatewayState(gateway, "connected", connection.profile.server_version, "paired")
    error = connection.last_error
    pairing = "pairing required" if isinstance(error, GatewayPairingRequired) else "unknown"
    reason = f"disconnected: {error}" if error is not None else "disconnected"
    return GatewayState(gateway, reason, "unknown", pairing)


def agent_reason(agent: AgentRead) -> str:
    """Why an agent has its status, in a few words."""
    if agent.status == "offline":
        seen = agent.last_seen_at
        return "never checked in" if seen is None else f"last seen {seen:%Y-%m-%d %H:%M} UTC"
    if agent.status in ("provisioning", "updating"):
        if agent.last_provision_error:
            return agent.last_provision_error
        return "waiting to reach the gateway" if agent.provision_pending else "waiting for check-in"
    return ""


def days(today: date, count: int = 7) -> list[date]:
    return [today - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


async def throughput(tx: Tx, board_list: list[Board]) -> list[BoardThroughput]:
    context = tx.viewer.context
    since_day = days(utcnow().date())
    since = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=6)
    counts = await repository.moved_to_done(
        tx.session, context.organization.id, [b.id for b in board_list], since
    )
    result = []
    for board in board_list:
        per_day = counts.get(board.id, {})
        values = [(day.strftime("%a"), per_day.get(day, 0)) for day in since_day]
        chart = bar_chart(values, label=f"Tasks moved to done per day on {board.name}")
        result.append(BoardThroughput(board, sum(v for _, v in values), chart))
    return result


async def _gateway_states(tx: Tx, runtime: Runtime) -> list[GatewayState] | None:
    if not tx.viewer.context.is_admin:
        return None
    items, _ = await gateways.list_gateways(tx.session, tx.viewer.context, limit=100, offset=0)
    return [gateway_state(runtime, gateway) for gateway in items]


async def _visible_boards(session: AsyncSession, tx: Tx) -> list[Board]:
    items, _ = await boards.list_boards(
        session, tx.viewer.context, gateway_id=None, board_group_id=None, limit=LIST_LIMIT, offset=0
    )
    return items


@router.get("/")
async def dashboard(web: WebDep) -> Response:
    async with web.read() as tx:
        context = tx.viewer.context
        board_list = await _visible_boards(tx.session, tx)
        agents, _ = await lifecycle.list_agents(
            tx.session, context, board_id=None, gateway_id=None, limit=LIST_LIMIT, offset=0
        )
        by_status = Counter(agent.status for agent in agents)
        readable = await readable_board_ids(tx.session, context)
        approvals, pending_total = await repository.pending_approvals(
            tx.session, context.organization.id, readable, limit=5
        )
        recent, _ = await activity.list_for_user(
            tx.session, context, ActivityFilters(), limit=10, offset=0
        )
        board_names: dict[uuid.UUID, str] = {b.id: b.name for b in board_list}
        return render(
            web.request,
            "dashboard.html",
            title="Dashboard",
            nav="dashboard",
            viewer=tx.viewer,
            live_stream="/live/events",
            gateways=await _gateway_states(tx, web.runtime),
            agents=[a for a in agents if a.status != "online"][:20],
            agent_reason=agent_reason,
            by_status=by_status,
            statuses=AGENT_STATUSES,
            approvals=approvals,
            pending_total=pending_total,
            throughput=await throughput(tx, board_list),
            recent=recent,
            board_names=board_names,
        )
