"""OIDC sign-on against a real provider on loopback (oidc-provider-mock): first sign-in creates
the user and a personal organisation, bearer JWTs call the API, key rotation, wrong audience,
expired tokens (beyond the bounded clock skew), and invites accepted by OIDC users."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from mission_control.app import build_runtime, create_app
from mission_control.core.db import Database
from mission_control.core.runtime import Runtime
from mission_control.settings import Settings, SettingsError
from tests.support.actors import Actor, build_world
from tests.support.oidc import Issuer, running_issuer, sign_in

AUDIENCE = "mission-control"


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with running_issuer() as running:
        yield running


def _runtime(database: Database, tmp_path: Path, issuer_url: str, **extra: object) -> Runtime:
    values: dict[str, object] = {
        "auth_token": secrets.token_urlsafe(48),
        "auth_mode": "local+oidc",
        "oidc_jwks_min_refetch_seconds": 0,
        **extra,
    }
    settings = Settings(
        data_dir=tmp_path,
        database_url=database.url,
        oidc_issuer=issuer_url,
        oidc_audience=AUDIENCE,
        **values,  # type: ignore[arg-type]
    )
    return build_runtime(settings, database)


@pytest.fixture
def runtime(database: Database, tmp_path: Path, issuer: Issuer) -> Runtime:
    return _runtime(database, tmp_path, issuer.url)


async def _client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://mc.test") as http:
        yield http


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _client(runtime):
        yield http


def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['id_token']}"}


async def test_first_sign_in_creates_the_user_and_a_personal_organisation(
    client: httpx.AsyncClient, issuer: Issuer
) -> None:
    tokens = await sign_in(issuer, "grace")
    me = await client.get("/api/v1/organizations/me", headers=bearer(tokens))
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "owner"
    assert me.json()["name"] == "Grace (personal)"
    # The same person again: the same user and organisation, nothing new.
    again = await client.get(
        "/api/v1/organizations/me", headers=bearer(await sign_in(issuer, "grace"))
    )
    assert again.json()["id"] == me.json()["id"]
    members = (await client.get("/api/v1/organizations/me/members", headers=bearer(tokens))).json()
    assert [(m["email"], m["name"]) for m in members["items"]] == [("grace@example.com", "Grace")]
    board = await client.post("/api/v1/boards", json={"name": "Via OIDC"}, headers=bearer(tokens))
    assert board.status_code == 201, board.text
    # Another person gets their own organisation and does not see Grace's board.
    other = bearer(await sign_in(issuer, "heidi"))
    assert (await client.get("/api/v1/boards", headers=other)).json()["total"] == 0


async def test_rotated_signing_key_is_fetched_once_and_the_old_key_stops_working(
    client: httpx.AsyncClient, issuer: Issuer, runtime: Runtime
) -> None:
    assert runtime.oidc is not None
    before = await sign_in(issuer, "ivan")
    assert (await client.get("/api/v1/organizations/me", headers=bearer(before))).status_code == 200
    fetched = runtime.oidc.jwks_fetches
    # Cached: another call with a known key does not fetch the JWKS again.
    assert (await client.get("/api/v1/organizations", headers=bearer(before))).status_code == 200
    assert runtime.oidc.jwks_fetches == fetched

    issuer.rotate_key()
    after = await sign_in(issuer, "ivan")
    answer = await client.get("/api/v1/organizations/me", headers=bearer(after))
    assert answer.status_code == 200, answer.text
    assert runtime.oidc.jwks_fetches == fetched + 1
    # The provider no longer lists the old key: tokens signed with it are refused.
    old = await client.get("/api/v1/organizations/me", headers=bearer(before))
    assert old.status_code == 401
    assert "does not list" in old.json()["error"]["message"]


async def test_wrong_audience_forged_and_garbage_tokens_are_401(
    client: httpx.AsyncClient, issuer: Issuer
) -> None:
    other_app = await sign_in(issuer, "judy", client_id="some-other-app")
    refused = await client.get("/api/v1/organizations/me", headers=bearer(other_app))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_invalid_claim"
    assert refused.json()["error"]["details"] == {"claim": "aud"}

    good = (await sign_in(issuer, "judy"))["id_token"]
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "someone-else"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    unsigned_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    for token in (
        f"{header}.{forged_payload}.{signature}",
        f"{unsigned_header}.{payload}.",
        "eyJ.not.jwt",
    ):
        answer = await client.get(
            "/api/v1/organizations/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 401, (token, answer.text)
        assert set(answer.json()) == {"error"}


async def test_expired_tokens_are_refused_beyond_the_clock_skew(
    database: Database, tmp_path: Path
) -> None:
    # One provider whose tokens expired 2 minutes ago, one whose expired 20 seconds ago;
    # Mission Control allows 60 seconds of clock skew.
    with (
        running_issuer(token_max_age=timedelta(seconds=-120)) as stale,
        running_issuer(token_max_age=timedelta(seconds=-20)) as skewed,
    ):
        async for http in _client(_runtime(database, tmp_path, stale.url)):
            answer = await http.get(
                "/api/v1/organizations/me", headers=bearer(await sign_in(stale, "kim"))
            )
            assert answer.status_code == 401
            assert answer.json()["error"]["code"] == "token_expired"
            # A token from another issuer is not accepted either.
            foreign = await http.get(
                "/api/v1/organizations/me", headers=bearer(await sign_in(skewed, "kim"))
            )
            assert foreign.status_code == 401
        async for http in _client(_runtime(database, tmp_path, skewed.url)):
            answer = await http.get(
                "/api/v1/organizations/me", headers=bearer(await sign_in(skewed, "kim"))
            )
            assert answer.status_code == 200, answer.text


async def test_oidc_mode_refuses_the_operator_token_and_needs_its_settings(
    database: Database, tmp_path: Path, issuer: Issuer
) -> None:
    runtime = _runtime(database, tmp_path, issuer.url, auth_mode="oidc", auth_token=None)
    async for http in _client(runtime):
        operator = await http.get(
            "/api/v1/organizations/me",
            headers={"Authorization": f"Bearer {secrets.token_urlsafe(48)}"},
        )
        assert operator.status_code == 401
        signed_in = await http.get(
            "/api/v1/organizations/me", headers=bearer(await sign_in(issuer, "leo"))
        )
        assert signed_in.status_code == 200
    with pytest.raises(SettingsError, match="MC_OIDC_ISSUER"):
        build_runtime(
            Settings(auth_mode="oidc", data_dir=tmp_path, oidc_audience=AUDIENCE), database
        )


async def test_unreachable_issuer_is_503(database: Database, tmp_path: Path) -> None:
    from tests.support.smtp import free_port

    async for http in _client(_runtime(database, tmp_path, f"http://127.0.0.1:{free_port()}")):
        header = base64.urlsafe_b64encode(b'{"alg":"RS256"}').rstrip(b"=").decode()
        answer = await http.get(
            "/api/v1/organizations/me", headers={"Authorization": f"Bearer {header}.e30.sig"}
        )
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "issuer_unavailable"


async def test_invited_oidc_user_sees_only_the_granted_board(
    client: httpx.AsyncClient, issuer: Issuer, database: Database
) -> None:
    async with database.unit_of_work() as session:
        world = await build_world(session)
    invite = await client.post(
        "/api/v1/organizations/me/invites",
        json={"email": "mallory@example.com", "board_grants": [{"board_id": str(world.board.id)}]},
        headers=world.as_(Actor.ADMIN),
    )
    assert invite.status_code == 201, invite.text
    mallory = bearer(await sign_in(issuer, "mallory"))
    accepted = await client.post(
        "/api/v1/invites/accept", json={"token": invite.json()["token"]}, headers=mallory
    )
    assert accepted.status_code == 200, accepted.text
    # Accepting first means no personal organisation: the team is the active one.
    orgs = (await client.get("/api/v1/organizations", headers=mallory)).json()
    assert [(o["id"], o["active"]) for o in orgs] == [(str(world.org.id), True)]
    boards = (await client.get("/api/v1/boards", headers=mallory)).json()["items"]
    assert [b["id"] for b in boards] == [str(world.board.id)]


async def test_console_flow_authorization_code_with_pkce(
    issuer: Issuer, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    from urllib.parse import parse_qs, urlsplit

    from mission_control.core.errors import Unauthorized
    from mission_control.oidc import flow
    from tests.support.oidc import CLIENT_SECRET, REDIRECT_URI

    assert runtime.oidc is not None
    oidc_client = flow.Client(
        client_id=AUDIENCE,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        scopes="openid email profile",
    )
    pending = flow.new_sign_in("/console")
    url = await flow.authorization_url(runtime.oidc, oidc_client, pending)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge"] == [flow.code_challenge(pending.code_verifier)]
    assert query["code_challenge_method"] == ["S256"]
    async with httpx.AsyncClient(timeout=10) as browser:
        await browser.put(f"{issuer.url}/users/nina", json={"email": "nina@example.com"})
        # The person signs in at the provider, which sends the browser back with a code.
        back = await browser.post(url, data={"sub": "nina"})
    assert back.status_code == 302
    returned = parse_qs(urlsplit(back.headers["location"]).query)
    assert returned["state"] == [pending.state]
    token, claims = await flow.finish_sign_in(
        runtime.oidc, oidc_client, pending, returned["code"][0]
    )
    assert claims["sub"] == "nina"
    me = await client.get("/api/v1/organizations/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    # A code works once; a sign-in whose nonce is another's is refused.
    with pytest.raises(Unauthorized):
        await flow.finish_sign_in(runtime.oidc, oidc_client, pending, returned["code"][0])
    async with httpx.AsyncClient(timeout=10) as browser:
        again = await browser.post(url, data={"sub": "nina"})
    code = parse_qs(urlsplit(again.headers["location"]).query)["code"][0]
    other = flow.new_sign_in("/console")
    with pytest.raises(Unauthorized, match="nonce"):
        await flow.finish_sign_in(runtime.oidc, oidc_client, other, code)
