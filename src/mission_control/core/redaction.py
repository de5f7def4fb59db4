"""Redaction of secrets from text Mission Control passes on from a gateway (transcripts, session
lists, gateway messages): our agent and user tokens by their shape, and the known secrets (the
operator token, the gateway's token) by value."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)

REDACTED = "[redacted]"
# mca_<token id>_<secret> and mcu_...: the id is hex, the secret URL-safe base64 (core.security).
_TOKEN_SHAPE = re.compile(r"(?<![A-Za-z0-9])mc[au]_[A-Za-z0-9_-]{12,}")
# Shorter "secrets" would redact ordinary words; every real one is far longer.
MIN_SECRET_LENGTH = 12


class Redactor:
    """Replaces every secret in strings, keys included, of nested JSON-like values."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        known = {secret for secret in secrets if secret and len(secret) >= MIN_SECRET_LENGTH}
        self._secrets = sorted(known, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return _TOKEN_SHAPE.sub(REDACTED, value)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                (self.text(key) if isinstance(key, str) else key): self.value(item)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value

    def model(self, model: Model) -> Model:
        """A copy of ``model`` with every string in it redacted."""
        return type(model).model_validate(self.value(model.model_dump()))


def redact(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """``value`` with our token shapes and each of ``secrets`` replaced by ``[redacted]``."""
    return Redactor(secrets).value(value)
