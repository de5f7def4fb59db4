"""A real OpenID Connect provider for tests (oidc-provider-mock, built on Authlib) on a free
loopback port, with signing-key rotation, and a PKCE sign-in driven over HTTP."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import flask
import httpx
import oidc_provider_mock
import werkzeug.serving
from authlib.jose import RSAKey

from tests.support.smtp import free_port

REDIRECT_URI = "http://127.0.0.1:9/callback"
CLIENT_SECRET = "test-client-secret"


@dataclass
class Issuer:
    url: str
    server: werkzeug.serving.BaseWSGIServer
    # The key the provider signs with from now on (None: the one it generated at start).
    next_key: Any = None
    rotations: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def rotate_key(self) -> None:
        """The provider signs with a fresh key and lists only that one in its JWKS."""
        with self.lock:
            self.next_key = RSAKey.generate_key(is_private=True)
            self.rotations += 1


@contextmanager
def running_issuer(*, token_max_age: timedelta = timedelta(hours=1)) -> Iterator[Issuer]:
    app = oidc_provider_mock.app(access_token_max_age=token_max_age)
    port = free_port()
    server = werkzeug.serving.make_server("localhost", port, app, threaded=True)
    issuer = Issuer(url=f"http://localhost:{port}", server=server)

    def use_current_key() -> None:
        # Runs after the provider put its storage on flask.g: swap in the rotated key.
        with issuer.lock:
            if issuer.next_key is not None:
                flask.g.oidc_provider_mock_storage.jwk = issuer.next_key

    app.before_request(use_current_key)

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def sign_in(
    issuer: Issuer,
    sub: str,
    *,
    client_id: str = "mission-control",
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The authorization-code flow with PKCE, as a browser would run it; the token answer."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email profile",
        "state": state,
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    profile = claims or {"email": f"{sub}@example.com", "name": sub.title()}
    async with httpx.AsyncClient(base_url=issuer.url, timeout=10) as http:
        # The provider's user registry: the claims this person signs in with.
        assert (await http.put(f"/users/{sub}", json=profile)).status_code == 204
        form = {"sub": sub}
        authorized = await http.post("/oauth2/authorize", params=query, data=form)
        assert authorized.status_code == 302, authorized.text
        back = parse_qs(urlsplit(authorized.headers["location"]).query)
        assert back["state"] == [state]
        token = await http.post(
            "/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": back["code"][0],
                "redirect_uri": REDIRECT_URI,
                "client_id": client_id,
                # The provider only takes authenticating clients (any secret will do).
                "client_secret": CLIENT_SECRET,
                "code_verifier": verifier,
            },
        )
        assert token.status_code == 200, token.text
        answer: dict[str, Any] = token.json()
        return answer
