"""Fixtures shared by the database tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mission_control.core.db import Database
from tests.support.database import empty_all_tables


@pytest.fixture
async def pg_database(
    postgresql_url: str, database_pool: dict[str, Database]
) -> AsyncIterator[Database]:
    """The session's PostgreSQL database, emptied before and after the test."""
    db = database_pool.get(postgresql_url)
    if db is None:
        db = database_pool[postgresql_url] = Database(postgresql_url)
    await empty_all_tables(db)
    yield db
    await empty_all_tables(db)
