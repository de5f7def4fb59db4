"""The event bus: events reach subscribers only after commit, only within their scope, resume
from the database, and cross processes through PostgreSQL LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from mission_control.core.db import Database
from mission_control.core.events import (
    EventScope,
    StreamEvent,
    bus_for,
    emit,
    events_after,
)
from tests.support import factories


async def _org_and_boards(database: Database) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        first = await factories.board(session, org, name="First")
        second = await factories.board(session, org, name="Second")
        return org.id, first.id, second.id


async def test_subscriber_sees_committed_events_of_its_boards_only(database: Database) -> None:
    org_id, first, second = await _org_and_boards(database)
    other_org, *_ = await _org_and_boards(database)
    bus = bus_for(database)
    subscription = await bus.subscribe(EventScope(org_id, frozenset({first})))
    try:
        async with database.unit_of_work() as session:
            emit(session, "task.created", organization_id=org_id, board_id=second, data={"n": 1})
            emit(session, "task.created", organization_id=other_org, board_id=first, data={"n": 2})
            emit(session, "gateway.updated", organization_id=org_id, data={"n": 3})
            emit(session, "task.created", organization_id=org_id, board_id=first, data={"n": 4})
            # Nothing is published before the commit.
            assert subscription._queue.empty()
        received = await subscription.next(timeout=5)
        assert received is not None
        assert received.data == {"n": 4}
        assert received.board_id == first
        assert subscription._queue.empty()
    finally:
        bus.unsubscribe(subscription)


async def test_rolled_back_events_are_neither_stored_nor_published(database: Database) -> None:
    org_id, first, _ = await _org_and_boards(database)
    bus = bus_for(database)
    subscription = await bus.subscribe(EventScope(org_id, None))
    try:
        async with database.sessions() as session:
            emit(session, "task.created", organization_id=org_id, board_id=first, data={})
            await session.rollback()
            await session.commit()
        async with database.unit_of_work() as session:
            count = await session.scalar(select(func.count()).select_from(StreamEvent))
        assert count == 0
        assert subscription._queue.empty()
    finally:
        bus.unsubscribe(subscription)


async def test_kind_filter_unboarded_events_and_resume(database: Database) -> None:
    org_id, first, second = await _org_and_boards(database)
    async with database.unit_of_work() as session:
        for kind, board in (
            ("task.created", first),
            ("memory.created", first),
            ("task.updated", second),
            ("activity.created", None),
            ("task.deleted", first),
        ):
            emit(session, kind, organization_id=org_id, board_id=board, data={"kind": kind})
    scope = EventScope(org_id, frozenset({first}), kinds=("task.",))
    async with database.unit_of_work() as session:
        everything = await events_after(session, EventScope(org_id, None, True), 0)
        resumed = await events_after(session, scope, 0)
        after_first = await events_after(session, scope, resumed[0].id)
        admin = await events_after(session, EventScope(org_id, None, include_unboarded=True), 0)
        member = await events_after(session, EventScope(org_id, None), 0)
    assert [e.kind for e in everything] == [
        "task.created",
        "memory.created",
        "task.updated",
        "activity.created",
        "task.deleted",
    ]
    assert [e.id for e in everything] == sorted(e.id for e in everything)
    assert [e.kind for e in resumed] == ["task.created", "task.deleted"]
    assert [e.kind for e in after_first] == ["task.deleted"]
    assert "activity.created" in [e.kind for e in admin]
    assert "activity.created" not in [e.kind for e in member]


async def test_data_callable_is_evaluated_at_commit(database: Database) -> None:
    org_id, first, _ = await _org_and_boards(database)
    seen: list[str] = []
    async with database.unit_of_work() as session:
        emit(
            session,
            "task.created",
            organization_id=org_id,
            board_id=first,
            data=lambda: {"seen": list(seen), "id": uuid.UUID(int=7)},
        )
        seen.append("later")
    async with database.unit_of_work() as session:
        (stored,) = await events_after(session, EventScope(org_id, None), 0)
    assert stored.data == {"seen": ["later"], "id": str(uuid.UUID(int=7))}


async def test_slow_subscriber_is_cut_off_not_blocking(database: Database) -> None:
    org_id, first, _ = await _org_and_boards(database)
    bus = bus_for(database)
    slow = await bus.subscribe(EventScope(org_id, None), max_queued=2)
    fast = await bus.subscribe(EventScope(org_id, None))
    try:
        async with database.unit_of_work() as session:
            for n in range(4):
                emit(session, "task.created", organization_id=org_id, board_id=first, data={"n": n})
        got = [await fast.next(timeout=5) for _ in range(4)]
        assert [e.data["n"] for e in got if e is not None] == [0, 1, 2, 3]
        assert slow.overflowed
        drained = [await slow.next(timeout=5) for _ in range(3)]
        assert drained[-1] is None  # the end marker: reconnect and resume from the database
    finally:
        bus.unsubscribe(slow)
        bus.unsubscribe(fast)


async def test_event_from_another_process_arrives_through_listen_notify(
    postgresql_url: str,
) -> None:
    """Two Database objects (two engines, two buses) stand in for two processes."""
    writer = Database(postgresql_url)
    reader = Database(postgresql_url)
    try:
        org_id, first, _ = await _org_and_boards(writer)
        reader_bus = bus_for(reader)
        assert reader_bus is not bus_for(writer)
        subscription = await reader_bus.subscribe(EventScope(org_id, frozenset({first})))
        try:
            async with writer.unit_of_work() as session:
                emit(session, "task.created", organization_id=org_id, board_id=first, data={"x": 1})
                big = {"blob": "x" * 9000}
                emit(session, "memory.created", organization_id=org_id, board_id=first, data=big)
            small = await subscription.next(timeout=10)
            large = await subscription.next(timeout=10)
            assert small is not None
            assert small.kind == "task.created"
            assert small.data == {"x": 1}
            # Too big for a NOTIFY payload: sent by id and read back by the listener.
            assert large is not None
            assert large.kind == "memory.created"
            assert large.data == big
            with_timeout = asyncio.wait_for(subscription.next(), 0.3)
            try:
                await with_timeout
                raise AssertionError("an event was delivered twice")
            except TimeoutError:
                pass
        finally:
            reader_bus.unsubscribe(subscription)
            await reader_bus.stop()
            await bus_for(writer).stop()
    finally:
        await writer.dispose()
        await reader.dispose()
