"""The agent stream hooks come from the app factory, not from importing a module."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from mission_control.agents import events as agent_events
from mission_control.app import build_runtime
from mission_control.settings import Settings

HOOKS: list[tuple[str, Callable[..., Any]]] = [
    ("after_flush", agent_events._note_agent_changes),
    ("before_commit", agent_events._emit_agent_changes),
    ("after_soft_rollback", agent_events._forget_agent_changes),
]


def _registered() -> list[bool]:
    return [event.contains(Session, name, hook) for name, hook in HOOKS]


@pytest.fixture
def no_hooks() -> Iterator[None]:
    """Removes the hooks for the test and puts them back after it, whatever happened."""
    for name, hook in HOOKS:
        if event.contains(Session, name, hook):
            event.remove(Session, name, hook)
    yield
    agent_events.register_stream_hooks()


@pytest.mark.usefixtures("no_hooks")
async def test_build_runtime_registers_the_agent_stream_hooks(tmp_path: Path) -> None:
    assert _registered() == [False, False, False]
    settings = Settings(
        auth_token=secrets.token_urlsafe(48),
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'mc.db'}",
    )
    runtime = build_runtime(settings)
    await runtime.database.dispose()
    assert _registered() == [True, True, True]
