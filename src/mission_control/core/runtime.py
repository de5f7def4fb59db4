"""The per-process objects the app shares between requests and background work."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from mission_control.core.db import Database
from mission_control.core.metrics import HttpMetrics
from mission_control.core.security import SecretBox, VerifiedTokenCache
from mission_control.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    database: Database
    secrets: SecretBox
    operator_token: str
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    token_cache: VerifiedTokenCache = field(default_factory=VerifiedTokenCache)

    def __post_init__(self) -> None:
        self.http_metrics = HttpMetrics(self.registry)
