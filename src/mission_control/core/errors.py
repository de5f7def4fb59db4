"""Domain errors: services raise these; one HTTP handler maps them to status and error body."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a service raises on purpose.

    ``code`` is stable (clients match on it); ``message`` says what was wrong and what to do.
    """

    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidInput(DomainError):
    code = "validation_error"
    status = 422


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class Gone(DomainError):
    code = "gone"
    status = 410


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429


class GatewayUnavailable(DomainError):
    """A gateway could not do what was asked; the message says what to check."""

    code = "gateway_unavailable"
    status = 502
