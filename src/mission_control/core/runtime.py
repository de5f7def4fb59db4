"""The per-process objects the app shares between requests and background work."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast

from prometheus_client import CollectorRegistry

from mission_control.core.db import Database
from mission_control.core.metrics import (
    FleetMetrics,
    GovernorMetrics,
    HttpMetrics,
    LeaderMetrics,
)
from mission_control.core.oidc import OidcVerifier
from mission_control.core.security import SecretBox, VerifiedTokenCache
from mission_control.gateway.connection import GatewayTarget
from mission_control.gateway.pool import GatewayPool
from mission_control.settings import Settings

T = TypeVar("T")


class GatewayAddress(Protocol):
    """What reaching a gateway needs from its row (the gateways domain's ``Gateway``)."""

    @property
    def url(self) -> str: ...
    @property
    def token_ciphertext(self) -> str | None: ...
    @property
    def allow_insecure_tls(self) -> bool: ...


@dataclass(frozen=True, eq=False)
class RuntimePart(Generic[T]):
    """A per-process object a domain keeps on the runtime, built from it on first use; the
    domain declares the part, so core needs no import of the domain."""

    name: str
    build: Callable[[Runtime], T]


@dataclass
class Runtime:
    settings: Settings
    database: Database
    secrets: SecretBox
    operator_token: str
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    token_cache: VerifiedTokenCache = field(default_factory=VerifiedTokenCache)
    # Set in the OIDC auth modes: checks bearer JWTs against the issuer's keys.
    oidc: OidcVerifier | None = None
    # Set by a request that committed provisioning work: the reconciler starts a round now.
    reconcile_soon: asyncio.Event = field(default_factory=asyncio.Event)
    _parts: dict[RuntimePart[Any], Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.http_metrics = HttpMetrics(self.registry)
        self.governor_metrics = GovernorMetrics(self.registry)
        self.fleet_metrics = FleetMetrics(self.registry)
        self.leader_metrics = LeaderMetrics(self.registry)
        self.gateway_pool = GatewayPool()

    def part(self, part: RuntimePart[T]) -> T:
        """This process's one instance of ``part``."""
        if part not in self._parts:
            self._parts[part] = part.build(self)
        return cast(T, self._parts[part])

    @property
    def device_identity_path(self) -> Path:
        """Mission Control's Ed25519 device identity for gateway handshakes (mode 0600)."""
        return self.settings.data_dir / "device-identity.json"

    def gateway_target(self, gateway: GatewayAddress) -> GatewayTarget:
        """How to reach ``gateway``: its URL, decrypted token and TLS choice."""
        token = self.secrets.decrypt(gateway.token_ciphertext) if gateway.token_ciphertext else ""
        return GatewayTarget(
            url=gateway.url,
            token=token,
            identity_path=self.device_identity_path,
            allow_self_signed=gateway.allow_insecure_tls,
        )
