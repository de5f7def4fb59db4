"""Delivers queued notifications through the gateway: right after the commit that queued them,
and again from a retry loop for the ones that failed. Never inside a database transaction."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from mission_control.activity import service as activity
from mission_control.agents.models import Agent
from mission_control.core.clock import utcnow
from mission_control.core.logging import get_logger
from mission_control.core.runtime import Runtime
from mission_control.core.security import SecretBoxError
from mission_control.gateway import GatewayError, GatewayTarget
from mission_control.gateway.delivery import Pooled, deliver_message
from mission_control.gateways.models import Gateway
from mission_control.notifications import repository
from mission_control.notifications.models import Notification, NotificationStatus
from mission_control.tasks.models import Task

log = get_logger("mission_control.notifications")

_QUEUED_KEY = "mc_queued_notifications"
_ENGINE_KEY = "mc_queued_notifications_engine"
BACKOFF_INITIAL_SECONDS = 5.0
BACKOFF_MAX_SECONDS = 900.0
# About a day of retries at the capped backoff; then the row is marked abandoned (and says so
# in the activity log) instead of being retried for ever.
MAX_ATTEMPTS = 100


def backoff(attempts: int) -> timedelta:
    """Delay before the next attempt after ``attempts`` failed ones: 5 s doubling to 15 min."""
    seconds = BACKOFF_INITIAL_SECONDS * 2 ** min(max(attempts - 1, 0), 20)
    return timedelta(seconds=min(seconds, BACKOFF_MAX_SECONDS))


def deliver_after_commit(session: AsyncSession, notification_id: uuid.UUID) -> None:
    session.info.setdefault(_QUEUED_KEY, []).append(notification_id)
    session.info[_ENGINE_KEY] = session.get_bind()


@event.listens_for(Session, "after_commit")
def _deliver_committed(session: Session) -> None:
    ids: list[uuid.UUID] = session.info.pop(_QUEUED_KEY, [])
    engine = session.info.pop(_ENGINE_KEY, None)
    notifier = _notifiers.get(engine) if isinstance(engine, Engine) else None
    if ids and notifier is not None:
        notifier.schedule(ids)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.nested:
        return
    session.info.pop(_QUEUED_KEY, None)
    session.info.pop(_ENGINE_KEY, None)


@dataclass(frozen=True, slots=True)
class _Attempt:
    notification_id: uuid.UUID
    organization_id: uuid.UUID
    board_id: uuid.UUID | None
    task_id: uuid.UUID | None
    agent_id: uuid.UUID
    agent_name: str
    kind: str
    message: str
    idempotency_key: str
    session_key: str | None
    target: GatewayTarget | None
    # Set when the attempt cannot even be made (no session key, no gateway, bad secret).
    problem: str | None


class Notifier:
    """Sends notifications of one database through a gateway pool; one per process."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        lease: timedelta = timedelta(minutes=2),
        batch_size: int = 50,
        concurrency: int = 8,
        send_timeout: float = 30.0,
    ) -> None:
        self.runtime = runtime
        self.database = runtime.database
        self.pool = runtime.gateway_pool
        self.lease = lease
        self.batch_size = batch_size
        self.send_timeout = send_timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[object]] = set()
        self._loop_task: asyncio.Task[None] | None = None

    # -- wiring ---------------------------------------------------------------------------

    def install(self) -> None:
        """Deliver right after every commit of this database that queued notifications."""
        _notifiers[self.database.engine.sync_engine] = self

    def uninstall(self) -> None:
        _notifiers.pop(self.database.engine.sync_engine, None)

    def schedule(self, ids: list[uuid.UUID]) -> None:
        for notification_id in ids:
            task = asyncio.get_running_loop().create_task(self.deliver(notification_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the deliveries scheduled so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def start(self, interval: float = 5.0) -> None:
        self.install()
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._retry_loop(interval), name="notifier")

    async def stop(self) -> None:
        self.uninstall()
        task, self._loop_task = self._loop_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.drain()

    async def _retry_loop(self, interval: float) -> None:
        while True:
            try:
                await self.deliver_due()
            except Exception as error:  # the loop must outlive a bad database moment
                log.warning("notification_retry_failed", error=str(error))
            await asyncio.sleep(interval)

    # -- delivering -----------------------------------------------------------------------

    async def deliver_due(self, *, now: datetime | None = None) -> int:
        """Attempt every due pending notification (one batch); returns how many were tried."""
        now = now or utcnow()
        async with self.database.unit_of_work() as session:
            ids = await repository.due_ids(session, now, limit=self.batch_size)
        results = await asyncio.gather(*(self.deliver(item, now=now) for item in ids))
        return sum(1 for tried in results if tried is not None)

    async def deliver(
        self, notification_id: uuid.UUID, *, now: datetime | None = None
    ) -> bool | None:
        """One attempt: True sent, False failed (recorded), None not due or taken elsewhere."""
        async with self._slots:
            attempt = await self._claim(notification_id, now or utcnow())
            if attempt is None:
                return None
            error, run_id = attempt.problem, None
            if error is None:
                error, run_id = await self._send(attempt)
            await self._record(attempt, error, run_id)
            return error is None

    async def _claim(self, notification_id: uuid.UUID, now: datetime) -> _Attempt | None:
        async with self.database.unit_of_work() as session:
            if not await repository.claim(session, notification_id, now, utcnow() + self.lease):
                return None
            notification = await repository.get(session, notification_id)
            if notification is None:
                return None
            agent = await session.get(Agent, notification.agent_id)
            if agent is None:
                return None
            gateway = await session.get(Gateway, agent.gateway_id)
            target, problem = self._target(agent, gateway)
            task_id = notification.task_id
            if task_id is not None and await session.get(Task, task_id) is None:
                task_id = None  # the task is gone; the activity log cannot point at it
            return _Attempt(
                notification_id=notification.id,
                organization_id=notification.organization_id,
                board_id=notification.board_id,
                task_id=task_id,
                agent_id=agent.id,
                agent_name=agent.name,
                kind=notification.kind,
                message=notification.message,
                idempotency_key=notification.idempotency_key,
                session_key=agent.openclaw_session_id,
                target=target,
                problem=problem,
            )

    def _target(
        self, agent: Agent, gateway: Gateway | None
    ) -> tuple[GatewayTarget | None, str | None]:
        if not agent.openclaw_session_id:
            return None, f"Agent {agent.name} has no gateway session yet (not provisioned)."
        if gateway is None:
            return None, f"Agent {agent.name}'s gateway no longer exists."
        try:
            return self.runtime.gateway_target(gateway), None
        except SecretBoxError as error:
            return None, str(error)

    async def _send(self, attempt: _Attempt) -> tuple[str | None, str | None]:
        assert attempt.target is not None
        assert attempt.session_key is not None
        try:
            # Patching creates the session when it does not exist yet
            # (docs/streams.md#notifications-to-agents).
            run_id = await deliver_message(
                Pooled(self.pool, attempt.target),
                attempt.session_key,
                attempt.message,
                idempotency_key=attempt.idempotency_key,
                deliver=True,
                label=attempt.agent_name,
                budget_s=self.send_timeout,
            )
        except GatewayError as error:
            return f"{error.__class__.__name__}: {error}", None
        return None, run_id

    async def _record(self, attempt: _Attempt, error: str | None, run_id: str | None) -> None:
        async with self.database.unit_of_work() as session:
            notification = await repository.get(session, attempt.notification_id)
            if notification is None:
                return
            notification.attempts += 1
            if error is None:
                _mark_sent(session, notification, attempt, run_id)
            else:
                _mark_failed(session, notification, attempt, error)
        if error is not None:
            log.warning(
                "notification_failed",
                notification_id=str(attempt.notification_id),
                agent_id=str(attempt.agent_id),
                error=error,
            )


def _mark_sent(
    session: AsyncSession, notification: Notification, attempt: _Attempt, run_id: str | None
) -> None:
    now = utcnow()
    notification.status = NotificationStatus.SENT
    notification.sent_at = now
    notification.next_attempt_at = None
    notification.last_error = None
    notification.gateway_run_id = run_id
    _record_activity(
        session,
        attempt,
        "notification.sent",
        f"Sent {attempt.kind} message to {attempt.agent_name} (attempt {notification.attempts}).",
        {"attempt": notification.attempts, "run_id": run_id},
    )


def _mark_failed(
    session: AsyncSession, notification: Notification, attempt: _Attempt, error: str
) -> None:
    notification.last_error = error[:4000]
    if notification.attempts >= MAX_ATTEMPTS:
        notification.status = NotificationStatus.ABANDONED
        notification.next_attempt_at = None
        _record_activity(
            session,
            attempt,
            "notification.abandoned",
            f"Gave up sending {attempt.kind} message to {attempt.agent_name} after "
            f"{notification.attempts} attempts: {error}",
            {"attempt": notification.attempts, "error": error},
        )
        return
    notification.next_attempt_at = utcnow() + backoff(notification.attempts)
    _record_activity(
        session,
        attempt,
        "notification.failed",
        f"Sending {attempt.kind} message to {attempt.agent_name} failed "
        f"(attempt {notification.attempts}; retrying at "
        f"{notification.next_attempt_at.isoformat(timespec='seconds')}): {error}",
        {
            "attempt": notification.attempts,
            "error": error,
            "next_attempt_at": notification.next_attempt_at.isoformat(),
        },
    )


def _record_activity(
    session: AsyncSession,
    attempt: _Attempt,
    event_type: str,
    message: str,
    details: dict[str, object],
) -> None:
    activity.record(
        session,
        event_type,
        message,
        organization_id=attempt.organization_id,
        board_id=attempt.board_id,
        agent_id=attempt.agent_id,
        task_id=attempt.task_id,
        details={"notification_id": str(attempt.notification_id), "kind": attempt.kind, **details},
    )


_notifiers: weakref.WeakKeyDictionary[Engine, Notifier] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def running_notifier(runtime: Runtime, *, interval: float = 5.0) -> AsyncIterator[Notifier]:
    """The app's notifier for its lifespan: delivery after commit plus the retry loop (until
    the provisioning reconciler takes the retries over). The gateway pool is the runtime's."""
    notifier = Notifier(runtime)
    notifier.start(interval)
    try:
        yield notifier
    finally:
        await notifier.stop()
