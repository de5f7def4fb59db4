"""Session-wide fixtures: a real PostgreSQL cluster, migrated databases on both backends."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mission_control.core import migrations
from mission_control.core.db import Database
from tests.support.database import create_postgres_database, empty_all_tables
from tests.support.postgres import PostgresServer

pytest_plugins = ["tests.support.browser"]


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A throwaway PostgreSQL cluster for the whole session. Missing PostgreSQL fails loudly."""
    base = Path(tempfile.mkdtemp(prefix="mc-test-pg-"))
    server = PostgresServer(base)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgresql_url(postgres_admin_url: str) -> str:
    url = asyncio.run(create_postgres_database(postgres_admin_url, "mc_test"))
    migrations.upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture(scope="session")
async def database_pool() -> AsyncIterator[dict[str, Database]]:
    """One Database (engine and connection pool) per URL for the whole session."""
    pool: dict[str, Database] = {}
    yield pool
    for database in pool.values():
        await database.dispose()


@pytest.fixture
async def database(
    database_url: str, database_pool: dict[str, Database]
) -> AsyncIterator[Database]:
    """The migrated test database on each backend, empty at the start of every test."""
    db = database_pool.get(database_url)
    if db is None:
        db = database_pool[database_url] = Database(database_url)
    await empty_all_tables(db)
    yield db
    await empty_all_tables(db)
