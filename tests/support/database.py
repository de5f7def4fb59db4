"""Test databases: a migrated schema per backend, emptied after every test."""

from __future__ import annotations

from sqlalchemy import text

from mission_control.core.db import Base, Database

BACKENDS = ("sqlite", "postgresql")


async def empty_all_tables(database: Database) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    async with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608


async def create_postgres_database(admin_url: str, name: str) -> str:
    """Creates database ``name`` on the server behind ``admin_url``; returns its URL."""
    admin = Database(admin_url)
    try:
        async with admin.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"
