"""The activity feed: filter by board, agent, type and time; live."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response

from mission_control.activity import service as activity
from mission_control.activity.repository import ActivityFilters
from mission_control.agents import lifecycle
from mission_control.boards import service as boards
from mission_control.core.clock import utcnow
from mission_control.web.rendering import render
from mission_control.web.routing import ConsoleRoute, WebDep, parse_uuid, readable_board

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PAGE = 100
PERIODS = {
    "1h": timedelta(hours=1),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
TYPES = (
    ("task.", "Tasks"),
    ("task.status_changed", "Task moves"),
    ("approval.", "Approvals"),
    ("agent.", "Agents"),
    ("memory.", "Memory and chat"),
    ("board.", "Boards"),
    ("gateway.", "Gateways"),
    ("notification.", "Notifications"),
)


@router.get("/activity")
async def activity_feed(
    web: WebDep,
    board_id: str | None = None,
    agent_id: str | None = None,
    type: str | None = None,
    since: str | None = None,
    offset: int = 0,
) -> Response:
    async with web.read() as tx:
        context = tx.viewer.context
        board = parse_uuid(board_id) if board_id else None
        if board is not None:
            await readable_board(tx.session, tx.viewer, board)
        agent = parse_uuid(agent_id) if agent_id else None
        event_type = type.strip()[:100] if type and type.strip() else None
        period = PERIODS.get(since or "")
        filters = ActivityFilters(
            board_id=board,
            agent_id=agent,
            event_type=event_type,
            since=utcnow() - period if period is not None else None,
        )
        offset = max(offset, 0)
        events, total = await activity.list_for_user(
            tx.session, context, filters, limit=PAGE, offset=offset
        )
        visible, _ = await boards.list_boards(
            tx.session, context, gateway_id=None, board_group_id=None, limit=500, offset=0
        )
        agents, _ = await lifecycle.list_agents(
            tx.session, context, board_id=None, gateway_id=None, limit=500, offset=0
        )
        stream = "/live/events?topics=activity"
        if board is not None:
            stream += f"&board_id={board}"
        query = {
            "board_id": str(board) if board else "",
            "agent_id": str(agent) if agent else "",
            "type": event_type or "",
            "since": since if period is not None else "",
        }
        return render(
            web.request,
            "activity.html",
            title="Activity",
            nav="activity",
            viewer=tx.viewer,
            live_stream=stream,
            events=events,
            total=total,
            offset=offset,
            page=PAGE,
            board_names={item.id: item.name for item in visible},
            agent_names={item.id: item.name for item in agents},
            types=TYPES,
            periods=list(PERIODS),
            query=query,
            board_filter=board,
            agent_filter=agent,
            type_filter=event_type,
            since_filter=query["since"],
        )
