"""Template sync from the API (docs/gateway.md#template-sync-from-the-api): an admin records a
sync of a gateway, waits for it or not, and reads it back with its report so far."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import require_admin
from mission_control.activity import service as activity
from mission_control.core.errors import NotFound
from mission_control.core.runtime import Runtime
from mission_control.core.unit_of_work import after_commit, end_transaction
from mission_control.gateways.schemas import SyncReportRead
from mission_control.gateways.service import require_gateway
from mission_control.organizations.service import UserContext
from mission_control.provisioning import repository as provisioning_repository
from mission_control.provisioning import sync_jobs
from mission_control.provisioning.models import FINISHED_STATUSES, TemplateSync
from mission_control.provisioning.sync import SyncOptions

WAIT_SECONDS = 60.0


def _start_soon(session: AsyncSession, runtime: Runtime, sync_id: uuid.UUID) -> None:
    """After the commit, this process tries to run the sync and the reconciler is kicked; the
    row's claim lets exactly one of them (or of another process's) run it."""

    async def start() -> None:
        runtime.part(sync_jobs.SYNC_RUNNERS).start(sync_id)
        runtime.reconcile_soon.set()

    after_commit(session, start)


async def request_sync(
    session: AsyncSession,
    runtime: Runtime,
    context: UserContext,
    gateway_id: uuid.UUID,
    options: SyncOptions,
) -> TemplateSync:
    """Records the sync (run after the request's commit); org admins of the gateway's org."""
    require_admin(context)
    gateway = await require_gateway(session, context, gateway_id)
    row = await sync_jobs.record_sync(
        session, gateway.id, context.organization.id, context.user.id, options
    )
    activity.record(
        session,
        "gateway.templates.sync",
        f"Template sync of gateway {gateway.name} requested.",
        organization_id=context.organization.id,
        actor_user_id=context.user.id,
        details={"gateway_id": str(gateway.id), "sync_id": str(row.id)},
    )
    _start_soon(session, runtime, row.id)
    return row


async def sync_gateway_templates(
    session: AsyncSession,
    runtime: Runtime,
    context: UserContext,
    gateway_id: uuid.UUID,
    options: SyncOptions,
    wait_seconds: float = WAIT_SECONDS,
) -> TemplateSync:
    """Records the sync, commits, and waits up to ``wait_seconds`` for it to finish; returns
    the row as last read (problems are in its report, not raised)."""
    row = await request_sync(session, runtime, context, gateway_id, options)
    await end_transaction(session)
    return await sync_jobs.wait_for_sync(runtime, row.id, wait_seconds)


async def get_sync(
    session: AsyncSession, context: UserContext, gateway_id: uuid.UUID, sync_id: uuid.UUID
) -> TemplateSync:
    require_admin(context)
    gateway = await require_gateway(session, context, gateway_id)
    row = await session.get(TemplateSync, sync_id)
    if row is None or row.gateway_id != gateway.id:
        raise NotFound("Template sync not found.", code="template_sync_not_found")
    return row


async def list_syncs(
    session: AsyncSession,
    context: UserContext,
    gateway_id: uuid.UUID,
    *,
    limit: int,
    offset: int,
) -> tuple[list[TemplateSync], int]:
    require_admin(context)
    gateway = await require_gateway(session, context, gateway_id)
    return await provisioning_repository.gateway_syncs(
        session, gateway.id, limit=limit, offset=offset
    )


def is_finished(row: TemplateSync) -> bool:
    return row.status in FINISHED_STATUSES


def report_read(row: TemplateSync) -> SyncReportRead:
    return SyncReportRead.model_validate(
        {
            **row.report,
            "id": row.id,
            "status": row.status,
            "requested_at": row.requested_at,
            "started_at": row.started_at,
            "finished_at": row.finished_at,
        }
    )
