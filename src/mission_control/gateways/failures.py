"""The one mapping from gateway failures to domain errors (and so to HTTP status and error code).

Unreachable, refused credentials, protocol mismatch and other gateway failures are a 502 whose
message says what to check; a device that needs approval is a 409 carrying the approval steps.
"""

from __future__ import annotations

from typing import Any

from mission_control.core.errors import DomainError, GatewayUnavailable
from mission_control.gateway.errors import (
    GatewayAuthFailed,
    GatewayError,
    GatewayMissingScope,
    GatewayPairingRequired,
    GatewayProtocolMismatch,
    GatewayRateLimited,
    GatewayTimeout,
    GatewayUnreachable,
)

UNREACHABLE_HINT = (
    "Check that the gateway is running, that its URL (ws:// or wss://, host and port) is right "
    "and reachable from Mission Control, and for wss:// that its certificate is trusted or "
    "'allow_insecure_tls' is set."
)


class GatewayPairingRequiredError(DomainError):
    """Mission Control's device must be approved on the gateway host before it may connect."""

    code = "gateway_pairing_required"
    status = 409


def pairing_details(error: GatewayPairingRequired) -> dict[str, Any]:
    return {
        "device_id": error.details.get("deviceId"),
        "request_id": error.request_id,
        "approve_commands": list(error.approve_commands),
    }


def _code_and_hint(error: GatewayError) -> tuple[str, str]:
    if isinstance(error, GatewayUnreachable):
        return "gateway_unreachable", UNREACHABLE_HINT
    if isinstance(error, GatewayAuthFailed):
        return "gateway_auth_failed", ""
    if isinstance(error, GatewayProtocolMismatch):
        return "gateway_protocol_mismatch", ""
    if isinstance(error, GatewayMissingScope):
        return (
            "gateway_missing_scope",
            "The gateway granted Mission Control fewer operator scopes than it needs; approve "
            "the device's scope upgrade on the gateway host (`openclaw devices list`, then "
            "`openclaw devices approve <requestId>`).",
        )
    if isinstance(error, GatewayRateLimited):
        return "gateway_busy", "The gateway asked Mission Control to slow down; retry shortly."
    if isinstance(error, GatewayTimeout):
        return "gateway_timeout", "The gateway did not answer in time; check its load and logs."
    return "gateway_error", ""


def _sentence(text: str) -> str:
    """``text`` ending as a sentence, so a hint after it reads as the next one."""
    stripped = text.rstrip()
    return stripped if stripped.endswith((".", "!", "?", ":")) else f"{stripped}."


def gateway_failure(
    error: GatewayError,
    doing: str | None = None,
    *,
    then: str | None = None,
    details: dict[str, Any] | None = None,
) -> DomainError:
    """The domain error for ``error``; ``doing`` prefixes the message (e.g. ``Gateway nudge
    failed``, docs/coordination.md#gateway-failures), ``then`` ends it (what happens to the
    queued work), and ``details`` are added to the error's own."""
    prefix = f"{doing}: " if doing else ""
    suffix = f" {then}" if then else ""
    extra = details or {}
    if isinstance(error, GatewayPairingRequired):
        return GatewayPairingRequiredError(
            f"{prefix}{error.message}{suffix}", details={**extra, **pairing_details(error)}
        )
    code, hint = _code_and_hint(error)
    message = f"{prefix}{error.message}"
    if hint and hint not in message:
        message = f"{_sentence(message)} {hint}"
    message += suffix
    details = {**extra, "gateway_code": error.code, "retryable": error.retryable}
    if error.retry_after is not None:
        details["retry_after_seconds"] = error.retry_after
    return GatewayUnavailable(message, code=code, details=details)
