"""Settings: the operator token rules and the default database location."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from mission_control.settings import Settings, SettingsError, validate_operator_token


def test_short_token_is_refused() -> None:
    with pytest.raises(SettingsError, match="at least 50"):
        validate_operator_token("a" * 20)


@pytest.mark.parametrize(
    "token",
    ["change-me-" + secrets.token_hex(30), "x" * 64, "your-token-here-" + "ab" * 25],
)
def test_placeholder_token_is_refused(token: str) -> None:
    with pytest.raises(SettingsError, match="placeholder"):
        validate_operator_token(token)


def test_random_token_is_accepted() -> None:
    token = secrets.token_urlsafe(48)
    assert validate_operator_token(token) == token


def test_missing_token_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="MC_AUTH_TOKEN is not set"):
        Settings(data_dir=tmp_path).operator_token()


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert (
        settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'mission-control.db'}"
    )


def test_plain_postgres_url_gets_the_async_driver(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql://u:p@db:5432/mc")
    assert settings.resolved_database_url == "postgresql+asyncpg://u:p@db:5432/mc"


def test_settings_come_from_mc_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MC_BASE_URL", "http://mc.internal:9000/")
    monkeypatch.setenv("MC_LOG_FORMAT", "json")
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.agent_base_url == "http://mc.internal:9000"
    assert settings.log_format == "json"
