"""Runs on the legacy gateway release (2026.5.7): what it supports (a child session made with
its `sessions.create`, which takes no cwd, runtime or idempotency key; dispatched with `agent`)
runs to its end; a run asking for a cwd or a runtime on the child session is refused before
anything is created, with the code `gateway_unsupported` and a message naming the release."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mission_control.core.runtime import Runtime
from mission_control.demo.model import ScriptedModelServer
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.connection import GatewayTarget
from mission_control.gateway.dev import DevGateway
from tests.e2e.gateway_setup import scripted_model_patch
from tests.runs.conftest import MODEL_ID, make_task, make_world, wait_run
from tests.runs.script import FINAL_PREFIX
from tests.support.dev_gateways import running_gateway

pytestmark = pytest.mark.gateway
TERMINAL = {"succeeded", "failed", "timed_out", "cancelled", "lost"}
LEGACY_VERSION = "2026.5.7"


@pytest.fixture(scope="module")
def legacy_runs_gateway(
    gateway_install: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevGateway]:
    yield from running_gateway(
        gateway_install, tmp_path_factory.mktemp("openclaw-runs-legacy"), version="legacy"
    )


async def legacy_client(
    runtime: Runtime, gateway: DevGateway, model: ScriptedModelServer
) -> GatewayClient:
    """The scripted model as the legacy gateway's default. Its config has no
    `tools.exec.mode` (it refuses the key), so exec runs under its own approval defaults."""
    target = GatewayTarget(
        url=gateway.url, token=gateway.token, identity_path=runtime.device_identity_path
    )
    client = await runtime.gateway_pool.client(target)
    patch = scripted_model_patch(model.base_url, MODEL_ID, run_timeout_seconds=90)
    patch["tools"] = {"exec": {"host": "gateway"}}
    await client.config_patch_fresh(patch, note="Mission Control scripted model")
    return client


@pytest.mark.timeout(600)  # a cold legacy gateway start and a cold agent turn
async def test_legacy_release_runs_what_it_supports_and_refuses_the_rest(
    http: httpx.AsyncClient,
    runs_runtime: Runtime,
    runs_model: ScriptedModelServer,
    legacy_runs_gateway: DevGateway,
) -> None:
    client = await legacy_client(runs_runtime, legacy_runs_gateway, runs_model)
    assert client.profile.server_version == LEGACY_VERSION
    # 2026.5.7 serves sessions.create, with a narrower schema than the current release.
    assert client.profile.supports("sessions.create")
    assert client.profile.child_session_options == frozenset()
    world = await make_world(runs_runtime, legacy_runs_gateway)
    task = await make_task(runs_runtime, world, "Tidy the legacy docs")
    url = world.runs_url(task.id)
    headers = world.writer.headers

    refused = await http.post(url, json={"cwd": "/srv/work"}, headers=headers)
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "gateway_unsupported"
    assert error["message"].startswith(
        f"Gateway release {LEGACY_VERSION} does not support child sessions with a cwd"
    ), error
    assert error["details"]["gateway_version"] == LEGACY_VERSION

    policy = await http.patch(
        world.policy_url, json={"allowed_runtimes": ["codex"]}, headers=headers
    )
    assert policy.status_code == 200, policy.text
    refused = await http.post(url, json={"runtime": "codex", "cwd": "/srv/work"}, headers=headers)
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "gateway_unsupported"
    assert "with a runtime or a cwd" in error["message"], error
    assert error["details"]["missing"] == [
        "sessions.create (for a runtime)",
        "sessions.create (for a cwd)",
    ]
    listed = await http.get(url, headers=headers)
    assert listed.json()["total"] == 0, "a refused run must leave no row"

    # What the release supports: a child session with a key, label and parent, then `agent`.
    started = await http.post(url, json={"label": "legacy"}, headers=headers)
    assert started.status_code == 202, started.text
    run = await wait_run(runs_runtime, started.json()["id"], TERMINAL)
    assert run.status == "succeeded", (run.status, run.error_code, run.error)
    assert run.child_session_key == f"agent:main:mcrun:{run.id}"
    assert run.final_reply is not None
    assert FINAL_PREFIX in run.final_reply
    assert "# Task: Tidy the legacy docs" in run.final_reply
