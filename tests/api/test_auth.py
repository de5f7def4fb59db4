"""Operator, user and agent authentication, and the local owner created on first access."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from mission_control.core.db import Database
from mission_control.organizations.models import Organization, OrganizationMember, Role
from mission_control.users.models import User
from tests.support import factories


async def test_missing_token_is_401_with_www_authenticate(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/organizations/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"


async def test_wrong_operator_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/organizations/me", headers={"Authorization": "Bearer " + "x" * 60}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_first_request_creates_local_owner_and_personal_org_once(
    client: httpx.AsyncClient, operator: dict[str, str], database: Database
) -> None:
    first = await client.get("/api/v1/organizations/me", headers=operator)
    second = await client.get("/api/v1/organizations/me", headers=operator)
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["role"] == "owner"
    async with database.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1
        assert await session.scalar(select(func.count()).select_from(Organization)) == 1
    members = await client.get("/api/v1/organizations/me/members", headers=operator)
    assert members.status_code == 200
    assert [m["role"] for m in members.json()["items"]] == ["owner"]


async def test_user_api_token_authenticates_that_user(
    client: httpx.AsyncClient, database: Database
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session, "Beta")
        member = await factories.person(session, org, Role.ADMIN)
    response = await client.get("/api/v1/organizations/me", headers=member.headers)
    assert response.status_code == 200
    assert response.json()["name"] == "Beta"
    assert response.json()["role"] == "admin"


async def test_agent_token_is_refused_on_operator_endpoints(
    client: httpx.AsyncClient, database: Database
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        gw = await factories.gateway(session, org)
        _, token = await factories.agent(session, gw)
    response = await client.get(
        "/api/v1/organizations/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403


async def test_user_without_membership_is_403(
    client: httpx.AsyncClient, database: Database
) -> None:
    async with database.unit_of_work() as session:
        org = await factories.organization(session)
        person = await factories.person(session, org)
        await session.delete(await session.get(OrganizationMember, person.member.id))
    response = await client.get("/api/v1/organizations/me", headers=person.headers)
    assert response.status_code == 403


async def test_organization_header_must_be_a_uuid(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    response = await client.get(
        "/api/v1/organizations/me", headers={**operator, "X-Organization-Id": "nope"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "x-organization-id"
