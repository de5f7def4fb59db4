"""Gateway rules: admins register gateways (the token is encrypted and never handed back), create
and update check the connection and ensure the gateway-main agent (template sync: syncs.py)."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import require_admin
from mission_control.activity import service as activity
from mission_control.agents import repository as agents
from mission_control.agents.models import Agent
from mission_control.core.errors import Conflict, NotFound
from mission_control.core.runtime import Runtime
from mission_control.core.security import SecretBox
from mission_control.core.unit_of_work import end_transaction
from mission_control.gateways import repository
from mission_control.gateways.models import Gateway
from mission_control.gateways.schemas import (
    GatewayAdminRead,
    GatewayCreate,
    GatewayDeleted,
    GatewayRead,
    GatewayStatusRead,
    GatewayUpdate,
    MainAgentRead,
)
from mission_control.gateways.status import gateway_status
from mission_control.organizations.service import UserContext
from mission_control.provisioning import repository as provisioning_repository
from mission_control.provisioning import service as provisioning
from mission_control.provisioning.identities import gateway_main_agent_id

CLEANUP_TIMEOUT_SECONDS = 20.0


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


def _url_key(url: str) -> str:
    """The same gateway address however it was typed (scheme and host case, trailing slash)."""
    parsed = urlsplit(url.strip())
    port = f":{parsed.port}" if parsed.port else ""
    path = parsed.path.rstrip("/")
    return f"{parsed.scheme.lower()}://{(parsed.hostname or '').lower()}{port}{path}"


async def _check_url_free(
    session: AsyncSession, context: UserContext, url: str, except_id: uuid.UUID | None = None
) -> None:
    """One registration per gateway address in an organisation: a second one would create a
    second gateway-main agent on the same gateway and fight over its workspaces."""
    wanted = _url_key(url)
    for gateway_id, existing_url, name in await repository.addresses(
        session, context.organization.id
    ):
        if gateway_id != except_id and _url_key(existing_url) == wanted:
            raise Conflict(
                f"Gateway {name!r} ({gateway_id}) is already registered at {existing_url}; "
                "update that one (PATCH /api/v1/gateways/{id}) instead of registering the "
                "address again.",
                code="gateway_url_taken",
                details={"gateway_id": str(gateway_id), "name": name},
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
    await _check_url_free(session, context, data.url)
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
) -> tuple[Gateway, int]:
    """Saves the change; returns the gateway and how many of its agents must be provisioned
    again because its address or workspace root moved."""
    require_admin(context)
    gateway = await require_gateway(session, context, gateway_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") is not None and changes["name"] != gateway.name:
        await _check_name_free(session, context, changes["name"], except_id=gateway.id)
    if changes.get("url") is not None:
        await _check_url_free(session, context, changes["url"], except_id=gateway.id)
    if "token" in changes:
        token = data.token.get_secret_value() if data.token else None
        gateway.token_ciphertext = secrets.encrypt(token) if token else None
    moved = any(
        changes.get(field) not in (None, getattr(gateway, field))
        for field in ("url", "workspace_root")
    )
    for field in ("name", "url", "workspace_root", "allow_insecure_tls", "disable_device_pairing"):
        value = changes.get(field)
        if value is not None:
            setattr(gateway, field, value)
    await session.flush()
    # A new address may be a gateway without our agents, a new root moves every workspace:
    # every agent on it is provisioned again (the reconciler does it, without waking anyone).
    refreshing = await provisioning.request_refresh(session, gateway.id) if moved else 0
    activity.record(
        session,
        "gateway.updated",
        f"Gateway {gateway.name} updated ({', '.join(sorted(changes)) or 'no fields'})"
        + (f"; {refreshing} agent(s) to provision again." if refreshing else "."),
        organization_id=context.organization.id,
        actor_user_id=context.user.id,
        details={
            "gateway_id": str(gateway.id),
            "fields": sorted(changes),
            "agents_reprovisioning": refreshing,
        },
    )
    return gateway, refreshing


async def _deletable_gateway(
    session: AsyncSession, context: UserContext, gateway_id: uuid.UUID
) -> Gateway:
    require_admin(context)
    gateway = await require_gateway(session, context, gateway_id)
    board_agents = await agents.count_board_agents_on_gateway(session, gateway.id)
    if board_agents:
        raise Conflict(
            f"{board_agents} board agent(s) still run on gateway {gateway.name}; delete them "
            "first (their boards can then move to another gateway).",
            code="gateway_in_use",
            details={"board_agents": board_agents},
        )
    return gateway


async def _remove_main_agent_from(runtime: Runtime, gateway: Gateway) -> str | None:
    """Best effort: the gateway-main agent and its workspace leave OpenClaw; returns why not."""
    try:
        async with asyncio.timeout(CLEANUP_TIMEOUT_SECONDS):
            return await provisioning.remove_gateway_agent(
                runtime, gateway.id, gateway_main_agent_id(gateway.id)
            )
    except TimeoutError:
        return f"the gateway did not answer within {CLEANUP_TIMEOUT_SECONDS:.0f} s"
    finally:
        await runtime.gateway_pool.discard(runtime.gateway_target(gateway))


async def delete_gateway(
    session: AsyncSession, runtime: Runtime, context: UserContext, gateway_id: uuid.UUID
) -> GatewayDeleted:
    """Removes the gateway-main agent (and its workspace) from the gateway when it answers, then
    the registration; an unreachable gateway is reported, not a reason to keep the row."""
    gateway = await _deletable_gateway(session, context, gateway_id)
    failure = await _remove_main_agent_from(runtime, gateway)
    warning = None
    if failure is not None:
        warning = (
            f"The gateway-main agent ({gateway_main_agent_id(gateway.id)}) could not be removed "
            f"from gateway {gateway.name} at {gateway.url}: {failure}. Remove it there by hand "
            f"(`openclaw agents delete {gateway_main_agent_id(gateway.id)}`) if the gateway "
            "still runs."
        )
    await agents.delete_main_agents(session, gateway.id)
    await session.delete(gateway)
    activity.record(
        session,
        "gateway.deleted",
        f"Gateway {gateway.name} removed."
        + (f" {warning}" if warning else " Its gateway-main agent was removed from it."),
        organization_id=context.organization.id,
        actor_user_id=context.user.id,
        details={"gateway_id": str(gateway.id), "main_agent_removed": failure is None},
    )
    await session.flush()
    return GatewayDeleted(id=gateway.id, main_agent_removed=failure is None, warning=warning)


# -- connection check and gateway-main agent (docs/gateway.md#gateway-admin-api)


async def _converge(
    runtime: Runtime, gateway: Gateway
) -> tuple[GatewayStatusRead, MainAgentRead | None]:
    """After a create or update is committed: ensure the gateway-main agent row (durable
    intent), check the connection, and provision the main agent right away when the gateway
    answers; otherwise the reconciler does it once the gateway is reachable."""
    main_id = await provisioning.ensure_gateway_main_agent(runtime, gateway.id)
    async with runtime.database.unit_of_work() as session:
        # The gateway's settings changed: what parked its agents may be fixed now.
        await provisioning_repository.unpark(session, gateway_id=gateway.id)
    runtime.reconcile_soon.set()
    status = await gateway_status(runtime, gateway)
    async with runtime.database.unit_of_work() as session:
        main = await session.get(Agent, main_id)
        assert main is not None
        missing = status.connected and status.main_agent_present is False
        if missing and main.generation <= main.applied_generation:
            provisioning.request_apply(main, "update")
        pending = main.generation > main.applied_generation
        action: provisioning.Action = "update" if main.applied_generation else "provision"
        read = MainAgentRead(id=main.id, name=main.name, provisioned=not pending)
    if not (status.connected and pending):
        if pending and not status.connected:
            read.error = _waiting_reason(gateway, status)
        return status, read
    outcome = await provisioning.apply_agent(
        runtime, main_id, provisioning.ApplyOptions(action=action, wake=True)
    )
    read.provisioned = outcome.ok
    read.error = outcome.error
    if outcome.ok:
        status.main_agent_present = True
    return status, read


def _waiting_reason(gateway: Gateway, status: GatewayStatusRead) -> str:
    """Why the gateway-main agent is not provisioned yet, and what resolves it."""
    problem = status.error
    if problem is not None and problem.code == "gateway_auth_failed":
        return (
            f"The gateway at {gateway.url} refused the token: {problem.message} Nothing happens "
            "until the token is right: PATCH /api/v1/gateways/"
            f"{gateway.id} with the gateway's token (`token`); provisioning runs right then."
        )
    if problem is not None and problem.code == "gateway_pairing_required":
        return f"{problem.message} Provisioning runs once the device is approved."
    reason = f" ({problem.message})" if problem is not None else ""
    return f"Waiting for the gateway{reason}; provisioning runs once it is reachable."


def admin_view(
    gateway: Gateway, status: GatewayStatusRead, main: MainAgentRead | None
) -> GatewayAdminRead:
    return GatewayAdminRead(
        **GatewayRead.model_validate(gateway).model_dump(), status=status, main_agent=main
    )


async def register_gateway(
    session: AsyncSession, runtime: Runtime, context: UserContext, data: GatewayCreate
) -> GatewayAdminRead:
    gateway = await create_gateway(session, context, data, runtime.secrets)
    await end_transaction(session)
    status, main = await _converge(runtime, gateway)
    return admin_view(gateway, status, main)


async def change_gateway(
    session: AsyncSession,
    runtime: Runtime,
    context: UserContext,
    gateway_id: uuid.UUID,
    data: GatewayUpdate,
) -> GatewayAdminRead:
    require_admin(context)
    before = runtime.gateway_target(await require_gateway(session, context, gateway_id))
    gateway, refreshing = await update_gateway(session, context, gateway_id, data, runtime.secrets)
    await end_transaction(session)
    if runtime.gateway_target(gateway) != before:
        # Another URL, token or TLS choice: the old connection must not be reused.
        await runtime.gateway_pool.discard(before)
    status, main = await _converge(runtime, gateway)
    view = admin_view(gateway, status, main)
    view.agents_reprovisioning = refreshing
    return view


async def status_of(
    session: AsyncSession, runtime: Runtime, context: UserContext, gateway_id: uuid.UUID
) -> GatewayStatusRead:
    require_admin(context)
    gateway = await require_gateway(session, context, gateway_id)
    await end_transaction(session)
    return await gateway_status(runtime, gateway)
