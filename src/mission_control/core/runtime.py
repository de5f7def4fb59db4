"""The per-process objects the app shares between requests and background work."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry

from mission_control.core.db import Database
from mission_control.core.metrics import FleetMetrics, GovernorMetrics, HttpMetrics
from mission_control.core.security import SecretBox, VerifiedTokenCache
from mission_control.gateway.connection import GatewayTarget
from mission_control.gateway.pool import GatewayPool
from mission_control.gateways.models import Gateway
from mission_control.oidc.verifier import OidcVerifier
from mission_control.provisioning.role_souls import RoleSoulDirectory
from mission_control.settings import Settings


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

    def __post_init__(self) -> None:
        self.http_metrics = HttpMetrics(self.registry)
        self.governor_metrics = GovernorMetrics(self.registry)
        self.fleet_metrics = FleetMetrics(self.registry)
        self.gateway_pool = GatewayPool()
        self.role_souls = RoleSoulDirectory(
            self.settings.role_soul_directory,
            timeout_seconds=self.settings.role_soul_timeout_seconds,
        )

    @property
    def device_identity_path(self) -> Path:
        """Mission Control's Ed25519 device identity for gateway handshakes (mode 0600)."""
        return self.settings.data_dir / "device-identity.json"

    def gateway_target(self, gateway: Gateway) -> GatewayTarget:
        """How to reach ``gateway``: its URL, decrypted token and TLS choice."""
        token = self.secrets.decrypt(gateway.token_ciphertext) if gateway.token_ciphertext else ""
        return GatewayTarget(
            url=gateway.url,
            token=token,
            identity_path=self.device_identity_path,
            allow_self_signed=gateway.allow_insecure_tls,
        )
