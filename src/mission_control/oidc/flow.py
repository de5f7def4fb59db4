"""The authorization-code flow with PKCE for the console's sign-in: the URL to send the
browser to, and the code exchanged for an ID token that the verifier then checks (with the
nonce this sign-in started with)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from mission_control.core.errors import Unauthorized
from mission_control.core.oidc import IssuerUnavailable, OidcVerifier


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """What the console keeps (server-side) between sending the browser off and its return."""

    state: str
    nonce: str
    code_verifier: str
    return_to: str


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    client_secret: str | None
    redirect_uri: str
    scopes: str


def new_sign_in(return_to: str) -> PendingSignIn:
    return PendingSignIn(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        code_verifier=secrets.token_urlsafe(48),
        return_to=return_to,
    )


def code_challenge(verifier: str) -> str:
    """S256: base64url(sha256(verifier)) without padding (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def authorization_url(verifier: OidcVerifier, client: Client, pending: PendingSignIn) -> str:
    discovery = await verifier.discovery()
    if discovery.authorization_endpoint is None:
        raise IssuerUnavailable("The identity provider names no authorization_endpoint.")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": client.redirect_uri,
            "scope": client.scopes,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": code_challenge(pending.code_verifier),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in discovery.authorization_endpoint else "?"
    return f"{discovery.authorization_endpoint}{separator}{query}"


async def finish_sign_in(
    verifier: OidcVerifier, client: Client, pending: PendingSignIn, code: str
) -> tuple[str, dict[str, object]]:
    """Exchange the code (with the PKCE verifier) and check the ID token and its nonce;
    the token and its claims."""
    discovery = await verifier.discovery()
    if discovery.token_endpoint is None:
        raise IssuerUnavailable("The identity provider names no token_endpoint.")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "client_id": client.client_id,
        "code_verifier": pending.code_verifier,
    }
    if client.client_secret:
        form["client_secret"] = client.client_secret
    try:
        async with httpx.AsyncClient(timeout=verifier.config.timeout_seconds) as http:
            answer = await http.post(discovery.token_endpoint, data=form)
    except httpx.HTTPError as error:
        raise IssuerUnavailable(
            f"The identity provider's token endpoint did not answer ({error.__class__.__name__})."
        ) from error
    body = (
        answer.json()
        if answer.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    if answer.status_code != 200 or not isinstance(body.get("id_token"), str):
        reason = body.get("error") if isinstance(body, dict) else None
        raise Unauthorized(
            f"The identity provider refused the sign-in ({reason or answer.status_code})."
        )
    id_token: str = body["id_token"]
    claims = await verifier.verify(id_token)
    if claims.get("nonce") != pending.nonce:
        raise Unauthorized("The sign-in answer does not belong to this sign-in (nonce); try again.")
    return id_token, claims
