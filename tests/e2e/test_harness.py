"""The e2e harness itself, without a gateway: the scripted model's decisions and wire format
over real HTTP, and Mission Control served on a free loopback port by both helpers."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from mission_control.app import build_runtime, create_app
from mission_control.core import migrations
from mission_control.demo.model import (
    INTERNAL_CONTEXT_MARKER,
    HeartbeatScript,
    ScriptedModelServer,
    find_credentials,
)
from mission_control.settings import Settings
from tests.e2e.gateway_setup import scripted_model_patch
from tests.support.mc_server import InProcessMcServer, McServerProcess

TOKEN = "mca_0123456789abcdef_" + "A" * 43
BASE = "http://127.0.0.1:45678"
TOOLS = [{"type": "function", "function": {"name": "exec", "parameters": {}}}]
SYSTEM = {
    "role": "system",
    "content": f"# Project context\n## Tools\n\nBASE_URL={BASE}\nAUTH_TOKEN={TOKEN}\nAGENT_ID=x\n",
}
WAKE = {"role": "user", "content": "Hello Scout, your workspace has been provisioned."}
INTERNAL = {
    "role": "user",
    "content": [{"type": "text", "text": f"{INTERNAL_CONTEXT_MARKER}\nActive exec sessions"}],
}
TOOL_CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [{"id": "callabc", "type": "function", "function": {"name": "exec"}}],
}
TOOL_RESULT = {"role": "tool", "content": '{"ok": true}', "tool_call_id": "callabc"}


def _request(*messages: dict[str, Any], tools: list[Any] | None = None) -> dict[str, Any]:
    return {"model": "m", "stream": True, "messages": list(messages), "tools": tools or TOOLS}


def test_first_turn_runs_the_heartbeat_curl_with_the_prompts_values() -> None:
    reply, credentials = HeartbeatScript().decide(_request(SYSTEM, WAKE))
    assert reply.kind == "tool_call"
    assert credentials is not None
    assert credentials.token == TOKEN
    assert reply.command == (
        f"curl -s -X POST -H 'X-Agent-Token: {TOKEN}' {BASE}/api/v1/agent/heartbeat"
    )


def test_tool_result_before_internal_context_message_ends_the_turn() -> None:
    """E2E.md pitfall 1: the gateway appends a user message after tool results."""
    reply, _ = HeartbeatScript().decide(_request(SYSTEM, WAKE, TOOL_CALL, TOOL_RESULT, INTERNAL))
    assert reply.kind == "final"


def test_a_new_real_user_message_starts_a_new_check_in() -> None:
    later = {"role": "user", "content": "Heartbeat: check in."}
    reply, _ = HeartbeatScript().decide(
        _request(SYSTEM, WAKE, TOOL_CALL, TOOL_RESULT, INTERNAL, later)
    )
    assert reply.kind == "tool_call"


def test_tool_calls_are_capped_per_turn() -> None:
    script = HeartbeatScript(max_tool_calls_per_turn=2)
    # Tool results that never come back (e.g. replays) cannot loop forever...
    reply, _ = script.decide(_request(SYSTEM, WAKE, TOOL_CALL, TOOL_CALL, INTERNAL))
    assert reply.kind == "refusal"
    # ...while earlier turns of the same session do not count.
    reply, _ = script.decide(_request(SYSTEM, TOOL_CALL, TOOL_CALL, WAKE))
    assert reply.kind == "tool_call"


@pytest.mark.parametrize(
    "system",
    [
        {"role": "system", "content": "no credentials here"},
        {"role": "system", "content": f"BASE_URL={BASE}; rm -rf /\nAUTH_TOKEN={TOKEN}"},
        {"role": "system", "content": f"BASE_URL={BASE}\nAUTH_TOKEN=x'$(id)'aaaaaaaaaaaaaaaaa"},
    ],
    ids=["missing", "unsafe-url", "unsafe-token"],
)
def test_missing_or_unsafe_values_are_refused(system: dict[str, Any]) -> None:
    reply, _ = HeartbeatScript().decide(_request(system, WAKE))
    assert reply.kind == "refusal"
    assert reply.command is None


def test_no_exec_tool_is_refused() -> None:
    tools = [{"type": "function", "function": {"name": "read"}}]
    reply, _ = HeartbeatScript().decide(_request(SYSTEM, WAKE, tools=tools))
    assert reply.kind == "refusal"


def test_credentials_are_read_from_list_content_too() -> None:
    system = {"role": "system", "content": [{"type": "text", "text": SYSTEM["content"]}]}
    assert find_credentials([system]) is not None


def _events(text: str) -> list[Any]:
    payloads = [line[len("data: ") :] for line in text.split("\n\n") if line.startswith("data: ")]
    return [payload if payload == "[DONE]" else json.loads(payload) for payload in payloads]


def test_server_streams_tool_call_then_final_answer_and_stops() -> None:
    server = ScriptedModelServer(avoid_ports=[range(1, 40000)])
    server.start()
    try:
        assert server.port >= 40000
        url = f"{server.base_url}/chat/completions"
        first = httpx.post(url, json=_request(SYSTEM, WAKE), timeout=10)
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("text/event-stream")
        events = _events(first.text)
        assert events[-1] == "[DONE]"
        chunks = events[:-1]
        assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        header = chunks[1]["choices"][0]["delta"]["tool_calls"][0]
        assert header["function"] == {"name": "exec", "arguments": ""}
        arguments = chunks[2]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
        assert json.loads(arguments)["command"].startswith("curl -s -X POST")
        assert chunks[3]["choices"][0]["finish_reason"] == "tool_calls"
        assert chunks[4]["choices"] == []
        assert chunks[4]["usage"]["total_tokens"] > 0

        final = httpx.post(url, json=_request(SYSTEM, WAKE, TOOL_CALL, TOOL_RESULT, INTERNAL))
        deltas = [c["choices"][0] for c in _events(final.text)[:-1] if c["choices"]]
        assert deltas[-1]["finish_reason"] == "stop"
        assert any(d["delta"].get("content") for d in deltas)

        missing = httpx.get(f"{server.base_url}/models", timeout=10)
        assert missing.status_code == 404
        assert [r.reply.kind for r in server.requests if r.reply] == ["tool_call", "final"]
        assert len(server.tool_calls()) == 1
    finally:
        server.stop()
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{server.base_url}/chat/completions", json={}, timeout=2)


def test_server_caps_tool_calls_across_conversations() -> None:
    with ScriptedModelServer(max_total_tool_calls=1) as server:
        url = f"{server.base_url}/chat/completions"
        for _ in range(3):
            httpx.post(url, json=_request(SYSTEM, WAKE), timeout=10)
        assert [r.reply.kind for r in server.requests if r.reply] == [
            "tool_call",
            "refusal",
            "refusal",
        ]


def test_gateway_patch_names_the_scripted_model_everywhere() -> None:
    patch = scripted_model_patch("http://127.0.0.1:1234/v1", "m1", provider="p")
    provider = patch["models"]["providers"]["p"]
    assert provider["api"] == "openai-completions"
    assert provider["baseUrl"] == "http://127.0.0.1:1234/v1"
    assert [m["id"] for m in provider["models"]] == ["m1"]
    assert patch["models"]["mode"] == "merge"
    assert patch["agents"]["defaults"]["model"] == {"primary": "p/m1"}
    assert patch["tools"]["exec"] == {"host": "gateway", "mode": "full"}


@pytest.fixture
def migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'mc.db'}"
    migrations.upgrade(url)
    return url


def test_mission_control_process_serves_and_stops(migrated_sqlite: str, tmp_path: Path) -> None:
    server = McServerProcess(
        database_url=migrated_sqlite,
        data_dir=tmp_path / "server",
        operator_token=secrets.token_urlsafe(48),
        secret_key=Fernet.generate_key().decode(),
    )
    base = server.start()
    pid = server.pid
    try:
        ready = httpx.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        # Agents are told this URL; a wrong token gets the agent API's own answer.
        refused = httpx.post(
            f"{base}/api/v1/agent/heartbeat", headers={"X-Agent-Token": "mca_x_y"}, timeout=10
        )
        assert refused.status_code == 401
    finally:
        server.stop()
    assert pid is not None
    assert not server.running()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=2)


def test_in_process_server_serves_and_stops(migrated_sqlite: str, tmp_path: Path) -> None:
    settings = Settings(
        auth_token=secrets.token_urlsafe(48),
        data_dir=tmp_path,
        database_url=migrated_sqlite,
        reconciler_enabled=False,
    )
    app = create_app(runtime=build_runtime(settings))
    with InProcessMcServer(app) as server:
        assert httpx.get(f"{server.base_url}/readyz", timeout=10).status_code == 200
        base = server.base_url
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=2)
