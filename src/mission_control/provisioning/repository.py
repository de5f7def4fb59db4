"""Queries the provisioning flows and the reconciler need."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from mission_control.activity.models import ActivityEvent
from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.gateways.models import Gateway
from mission_control.organizations.models import OrganizationMember, Role
from mission_control.provisioning.models import TemplateSync
from mission_control.tasks.models import Task
from mission_control.users.models import User


async def organization_owner(session: AsyncSession, organization_id: uuid.UUID) -> User | None:
    """The earliest owner of the organisation: whose profile agents' USER.md describes."""
    result = await session.execute(
        select(User)
        .join(OrganizationMember, OrganizationMember.user_id == User.id)
        .where(
            OrganizationMember.organization_id == organization_id,
            OrganizationMember.role == Role.OWNER,
        )
        .order_by(OrganizationMember.created_at, OrganizationMember.id)
        .limit(1)
    )
    return result.scalar_one_or_none()


async def pending_agent_ids(session: AsyncSession, limit: int) -> list[uuid.UUID]:
    """Agents whose desired generation is ahead of what a gateway confirmed, oldest first."""
    result = await session.execute(
        select(Agent.id)
        .where(Agent.generation > Agent.applied_generation, Agent.delete_requested_at.is_(None))
        .order_by(Agent.provision_requested_at, Agent.id)
        .limit(limit)
    )
    return list(result.scalars())


async def deleting_agent_ids(session: AsyncSession, limit: int) -> list[uuid.UUID]:
    result = await session.execute(
        select(Agent.id)
        .where(Agent.delete_requested_at.is_not(None))
        .order_by(Agent.delete_requested_at)
        .limit(limit)
    )
    return list(result.scalars())


async def overdue_agent_ids(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    """Woken agents past their check-in deadline that have not checked in since the wake."""
    result = await session.execute(
        select(Agent.id)
        .where(
            Agent.checkin_deadline_at.is_not(None),
            Agent.checkin_deadline_at < now,
            Agent.delete_requested_at.is_(None),
            or_(Agent.last_seen_at.is_(None), Agent.last_seen_at < Agent.last_wake_sent_at),
        )
        .order_by(Agent.checkin_deadline_at)
        .limit(limit)
    )
    return list(result.scalars())


async def agents_on_gateway(
    session: AsyncSession, gateway_id: uuid.UUID, *, board_id: uuid.UUID | None = None
) -> list[Agent]:
    query = select(Agent).where(Agent.gateway_id == gateway_id)
    if board_id is not None:
        query = query.where(Agent.board_id == board_id)
    result = await session.execute(query.order_by(Agent.created_at, Agent.id))
    return list(result.scalars())


async def board_and_gateway(
    session: AsyncSession, agent: Agent
) -> tuple[Board | None, Gateway | None]:
    board = await session.get(Board, agent.board_id) if agent.board_id else None
    gateway = await session.get(Gateway, agent.gateway_id)
    return board, gateway


async def release_tasks(session: AsyncSession, agent_id: uuid.UUID, now: datetime) -> None:
    """In-progress work goes back to the inbox; everything else is just unassigned
    (docs/agents.md#delete)."""
    await session.execute(
        update(Task)
        .where(and_(Task.assigned_agent_id == agent_id, Task.status == "in_progress"))
        .values(
            assigned_agent_id=None,
            status="inbox",
            in_progress_at=None,
            updated_at=now,
            version=Task.version + 1,
        )
    )
    await session.execute(
        update(Task)
        .where(Task.assigned_agent_id == agent_id)
        .values(assigned_agent_id=None, updated_at=now, version=Task.version + 1)
    )


async def lead_of(session: AsyncSession, board_id: uuid.UUID) -> Agent | None:
    result = await session.execute(
        select(Agent).where(Agent.board_id == board_id, Agent.is_board_lead.is_(True))
    )
    return result.scalar_one_or_none()


async def main_agent_of(session: AsyncSession, gateway_id: uuid.UUID) -> Agent | None:
    result = await session.execute(
        select(Agent).where(Agent.gateway_id == gateway_id, Agent.board_id.is_(None))
    )
    return result.scalar_one_or_none()


async def latest_agent_event(
    session: AsyncSession, agent_id: uuid.UUID, event_type: str
) -> ActivityEvent | None:
    result = await session.execute(
        select(ActivityEvent)
        .where(ActivityEvent.agent_id == agent_id, ActivityEvent.event_type == event_type)
        .order_by(ActivityEvent.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class PendingWork:
    """One agent whose intent is not applied yet, as the reconciler needs it."""

    agent_id: uuid.UUID
    gateway_id: uuid.UUID
    generation: int
    action: str | None
    parked_generation: int | None


async def pending_work(session: AsyncSession, limit: int) -> list[PendingWork]:
    """Pending provisioning/updates (not deletions), oldest request first."""
    result = await session.execute(
        select(
            Agent.id,
            Agent.gateway_id,
            Agent.generation,
            Agent.provision_action,
            Agent.provision_parked_generation,
        )
        .where(Agent.generation > Agent.applied_generation, Agent.delete_requested_at.is_(None))
        .order_by(Agent.provision_requested_at, Agent.id)
        .limit(limit)
    )
    return [PendingWork(*row) for row in result.all()]


async def claim(
    session: AsyncSession, agent_id: uuid.UUID, owner: str, now: datetime, until: datetime
) -> bool:
    """Takes (or renews) the agent's apply lease with one conditional UPDATE: it succeeds only
    when no other worker holds an unexpired lease. True when ``owner`` holds it now."""
    result = await session.execute(
        update(Agent)
        .where(
            Agent.id == agent_id,
            or_(
                Agent.provision_lease_until.is_(None),
                Agent.provision_lease_until < now,
                Agent.provision_lease_owner == owner,
            ),
        )
        .values(provision_lease_owner=owner, provision_lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def release(session: AsyncSession, agent_id: uuid.UUID, owner: str) -> None:
    await session.execute(
        update(Agent)
        .where(Agent.id == agent_id, Agent.provision_lease_owner == owner)
        .values(provision_lease_owner=None, provision_lease_until=None)
        .execution_options(synchronize_session=False)
    )


async def unpark(
    session: AsyncSession,
    *,
    gateway_id: uuid.UUID | None = None,
    agent_ids: list[uuid.UUID] | None = None,
) -> int:
    """Clears parking (all agents, a gateway's, or some): the cause may have changed."""
    query = update(Agent).where(Agent.provision_parked_generation.is_not(None))
    if gateway_id is not None:
        query = query.where(Agent.gateway_id == gateway_id)
    if agent_ids is not None:
        query = query.where(Agent.id.in_(agent_ids))
    result = await session.execute(
        query.values(provision_parked_generation=None).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# -- template syncs (docs/provisioning.md#a-sync-is-durable-intent) ---------------------------


def _sync_claimable(now: datetime, owner: str) -> ColumnElement[bool]:
    """Queued, or running under a lease that lapsed (its process died) or is ``owner``'s."""
    return or_(
        TemplateSync.status == "queued",
        and_(
            TemplateSync.status == "running",
            or_(
                TemplateSync.lease_until.is_(None),
                TemplateSync.lease_until < now,
                TemplateSync.lease_owner == owner,
            ),
        ),
    )


async def claim_sync(
    session: AsyncSession, sync_id: uuid.UUID, owner: str, now: datetime, until: datetime
) -> bool:
    """Takes the sync with one conditional UPDATE (as the agent apply lease): of concurrent
    claimers, in any process, exactly one wins. True when ``owner`` runs it now."""
    result = await session.execute(
        update(TemplateSync)
        .where(TemplateSync.id == sync_id, _sync_claimable(now, owner))
        .values(
            status="running",
            lease_owner=owner,
            lease_until=until,
            started_at=func.coalesce(TemplateSync.started_at, now),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def renew_sync(
    session: AsyncSession, sync_id: uuid.UUID, owner: str, until: datetime
) -> bool:
    """Extends ``owner``'s lease on a running sync; False when it is no longer its own."""
    result = await session.execute(
        update(TemplateSync)
        .where(
            TemplateSync.id == sync_id,
            TemplateSync.status == "running",
            TemplateSync.lease_owner == owner,
        )
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def claimable_sync_ids(session: AsyncSession, now: datetime, limit: int) -> list[uuid.UUID]:
    """Syncs waiting for a runner (queued, or abandoned by a dead one), oldest first."""
    result = await session.execute(
        select(TemplateSync.id)
        .where(_sync_claimable(now, owner=""))
        .order_by(TemplateSync.requested_at, TemplateSync.id)
        .limit(limit)
    )
    return list(result.scalars())


async def gateway_syncs(
    session: AsyncSession, gateway_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[TemplateSync], int]:
    """A gateway's syncs, newest first, with their total."""
    where = TemplateSync.gateway_id == gateway_id
    total = await session.scalar(select(func.count()).select_from(TemplateSync).where(where))
    result = await session.execute(
        select(TemplateSync)
        .where(where)
        .order_by(TemplateSync.requested_at.desc(), TemplateSync.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(result.scalars()), int(total or 0)
