"""Gateway rules: admins register gateways; the token is encrypted and never handed back."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import require_admin
from mission_control.activity import service as activity
from mission_control.agents import repository as agents
from mission_control.core.errors import Conflict, NotFound
from mission_control.core.security import SecretBox
from mission_control.gateways import repository
from mission_control.gateways.models import Gateway
from mission_control.gateways.schemas import GatewayCreate, GatewayUpdate
from mission_control.organizations.service import UserContext


async def require_gateway(
    session: AsyncSession, context: UserContext, gateway_id: uuid.UUID
) -> Gateway:
    gateway = await repository.in_organization(session, context.organization.id, gateway_id)
    if gateway is None:
        raise NotFound("Gateway not found.")
    return gateway


async def _check_name_free(
    session: AsyncSession, context: UserContext, name: str, except_id: uuid.UUID | None = None
) -> None:
    if await repository.name_taken(session, context.organization.id, name, except_id=except_id):
        raise Conflict(
            f"A gateway named {name!r} already exists in this organisation; choose another name.",
            code="gateway_name_taken",
        )


async def list_gateways(
    session: AsyncSession, context: UserContext, *, limit: int, offset: int
) -> tuple[list[Gateway], int]:
    require_admin(context)
    return await repository.page(session, context.organization.id, limit=limit, offset=offset)


async def get_gateway(
    session: AsyncSession, context: UserContext, gateway_id: uuid.UUID
) -> Gateway:
    require_admin(context)
    return await require_gateway(session, context, gateway_id)


async def create_gateway(
    session: AsyncSession, context: UserContext, data: GatewayCreate, secrets: SecretBox
) -> Gateway:
    require_admin(context)
    await _check_name_free(session, context, data.name)
    token = data.token.get_secret_value() if data.token else None
    gateway = Gateway(
        organization_id=context.organization.id,
        name=data.name,
        url=data.url,
        token_ciphertext=secrets.encrypt(token) if token else None,
        workspace_root=data.workspace_root,
        allow_insecure_tls=data.allow_insecure_tls,
        disable_device_pairing=data.disable_device_pairing,
    )
    session.add(gateway)
    await session.flush()
    activity.record(
        session,
        "gateway.created",
        f"Gateway {gateway.name} registered at {gateway.url}.",
        organization_id=context.organization.id,
        actor_user_id=context.user.id,
        details={"gateway_id": str(gateway.id)},
    )
    return gateway


async def update_gateway(
    session: AsyncSession,
    context: UserContext,
    gateway_id: uuid.UUID,
    data: GatewayUpdate,
    secrets: SecretBox,
) -> Gateway:
    require_admin(context)
    gateway = await require_gateway(session, context, gateway_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") is not None and changes["name"] != gateway.name:
        await _check_name_free(session, context, changes["name"], except_id=gateway.id)
    if "token" in changes:
        token = data.token.get_secret_value() if data.token else None
        gateway.token_ciphertext = secrets.encrypt(token) if token else None
    for field in ("name", "url", "workspace_root", "allow_insecure_tls", "disable_device_pairing"):
        value = changes.get(field)
        if value is not None:
            setattr(gateway, field, value)
    await session.flush()
    activity.record(
        session,
        "gateway.updated",
        f"Gateway {gateway.name} updated ({', '.join(sorted(changes)) or 'no fields'}).",
        organization_id=context.organization.id,
        actor_user_id=context.user.id,
        details={"gateway_id": str(gateway.id), "fields": sorted(changes)},
    )
    return gateway


async def delete_gateway(
    session: AsyncSession, context: UserContext, gateway_id: uuid.UUID
) -> None:
    require_admin(context)
    gateway = await require_gateway(session, context, gateway_id)
    board_agents = await agents.count_board_agents_on_gateway(session, gateway.id)
    if board_agents:
        raise Conflict(
            f"{board_agents} board agent(s) still run on gateway {gateway.name}; delete them or "
            "move their boards to another gateway first.",
            code="gateway_in_use",
            details={"board_agents": board_agents},
        )
    await agents.delete_main_agents(session, gateway.id)
    await session.delete(gateway)
    activity.record(
        session,
        "gateway.deleted",
        f"Gateway {gateway.name} removed.",
        organization_id=context.organization.id,
        actor_user_id=context.user.id,
        details={"gateway_id": str(gateway.id)},
    )
    await session.flush()
