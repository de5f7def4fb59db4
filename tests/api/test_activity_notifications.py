"""Notifications to agents against a real gateway: a failed delivery is recorded with a next
attempt (and an activity event), then delivered once the gateway is reachable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from mission_control.activity.models import ActivityEvent
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.gateway.dev import DevGateway, find_free_port
from mission_control.gateways.models import Gateway
from mission_control.notifications.delivery import Notifier
from mission_control.notifications.models import Notification, NotificationStatus
from mission_control.notifications.service import notify_agent
from tests.gateway.conftest import current_gateway, gateway_install  # noqa: F401
from tests.support import factories

pytestmark = pytest.mark.gateway


@pytest.fixture
async def notifier(runtime: Runtime) -> AsyncIterator[Notifier]:
    notifier = Notifier(runtime, send_timeout=20.0)
    notifier.install()
    try:
        yield notifier
    finally:
        await notifier.stop()
        await runtime.gateway_pool.close()


async def _activity(database: Database, event_type: str) -> list[ActivityEvent]:
    async with database.unit_of_work() as session:
        rows = await session.scalars(
            select(ActivityEvent)
            .where(ActivityEvent.event_type == event_type)
            .order_by(ActivityEvent.id)
        )
        return list(rows)


async def _notification(database: Database) -> Notification:
    async with database.unit_of_work() as session:
        return (await session.scalars(select(Notification))).one()


async def test_failed_delivery_is_recorded_then_retried_until_sent(
    database: Database,
    runtime: Runtime,
    notifier: Notifier,
    current_gateway: DevGateway,  # noqa: F811
) -> None:
    closed_port = find_free_port()  # nothing listens there
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        gw.url = f"ws://127.0.0.1:{closed_port}"
        brd = await factories.board(session, org, gw)
        agent, _ = await factories.agent(session, gw, brd, name="Worker")
        agent.openclaw_session_id = "agent:main:mc-notification-test"
        await notify_agent(
            session,
            agent=agent,
            kind="assignment",
            message="You have been assigned task T-1.",
            organization_id=org.id,
            board_id=brd.id,
        )
        gateway_id, agent_id = gw.id, agent.id
    # Delivered right after the commit, outside the transaction: the gateway is unreachable
    # (retried for a short budget here, so the test does not wait out the default one).
    notifier.send_timeout = 3.0
    await notifier.drain()
    notifier.send_timeout = 20.0
    failed = await _notification(database)
    assert failed.status == NotificationStatus.PENDING
    assert failed.attempts == 1
    assert failed.last_error is not None
    assert str(closed_port) in failed.last_error
    assert failed.next_attempt_at is not None
    assert failed.next_attempt_at > utcnow()
    (failure_event,) = await _activity(database, "notification.failed")
    assert failure_event.agent_id == agent_id
    assert failure_event.details is not None
    assert failure_event.details["notification_id"] == str(failed.id)

    # Not due yet: the retry loop leaves it alone.
    assert await notifier.deliver_due() == 0

    # The gateway becomes reachable (the operator fixed its URL and token).
    async with database.unit_of_work() as session:
        row = await session.get(Gateway, gateway_id)
        assert row is not None
        row.url = current_gateway.url
        row.token_ciphertext = runtime.secrets.encrypt(current_gateway.token)
    later = failed.next_attempt_at + timedelta(seconds=1)
    assert await notifier.deliver_due(now=later) == 1

    sent = await _notification(database)
    assert sent.status == NotificationStatus.SENT
    assert sent.attempts == 2
    assert sent.sent_at is not None
    assert sent.last_error is None
    # The gateway answered chat.send with the run id it derives from our idempotency key.
    assert sent.gateway_run_id == sent.idempotency_key
    assert [e.event_type for e in await _activity(database, "notification.sent")] == [
        "notification.sent"
    ]
    # Sent is final: another pass finds nothing to do.
    assert await notifier.deliver_due(now=later + timedelta(hours=1)) == 0


async def test_rolled_back_notification_is_never_sent(
    database: Database, notifier: Notifier
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        brd = await factories.board(session, org, gw)
        agent, _ = await factories.agent(session, gw, brd)
    with pytest.raises(RuntimeError):
        async with database.unit_of_work() as session:
            await notify_agent(
                session,
                agent=agent,
                kind="mention",
                message="hello",
                organization_id=org.id,
                board_id=brd.id,
            )
            raise RuntimeError("the request failed")
    await notifier.drain()
    async with database.unit_of_work() as session:
        assert (await session.scalars(select(Notification))).all() == []
    assert await _activity(database, "notification.failed") == []


async def test_agent_without_session_is_recorded_as_failed(
    database: Database, notifier: Notifier
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        brd = await factories.board(session, org, gw)
        agent, _ = await factories.agent(session, gw, brd, name="Fresh")
        await notify_agent(
            session,
            agent=agent,
            kind="mention",
            message="hello",
            organization_id=org.id,
            board_id=brd.id,
        )
    await notifier.drain()
    failed = await _notification(database)
    assert failed.attempts == 1
    assert failed.status == NotificationStatus.PENDING
    assert "no gateway session" in (failed.last_error or "")
    assert len(await _activity(database, "notification.failed")) == 1
