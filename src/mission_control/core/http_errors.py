"""Maps domain errors, validation errors and HTTP errors to one stable JSON error body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mission_control.core.errors import DomainError, RateLimited, Unauthorized
from mission_control.core.logging import get_logger
from mission_control.gateway.errors import GatewayError

log = get_logger("mission_control.errors")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}

WWW_AUTHENTICATE = 'Bearer realm="mission-control"'


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _field_name(location: tuple[Any, ...]) -> str:
    # ("body", "max_agents") -> "max_agents"; ("query", "limit") -> "limit"
    parts = [str(part) for part in location[1:]] or [str(part) for part in location]
    return ".".join(parts)


def validation_details(errors: Any) -> list[dict[str, Any]]:
    details = []
    for error in errors:
        location = tuple(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            details.append(_invalid_json(error, location))
            continue
        details.append(
            {
                "field": _field_name(location),
                "location": str(location[0]) if location else "body",
                "message": str(error.get("msg", "invalid value")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return details


def _invalid_json(error: Any, location: tuple[Any, ...]) -> dict[str, Any]:
    """The framework names the character position as the field; the field is the body."""
    reason = str((error.get("ctx") or {}).get("error") or "malformed JSON")
    position = location[1] if len(location) > 1 and isinstance(location[1], int) else None
    where = f" at character {position}" if position is not None else ""
    return {
        "field": "body",
        "location": "body",
        "message": f"The request body is not valid JSON ({reason}{where}); send a JSON "
        "document with Content-Type: application/json.",
        "type": "json_invalid",
    }


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    headers: dict[str, str] = {}
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    if isinstance(error, RateLimited) and isinstance(error.details, dict):
        retry_after = error.details.get("retry_after_seconds")
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after))
    return JSONResponse(
        error_body(error.code, error.message, error.details),
        status_code=error.status,
        headers=headers,
    )


def _gateway_error_handler(
    gateway_failure: Callable[[GatewayError], DomainError],
) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    # Backstop for a gateway failure a service did not translate: a 502/409 that says what to
    # check, never a 500. The translation is the gateways domain's, handed in at start-up.
    async def handle(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, GatewayError)
        return await _domain_error(request, gateway_failure(error))

    return handle


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    details = validation_details(error.errors())
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
    return JSONResponse(
        error_body("validation_error", f"Invalid request: {summary}", details),
        status_code=422,
    )


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = _STATUS_CODES.get(error.status_code, "error")
    headers = dict(error.headers or {})
    if error.status_code == 401:
        headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
    return JSONResponse(
        error_body(code, str(error.detail)), status_code=error.status_code, headers=headers
    )


async def _integrity_error(_request: Request, error: Exception) -> JSONResponse:
    # Services turn the constraints they expect into precise messages; this is the backstop
    # for a race that slipped past them.
    log.warning("integrity_error", error=str(getattr(error, "orig", error))[:500])
    return JSONResponse(
        error_body(
            "conflict",
            "The change conflicts with existing data (another request changed it first); "
            "reload and try again.",
        ),
        status_code=409,
    )


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    log.exception("unhandled_error", path=request.url.path, request_id=request_id)
    return JSONResponse(
        error_body(
            "internal_error",
            "Mission Control hit an unexpected error; the request id identifies it in the logs.",
            {"request_id": request_id},
        ),
        status_code=500,
    )


def install_error_handlers(
    app: FastAPI, gateway_failure: Callable[[GatewayError], DomainError]
) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(GatewayError, _gateway_error_handler(gateway_failure))
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(Exception, _unexpected_error)
