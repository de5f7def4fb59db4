"""Invites: shown once or mailed through a real SMTP server, accepted once by a signed-in
user (role, flags and board grants applied), expiry, reuse, revocation, and who may do what."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from mission_control.app import build_runtime, create_app
from mission_control.core.clock import utcnow
from mission_control.core.db import Database
from mission_control.core.security import USER_TOKEN_PREFIX, mint_token
from mission_control.organizations.models import OrganizationInvite
from mission_control.settings import Settings
from mission_control.users.models import User, UserToken
from tests.support import factories
from tests.support.actors import Actor, World, build_world
from tests.support.smtp import Inbox, free_port, running_smtp_server

INVITES = "/api/v1/organizations/me/invites"
ACCEPT = "/api/v1/invites/accept"


@pytest.fixture
async def world(database: Database) -> World:
    async with database.unit_of_work() as session:
        return await build_world(session)


async def newcomer(database: Database, email: str | None) -> dict[str, str]:
    """A signed-in user who belongs to no organisation yet."""
    async with database.unit_of_work() as session:
        user = User(auth_subject=f"test:{uuid.uuid4().hex}", email=email, name="Newcomer")
        session.add(user)
        await session.flush()
        minted = mint_token(USER_TOKEN_PREFIX)
        session.add(
            UserToken(user_id=user.id, name="t", token_id=minted.token_id, token_hash=minted.hash)
        )
    return {"Authorization": f"Bearer {minted.raw}"}


def _invite_body(world: World, email: str, **extra: object) -> dict[str, object]:
    return {
        "email": email,
        "role": "member",
        "board_grants": [{"board_id": str(world.board.id), "can_read": True}],
        **extra,
    }


async def test_invite_shown_once_accepted_once_applies_role_and_grants(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    async with database.unit_of_work() as session:
        hidden = await factories.board(session, world.org, name="Hidden")
    admin = world.as_(Actor.ADMIN)
    created = await client.post(INVITES, json=_invite_body(world, "Ada@Example.com"), headers=admin)
    assert created.status_code == 201, created.text
    invite = created.json()
    assert invite["delivery"] == "shown"
    assert invite["email"] == "ada@example.com"
    assert invite["status"] == "pending"
    token = invite["token"]
    assert token.startswith("mci_")
    assert invite["accept_url"].endswith(f"/invites/accept?token={token}")

    # Listed without the token; stored only as a hash.
    listed = (await client.get(INVITES, headers=admin)).json()["items"]
    assert [i["id"] for i in listed] == [invite["id"]]
    assert "token" not in listed[0]
    async with database.unit_of_work() as session:
        row = await session.get(OrganizationInvite, uuid.UUID(invite["id"]))
        assert row is not None
        assert token not in {row.token_hash, row.token_id}
        assert row.token_hash.startswith("pbkdf2_sha256$")

    ada = await newcomer(database, "ada@example.com")
    assert (await client.get("/api/v1/organizations/me", headers=ada)).status_code == 403
    accepted = await client.post(ACCEPT, json={"token": token}, headers=ada)
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["organization"]["id"] == str(world.org.id)
    assert body["member"]["role"] == "member"
    assert body["member"]["board_grants"] == [
        {"board_id": str(world.board.id), "can_read": True, "can_write": False}
    ]
    boards = (await client.get("/api/v1/boards", headers=ada)).json()["items"]
    assert [b["id"] for b in boards] == [str(world.board.id)]
    assert (await client.get(f"/api/v1/boards/{hidden.id}", headers=ada)).status_code == 403
    write = await client.patch(f"/api/v1/boards/{world.board.id}", json={"name": "x"}, headers=ada)
    assert write.status_code == 403

    # Once only, even for someone else.
    again = await client.post(ACCEPT, json={"token": token}, headers=ada)
    assert again.status_code == 410
    assert again.json()["error"]["code"] == "invite_used"
    other = await newcomer(database, None)
    reuse = await client.post(ACCEPT, json={"token": token}, headers=other)
    assert reuse.json()["error"]["code"] == "invite_used"
    states = {
        i["id"]: i["status"] for i in (await client.get(INVITES, headers=admin)).json()["items"]
    }
    assert states == {invite["id"]: "accepted"}
    # Inviting an existing member is refused.
    dup = await client.post(INVITES, json=_invite_body(world, "ada@example.com"), headers=admin)
    assert dup.status_code == 409
    assert dup.json()["error"]["code"] == "already_member"


async def test_expired_revoked_unknown_and_mismatched_invites(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    admin = world.as_(Actor.ADMIN)
    bob = await newcomer(database, "bob@example.com")

    expiring = (
        await client.post(INVITES, json=_invite_body(world, "bob@example.com"), headers=admin)
    ).json()
    async with database.unit_of_work() as session:
        await session.execute(
            update(OrganizationInvite)
            .where(OrganizationInvite.id == uuid.UUID(expiring["id"]))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = await client.post(ACCEPT, json={"token": expiring["token"]}, headers=bob)
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "invite_expired"

    revoking = (
        await client.post(INVITES, json=_invite_body(world, "bob@example.com"), headers=admin)
    ).json()
    assert (await client.delete(f"{INVITES}/{revoking['id']}", headers=admin)).status_code == 204
    assert (await client.delete(f"{INVITES}/{revoking['id']}", headers=admin)).status_code == 204
    revoked = await client.post(ACCEPT, json={"token": revoking["token"]}, headers=bob)
    assert revoked.status_code == 410
    assert revoked.json()["error"]["code"] == "invite_revoked"

    for_carol = (
        await client.post(INVITES, json=_invite_body(world, "carol@example.com"), headers=admin)
    ).json()
    mismatch = await client.post(ACCEPT, json={"token": for_carol["token"]}, headers=bob)
    assert mismatch.status_code == 403
    assert mismatch.json()["error"]["code"] == "invite_email_mismatch"

    # A token with a valid shape whose secret part was altered, and plain garbage.
    tampered = for_carol["token"][:-4] + (
        "AAAA" if not for_carol["token"].endswith("AAAA") else "BBBB"
    )
    for token in (tampered, "mci_nothing", "x" * 150):
        unknown = await client.post(ACCEPT, json={"token": token}, headers=bob)
        assert unknown.status_code == 404, unknown.text

    statuses = {
        i["id"]: i["status"] for i in (await client.get(INVITES, headers=admin)).json()["items"]
    }
    assert statuses == {
        expiring["id"]: "expired",
        revoking["id"]: "revoked",
        for_carol["id"]: "pending",
    }
    # An accepted invite cannot be revoked; the member is removed instead.
    carol = await newcomer(database, "carol@example.com")
    assert (
        await client.post(ACCEPT, json={"token": for_carol["token"]}, headers=carol)
    ).status_code == 200
    used = await client.delete(f"{INVITES}/{for_carol['id']}", headers=admin)
    assert used.status_code == 409
    assert used.json()["error"]["code"] == "invite_used"


async def test_invalid_invites_are_422(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    admin = world.as_(Actor.ADMIN)
    async with database.unit_of_work() as session:
        foreign = await factories.board(session, world.other_org, name="Foreign")
    cases = [
        ({"email": "not-an-address"}, "email"),
        ({"email": "a@b.co", "role": "king"}, "role"),
        ({"email": "a@b.co", "expires_in_hours": 0}, "expires_in_hours"),
        (
            {"email": "a@b.co", "board_grants": [{"board_id": str(foreign.id)}]},
            "board_grants.0.board_id",
        ),
    ]
    for body, field in cases:
        answer = await client.post(INVITES, json=body, headers=admin)
        assert answer.status_code == 422, (body, answer.text)
        assert field in {d["field"] for d in answer.json()["error"]["details"]}, answer.text
    # Admins may not invite owners.
    owner = await client.post(INVITES, json={"email": "o@b.co", "role": "owner"}, headers=admin)
    assert owner.status_code == 403


INVITE_ACCESS = {
    # actor: (create, list, revoke, accept)
    Actor.ANONYMOUS: (401, 401, 401, 401),
    # The outsider acts in their own organisation: this board is unknown there.
    Actor.OTHER_ORG_USER: (422, 200, 404, 404),
    Actor.MEMBER_NO_GRANT: (403, 403, 403, 404),
    Actor.MEMBER_READ: (403, 403, 403, 404),
    Actor.BOARD_LEAD: (401, 401, 401, 401),
    Actor.BOARD_WORKER: (401, 401, 401, 401),
    Actor.GATEWAY_MAIN: (401, 401, 401, 401),
    Actor.ADMIN: (201, 200, 204, 404),
}


async def test_invite_routes_access(client: httpx.AsyncClient, world: World) -> None:
    admin = world.as_(Actor.ADMIN)
    existing = (
        await client.post(INVITES, json=_invite_body(world, "z@example.com"), headers=admin)
    ).json()
    seen: dict[Actor, tuple[int, ...]] = {}
    for actor in INVITE_ACCESS:
        headers = world.as_(actor)
        created = await client.post(
            INVITES, json=_invite_body(world, "y@example.com"), headers=headers
        )
        listed = await client.get(INVITES, headers=headers)
        if listed.status_code == 200 and actor != Actor.ADMIN:
            assert listed.json()["items"] == [], actor
        revoked = await client.delete(f"{INVITES}/{existing['id']}", headers=headers)
        # Nobody accepts with a made-up token; an agent token is no user either.
        accepted = await client.post(ACCEPT, json={"token": f"mci_{'0' * 16}_x"}, headers=headers)
        seen[actor] = tuple(r.status_code for r in (created, listed, revoked, accepted))
        status = {
            i["id"]: i["status"] for i in (await client.get(INVITES, headers=admin)).json()["items"]
        }
        assert status[existing["id"]] == ("revoked" if actor == Actor.ADMIN else "pending"), actor
    assert seen == INVITE_ACCESS


# -- mail --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[Inbox]:
    with running_smtp_server() as inbox:
        yield inbox


async def _client_with(
    database: Database, tmp_path: Path, **settings: object
) -> AsyncIterator[httpx.AsyncClient]:
    config = Settings(
        auth_token=secrets.token_urlsafe(48),
        data_dir=tmp_path,
        database_url=database.url,
        base_url="http://mc.example:8000",
        **settings,  # type: ignore[arg-type]
    )
    app = create_app(runtime=build_runtime(config, database))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://mc.test"
    ) as http:
        yield http


@pytest.fixture
async def mail_client(
    database: Database, tmp_path: Path, smtp_server: Inbox
) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _client_with(
        database,
        tmp_path,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        smtp_from="mc@example.test",
    ):
        yield http


async def test_invite_link_is_mailed_and_not_shown(
    mail_client: httpx.AsyncClient, world: World, database: Database, smtp_server: Inbox
) -> None:
    address = f"dana-{uuid.uuid4().hex[:6]}@example.com"
    created = await mail_client.post(
        INVITES, json=_invite_body(world, address), headers=world.as_(Actor.ADMIN)
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["delivery"] == "email"
    assert body["token"] is None
    assert body["accept_url"] is None
    (message,) = smtp_server.to(address)
    assert message["From"] == "mc@example.test"
    assert "Matrix Org" in message["Subject"]
    text = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    link = re.search(r"http://mc\.example:8000/invites/accept\?token=(\S+)", text)
    assert link is not None, text
    dana = await newcomer(database, address)
    accepted = await mail_client.post(ACCEPT, json={"token": link.group(1)}, headers=dana)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["organization"]["id"] == str(world.org.id)


async def test_unreachable_smtp_server_falls_back_to_showing_the_link(
    database: Database, tmp_path: Path, world: World
) -> None:
    async for http in _client_with(
        database, tmp_path, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none"
    ):
        created = await http.post(
            INVITES, json=_invite_body(world, "eve@example.com"), headers=world.as_(Actor.ADMIN)
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["delivery"] == "failed"
        assert "could not be mailed" in body["delivery_error"]
        assert body["token"].startswith("mci_")
        async with database.unit_of_work() as session:
            stored = await session.scalar(select(OrganizationInvite.email))
        assert stored == "eve@example.com"


async def test_two_users_racing_for_one_invite_one_wins(
    client: httpx.AsyncClient, world: World, database: Database
) -> None:
    import asyncio

    created = await client.post(
        INVITES, json=_invite_body(world, "race@example.com"), headers=world.as_(Actor.ADMIN)
    )
    token = created.json()["token"]
    # Neither has an email, so only the one-time rule stands between them.
    first, second = await newcomer(database, None), await newcomer(database, None)
    answers = await asyncio.gather(
        client.post(ACCEPT, json={"token": token}, headers=first),
        client.post(ACCEPT, json={"token": token}, headers=second),
    )
    assert sorted(a.status_code for a in answers) == [200, 410], [a.text for a in answers]
    members = await client.get("/api/v1/organizations/me/members", headers=world.as_(Actor.ADMIN))
    assert members.json()["total"] == 4  # the three matrix users and the winner
