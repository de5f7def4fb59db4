"""Queries for gateways, scoped by organisation."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.gateways.models import Gateway


async def in_organization(
    session: AsyncSession, org_id: uuid.UUID, gateway_id: uuid.UUID
) -> Gateway | None:
    result = await session.execute(
        select(Gateway).where(Gateway.id == gateway_id, Gateway.organization_id == org_id)
    )
    return result.scalar_one_or_none()


async def page(
    session: AsyncSession, org_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[list[Gateway], int]:
    query = select(Gateway).where(Gateway.organization_id == org_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    result = await session.execute(
        query.order_by(Gateway.created_at.desc(), Gateway.id).limit(limit).offset(offset)
    )
    return list(result.scalars()), int(total or 0)


async def name_taken(
    session: AsyncSession, org_id: uuid.UUID, name: str, *, except_id: uuid.UUID | None = None
) -> bool:
    query = select(Gateway.id).where(Gateway.organization_id == org_id, Gateway.name == name)
    if except_id is not None:
        query = query.where(Gateway.id != except_id)
    return (await session.scalar(query.limit(1))) is not None


async def addresses(session: AsyncSession, org_id: uuid.UUID) -> list[tuple[uuid.UUID, str, str]]:
    """(id, url, name) of every gateway of the organisation."""
    result = await session.execute(
        select(Gateway.id, Gateway.url, Gateway.name).where(Gateway.organization_id == org_id)
    )
    return [(row.id, row.url, row.name) for row in result]
