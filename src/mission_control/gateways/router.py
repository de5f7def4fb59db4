"""HTTP endpoints for gateways: admin CRUD with a connection check, status, ad-hoc probe,
template sync, and the gateway sessions API (docs/gateway.md#gateway-admin-api,
docs/gateway.md#gateway-sessions-api)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from mission_control.auth import RuntimeDep, SessionDep, UserDep
from mission_control.core.api import API_PREFIX
from mission_control.core.pagination import Page, PageDep
from mission_control.gateways import service, sessions, syncs
from mission_control.gateways import status as gateway_status
from mission_control.gateways.schemas import (
    GatewayAdminRead,
    GatewayCreate,
    GatewayDeleted,
    GatewayProbe,
    GatewayRead,
    GatewayStatusRead,
    GatewayUpdate,
    OkRead,
    SessionHistoryRead,
    SessionListRead,
    SessionMessage,
    SessionRead,
    SyncReportRead,
)
from mission_control.provisioning.sync import SyncOptions

router = APIRouter(prefix=f"{API_PREFIX}/gateways", tags=["gateways"])

BoardQuery = Annotated[uuid.UUID | None, Query(description="Resolve the gateway of this board.")]
GatewayQuery = Annotated[uuid.UUID | None, Query(description="A gateway of your organisation.")]


# -- routes without a gateway id first: "/status" must not be read as "/{gateway_id}" ---------


@router.get("/status", response_model=GatewayStatusRead)
async def board_gateway_status(
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    board_id: BoardQuery = None,
    gateway_id: GatewayQuery = None,
) -> GatewayStatusRead:
    """Status of the gateway of ``board_id`` (or of ``gateway_id``); org admins."""
    scope = await sessions.resolve(
        session, context, board_id=board_id, gateway_id=gateway_id, admin=True
    )
    return await service.status_of(session, runtime, context, scope.gateway.id)


@router.post("/probe", response_model=GatewayStatusRead)
async def probe_gateway(
    data: GatewayProbe, context: UserDep, runtime: RuntimeDep
) -> GatewayStatusRead:
    """Check a gateway that is not registered (org admins; rate limited; nothing stored)."""
    return await gateway_status.probe(runtime, context, data)


@router.get("/sessions", response_model=SessionListRead)
async def list_sessions(
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    board_id: BoardQuery = None,
    gateway_id: GatewayQuery = None,
) -> SessionListRead:
    scope = await sessions.resolve(
        session, context, board_id=board_id, gateway_id=gateway_id, admin=True
    )
    items, main = await sessions.list_sessions(session, runtime, scope)
    return SessionListRead(sessions=items, main_session=main)


@router.get("/sessions/{session_id}", response_model=SessionRead)
async def get_session(
    session_id: str,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    board_id: BoardQuery = None,
    gateway_id: GatewayQuery = None,
) -> SessionRead:
    scope = await sessions.resolve(
        session, context, board_id=board_id, gateway_id=gateway_id, admin=True
    )
    return SessionRead(session=await sessions.get_session(session, runtime, scope, session_id))


@router.get("/sessions/{session_id}/history", response_model=SessionHistoryRead)
async def session_history(
    session_id: str,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    board_id: BoardQuery = None,
    gateway_id: GatewayQuery = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> SessionHistoryRead:
    scope = await sessions.resolve(
        session, context, board_id=board_id, gateway_id=gateway_id, admin=True
    )
    history = await sessions.session_history(session, runtime, scope, session_id, limit)
    return SessionHistoryRead(history=history)


@router.post("/sessions/{session_id}/message", response_model=OkRead)
async def send_session_message(
    session_id: str,
    data: SessionMessage,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    board_id: BoardQuery = None,
    gateway_id: GatewayQuery = None,
) -> OkRead:
    """Send a message into a session: board write access (or org admin with ``gateway_id``)."""
    scope = await sessions.resolve(
        session, context, board_id=board_id, gateway_id=gateway_id, admin=False, write=True
    )
    await sessions.send_message(session, runtime, scope, session_id, data.content)
    return OkRead()


# -- gateway CRUD -----------------------------------------------------------------------------


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


@router.post("", response_model=GatewayAdminRead, status_code=status.HTTP_201_CREATED)
async def create_gateway(
    data: GatewayCreate, context: UserDep, session: SessionDep, runtime: RuntimeDep
) -> GatewayAdminRead:
    """Register a gateway, check the connection and ensure its gateway-main agent."""
    return await service.register_gateway(session, runtime, context, data)


@router.get("/{gateway_id}", response_model=GatewayRead)
async def get_gateway(gateway_id: uuid.UUID, context: UserDep, session: SessionDep) -> GatewayRead:
    return GatewayRead.model_validate(await service.get_gateway(session, context, gateway_id))


@router.patch("/{gateway_id}", response_model=GatewayAdminRead)
async def update_gateway(
    gateway_id: uuid.UUID,
    data: GatewayUpdate,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> GatewayAdminRead:
    """Change a gateway, check the connection and ensure its gateway-main agent."""
    return await service.change_gateway(session, runtime, context, gateway_id, data)


@router.delete("/{gateway_id}", response_model=GatewayDeleted)
async def delete_gateway(
    gateway_id: uuid.UUID, context: UserDep, session: SessionDep, runtime: RuntimeDep
) -> GatewayDeleted:
    """Remove the gateway-main agent and its workspace from the gateway (best effort: an
    unreachable gateway gives a ``warning`` saying what to remove by hand), then the
    registration. Refused (409) while board agents run on it."""
    return await service.delete_gateway(session, runtime, context, gateway_id)


@router.get("/{gateway_id}/status", response_model=GatewayStatusRead)
async def get_gateway_status(
    gateway_id: uuid.UUID, context: UserDep, session: SessionDep, runtime: RuntimeDep
) -> GatewayStatusRead:
    """Connected, server version, protocol, pairing state and scopes, agents, sessions."""
    return await service.status_of(session, runtime, context, gateway_id)


@router.post(
    "/{gateway_id}/templates/sync",
    response_model=SyncReportRead,
    responses={202: {"model": SyncReportRead, "description": "Accepted; still running."}},
)
async def sync_templates(
    gateway_id: uuid.UUID,
    context: UserDep,
    session: SessionDep,
    runtime: RuntimeDep,
    response: Response,
    include_main: bool = True,
    reset_sessions: bool = False,
    rotate_tokens: bool = False,
    force_bootstrap: bool = False,
    board_id: uuid.UUID | None = None,
    wait: Annotated[
        bool, Query(description="Wait (up to 60 s) for the sync to finish; false: answer 202.")
    ] = True,
) -> SyncReportRead:
    """Re-render and re-write every agent's workspace on this gateway. The sync is recorded and
    run after the commit; the answer is its report (200, problems are in ``errors``) once it
    finished, or 202 with its id and ``Location`` while it runs."""
    options = SyncOptions(
        include_main=include_main,
        reset_sessions=reset_sessions,
        rotate_tokens=rotate_tokens,
        force_bootstrap=force_bootstrap,
        board_id=board_id,
    )
    if wait:
        row = await syncs.sync_gateway_templates(session, runtime, context, gateway_id, options)
    else:
        row = await syncs.request_sync(session, runtime, context, gateway_id, options)
    if not syncs.is_finished(row):
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = f"{router.prefix}/{gateway_id}/templates/syncs/{row.id}"
    return syncs.report_read(row)


@router.get("/{gateway_id}/templates/syncs", response_model=Page[SyncReportRead])
async def list_template_syncs(
    gateway_id: uuid.UUID, context: UserDep, session: SessionDep, page: PageDep
) -> Page[SyncReportRead]:
    """This gateway's template syncs, newest first, each with its status and report."""
    items, total = await syncs.list_syncs(
        session, context, gateway_id, limit=page.limit, offset=page.offset
    )
    return Page(
        items=[syncs.report_read(row) for row in items],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{gateway_id}/templates/syncs/{sync_id}", response_model=SyncReportRead)
async def get_template_sync(
    gateway_id: uuid.UUID, sync_id: uuid.UUID, context: UserDep, session: SessionDep
) -> SyncReportRead:
    """One template sync: its status and its report so far."""
    return syncs.report_read(await syncs.get_sync(session, context, gateway_id, sync_id))
