"""The event bus: durable stream events written with the transaction, fanned out after commit
to in-process subscribers and, on PostgreSQL, to every other process through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import asyncpg
from sqlalchemy import ForeignKey, Index, String, event, or_, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from mission_control.core.clock import utcnow
from mission_control.core.db import Base, Database
from mission_control.core.logging import get_logger
from mission_control.core.types import BigIntId, JSONType, UTCDateTime

log = get_logger("mission_control.events")

NOTIFY_CHANNEL = "mc_stream_events"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; bigger events travel by id only.
_MAX_NOTIFY_BYTES = 7900
_PENDING_KEY = "mc_pending_stream_events"
_COMMITTED_KEY = "mc_committed_stream_events"
_ENGINE_KEY = "mc_stream_events_engine"

EventData = dict[str, Any] | Callable[[], dict[str, Any]]


class StreamEvent(Base):
    """One row per emitted event; the integer id is the SSE event id (the resume cursor).

    Board, agent and task ids are plain columns, not foreign keys: an event outlives the rows
    it talks about (``task.deleted`` names a task that no longer exists).
    """

    __tablename__ = "stream_events"
    __table_args__ = (
        Index("ix_stream_events_organization_id_id", "organization_id", "id"),
        Index("ix_stream_events_board_id_id", "board_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    board_id: Mapped[uuid.UUID | None] = mapped_column()
    agent_id: Mapped[uuid.UUID | None] = mapped_column()
    task_id: Mapped[uuid.UUID | None] = mapped_column()
    kind: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


@dataclass(frozen=True)
class Event:
    """A committed event as subscribers see it (shared by all of them: treat as read-only)."""

    id: int
    kind: str
    organization_id: uuid.UUID
    board_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    task_id: uuid.UUID | None
    data: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_row(cls, row: StreamEvent) -> Event:
        return cls(
            id=row.id,
            kind=row.kind,
            organization_id=row.organization_id,
            board_id=row.board_id,
            agent_id=row.agent_id,
            task_id=row.task_id,
            data=row.data,
            created_at=row.created_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "organization_id": str(self.organization_id),
            "board_id": _str_or_none(self.board_id),
            "agent_id": _str_or_none(self.agent_id),
            "task_id": _str_or_none(self.task_id),
            "data": self.data,
            "created_at": self.created_at.isoformat(),
        }

    @cached_property
    def json_text(self) -> str:
        """Serialised once per process, however many subscribers send it."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def to_json(self) -> str:
        return self.json_text

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Event:
        return cls(
            id=int(raw["id"]),
            kind=str(raw["kind"]),
            organization_id=uuid.UUID(raw["organization_id"]),
            board_id=_uuid_or_none(raw.get("board_id")),
            agent_id=_uuid_or_none(raw.get("agent_id")),
            task_id=_uuid_or_none(raw.get("task_id")),
            data=dict(raw.get("data") or {}),
            created_at=datetime.fromisoformat(raw["created_at"]),
        )


def _str_or_none(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _uuid_or_none(value: object) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def _plain_json(data: dict[str, Any]) -> dict[str, Any]:
    # JSON columns take only plain JSON; callers may pass UUIDs and datetimes.
    plain: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return plain


@dataclass(slots=True)
class _PendingEvent:
    kind: str
    organization_id: uuid.UUID
    board_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    task_id: uuid.UUID | None
    data: EventData
    created_at: datetime


def emit(
    session: AsyncSession | Session,
    kind: str,
    *,
    organization_id: uuid.UUID,
    board_id: uuid.UUID | None = None,
    agent_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
    data: EventData,
) -> None:
    """Record an event in the session's transaction; subscribers see it only once it commits.

    Synchronous on purpose (like ``activity.record``): the row is written when the transaction
    commits (ids are assigned then, so ``data`` may also be a zero-argument callable evaluated
    at commit time, after every other pending row got its id). On PostgreSQL the same
    transaction sends ``pg_notify`` so other processes fan the event out. A rollback drops it.
    Kinds are ``<topic>.<verb>``: ``task.created``, ``approval.resolved``, ``memory.created``,
    ``activity.created``, ``agent.updated``... A plain ``Session`` is accepted for ORM event
    hooks that run inside the flush or commit (``agents.events``).
    """
    if not session.in_transaction():
        # Begin now (no I/O) so a rollback before any statement still discards the event.
        (session.sync_session if isinstance(session, AsyncSession) else session).begin()
    pending: list[_PendingEvent] = session.info.setdefault(_PENDING_KEY, [])
    pending.append(
        _PendingEvent(
            kind=kind,
            organization_id=organization_id,
            board_id=board_id,
            agent_id=agent_id,
            task_id=task_id,
            data=data,
            created_at=utcnow(),
        )
    )


@event.listens_for(Session, "before_commit")
def _write_pending_events(session: Session) -> None:
    pending: list[_PendingEvent] = session.info.pop(_PENDING_KEY, [])
    if not pending:
        return
    # Flush first so rows the event data refers to (activity events) have their ids.
    session.flush()
    rows = [
        StreamEvent(
            organization_id=item.organization_id,
            board_id=item.board_id,
            agent_id=item.agent_id,
            task_id=item.task_id,
            kind=item.kind,
            data=_plain_json(item.data() if callable(item.data) else item.data),
            created_at=item.created_at,
        )
        for item in pending
    ]
    session.add_all(rows)
    session.flush()
    connection = session.connection()
    events = [Event.from_row(row) for row in rows]
    if connection.dialect.name == "postgresql":
        for item in events:
            connection.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": NOTIFY_CHANNEL, "payload": _notify_payload(item)},
            )
    session.info.setdefault(_COMMITTED_KEY, []).extend(events)
    session.info[_ENGINE_KEY] = connection.engine


@event.listens_for(Session, "after_commit")
def _publish_committed_events(session: Session) -> None:
    events: list[Event] = session.info.pop(_COMMITTED_KEY, [])
    engine: Engine | None = session.info.pop(_ENGINE_KEY, None)
    if not events or engine is None:
        return
    bus = _buses.get(engine)
    if bus is not None:
        for item in events:
            bus.publish(item)


@event.listens_for(Session, "after_soft_rollback")
def _drop_uncommitted_events(session: Session, previous_transaction: SessionTransaction) -> None:
    # A savepoint rollback keeps them (rare; the outer transaction may still commit).
    if previous_transaction.nested:
        return
    session.info.pop(_PENDING_KEY, None)
    session.info.pop(_COMMITTED_KEY, None)
    session.info.pop(_ENGINE_KEY, None)


def _notify_payload(item: Event) -> str:
    payload = item.to_json()
    if len(payload.encode("utf-8")) <= _MAX_NOTIFY_BYTES:
        return payload
    return json.dumps({"id": item.id})


# -- subscribers -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventScope:
    """What one subscriber may see: one organisation, some of its boards, some kinds."""

    organization_id: uuid.UUID
    # None: every board of the organisation.
    board_ids: frozenset[uuid.UUID] | None
    # Events that belong to no board (organisation-level), e.g. for admins.
    include_unboarded: bool = False
    # Kind prefixes such as "task." ; empty means every kind.
    kinds: tuple[str, ...] = ()

    def allows(self, item: Event) -> bool:
        if item.organization_id != self.organization_id:
            return False
        if self.kinds and not item.kind.startswith(self.kinds):
            return False
        if item.board_id is None:
            return self.include_unboarded
        return self.board_ids is None or item.board_id in self.board_ids


@dataclass(eq=False)
class Subscription:
    """A bounded queue of events for one subscriber; a subscriber too slow to keep up is cut
    off (``overflowed``) and resumes from the database with Last-Event-ID."""

    scope: EventScope
    max_queued: int = 1000
    overflowed: bool = False
    closed: bool = False
    _queue: asyncio.Queue[Event | None] = field(init=False)

    def __post_init__(self) -> None:
        self._queue = asyncio.Queue()

    def offer(self, item: Event) -> None:
        if self.closed or not self.scope.allows(item):
            return
        if self._queue.qsize() >= self.max_queued:
            self.overflowed = True
            self._end()
            return
        self._queue.put_nowait(item)

    async def next(self, timeout: float | None = None) -> Event | None:
        """The next event; None once the subscription ended (closed or overflowed)."""
        if self.closed and self._queue.empty():
            return None
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is None:
            self.closed = True
        return item

    def _end(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)


class EventBus:
    """The per-process fan-out for one database; see ``bus_for``."""

    def __init__(self, engine: AsyncEngine, *, recent_ids: int = 10_000) -> None:
        self._engine = engine
        self._subscriptions: dict[uuid.UUID, set[Subscription]] = {}
        # Events already delivered: an event arrives twice in the writing process (after-commit
        # and its own NOTIFY). Keyed with the time too, so a database whose ids were reset
        # (restored, truncated) is not mistaken for repeats.
        self._recent: OrderedDict[tuple[int, datetime], None] = OrderedDict()
        self._recent_max = recent_ids
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._last_notified_id = 0
        self._fetches: set[asyncio.Task[None]] = set()
        self.published = 0

    @property
    def listens(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    @property
    def subscriber_count(self) -> int:
        return sum(len(subs) for subs in self._subscriptions.values())

    async def start(self, timeout: float = 10.0, *, wait: bool = True) -> None:
        """Start listening (PostgreSQL); with ``wait``, returns once LISTEN is active.
        Idempotent; a listener that cannot connect keeps retrying in the background."""
        if not self.listens:
            return
        if self._listener is None or self._listener.done():
            self._listening.clear()
            self._listener = asyncio.create_task(self._listen(), name="event bus listener")
        if wait:
            await asyncio.wait_for(self._listening.wait(), timeout)

    async def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        for subs in list(self._subscriptions.values()):
            for subscription in list(subs):
                subscription._end()
        self._subscriptions.clear()

    async def subscribe(self, scope: EventScope, *, max_queued: int = 1000) -> Subscription:
        await self.start()
        subscription = Subscription(scope, max_queued=max_queued)
        self._subscriptions.setdefault(scope.organization_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subs = self._subscriptions.get(subscription.scope.organization_id)
        if subs is not None:
            subs.discard(subscription)
            if not subs:
                del self._subscriptions[subscription.scope.organization_id]
        subscription._end()

    def publish(self, item: Event) -> None:
        """Hand a committed event to every matching subscriber (once per id)."""
        key = (item.id, item.created_at)
        if key in self._recent:
            return
        self._recent[key] = None
        if len(self._recent) > self._recent_max:
            self._recent.popitem(last=False)
        self.published += 1
        for subscription in list(self._subscriptions.get(item.organization_id, ())):
            subscription.offer(item)
            if subscription.overflowed:
                self.unsubscribe(subscription)

    def publish_all(self, items: Iterable[Event]) -> None:
        for item in items:
            self.publish(item)

    # -- PostgreSQL LISTEN ---------------------------------------------------------------------

    def _dsn(self) -> str:
        url = make_url(self._engine.url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    async def _listen(self) -> None:
        """One LISTEN connection per process; reconnects and catches up after a drop."""
        delay = 0.25
        while True:
            try:
                await self._listen_once()
                delay = 0.25
                log.warning("event_listener_lost")
            except asyncio.CancelledError:
                raise
            except Exception as error:  # keep listening whatever the database did
                log.warning("event_listener_failed", error=str(error))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _listen_once(self) -> None:
        connection = await asyncpg.connect(self._dsn())
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _conn: lost.set())
            await connection.add_listener(NOTIFY_CHANNEL, self._on_notify)
            if self._last_notified_id:
                await self._catch_up(self._last_notified_id)
            self._listening.set()
            await lost.wait()
        finally:
            self._listening.clear()
            if not connection.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.shield(connection.close(timeout=2))

    def _on_notify(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            raw = json.loads(payload)
            event_id = int(raw["id"])
        except (ValueError, KeyError, TypeError):
            log.warning("event_notify_unreadable", payload=payload[:200])
            return
        self._last_notified_id = max(self._last_notified_id, event_id)
        if "kind" in raw:
            self.publish(Event.from_dict(raw))
        else:
            task = asyncio.get_running_loop().create_task(self._fetch_and_publish([event_id]))
            self._fetches.add(task)
            task.add_done_callback(self._fetches.discard)

    async def _fetch_and_publish(self, ids: list[int]) -> None:
        async with AsyncSession(self._engine) as session:
            rows = await session.scalars(select(StreamEvent).where(StreamEvent.id.in_(ids)))
            self.publish_all(Event.from_row(row) for row in rows)

    async def _catch_up(self, after_id: int) -> None:
        # Events committed while the LISTEN connection was down.
        async with AsyncSession(self._engine) as session:
            rows = await session.scalars(
                select(StreamEvent).where(StreamEvent.id > after_id).order_by(StreamEvent.id)
            )
            self.publish_all(Event.from_row(row) for row in rows)


_buses: weakref.WeakKeyDictionary[Engine, EventBus] = weakref.WeakKeyDictionary()


def bus_for(database: Database) -> EventBus:
    """The process's bus for this database (created on first use); commits through sessions of
    this database publish to it."""
    key = database.engine.sync_engine
    bus = _buses.get(key)
    if bus is None:
        bus = _buses[key] = EventBus(database.engine)
    return bus


@contextlib.asynccontextmanager
async def running_bus(database: Database) -> AsyncIterator[EventBus]:
    """The app's bus for its lifespan: listening from start-up, subscribers ended at shutdown."""
    bus = bus_for(database)
    await bus.start(wait=False)
    try:
        yield bus
    finally:
        await bus.stop()


async def events_after(
    session: AsyncSession, scope: EventScope, after_id: int, *, limit: int = 500
) -> list[Event]:
    """Committed events after ``after_id`` that ``scope`` may see, oldest first (Last-Event-ID)."""
    query = select(StreamEvent).where(
        StreamEvent.organization_id == scope.organization_id, StreamEvent.id > after_id
    )
    if scope.board_ids is not None:
        board_filter = StreamEvent.board_id.in_(scope.board_ids)
        query = query.where(
            board_filter | StreamEvent.board_id.is_(None)
            if scope.include_unboarded
            else board_filter
        )
    elif not scope.include_unboarded:
        query = query.where(StreamEvent.board_id.is_not(None))
    if scope.kinds:
        query = query.where(or_(*(StreamEvent.kind.startswith(prefix) for prefix in scope.kinds)))
    rows = await session.scalars(query.order_by(StreamEvent.id).limit(limit))
    return [Event.from_row(row) for row in rows]
