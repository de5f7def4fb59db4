"""Inbound webhooks: admin management (secret shown once, stored encrypted), and the public
receiver: signatures (valid, invalid, missing), disabled -> 410, > 1 MB -> 413, rate limit
-> 429, payload stored as board memory and a message to the target agent or the lead."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import select

from mission_control.agents.models import Agent
from mission_control.boards.models import Board
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.memory.models import BoardMemory
from mission_control.notifications.models import Notification
from mission_control.organizations.models import Role
from mission_control.webhooks import service as webhooks
from mission_control.webhooks.models import BoardWebhook, BoardWebhookPayload
from mission_control.webhooks.service import MAX_BODY_BYTES, TokenBuckets, signature_of
from tests.support import factories
from tests.support.factories import Person

SIGNATURE = "X-Mission-Control-Signature"


@dataclass
class Scene:
    board: Board
    lead: Agent
    worker: Agent
    owner: Person
    member: Person


@pytest.fixture(autouse=True)
def fresh_rate_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhooks, "RATE_LIMITS", TokenBuckets())


async def _scene(database: Database) -> Scene:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        board = await factories.board(session, org, gw, name="Ops")
        lead, _ = await factories.agent(session, gw, board, name="Lead", lead=True)
        worker, _ = await factories.agent(session, gw, board, name="Worker")
        return Scene(
            board=board,
            lead=lead,
            worker=worker,
            owner=await factories.person(session, org, Role.OWNER),
            member=await factories.person(session, org, all_boards_write=False, grants={}),
        )


async def _create(client: httpx.AsyncClient, scene: Scene, **fields: object) -> dict[str, object]:
    response = await client.post(
        f"/api/v1/boards/{scene.board.id}/webhooks",
        json={"name": "CI alerts", **fields},
        headers=scene.owner.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def _receiver(body: dict[str, object]) -> str:
    return f"/api/v1/webhooks/{body['public_id']}"


async def test_secret_is_shown_once_and_stored_encrypted(
    client: httpx.AsyncClient, database: Database, runtime: Runtime
) -> None:
    scene = await _scene(database)
    created = await _create(client, scene)
    secret = created["secret"]
    assert isinstance(secret, str)
    assert len(secret) >= 32
    assert created["signed"] is True
    assert str(created["url"]).endswith(_receiver(created))
    base = f"/api/v1/boards/{scene.board.id}/webhooks"
    fetched = await client.get(f"{base}/{created['id']}", headers=scene.owner.headers)
    listed = await client.get(base, headers=scene.owner.headers)
    for text in (fetched.text, listed.text):
        assert secret not in text
        assert "secret_ciphertext" not in text
    async with database.unit_of_work() as session:
        row = await session.get(BoardWebhook, uuid.UUID(str(created["id"])))
        assert row is not None
        assert row.secret_ciphertext is not None
        assert secret not in row.secret_ciphertext
        assert runtime.secrets.decrypt(row.secret_ciphertext) == secret
    # Only admins manage webhooks.
    denied = await client.get(base, headers=scene.member.headers)
    assert denied.status_code == 403
    # Rotation shows the new secret once; the old one stops working.
    rotated = await client.patch(
        f"{base}/{created['id']}", json={"rotate_secret": True}, headers=scene.owner.headers
    )
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret
    assert new_secret != secret
    body = b'{"event": "ping"}'
    old = await client.post(
        _receiver(created), content=body, headers={SIGNATURE: signature_of(secret, body)}
    )
    assert old.status_code == 401
    new = await client.post(
        _receiver(created), content=body, headers={SIGNATURE: signature_of(new_secret, body)}
    )
    assert new.status_code == 202


async def test_signed_payload_becomes_memory_and_a_message_to_the_lead(
    client: httpx.AsyncClient, database: Database
) -> None:
    scene = await _scene(database)
    created = await _create(client, scene, instructions="Triage the failing build.")
    body = json.dumps({"build": 42, "status": "failed"}).encode()
    response = await client.post(
        _receiver(created),
        content=body,
        headers={
            SIGNATURE: signature_of(str(created["secret"]), body),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 202, response.text
    payload_id = uuid.UUID(response.json()["payload_id"])
    async with database.unit_of_work() as session:
        payload = await session.get(BoardWebhookPayload, payload_id)
        assert payload is not None
        assert payload.body == body.decode()
        assert payload.signature_valid is True
        assert payload.content_type == "application/json"
        assert SIGNATURE.lower() not in payload.headers
        memory = await session.get(BoardMemory, payload.memory_id)
        assert memory is not None
        assert memory.source == "webhook"
        assert "webhook" in memory.tags
        assert memory.is_chat is False
        assert '"build": 42' in memory.content
        (notification,) = (await session.scalars(select(Notification))).all()
    assert notification.agent_id == scene.lead.id
    assert notification.kind == "webhook"
    assert "Triage the failing build." in notification.message
    assert '"status": "failed"' in notification.message


async def test_target_agent_gets_the_message(client: httpx.AsyncClient, database: Database) -> None:
    scene = await _scene(database)
    created = await _create(client, scene, signed=False, target_agent_id=str(scene.worker.id))
    assert created["secret"] is None
    response = await client.post(_receiver(created), content=b"plain text alert")
    assert response.status_code == 202, response.text
    async with database.unit_of_work() as session:
        (notification,) = (await session.scalars(select(Notification))).all()
        (payload,) = (await session.scalars(select(BoardWebhookPayload))).all()
    assert notification.agent_id == scene.worker.id
    assert payload.signature_valid is None
    # A target must be an agent of the same board.
    bad = await client.post(
        f"/api/v1/boards/{scene.board.id}/webhooks",
        json={"name": "x", "target_agent_id": str(uuid.uuid4())},
        headers=scene.owner.headers,
    )
    assert bad.status_code == 422


async def test_missing_and_invalid_signatures_are_refused(
    client: httpx.AsyncClient, database: Database
) -> None:
    scene = await _scene(database)
    created = await _create(client, scene)
    secret = str(created["secret"])
    body = b'{"event": "deploy"}'
    missing = await client.post(_receiver(created), content=body)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "signature_missing"
    for wrong in (
        signature_of("not-the-secret", body),
        signature_of(secret, body + b" "),
        "sha256=zz",
        "garbage",
    ):
        response = await client.post(_receiver(created), content=body, headers={SIGNATURE: wrong})
        assert response.status_code == 401, wrong
        assert response.json()["error"]["code"] == "signature_invalid"
    github_style = await client.post(
        _receiver(created),
        content=body,
        headers={
            "X-Hub-Signature-256": signature_of(secret, body).upper().replace("SHA256", "sha256")
        },
    )
    assert github_style.status_code == 202
    async with database.unit_of_work() as session:
        stored = (await session.scalars(select(BoardWebhookPayload))).all()
    assert len(stored) == 1


async def test_disabled_unknown_and_oversized(
    client: httpx.AsyncClient, database: Database
) -> None:
    scene = await _scene(database)
    created = await _create(client, scene, signed=False)
    too_big = b"x" * (MAX_BODY_BYTES + 1)
    assert (await client.post(_receiver(created), content=too_big)).status_code == 413
    just_fits = b"y" * MAX_BODY_BYTES
    assert (await client.post(_receiver(created), content=just_fits)).status_code == 202
    webhook_url = f"/api/v1/boards/{scene.board.id}/webhooks/{created['id']}"
    for field in ("enabled", "name"):  # null is no value for these: 422 naming it, no change
        refused = await client.patch(webhook_url, json={field: None}, headers=scene.owner.headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"][0]["field"] == field
    assert (await client.post(_receiver(created), content=b"{}")).status_code == 202
    disabled = await client.patch(webhook_url, json={"enabled": False}, headers=scene.owner.headers)
    assert disabled.status_code == 200
    gone = await client.post(_receiver(created), content=b"{}")
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "webhook_disabled"
    unknown = await client.post("/api/v1/webhooks/not-a-webhook", content=b"{}")
    assert unknown.status_code == 404


async def test_rate_limit_answers_429_with_retry_after(
    client: httpx.AsyncClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "RATE_LIMITS", TokenBuckets(capacity=3, per_second=0.01))
    scene = await _scene(database)
    created = await _create(client, scene, signed=False)
    other = await _create(client, scene, signed=False, name="Other")
    statuses = [
        (await client.post(_receiver(created), content=b"{}")).status_code for _ in range(4)
    ]
    assert statuses == [202, 202, 202, 429]
    limited = await client.post(_receiver(created), content=b"{}")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    # Each webhook has its own budget.
    assert (await client.post(_receiver(other), content=b"{}")).status_code == 202
    async with database.unit_of_work() as session:
        stored = (await session.scalars(select(BoardWebhookPayload))).all()
    assert len(stored) == 4
