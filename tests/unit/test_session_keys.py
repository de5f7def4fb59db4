"""Session keys in the gateway's format: built, and read back to the agent that owns them."""

from __future__ import annotations

import uuid

import pytest

from mission_control.gateway.session_keys import (
    agent_id_of,
    child_session_key,
    owning_agent_id,
    session_key,
)


def test_an_agent_session_key_is_lower_case() -> None:
    assert session_key("Lead-7") == "agent:lead-7:main"
    assert session_key("mc-1", "Inbox") == "agent:mc-1:inbox"


def test_a_child_key_names_its_agent_kind_and_id_verbatim() -> None:
    child = uuid.uuid4()
    key = child_session_key("worker-7", "subagent", str(child))
    assert key == f"agent:worker-7:subagent:{child}"
    assert owning_agent_id(key) == "worker-7"


@pytest.mark.parametrize("key", [None, "", "main", "agent:x", "agent:x:", "agent::main", "a:x:y"])
def test_only_agent_keys_have_an_owner(key: str | None) -> None:
    assert agent_id_of(key) is None
    with pytest.raises(ValueError, match="not an agent session key"):
        owning_agent_id(key or "")
