"""Mission Control's settings: the one place that reads the environment (prefix ``MC_``)."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_OPERATOR_TOKEN_LENGTH = 50

# Fragments that betray a token copied from an example instead of generated.
_PLACEHOLDER_MARKERS = (
    "change-me",
    "changeme",
    "change_me",
    "placeholder",
    "your-token",
    "your_token",
    "example",
    "replace-me",
    "replaceme",
    "secret-token",
)


DATA_DIR_NAME = ".data"


def source_checkout() -> Path | None:
    """The repository root when Mission Control runs from a source checkout (an editable
    install, as ``scripts/bootstrap.sh`` makes), else None (an installed wheel)."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "src" / "mission_control").is_dir():
        return root
    return None


def default_data_dir() -> Path:
    """One default for every entry point (``missionctl`` and ``scripts/serve.sh`` agree): the
    checkout's ``.data/`` for a source install, ``~/.local/share/mission-control`` (or
    ``$XDG_DATA_HOME/mission-control``) for an installed package. It never depends on the
    directory a command is run from."""
    checkout = source_checkout()
    if checkout is not None:
        return checkout / DATA_DIR_NAME
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "mission-control"


class SettingsError(ValueError):
    """A setting has a value Mission Control refuses to run with."""


class Settings(BaseSettings):
    """Every setting Mission Control reads, from ``MC_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="MC_", extra="ignore", frozen=True)

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: an SQLite file in the data directory.",
    )
    auth_mode: Literal["local", "oidc", "local+oidc"] = Field(
        default="local",
        description="local: the operator token; oidc: JWTs from MC_OIDC_ISSUER (the operator "
        "token is refused); local+oidc: both. Personal API tokens work in every mode.",
    )
    auth_token: SecretStr | None = Field(
        default=None, description="Operator bearer token (local auth mode), >= 50 characters."
    )
    base_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("http://127.0.0.1:8000"),
        description="The URL agents use to reach Mission Control's agent API.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key that encrypts stored gateway secrets; default: a key file "
        "generated in the data directory.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "console"
    agent_last_seen_interval_seconds: float = Field(default=30.0, ge=0)
    reconciler_enabled: bool = True
    reconciler_interval_seconds: float = Field(default=5.0, gt=0)
    provisioning_concurrency: int = Field(default=4, ge=1, le=64)
    checkin_timeout_seconds: float = Field(
        default=600.0, gt=0, description="How long a woken agent has to check in."
    )
    max_wake_attempts: int = Field(default=3, ge=1, le=20)
    role_soul_directory: str | None = Field(
        default=None,
        description="Where board workers' role souls come from: an http(s) souls "
        "directory or a local folder of <handle>/<slug>.md files; unset means no lookup.",
    )
    role_soul_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    coordination_retry_seconds: float = Field(
        default=45.0,
        gt=0,
        description="How long a coordination message retries transient gateway errors.",
    )
    governor_enabled: bool = Field(
        default=False, description="Run the heartbeat governor in this process."
    )
    governor_interval_seconds: float = Field(
        default=300.0, ge=30, description="Seconds between heartbeat governor ticks."
    )
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="Largest request body any route reads (413 above it, before authentication).",
    )
    db_echo: bool = False
    # Invite mail (docs/teams.md): unset host means invite links are shown once in the answer.
    smtp_host: str | None = Field(default=None, description="SMTP server for invite mail.")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="starttls (port 587), ssl (port 465) or none."
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(default="mission-control@localhost", max_length=320)
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # OpenID Connect sign-on (MC_AUTH_MODE=oidc or local+oidc; docs/teams.md).
    oidc_issuer: str | None = Field(
        default=None, description="Issuer URL; its /.well-known/openid-configuration is read."
    )
    oidc_audience: str | None = Field(
        default=None, description="The aud a bearer JWT must carry (usually the client id)."
    )
    oidc_client_id: str | None = Field(
        default=None, description="Client id of the console's sign-in; default MC_OIDC_AUDIENCE."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="Only for a confidential client; PKCE needs none."
    )
    oidc_scopes: str = "openid email profile"
    oidc_leeway_seconds: int = Field(
        default=60, ge=0, le=300, description="Clock skew allowed on exp/nbf/iat (at most 5 min)."
    )
    oidc_jwks_cache_seconds: float = Field(default=3600.0, ge=10, le=86400)
    oidc_jwks_min_refetch_seconds: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="A token naming an unknown key refetches the JWKS at most this often.",
    )
    invite_ttl_hours: int = Field(
        default=72, ge=1, le=720, description="Default lifetime of an invite link."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        # Accept the URLs operators already have and pick the async driver for them.
        for plain, async_form in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if value.startswith(plain):
                return async_form + value[len(plain) :]
        return value

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'mission-control.db'}"

    @property
    def agent_base_url(self) -> str:
        return str(self.base_url).rstrip("/")

    @property
    def oidc_enabled(self) -> bool:
        return self.auth_mode in ("oidc", "local+oidc")

    @property
    def local_enabled(self) -> bool:
        return self.auth_mode in ("local", "local+oidc")

    def require_oidc(self) -> tuple[str, str]:
        """Issuer and audience for the OIDC modes; raises SettingsError naming what is missing."""
        issuer, audience = self.oidc_issuer, self.oidc_audience
        if not issuer or not audience:
            missing = [
                name
                for name, value in (("MC_OIDC_ISSUER", issuer), ("MC_OIDC_AUDIENCE", audience))
                if not value
            ]
            raise SettingsError(f"MC_AUTH_MODE={self.auth_mode} needs {' and '.join(missing)}.")
        return issuer, audience

    def operator_token(self) -> str:
        """The operator token, validated; raises SettingsError with what to do."""
        if self.auth_token is None:
            raise SettingsError(
                "MC_AUTH_TOKEN is not set. Generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` "
                "or run `missionctl serve`, which creates one in the data directory."
            )
        return validate_operator_token(self.auth_token.get_secret_value())


def validate_operator_token(token: str) -> str:
    token = token.strip()
    if len(token) < MIN_OPERATOR_TOKEN_LENGTH:
        raise SettingsError(
            f"MC_AUTH_TOKEN is {len(token)} characters long; it must be at least "
            f"{MIN_OPERATOR_TOKEN_LENGTH} random characters."
        )
    lowered = token.lower()
    if any(marker in lowered for marker in _PLACEHOLDER_MARKERS) or len(set(token)) < 10:
        raise SettingsError(
            "MC_AUTH_TOKEN looks like a placeholder; set it to a randomly generated value."
        )
    return token
