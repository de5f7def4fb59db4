"""The GatewayError family and the mapping from OpenClaw error frames to it.

Classification uses the error `code`, `details.code`/`details.type` and `retryable` first; the
human-readable message is only a fallback for gateways that do not send structured details.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PAIRING_COMMANDS = (
    "openclaw devices list",
    "openclaw devices approve <requestId>",
)


class GatewayError(Exception):
    """Any failure talking to an OpenClaw gateway."""

    default_code = "GATEWAY_ERROR"
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        details: Mapping[str, Any] | None = None,
        method: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.details: dict[str, Any] = dict(details or {})
        self.method = method

    def __str__(self) -> str:
        return self.message


class GatewayUnreachable(GatewayError):
    """No connection to the gateway (refused, DNS, TLS, dropped, or not reconnected in time)."""

    default_code = "UNREACHABLE"
    default_retryable = True


class GatewayConnectionLost(GatewayUnreachable):
    """The connection closed while a request was in flight; it may or may not have run."""

    default_code = "CONNECTION_LOST"


class GatewayAuthFailed(GatewayError):
    """The gateway refused our credentials."""

    default_code = "AUTH_FAILED"


class GatewayPairingRequired(GatewayError):
    """This device identity must be approved on the gateway host before it may connect."""

    default_code = "NOT_PAIRED"

    @property
    def request_id(self) -> str | None:
        value = self.details.get("requestId")
        return value if isinstance(value, str) else None

    @property
    def approve_commands(self) -> tuple[str, ...]:
        request_id = self.request_id or "<requestId>"
        return ("openclaw devices list", f"openclaw devices approve {request_id}")


class GatewayProtocolMismatch(GatewayError):
    """The gateway speaks a protocol version this client does not."""

    default_code = "PROTOCOL_MISMATCH"


class GatewayMissingScope(GatewayError):
    """The connection lacks an operator scope the method needs."""

    default_code = "MISSING_SCOPE"

    @property
    def missing_scope(self) -> str | None:
        value = self.details.get("missingScope")
        return value if isinstance(value, str) else None


class GatewayForbidden(GatewayError):
    """The gateway refused the operation for a reason other than a missing scope."""

    default_code = "FORBIDDEN"


class GatewayNotFound(GatewayError):
    """The agent, session, run or parent the request names does not exist."""

    default_code = "NOT_FOUND"


class GatewayAlreadyExists(GatewayError):
    """The thing to create exists already."""

    default_code = "ALREADY_EXISTS"


class GatewayUnsupportedFile(GatewayError):
    """The workspace file name is not allowed by this gateway version."""

    default_code = "UNSUPPORTED_FILE"


class GatewayUnsupportedMethod(GatewayError):
    """The gateway does not serve this RPC method."""

    default_code = "UNKNOWN_METHOD"


class GatewayConfigConflict(GatewayError):
    """`config.patch` was based on a stale `baseHash`; re-read the config and retry."""

    default_code = "CONFIG_CONFLICT"


class GatewayFileConflict(GatewayError):
    """`agents.files.set` was based on a stale `expectedHash`."""

    default_code = "FILE_CONFLICT"

    @property
    def current_hash(self) -> str | None:
        value = self.details.get("currentHash")
        return value if isinstance(value, str) else None


class GatewayRateLimited(GatewayError):
    """The gateway asked us to slow down; `retry_after` says for how long (seconds)."""

    default_code = "RATE_LIMITED"
    default_retryable = True


class GatewayNotReady(GatewayError):
    """The gateway is temporarily unable to serve (starting, reloading, overloaded)."""

    default_code = "UNAVAILABLE"
    default_retryable = True


class GatewayTimeout(GatewayError):
    """No answer within the call's timeout."""

    default_code = "TIMEOUT"
    default_retryable = True


class GatewayInvalidRequest(GatewayError):
    """The gateway rejected the request's parameters."""

    default_code = "INVALID_REQUEST"


_AUTH_MESSAGE = (
    "The gateway rejected Mission Control's credentials ({detail}). Check the gateway token "
    "configured for this gateway in Mission Control: it must equal the token the gateway "
    "was started with (gateway.auth.token; on the gateway host `openclaw gateway auth-token "
    "--show` prints it)."
)

_DEVICE_MESSAGE = (
    "The gateway rejected Mission Control's device signature ({detail}). Check that the clocks "
    "of both hosts agree (the gateway accepts about two minutes of skew) and that the device "
    "identity file is intact; the gateway token itself was not the problem."
)

_PAIRING_MESSAGE = (
    "This Mission Control installation (device {device}) is not approved on the gateway yet "
    "({reason}). On the gateway host run `openclaw devices list`, then "
    "`openclaw devices approve {request}`; Mission Control reconnects on its own afterwards."
)

_PROTOCOL_MESSAGE = (
    "The gateway speaks a different protocol version than Mission Control supports "
    "({message}). Upgrade the gateway or Mission Control so that they share a protocol."
)


def classify_error(
    error: Mapping[str, Any], *, method: str | None = None, device_id: str | None = None
) -> GatewayError:
    """Turn an error object from a response frame into the matching GatewayError."""
    code = _text(error.get("code")) or "UNKNOWN"
    message = _text(error.get("message")) or code
    details = error.get("details")
    details_map: Mapping[str, Any] = details if isinstance(details, Mapping) else {}
    retryable = error.get("retryable")
    retry_after = _retry_after_seconds(error.get("retryAfterMs"))
    kind, text = _classify(code, message, details_map, retry_after, device_id)
    return kind(
        text,
        code=code,
        retryable=retryable if isinstance(retryable, bool) else None,
        retry_after=retry_after,
        details=details_map,
        method=method,
    )


def _classify(
    code: str,
    message: str,
    details: Mapping[str, Any],
    retry_after: float | None,
    device_id: str | None,
) -> tuple[type[GatewayError], str]:
    structured = _classify_structured(code, message, details, retry_after, device_id)
    if structured is not None:
        return structured
    return _classify_by_message(code, message)


def _classify_structured(
    code: str,
    message: str,
    details: Mapping[str, Any],
    retry_after: float | None,
    device_id: str | None,
) -> tuple[type[GatewayError], str] | None:
    detail_code = _text(details.get("code")) or ""
    if code == "NOT_PAIRED" or detail_code in {"PAIRING_REQUIRED", "AUTH_SCOPE_MISMATCH"}:
        return GatewayPairingRequired, _pairing_message(message, details, device_id)
    if detail_code == "AUTH_RATE_LIMITED":
        return GatewayRateLimited, message
    if detail_code.startswith("DEVICE_AUTH_") or detail_code == "DEVICE_IDENTITY_REQUIRED":
        return GatewayAuthFailed, _DEVICE_MESSAGE.format(detail=f"{detail_code}: {message}")
    if detail_code.startswith("AUTH_"):
        return GatewayAuthFailed, _AUTH_MESSAGE.format(detail=f"{detail_code}: {message}")
    if code == "PROTOCOL_MISMATCH" or detail_code == "PROTOCOL_MISMATCH":
        return GatewayProtocolMismatch, _PROTOCOL_MESSAGE.format(message=message)
    if detail_code == "MISSING_SCOPE":
        return GatewayMissingScope, message
    if _text(details.get("type")) == "agent_file_conflict":
        return GatewayFileConflict, message
    if code == "AGENT_TIMEOUT":
        return GatewayTimeout, message
    if code == "UNAVAILABLE":
        if retry_after is not None and _text(details.get("reason")) != "startup-sidecars":
            return GatewayRateLimited, message
        return GatewayNotReady, message
    return None


def _classify_by_message(code: str, message: str) -> tuple[type[GatewayError], str]:
    lowered = message.lower()
    fallbacks: tuple[tuple[str, type[GatewayError]], ...] = (
        ("missing scope", GatewayMissingScope),
        ("unknown method", GatewayUnsupportedMethod),
        ("unsupported file", GatewayUnsupportedFile),
        ("config changed since last load", GatewayConfigConflict),
        ("already exists", GatewayAlreadyExists),
        ("not found", GatewayNotFound),
        ("unknown agent", GatewayNotFound),
        ("unknown parent session", GatewayNotFound),
        ("unknown session", GatewayNotFound),
        ("rate limit", GatewayRateLimited),
        ("token mismatch", GatewayAuthFailed),
        ("unauthorized", GatewayAuthFailed),
        ("protocol mismatch", GatewayProtocolMismatch),
    )
    for needle, kind in fallbacks:
        if needle in lowered:
            if kind is GatewayAuthFailed:
                return kind, _AUTH_MESSAGE.format(detail=message)
            if kind is GatewayProtocolMismatch:
                return kind, _PROTOCOL_MESSAGE.format(message=message)
            return kind, message
    by_code: dict[str, type[GatewayError]] = {
        "FORBIDDEN": GatewayForbidden,
        "INVALID_REQUEST": GatewayInvalidRequest,
    }
    return by_code.get(code, GatewayError), message


def _pairing_message(message: str, details: Mapping[str, Any], device_id: str | None) -> str:
    request = _text(details.get("requestId")) or "<requestId>"
    device = _text(details.get("deviceId")) or device_id or "unknown"
    return _PAIRING_MESSAGE.format(device=device, reason=message, request=request)


def _retry_after_seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(float(value), 0.0) / 1000.0


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
