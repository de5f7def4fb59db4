"""Checks bearer JWTs from one OpenID Connect issuer: discovery document, JWKS cached and
refetched when a token names a key it does not hold (key rotation), signature, issuer,
audience, expiry and not-before with a bounded clock skew. joserfc does the cryptography."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    KeyParameterError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from mission_control.core.errors import DomainError, Unauthorized
from mission_control.core.logging import get_logger

log = get_logger("mission_control.oidc")

# Asymmetric algorithms only: "none" and shared-secret HS* never verify an issuer's token.
DEFAULT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")


class IssuerUnavailable(DomainError):
    """The identity provider's discovery document or keys cannot be fetched right now."""

    code = "issuer_unavailable"
    status = 503


@dataclass(frozen=True, slots=True)
class IssuerConfig:
    issuer: str
    audience: str
    leeway_seconds: int = 60
    jwks_cache_seconds: float = 3600.0
    # A token naming an unknown key refetches the JWKS at most this often (no refetch storm).
    jwks_min_refetch_seconds: float = 10.0
    timeout_seconds: float = 10.0
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS


@dataclass(frozen=True, slots=True)
class Discovery:
    issuer: str
    jwks_uri: str
    authorization_endpoint: str | None
    token_endpoint: str | None
    end_session_endpoint: str | None


def _same_issuer(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


class OidcVerifier:
    """One per process: shares the discovery document and the key set between requests."""

    def __init__(self, config: IssuerConfig) -> None:
        self.config = config
        self._discovery: Discovery | None = None
        self._keys: KeySet | None = None
        self._keys_fetched_at = 0.0
        self._lock = asyncio.Lock()
        self.jwks_fetches = 0

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.config.timeout_seconds) as http:
                answer = await http.get(url, headers={"Accept": "application/json"})
                answer.raise_for_status()
                body = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            log.warning("oidc_fetch_failed", url=url, error=error.__class__.__name__)
            raise IssuerUnavailable(
                f"The identity provider could not be reached ({url}: "
                f"{error.__class__.__name__}); try again shortly."
            ) from error
        if not isinstance(body, dict):
            raise IssuerUnavailable(f"The identity provider sent no JSON object from {url}.")
        return body

    async def discovery(self) -> Discovery:
        if self._discovery is not None:
            return self._discovery
        url = f"{self.config.issuer.rstrip('/')}/.well-known/openid-configuration"
        document = await self._get_json(url)
        issuer, jwks_uri = document.get("issuer"), document.get("jwks_uri")
        if not isinstance(issuer, str) or not _same_issuer(issuer, self.config.issuer):
            raise IssuerUnavailable(
                f"The discovery document names issuer {issuer!r}, not {self.config.issuer!r}; "
                "check MC_OIDC_ISSUER."
            )
        if not isinstance(jwks_uri, str):
            raise IssuerUnavailable("The discovery document has no jwks_uri.")

        def text(name: str) -> str | None:
            value = document.get(name)
            return value if isinstance(value, str) else None

        self._discovery = Discovery(
            issuer=issuer,
            jwks_uri=jwks_uri,
            authorization_endpoint=text("authorization_endpoint"),
            token_endpoint=text("token_endpoint"),
            end_session_endpoint=text("end_session_endpoint"),
        )
        return self._discovery

    async def _key_set(self, *, refresh: bool) -> KeySet:
        async with self._lock:
            age = time.monotonic() - self._keys_fetched_at
            stale = self._keys is None or age > self.config.jwks_cache_seconds
            may_refetch = age > self.config.jwks_min_refetch_seconds
            if stale or (refresh and may_refetch):
                discovery = await self.discovery()
                document = await self._get_json(discovery.jwks_uri)
                try:
                    self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError) as error:
                    raise IssuerUnavailable("The identity provider's JWKS is not valid.") from error
                self._keys_fetched_at = time.monotonic()
                self.jwks_fetches += 1
                log.info("oidc_jwks_fetched", keys=len(self._keys.keys), refresh=refresh)
            assert self._keys is not None
            return self._keys

    @staticmethod
    def _header(token: str) -> dict[str, Any]:
        try:
            return dict(jws.extract_compact(token.encode("ascii")).protected)
        except (JoseError, ValueError, UnicodeError) as error:
            raise Unauthorized("The bearer token is not a valid JWT.") from error

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims once signature, issuer, audience and times check out."""
        header = self._header(token)
        algorithm = header.get("alg")
        if algorithm not in self.config.algorithms:
            raise Unauthorized(f"The token's signing algorithm {algorithm!r} is not accepted.")
        kid = header.get("kid") if isinstance(header.get("kid"), str) else None
        decoded = await self._decode(token, str(algorithm), kid, refresh=False)
        if decoded is None:
            # Not a key we hold: the issuer may have rotated its keys since we fetched them.
            decoded = await self._decode(token, str(algorithm), kid, refresh=True)
        if decoded is None:
            raise Unauthorized(
                "The token is signed with a key the identity provider does not list."
            )
        self._check_claims(decoded.claims)
        return dict(decoded.claims)

    async def _decode(
        self, token: str, algorithm: str, kid: str | None, *, refresh: bool
    ) -> jwt.Token | None:
        """The verified token, or None when no listed key verifies it."""
        keys = await self._key_set(refresh=refresh)
        # A token without "kid" may be signed by any listed key: try each.
        candidates = [key for key in keys.keys if kid is None or key.kid == kid]
        for key in candidates:
            try:
                return jwt.decode(token, key, algorithms=[algorithm])
            except (BadSignatureError, InvalidKeyIdError, KeyParameterError):
                continue
            except JoseError as error:
                raise Unauthorized("The bearer token is not a valid JWT.") from error
        return None

    def _check_claims(self, claims: dict[str, Any]) -> None:
        registry = jwt.JWTClaimsRegistry(
            leeway=self.config.leeway_seconds,
            iss={"essential": True, "value": self.config.issuer.rstrip("/")},
            aud={"essential": True, "value": self.config.audience},
            sub={"essential": True},
            exp={"essential": True},
        )
        if isinstance(claims.get("iss"), str):
            # Issuers differ only in a trailing slash at most; compare them without it.
            claims = {**claims, "iss": claims["iss"].rstrip("/")}
        try:
            registry.validate(claims)
        except ExpiredTokenError as error:
            raise Unauthorized(
                "The token has expired; sign in again.", code="token_expired"
            ) from error
        except InvalidClaimError as error:
            claim = error.claim
            raise Unauthorized(
                f"The token's {claim} claim is not accepted here (issuer {self.config.issuer}, "
                f"audience {self.config.audience}).",
                code="token_invalid_claim",
                details={"claim": claim},
            ) from error
        except MissingClaimError as error:
            raise Unauthorized(f"The token lacks a required claim ({error}).") from error
        except JoseError as error:
            raise Unauthorized(f"The token is not accepted ({error.error}).") from error
