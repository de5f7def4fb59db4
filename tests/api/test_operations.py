"""Health, readiness, metrics, request ids, security headers and the error body."""

from __future__ import annotations

import httpx

from mission_control.core import migrations


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_readyz_reports_database_and_schema(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["database"] in {"sqlite", "postgresql"}
    assert body["schema"] == migrations.head_revision()


async def test_request_id_is_generated_or_kept(client: httpx.AsyncClient) -> None:
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    kept = await client.get("/healthz", headers={"X-Request-ID": "trace-123"})
    assert kept.headers["x-request-id"] == "trace-123"
    replaced = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert replaced.headers["x-request-id"] != "bad id with spaces"


async def test_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_metrics_count_requests_by_route_template(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    await client.get("/api/v1/boards/00000000-0000-0000-0000-000000000000", headers=operator)
    text = (await client.get("/metrics")).text
    assert (
        'mc_http_requests_total{method="GET",route="/api/v1/boards/{board_id}",status="404"} 1.0'
        in text
    )
    assert "mc_http_request_duration_seconds_bucket" in text


async def test_unknown_route_uses_the_error_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not Found", "details": None}
    }


async def test_malformed_json_is_a_422_not_a_500(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/boards",
        content=b"{not json",
        headers={**operator, "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
