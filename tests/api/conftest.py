"""HTTP-level fixtures: the app on a real test database, an httpx client, the operator token."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from mission_control.app import build_runtime, create_app
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.settings import Settings


@pytest.fixture
def operator_token() -> str:
    return secrets.token_urlsafe(48)


@pytest.fixture
def runtime(database: Database, operator_token: str, tmp_path: Path) -> Runtime:
    settings = Settings(auth_token=operator_token, data_dir=tmp_path, database_url=database.url)
    return build_runtime(settings, database)


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime=runtime)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mc.test") as http:
        yield http


@pytest.fixture
def operator(operator_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {operator_token}"}
