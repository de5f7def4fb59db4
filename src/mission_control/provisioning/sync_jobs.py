"""Template sync as durable intent (docs/provisioning.md#a-sync-is-durable-intent): a request
records a `template_syncs` row; whoever claims it (the requesting process or the reconciler
leader, in any process) runs it under a renewed lease and writes its report into the row after
each phase; a sync whose runner died is taken over once the lease lapses."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from contextlib import suppress
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.core.clock import utcnow
from mission_control.core.logging import background_context, get_logger
from mission_control.core.runtime import Runtime, RuntimePart
from mission_control.provisioning import repository, service
from mission_control.provisioning.models import FINISHED_STATUSES, TemplateSync
from mission_control.provisioning.sync import SyncError, SyncOptions, SyncReport, sync_templates

log = get_logger("mission_control.provisioning.sync_jobs")

LEASE_SECONDS = 30.0
RENEW_SECONDS = 10.0
POLL_SECONDS = 0.2
DUE_BATCH = 20


def report_document(report: SyncReport) -> dict[str, Any]:
    """The report as stored in the row: SyncReportRead's fields, JSON-ready."""
    document: dict[str, Any] = dataclasses.asdict(report)
    document["gateway_id"] = str(report.gateway_id)
    document["kept_heartbeating"] = list(report.kept_heartbeating)
    for item in [*document["errors"], *document["warnings"]]:
        for key in ("agent_id", "board_id"):
            if item.get(key) is not None:
                item[key] = str(item[key])
    return document


def options_of(row: TemplateSync) -> SyncOptions:
    return SyncOptions(
        include_main=row.include_main,
        reset_sessions=row.reset_sessions,
        rotate_tokens=row.rotate_tokens,
        force_bootstrap=row.force_bootstrap,
        board_id=row.board_id,
    )


async def record_sync(
    session: AsyncSession,
    gateway_id: uuid.UUID,
    organization_id: uuid.UUID,
    user_id: uuid.UUID | None,
    options: SyncOptions,
) -> TemplateSync:
    """The intent, queued in the caller's transaction (flushed, not committed)."""
    empty = SyncReport(gateway_id, options.include_main, options.reset_sessions)
    row = TemplateSync(
        gateway_id=gateway_id,
        organization_id=organization_id,
        requested_by_user_id=user_id,
        include_main=options.include_main,
        reset_sessions=options.reset_sessions,
        rotate_tokens=options.rotate_tokens,
        force_bootstrap=options.force_bootstrap,
        board_id=options.board_id,
        status="queued",
        report=report_document(empty),
        requested_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return row


def agent_lease_owner(sync_id: uuid.UUID) -> str:
    """The owner of the agents' apply leases while this sync runs; the same for whoever takes
    it over, so agents the dead runner held are claimed again at once."""
    return f"sync-{sync_id.hex[:16]}"


async def _claim(runtime: Runtime, sync_id: uuid.UUID, owner: str) -> TemplateSync | None:
    now = utcnow()
    until = now + timedelta(seconds=LEASE_SECONDS)
    async with runtime.database.unit_of_work() as session:
        if not await repository.claim_sync(session, sync_id, owner, now, until):
            return None
        return await session.get(TemplateSync, sync_id, populate_existing=True)


async def _write(
    runtime: Runtime, sync_id: uuid.UUID, owner: str, report: SyncReport, status: str | None
) -> None:
    """Stores the report so far (and the final status), if the sync is still ``owner``'s."""
    async with runtime.database.unit_of_work() as session:
        row = await session.get(TemplateSync, sync_id, populate_existing=True)
        if row is None or row.lease_owner != owner or row.status != "running":
            return
        row.report = report_document(report)
        if status is not None:
            row.status = status
            row.finished_at = utcnow()
            row.lease_owner = None
            row.lease_until = None


async def _keep_lease(runtime: Runtime, sync_id: uuid.UUID, owner: str) -> None:
    while True:
        await asyncio.sleep(RENEW_SECONDS)
        try:
            async with runtime.database.unit_of_work() as session:
                until = utcnow() + timedelta(seconds=LEASE_SECONDS)
                await repository.renew_sync(session, sync_id, owner, until)
        except Exception:  # a missed renewal shortens the lease; the next one may succeed
            log.exception("sync_lease_renew_failed", sync_id=str(sync_id))


async def _execute(runtime: Runtime, row: TemplateSync, owner: str) -> SyncReport:
    options = options_of(row)
    report = SyncReport(row.gateway_id, options.include_main, options.reset_sessions)

    async def progress(current: SyncReport) -> None:
        await _write(runtime, row.id, owner, current, None)

    try:
        if options.include_main:
            await service.ensure_gateway_main_agent(runtime, row.gateway_id)
        return await sync_templates(
            runtime,
            row.gateway_id,
            options,
            owner=agent_lease_owner(row.id),
            progress=progress,
        )
    except Exception as error:  # recorded on the row: the sync failed, the runner lives on
        log.exception("template_sync_failed", sync_id=str(row.id))
        report.errors.append(SyncError(f"Template sync failed: {error}"))
        return report


async def run_sync(runtime: Runtime, sync_id: uuid.UUID, kind: str) -> bool:
    """Claims the sync and runs it to its end; False when someone else runs it (or it is
    finished)."""
    owner = f"{kind}-{uuid.uuid4().hex[:16]}"
    row = await _claim(runtime, sync_id, owner)
    if row is None:
        return False
    keeper = asyncio.get_running_loop().create_task(_keep_lease(runtime, sync_id, owner))
    try:
        report = await _execute(runtime, row, owner)
    finally:
        keeper.cancel()
        with suppress(asyncio.CancelledError):
            await keeper
    await _write(runtime, sync_id, owner, report, "failed" if report.errors else "succeeded")
    return True


async def run_due_syncs(runtime: Runtime, kind: str = "reconciler") -> int:
    """Runs every sync waiting for a runner, one after the other; returns how many it ran."""
    ran = 0
    while True:
        async with runtime.database.unit_of_work() as session:
            due = await repository.claimable_sync_ids(session, utcnow(), DUE_BATCH)
        progressed = False
        for sync_id in due:
            if await run_sync(runtime, sync_id, kind):
                ran += 1
                progressed = True
        if not progressed:
            return ran


async def wait_for_sync(runtime: Runtime, sync_id: uuid.UUID, seconds: float) -> TemplateSync:
    """Polls the row until the sync finished or ``seconds`` passed; returns it as last read."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        async with runtime.database.unit_of_work() as session:
            row = await session.get(TemplateSync, sync_id, populate_existing=True)
        if row is None:
            raise LookupError(sync_id)
        if row.status in FINISHED_STATUSES or loop.time() >= deadline:
            return row
        await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - loop.time())))


class SyncRunners:
    """This process's running syncs started by requests, kept so none is garbage-collected
    mid-run and all can be awaited at shutdown."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.tasks: set[asyncio.Task[bool]] = set()

    def start(self, sync_id: uuid.UUID) -> asyncio.Task[bool]:
        # Its own logging context: the sync outlives the request that started it.
        task = asyncio.get_running_loop().create_task(
            run_sync(self.runtime, sync_id, "request"),
            name=f"template-sync-{sync_id}",
            context=background_context(sync_id=str(sync_id)),
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with suppress(asyncio.CancelledError, Exception):
                await task


SYNC_RUNNERS: RuntimePart[SyncRunners] = RuntimePart("template-sync-runners", SyncRunners)
