"""Personal API tokens: shown once, usable, listed without the secret, revocable."""

from __future__ import annotations

import httpx


async def test_token_lifecycle(client: httpx.AsyncClient, operator: dict[str, str]) -> None:
    created = await client.post("/api/v1/users/me/tokens", json={"name": "ci"}, headers=operator)
    assert created.status_code == 201
    raw = created.json()["token"]
    assert raw.startswith("mcu_")
    mine = {"Authorization": f"Bearer {raw}"}
    assert (await client.get("/api/v1/organizations/me", headers=mine)).status_code == 200

    listed = await client.get("/api/v1/users/me/tokens", headers=operator)
    assert [t["name"] for t in listed.json()] == ["ci"]
    assert raw not in listed.text

    token_id = created.json()["id"]
    assert (
        await client.delete(f"/api/v1/users/me/tokens/{token_id}", headers=operator)
    ).status_code == 204
    assert (await client.get("/api/v1/organizations/me", headers=mine)).status_code == 401
    again = await client.delete(f"/api/v1/users/me/tokens/{token_id}", headers=operator)
    assert again.status_code == 404


async def test_name_is_required(client: httpx.AsyncClient, operator: dict[str, str]) -> None:
    response = await client.post("/api/v1/users/me/tokens", json={}, headers=operator)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "name"


async def test_use_is_recorded(client: httpx.AsyncClient, operator: dict[str, str]) -> None:
    created = await client.post("/api/v1/users/me/tokens", json={"name": "n"}, headers=operator)
    assert created.json()["last_used_at"] is None
    mine = {"Authorization": f"Bearer {created.json()['token']}"}
    await client.get("/api/v1/organizations/me", headers=mine)
    listed = await client.get("/api/v1/users/me/tokens", headers=operator)
    assert listed.json()[0]["last_used_at"] is not None
