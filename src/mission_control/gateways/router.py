"""HTTP endpoints for gateways (organisation admins only)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from mission_control.core.api import API_PREFIX
from mission_control.core.auth import RuntimeDep, SessionDep, UserDep
from mission_control.core.pagination import Page, PageDep
from mission_control.gateways import service
from mission_control.gateways.schemas import GatewayCreate, GatewayRead, GatewayUpdate

router = APIRouter(prefix=f"{API_PREFIX}/gateways", tags=["gateways"])


@router.get("", response_model=Page[GatewayRead])
async def list_gateways(context: UserDep, session: SessionDep, page: PageDep) -> Page[GatewayRead]:
    items, total = await service.list_gateways(
        session, context, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[GatewayRead.model_validate(g) for g in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", response_model=GatewayRead, status_code=status.HTTP_201_CREATED)
async def create_gateway(
    data: GatewayCreate, context: UserDep, session: SessionDep, runtime: RuntimeDep
) -> GatewayRead:
    gateway = await service.create_gateway(session, context, data, runtime.secrets)
    return GatewayRead.model_validate(gateway)


@router.get("/{gateway_id}", response_model=GatewayRead)
async def get_gateway(gateway_id: uuid.UUID, context: UserDep, session: SessionDep) -> GatewayRead:
    return GatewayRead.model_validate(await service.get_gateway(session, context, gateway_id))


@router.patch("/{gateway_id}", response_model=GatewayRead)
async def update_gateway(
    gateway_id: uuid.UUID,
    data: GatewayUpdate,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> GatewayRead:
    gateway = await service.update_gateway(session, context, gateway_id, data, runtime.secrets)
    return GatewayRead.model_validate(gateway)


@router.delete("/{gateway_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_gateway(gateway_id: uuid.UUID, context: UserDep, session: SessionDep) -> None:
    await service.delete_gateway(session, context, gateway_id)
