"""HTTP endpoints for the activity log, for users and for agents."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from mission_control.activity import service
from mission_control.activity.models import ActivityEvent
from mission_control.activity.repository import ActivityFilters
from mission_control.activity.schemas import ActivityRead
from mission_control.agents.service import identify
from mission_control.auth import AgentDep, SessionDep, UserDep
from mission_control.core.api import AGENT_KINDS, API_PREFIX
from mission_control.core.inputs import UtcFilterInstant
from mission_control.core.pagination import Page, PageDep

router = APIRouter(prefix=f"{API_PREFIX}/activity", tags=["activity"])
agent_router = APIRouter(prefix=f"{API_PREFIX}/agent/activity", tags=list(AGENT_KINDS))


def activity_filters(
    board_id: Annotated[uuid.UUID | None, Query()] = None,
    agent_id: Annotated[
        uuid.UUID | None, Query(description="Events about or by this agent.")
    ] = None,
    task_id: Annotated[uuid.UUID | None, Query()] = None,
    event_type: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Exact type, or a prefix ending in '.' or '*' (e.g. 'notification.').",
        ),
    ] = None,
    since: Annotated[
        UtcFilterInstant | None, Query(description="Events at or after this time.")
    ] = None,
) -> ActivityFilters:
    return ActivityFilters(
        board_id=board_id, agent_id=agent_id, task_id=task_id, event_type=event_type, since=since
    )


FiltersDep = Annotated[ActivityFilters, Depends(activity_filters)]


def _page(items: list[ActivityEvent], total: int, page: PageDep) -> Page[ActivityRead]:
    return Page(
        items=[ActivityRead.model_validate(item) for item in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("", response_model=Page[ActivityRead])
async def list_activity(
    context: UserDep, session: SessionDep, page: PageDep, filters: FiltersDep
) -> Page[ActivityRead]:
    """The activity log of the boards you may read (admins: also organisation-level events),
    newest first."""
    items, total = await service.list_for_user(
        session, context, filters, limit=page.limit, offset=page.offset
    )
    return _page(items, total, page)


@agent_router.get("", response_model=Page[ActivityRead])
async def agent_list_activity(
    agent: AgentDep, session: SessionDep, page: PageDep, filters: FiltersDep
) -> Page[ActivityRead]:
    """The activity log of your board, newest first."""
    identity = await identify(session, agent)
    items, total = await service.list_for_agent(
        session,
        agent,
        identity.gateway.organization_id,
        filters,
        limit=page.limit,
        offset=page.offset,
    )
    return _page(items, total, page)
