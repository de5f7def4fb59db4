"""Custom fields: definitions per organisation, bound to boards, typed values validated with a
422 that names the field; tags per organisation."""

from __future__ import annotations

from typing import Any

import httpx

from mission_control.core.db import Database
from mission_control.organizations.models import Role
from tests.support import factories, task_factories
from tests.support.task_factories import Team

FIELDS: list[dict[str, Any]] = [
    {"key": "summary", "label": "Summary", "field_type": "text", "validation_regex": "[A-Z].*"},
    {"key": "points", "label": "Points", "field_type": "integer", "required": True},
    {"key": "cost", "label": "Cost", "field_type": "decimal"},
    {"key": "billable", "label": "Billable", "field_type": "boolean", "default_value": False},
    {"key": "ship_date", "label": "Ship date", "field_type": "date"},
    {"key": "kickoff", "label": "Kickoff", "field_type": "datetime"},
    {"key": "link", "label": "Link", "field_type": "url"},
    {"key": "extra", "label": "Extra", "field_type": "json"},
]


async def _define_all(client: httpx.AsyncClient, team: Team) -> None:
    for definition in FIELDS:
        created = await client.post("/api/v1/custom-fields", json=definition, headers=team.user)
        assert created.status_code == 201, created.text
        bound = await client.put(
            f"/api/v1/boards/{team.board.id}/custom-fields/{created.json()['id']}",
            headers=team.user,
        )
        assert bound.status_code == 200, bound.text


async def test_values_are_typed_and_normalised(
    client: httpx.AsyncClient, database: Database
) -> None:
    team = await task_factories.team(database)
    await _define_all(client, team)
    values = {
        "summary": "Ship it",
        "points": 5,
        "cost": "12.50",
        "ship_date": "2026-12-31",
        "kickoff": "2026-12-01T10:00:00+02:00",
        "link": "https://example.test/pr/1",
        "extra": {"labels": ["a", "b"]},
    }
    created = await client.post(
        team.tasks_url, json={"title": "T", "custom_fields": values}, headers=team.user
    )
    assert created.status_code == 201, created.text
    assert created.json()["custom_fields"] == {
        **values,
        "kickoff": "2026-12-01T08:00:00+00:00",
        "billable": False,
    }
    url = f"{team.tasks_url}/{created.json()['id']}"
    cleared = await client.patch(url, json={"custom_fields": {"cost": None}}, headers=team.user)
    assert cleared.json()["custom_fields"]["cost"] is None
    assert cleared.json()["custom_fields"]["points"] == 5
    fields = await client.get(
        f"/api/v1/agent/boards/{team.board.id}/custom-fields",
        headers=team.agent_headers(team.worker_token),
    )
    assert [f["definition"]["key"] for f in fields.json()] == sorted(d["key"] for d in FIELDS)


async def test_invalid_values_name_the_field(client: httpx.AsyncClient, database: Database) -> None:
    team = await task_factories.team(database)
    await _define_all(client, team)
    invalid: list[tuple[str, Any]] = [
        ("summary", "lowercase start"),
        ("summary", 7),
        ("points", "5"),
        ("points", True),
        ("points", 2.5),
        ("cost", "twelve"),
        ("cost", "NaN"),
        ("billable", "yes"),
        ("ship_date", "31/12/2026"),
        ("kickoff", "2026-12-01T10:00:00"),
        ("link", "ftp://example.test"),
        ("link", "not a url"),
        ("nonexistent", 1),
    ]
    for key, value in invalid:
        custom = {"points": 1, key: value}
        response = await client.post(
            team.tasks_url, json={"title": "T", "custom_fields": custom}, headers=team.user
        )
        assert response.status_code == 422, (key, value, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_custom_field"
        assert error["details"][0]["field"] == f"custom_fields.{key}"
        assert repr(key) in error["message"]
    missing = await client.post(team.tasks_url, json={"title": "T"}, headers=team.user)
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["field"] == "custom_fields.points"
    created = await client.post(
        team.tasks_url, json={"title": "T", "custom_fields": {"points": 1}}, headers=team.user
    )
    url = f"{team.tasks_url}/{created.json()['id']}"
    clear_required = await client.patch(
        url, json={"custom_fields": {"points": None}}, headers=team.user
    )
    assert clear_required.status_code == 422
    assert clear_required.json()["error"]["details"][0]["field"] == "custom_fields.points"


async def test_definitions_and_bindings(client: httpx.AsyncClient, database: Database) -> None:
    team = await task_factories.team(database)
    async with database.unit_of_work() as session:
        member = await factories.person(
            session, team.org, Role.MEMBER, grants={team.board.id: (True, False)}
        )
    url = "/api/v1/custom-fields"
    for body, field in (
        (
            {"key": "a", "label": "A", "field_type": "text", "validation_regex": "("},
            "validation_regex",
        ),
        (
            {"key": "a", "label": "A", "field_type": "json", "validation_regex": "x"},
            "validation_regex",
        ),
        (
            {"key": "a", "label": "A", "field_type": "integer", "default_value": "x"},
            "default_value",
        ),
        ({"key": "a", "label": "A", "field_type": "color"}, "field_type"),
        ({"key": "Bad Key", "label": "A", "field_type": "text"}, "key"),
    ):
        response = await client.post(url, json=body, headers=team.user)
        assert response.status_code == 422, body
        assert response.json()["error"]["details"][0]["field"] == field
    good = {"key": "size", "label": "Size", "field_type": "integer", "default_value": 3}
    created = await client.post(url, json=good, headers=team.user)
    assert created.status_code == 201
    assert (await client.post(url, json=good, headers=team.user)).status_code == 409
    assert (
        await client.post(url, json={**good, "key": "z"}, headers=member.headers)
    ).status_code == 403
    binding_url = f"/api/v1/boards/{team.board.id}/custom-fields/{created.json()['id']}"
    assert (await client.put(binding_url, headers=member.headers)).status_code == 403
    bound = await client.put(binding_url, json={"required": True}, headers=team.user)
    assert bound.json()["required"] is True
    task = await client.post(team.tasks_url, json={"title": "T"}, headers=team.user)
    assert task.json()["custom_fields"] == {"size": 3}
    assert (await client.delete(binding_url, headers=team.user)).status_code == 204
    unbound = await client.post(
        team.tasks_url, json={"title": "T", "custom_fields": {"size": 1}}, headers=team.user
    )
    assert unbound.status_code == 422


async def test_tags(client: httpx.AsyncClient, database: Database) -> None:
    team = await task_factories.team(database)
    other = await task_factories.team(database, name="Other")
    created = await client.post("/api/v1/tags", json={"name": "Front End"}, headers=team.user)
    assert created.status_code == 201
    assert created.json()["slug"] == "front-end"
    duplicate = await client.post("/api/v1/tags", json={"name": "front end"}, headers=team.user)
    assert (duplicate.status_code, duplicate.json()["error"]["code"]) == (409, "tag_exists")
    listed = await client.get(
        f"/api/v1/agent/boards/{team.board.id}/tags", headers=team.agent_headers(team.lead_token)
    )
    assert [t["slug"] for t in listed.json()["items"]] == ["front-end"]
    foreign = await client.post(
        other.tasks_url, json={"title": "T", "tag_ids": [created.json()["id"]]}, headers=other.user
    )
    assert foreign.status_code == 422
    assert (await client.get("/api/v1/tags", headers=other.user)).json()["total"] == 0
    tagged = await client.post(
        team.agent_tasks_url,
        json={"title": "T", "tag_ids": [created.json()["id"]]},
        headers=team.agent_headers(team.lead_token),
    )
    assert tagged.json()["tag_ids"] == [created.json()["id"]]
    tag_url = f"{team.agent_tasks_url}/{tagged.json()['id']}/tags"
    second = await client.post("/api/v1/tags", json={"name": "Later"}, headers=team.user)
    lead = team.agent_headers(team.lead_token)
    added = await client.put(f"{tag_url}/{second.json()['id']}", headers=lead)
    assert sorted(added.json()["tag_ids"]) == sorted([created.json()["id"], second.json()["id"]])
    again = await client.put(f"{tag_url}/{second.json()['id']}", headers=lead)
    assert len(again.json()["tag_ids"]) == 2
    removed = await client.delete(f"{tag_url}/{created.json()['id']}", headers=lead)
    assert removed.json()["tag_ids"] == [second.json()["id"]]
    by_worker = await client.put(
        f"{tag_url}/{created.json()['id']}", headers=team.agent_headers(team.worker_token)
    )
    assert (by_worker.status_code, by_worker.json()["error"]["code"]) == (403, "worker_field")
    unknown = await client.put(f"{tag_url}/{team.board.id}", headers=lead)
    assert unknown.status_code == 422
