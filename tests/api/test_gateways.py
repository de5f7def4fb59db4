"""Gateway CRUD: admin only, token write-only and encrypted, organisation scoped."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from mission_control.core.db import Database
from mission_control.gateways.models import Gateway
from mission_control.organizations.models import Role
from tests.support import factories

GATEWAY = {
    "name": "edge-1",
    "url": "ws://127.0.0.1:18789",
    "token": "gw-secret-token-123",
    "workspace_root": "/srv/openclaw/",
}


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **changes: object
) -> httpx.Response:
    return await client.post("/api/v1/gateways", json={**GATEWAY, **changes}, headers=headers)


async def test_create_never_returns_the_token_and_stores_it_encrypted(
    client: httpx.AsyncClient, operator: dict[str, str], database: Database
) -> None:
    response = await _create(client, operator)
    assert response.status_code == 201
    body = response.json()
    assert body["has_token"] is True
    assert "token" not in body
    assert GATEWAY["token"] not in response.text
    assert body["workspace_root"] == "/srv/openclaw"
    async with database.unit_of_work() as session:
        stored = await session.scalar(select(Gateway.token_ciphertext))
    assert stored is not None
    assert GATEWAY["token"] not in stored

    listed = await client.get("/api/v1/gateways", headers=operator)
    assert listed.status_code == 200
    assert listed.json()["total"] == 1
    assert GATEWAY["token"] not in listed.text


async def test_update_and_clear_token_then_delete(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    gateway_id = (await _create(client, operator)).json()["id"]
    patched = await client.patch(
        f"/api/v1/gateways/{gateway_id}",
        json={"name": "edge-renamed", "token": None, "allow_insecure_tls": True},
        headers=operator,
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "edge-renamed"
    assert patched.json()["has_token"] is False
    assert patched.json()["allow_insecure_tls"] is True
    deleted = await client.delete(f"/api/v1/gateways/{gateway_id}", headers=operator)
    assert deleted.status_code == 200
    assert deleted.json()["main_agent_removed"] is False  # nothing listens at that URL
    assert "could not be removed" in deleted.json()["warning"]
    missing = await client.get(f"/api/v1/gateways/{gateway_id}", headers=operator)
    assert missing.status_code == 404


async def test_bad_input_names_the_field(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    bad_url = await _create(client, operator, url="http://not-a-websocket")
    assert bad_url.status_code == 422
    assert [d["field"] for d in bad_url.json()["error"]["details"]] == ["url"]
    relative = await _create(client, operator, workspace_root="relative/path")
    assert [d["field"] for d in relative.json()["error"]["details"]] == ["workspace_root"]
    unknown = await _create(client, operator, colour="blue")
    assert unknown.status_code == 422
    assert [d["field"] for d in unknown.json()["error"]["details"]] == ["colour"]
    wrong_type = await _create(client, operator, allow_insecure_tls="sometimes")
    assert [d["field"] for d in wrong_type.json()["error"]["details"]] == ["allow_insecure_tls"]


async def test_url_with_a_bad_port_is_422_naming_the_field(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    for url in ("ws://gw.example:99999", "ws://gw.example:abc", "ws://gw.example:0"):
        created = await _create(client, operator, url=url)
        assert created.status_code == 422, url
        details = created.json()["error"]["details"]
        assert [d["field"] for d in details] == ["url"]
        assert "1 to 65535" in details[0]["message"]
        probed = await client.post("/api/v1/gateways/probe", json={"url": url}, headers=operator)
        assert probed.status_code == 422, url
        assert [d["field"] for d in probed.json()["error"]["details"]] == ["url"]
    gateway_id = (await _create(client, operator)).json()["id"]
    patched = await client.patch(
        f"/api/v1/gateways/{gateway_id}", json={"url": "ws://gw.example:99999"}, headers=operator
    )
    assert patched.status_code == 422
    assert [d["field"] for d in patched.json()["error"]["details"]] == ["url"]


async def test_duplicate_name_is_409(client: httpx.AsyncClient, operator: dict[str, str]) -> None:
    assert (await _create(client, operator)).status_code == 201
    duplicate = await _create(client, operator)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "gateway_name_taken"


async def test_other_organisations_gateway_is_404(
    client: httpx.AsyncClient, operator: dict[str, str], database: Database
) -> None:
    async with database.unit_of_work() as session:
        other = await factories.organization(session, "Other")
        foreign = await factories.gateway(session, other)
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method,
            f"/api/v1/gateways/{foreign.id}",
            headers=operator,
            json={"name": "x"} if method == "PATCH" else None,
        )
        assert response.status_code == 404, method
    listed = await client.get("/api/v1/gateways", headers=operator)
    assert listed.json()["items"] == []


async def test_members_cannot_manage_gateways(
    client: httpx.AsyncClient, database: Database
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        member = await factories.person(session, org, Role.MEMBER, all_boards_write=True)
        gw = await factories.gateway(session, org)
    assert (await client.get("/api/v1/gateways", headers=member.headers)).status_code == 403
    assert (await _create(client, member.headers)).status_code == 403
    assert (
        await client.delete(f"/api/v1/gateways/{gw.id}", headers=member.headers)
    ).status_code == 403


async def test_delete_refuses_while_board_agents_run_on_it(
    client: httpx.AsyncClient, database: Database
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        admin = await factories.person(session, org, Role.ADMIN)
        gw = await factories.gateway(session, org)
        brd = await factories.board(session, org, gw)
        await factories.agent(session, gw, brd)
        await factories.agent(session, gw)  # gateway-main agent, removed with the gateway
    response = await client.delete(f"/api/v1/gateways/{gw.id}", headers=admin.headers)
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"board_agents": 1}


async def test_random_id_is_404(client: httpx.AsyncClient, operator: dict[str, str]) -> None:
    response = await client.get(f"/api/v1/gateways/{uuid.uuid4()}", headers=operator)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_the_same_url_twice_is_409_naming_the_registered_gateway(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    first = await _create(client, operator)
    assert first.status_code == 201
    for url in (GATEWAY["url"], GATEWAY["url"].upper().replace("WS://", "ws://") + "/"):
        again = await _create(client, operator, name="edge-2", url=url)
        assert again.status_code == 409, url
        error = again.json()["error"]
        assert error["code"] == "gateway_url_taken"
        assert error["details"]["gateway_id"] == first.json()["id"]
    other = await _create(client, operator, name="edge-3", url="ws://127.0.0.1:18790")
    assert other.status_code == 201
    moved = await client.patch(
        f"/api/v1/gateways/{other.json()['id']}", json={"url": GATEWAY["url"]}, headers=operator
    )
    assert moved.status_code == 409
