"""The migrated schema equals the models on both databases, and migrations go down and up."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

import mission_control.models  # noqa: F401
from mission_control.core import migrations
from mission_control.core.db import Base, Database


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrated_schema_matches_models(database: Database) -> None:
    async with database.engine.connect() as connection:
        diff = await connection.run_sync(_diff)
    assert diff == []


async def test_head_is_applied(database: Database) -> None:
    assert await migrations.current_revision(database.engine) == migrations.head_revision()


async def test_downgrade_to_base_and_back(database: Database) -> None:
    expected = set(Base.metadata.tables)
    await asyncio.to_thread(migrations.downgrade, database.url, "base")
    async with database.engine.connect() as connection:
        after_down = await connection.run_sync(_tables)
    assert after_down & expected == set()
    await asyncio.to_thread(migrations.upgrade, database.url)
    async with database.engine.connect() as connection:
        after_up = await connection.run_sync(_tables)
    assert expected <= after_up
    assert await migrations.current_revision(database.engine) == migrations.head_revision()


async def test_drift_check_sees_a_difference(database: Database) -> None:
    """Guards the check above: a model the migrations lack must show up as drift."""
    from sqlalchemy import Column, Integer, MetaData, Table

    extended = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(extended)
    Table("not_migrated", extended, Column("id", Integer, primary_key=True))

    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, extended))

    async with database.engine.connect() as connection:
        found = await connection.run_sync(diff)
    assert [entry[0] for entry in found] == ["add_table"]
