"""Template sync as durable intent, against a real OpenClaw gateway: the POST still answers the
report, ``wait=false`` answers 202 and the sync's GET shows it finish, the reconciler drives a
queued sync and takes over one whose runner died, and only the gateway's org admins see it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.gateway.dev import DevGateway
from mission_control.gateways.models import Gateway
from mission_control.organizations.models import Role
from mission_control.provisioning import sync_jobs
from mission_control.provisioning.models import TemplateSync
from mission_control.provisioning.reconciler import Reconciler
from mission_control.provisioning.sync import SyncOptions
from tests.support import factories
from tests.support.apps import app_runtime, asgi_client
from tests.support.dev_gateways import running_gateway

pytestmark = pytest.mark.gateway

SYNCS = "/api/v1/gateways/{gateway_id}/templates"


@pytest.fixture(scope="module")
def real_gateway(
    gateway_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    yield from running_gateway(gateway_install, tmp_path_factory.mktemp("openclaw-syncs"))


@pytest.fixture
async def runtime(database: Database, tmp_path: Path) -> AsyncIterator[Runtime]:
    async with app_runtime(database, tmp_path, reconciler_interval_seconds=0.5) as runtime:
        yield runtime
        await runtime.part(sync_jobs.SYNC_RUNNERS).close()


@pytest.fixture
async def http(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(runtime) as client:
        yield client


class Org:
    def __init__(self, admin: dict[str, str], member: dict[str, str], outsider: dict[str, str]):
        self.admin, self.member, self.outsider = admin, member, outsider


@pytest.fixture
async def org(database: Database) -> Org:
    async with database.unit_of_work() as session:
        home = await factories.organization(session, "Syncing Org")
        admin = await factories.person(session, home, Role.ADMIN)
        member = await factories.person(session, home, Role.MEMBER)
        elsewhere = await factories.organization(session, "Elsewhere")
        outsider = await factories.person(session, elsewhere, Role.OWNER)
    return Org(admin.headers, member.headers, outsider.headers)


async def _gateway(http: httpx.AsyncClient, gw: DevGateway, org: Org) -> uuid.UUID:
    created = await http.post(
        "/api/v1/gateways",
        json={
            "name": f"sync-{uuid.uuid4().hex[:6]}",
            "url": gw.url,
            "token": gw.token,
            "workspace_root": str(gw.state_dir / f"root-{uuid.uuid4().hex[:6]}"),
        },
        headers=org.admin,
    )
    assert created.status_code == 201, created.text
    return uuid.UUID(created.json()["id"])


async def _until_finished(
    http: httpx.AsyncClient, location: str, headers: dict[str, str]
) -> dict[str, Any]:
    for _ in range(600):
        read = await http.get(location, headers=headers)
        assert read.status_code == 200, read.text
        if read.json()["status"] in ("succeeded", "failed"):
            return dict(read.json())
        await asyncio.sleep(0.1)
    raise AssertionError(f"{location} never finished")


async def test_the_post_waits_and_answers_the_report(
    http: httpx.AsyncClient, real_gateway: DevGateway, org: Org
) -> None:
    gateway_id = await _gateway(http, real_gateway, org)
    answer = await http.post(SYNCS.format(gateway_id=gateway_id) + "/sync", headers=org.admin)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "succeeded"
    assert body["main_updated"] is True
    assert body["errors"] == []
    assert body["finished_at"] is not None
    read = await http.get(
        SYNCS.format(gateway_id=gateway_id) + f"/syncs/{body['id']}", headers=org.admin
    )
    assert read.json() == body


async def test_without_waiting_it_answers_202_and_the_get_shows_it_finish(
    http: httpx.AsyncClient, real_gateway: DevGateway, org: Org
) -> None:
    gateway_id = await _gateway(http, real_gateway, org)
    base = SYNCS.format(gateway_id=gateway_id)
    first = await http.post(f"{base}/sync", params={"wait": "false"}, headers=org.admin)
    assert first.status_code == 202, first.text
    assert first.json()["status"] in ("queued", "running")
    location = first.headers["location"]
    assert location == f"{base}/syncs/{first.json()['id']}"
    done = await _until_finished(http, location, org.admin)
    assert done["status"] == "succeeded", done
    assert done["main_updated"] is True
    second = await http.post(
        f"{base}/sync", params={"wait": "false", "include_main": "false"}, headers=org.admin
    )
    assert second.status_code == 202
    await _until_finished(http, second.headers["location"], org.admin)
    listed = await http.get(f"{base}/syncs", params={"limit": 1}, headers=org.admin)
    assert listed.status_code == 200
    assert listed.json()["total"] == 2
    assert [item["id"] for item in listed.json()["items"]] == [second.json()["id"]]


async def test_only_the_gateways_org_admins_request_or_read_syncs(
    http: httpx.AsyncClient, real_gateway: DevGateway, org: Org
) -> None:
    gateway_id = await _gateway(http, real_gateway, org)
    base = SYNCS.format(gateway_id=gateway_id)
    done = await http.post(f"{base}/sync", headers=org.admin)
    assert done.status_code == 200
    one = f"{base}/syncs/{done.json()['id']}"
    for headers, refused in ((org.outsider, 404), (org.member, 403), ({}, 401)):
        assert (await http.post(f"{base}/sync", headers=headers)).status_code == refused
        assert (await http.get(one, headers=headers)).status_code == refused
        assert (await http.get(f"{base}/syncs", headers=headers)).status_code == refused
    missing = await http.get(f"{base}/syncs/{uuid.uuid4()}", headers=org.admin)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "template_sync_not_found"


async def _record(runtime: Runtime, gateway_id: uuid.UUID) -> uuid.UUID:
    """A sync recorded the way a request records it, with nobody started to run it."""
    async with runtime.database.unit_of_work() as session:
        gateway = await session.get(Gateway, gateway_id)
        assert gateway is not None
        row = await sync_jobs.record_sync(
            session, gateway_id, gateway.organization_id, None, SyncOptions()
        )
        return row.id


async def _status(runtime: Runtime, sync_id: uuid.UUID) -> TemplateSync:
    async with runtime.database.unit_of_work() as session:
        row = await session.get(TemplateSync, sync_id)
        assert row is not None
        return row


async def test_the_reconciler_runs_a_queued_sync_and_takes_over_a_dead_runners(
    runtime: Runtime, http: httpx.AsyncClient, real_gateway: DevGateway, org: Org
) -> None:
    gateway_id = await _gateway(http, real_gateway, org)
    queued = await _record(runtime, gateway_id)
    abandoned = await _record(runtime, gateway_id)
    lapsed = utcnow() - timedelta(seconds=1)
    async with runtime.database.unit_of_work() as session:
        row = await session.get(TemplateSync, abandoned)
        assert row is not None
        row.status, row.started_at = "running", lapsed - timedelta(seconds=30)
        row.lease_owner, row.lease_until = "request-of-a-dead-process", lapsed
    stop = asyncio.Event()
    reconciler = Reconciler(runtime)
    task = asyncio.create_task(reconciler.run(stop))
    try:
        for _ in range(900):
            rows = [await _status(runtime, queued), await _status(runtime, abandoned)]
            if all(r.status in ("succeeded", "failed") for r in rows):
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task
    for row in rows:
        assert row.status == "succeeded", row.report
        assert row.report["main_updated"] is True
        assert row.lease_owner is None
        assert row.finished_at is not None
