"""Issue 11: inputs that reached a 500 (offsets, edge dates, NUL, deep JSON, non-ASCII digits),
the one body limit applied before authentication, and SQLite under 50 concurrent check-ins."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mission_control.core.db import Database
from tests.support import factories

EDGE_DATE = "9999-12-31T23:59:59-12:00"
PAGED_LISTS = [
    "/api/v1/boards",
    "/api/v1/agents",
    "/api/v1/activity",
    "/api/v1/gateways",
    "/api/v1/organizations/me/members",
]


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"n": value}
    return value


def _assert_error(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    if field is not None:
        fields = [detail["field"] for detail in error["details"]]
        assert field in fields, error


@pytest.mark.parametrize("path", PAGED_LISTS)
async def test_huge_offsets_are_422(
    client: httpx.AsyncClient, operator: dict[str, str], path: str
) -> None:
    for offset in (2**63, 2**64 + 5):
        response = await client.get(path, params={"offset": offset}, headers=operator)
        _assert_error(response, 422, "offset")
    # The largest offset the databases accept is still a page (empty).
    response = await client.get(path, params={"offset": 2**63 - 1}, headers=operator)
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []


async def test_board_target_date_at_the_edge_is_422(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/boards", json={"name": "Edge", "target_date": EDGE_DATE}, headers=operator
    )
    _assert_error(created, 422, "target_date")
    board = await client.post("/api/v1/boards", json={"name": "Edge"}, headers=operator)
    assert board.status_code == 201, board.text
    patched = await client.patch(
        f"/api/v1/boards/{board.json()['id']}", json={"target_date": EDGE_DATE}, headers=operator
    )
    _assert_error(patched, 422, "target_date")


async def test_activity_since_at_the_edge_is_422(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    for since in (EDGE_DATE, "0001-01-01T00:00:00+14:00"):
        response = await client.get("/api/v1/activity", params={"since": since}, headers=operator)
        _assert_error(response, 422, "since")
    fine = await client.get(
        "/api/v1/activity", params={"since": "2026-01-01T00:00:00Z"}, headers=operator
    )
    assert fine.status_code == 200, fine.text


async def test_nul_in_body_text_is_422_naming_the_field(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/boards",
        json={"name": "Null\u0000Board", "success_metrics": {"ok": ["fine", "bad\u0000"]}},
        headers=operator,
    )
    _assert_error(response, 422, "name")
    assert "success_metrics.ok.1" in [d["field"] for d in response.json()["error"]["details"]]
    assert (await client.get("/api/v1/boards", headers=operator)).json()["total"] == 0


async def test_nul_in_object_keys_and_query_is_422(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/boards",
        json={"name": "Keys", "success_metrics": {"bad\u0000key": 1}},
        headers=operator,
    )
    _assert_error(response, 422, "success_metrics")
    query = await client.get(
        "/api/v1/activity", params={"event_type": "a\u0000b"}, headers=operator
    )
    _assert_error(query, 422, "event_type")


async def test_deep_json_is_422(client: httpx.AsyncClient, operator: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/boards",
        json={"name": "Deep", "success_metrics": _nested(900)},
        headers=operator,
    )
    _assert_error(response, 422)
    shallow = await client.post(
        "/api/v1/boards",
        json={"name": "Shallow", "success_metrics": _nested(10)},
        headers=operator,
    )
    assert shallow.status_code == 201, shallow.text


async def test_non_ascii_digits_in_durations_are_422(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    gateway = await client.post(
        "/api/v1/gateways",
        json={"name": "gw", "url": "wss://gw.example:443", "workspace_root": "/srv/oc"},
        headers=operator,
    )
    board = await client.post(
        "/api/v1/boards",
        json={"name": "Digits", "gateway_id": gateway.json()["id"]},
        headers=operator,
    )
    response = await client.post(
        "/api/v1/agents",
        json={
            "name": "Arabic digits",
            "board_id": board.json()["id"],
            "heartbeat_config": {"every": "\u0665m"},
        },
        headers=operator,
    )
    _assert_error(response, 422, "heartbeat_config")
    policy = await client.patch(
        f"/api/v1/boards/{board.json()['id']}/heartbeat-policy",
        json={"active_every": "\u0665m"},
        headers=operator,
    )
    _assert_error(policy, 422)


async def test_big_anonymous_body_is_413_before_auth(client: httpx.AsyncClient) -> None:
    big = b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = await client.post(
        "/api/v1/boards", content=big, headers={"Content-Type": "application/json"}
    )
    _assert_error(response, 413)
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_big_chunked_body_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> Any:
        for _ in range(40):
            yield b"y" * (128 * 1024)

    response = await client.post(
        "/api/v1/boards", content=chunks(), headers={"Content-Type": "application/json"}
    )
    _assert_error(response, 413)


async def test_body_limit_is_configurable(
    database: Database, tmp_path: Any, operator_token: str
) -> None:
    from mission_control.app import build_runtime, create_app
    from mission_control.settings import Settings

    settings = Settings(
        auth_token=operator_token,
        data_dir=tmp_path,
        database_url=database.url,
        max_body_bytes=1024,
    )
    app = create_app(runtime=build_runtime(settings, database))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mc.test") as http:
        response = await http.post("/api/v1/boards", json={"name": "x" * 2000})
    _assert_error(response, 413)


async def test_webhook_keeps_its_own_limit(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    # 1.5 MB: under the general limit, over the webhook's 1 MB.
    board = await client.post("/api/v1/boards", json={"name": "Hooks"}, headers=operator)
    hook = await client.post(
        f"/api/v1/boards/{board.json()['id']}/webhooks",
        json={"name": "ci", "signed": False},
        headers=operator,
    )
    assert hook.status_code == 201, hook.text
    public_id = hook.json()["public_id"]
    response = await client.post(
        f"/api/v1/webhooks/{public_id}",
        content=b'{"a": "' + b"z" * 1_500_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    _assert_error(response, 413)


async def test_fifty_concurrent_check_ins_all_succeed(
    client: httpx.AsyncClient, database: Database
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        brd = await factories.board(session, org, gw)
        tokens = [(await factories.agent(session, gw, brd))[1] for _ in range(50)]

    async def check_in(token: str) -> int:
        response = await client.post("/api/v1/agent/heartbeat", headers={"X-Agent-Token": token})
        return response.status_code

    # Twice: the first round also pays each token's PBKDF2 check; the second is writes only.
    for _ in range(2):
        statuses = await asyncio.gather(*(check_in(token) for token in tokens))
        assert statuses == [200] * 50


async def test_unhandled_error_logs_request_id_and_answers(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/boom", explode)
    # raise_app_exceptions stays on: an exception escaping the app would fail this test, as it
    # made uvicorn drop the connection.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mc.test") as http:
        response = await http.get("/boom", headers={"X-Request-Id": "req-boom-1"})
    assert response.status_code == 500
    body = response.json()["error"]
    assert body["code"] == "internal_error"
    assert body["details"] == {"request_id": "req-boom-1"}
    assert response.headers["x-request-id"] == "req-boom-1"
    logged = [
        record.msg
        for record in caplog.records
        if isinstance(record.msg, dict) and record.msg.get("event") == "unhandled_error"
    ]
    assert len(logged) == 1, logged
    assert logged[0]["request_id"] == "req-boom-1"
    # The same client keeps working after the 500.
    async with httpx.AsyncClient(transport=transport, base_url="http://mc.test") as http:
        assert (await http.get("/healthz")).status_code == 200


async def test_sqlite_writers_wait_for_the_lock(database: Database) -> None:
    if database.dialect != "sqlite":
        pytest.skip("SQLite's write lock only; PostgreSQL writers wait on row locks")
    async with database.engine.connect() as connection:
        journal = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        timeout = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    assert journal == "wal"
    assert timeout is not None
    assert int(timeout) >= 30_000
