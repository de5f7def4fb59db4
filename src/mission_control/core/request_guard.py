"""Checks every request passes before routing and authentication: one body size limit (413),
no NUL character in any text (PostgreSQL refuses it) and JSON nested at most so deep (422),
and the backstop that turns an unhandled exception into our 500 body without dropping the
connection."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mission_control.core.http_errors import error_body
from mission_control.core.logging import get_logger

# Deep enough for any document a person writes (webhook payloads are a dozen levels); shallow
# enough that validation, storage and serialisation never recurse out of the stack.
MAX_JSON_DEPTH = 64

log = get_logger("mission_control.errors")


class BodyTooLarge(Exception):
    """The client sent (or announced) more bytes than the limit."""


def _problem(field: str, location: str, message: str, kind: str) -> dict[str, str]:
    return {"field": field, "location": location, "message": message, "type": kind}


def _join(path: tuple[str, ...]) -> str:
    return ".".join(path) if path else "body"


def json_problems(value: Any, max_depth: int = MAX_JSON_DEPTH) -> list[dict[str, str]]:
    """NUL characters (in keys or strings) and nesting beyond ``max_depth`` in a parsed JSON
    document, each named by its dotted path (``success_metrics.ok.1``), at most 20."""
    problems: list[dict[str, str]] = []
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack and len(problems) < 20:
        item, path = stack.pop()
        if len(path) > max_depth:
            problems.append(
                _problem(
                    _join(path[:max_depth]),
                    "body",
                    f"JSON nested deeper than {max_depth} levels",
                    "json_too_deep",
                )
            )
            break
        if isinstance(item, str):
            if "\x00" in item:
                problems.append(_nul(_join(path), "body"))
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                if "\x00" in key:
                    problems.append(_nul(_join(path), "body"))
                    continue
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, (*path, str(i))) for i, child in reversed(list(enumerate(item))))
    return problems


def _nul(field: str, location: str) -> dict[str, str]:
    return _problem(field, location, "must not contain a NUL (\\u0000) character", "string_nul")


def query_problems(query_string: bytes) -> list[dict[str, str]]:
    text = query_string.decode("latin-1")
    problems = []
    for name, value in parse_qsl(text, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            problems.append(_nul(name.replace("\x00", ""), "query"))
    return problems


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = bytes(value).split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value.decode("ascii"))
            except ValueError:
                return None
    return None


def body_problems(body: bytes) -> list[dict[str, str]]:
    try:
        document = json.loads(body)
    except RecursionError:
        return [
            _problem(
                "body", "body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels", "json_too_deep"
            )
        ]
    except ValueError:
        return []  # not JSON: the route's own parsing says what is wrong
    return json_problems(document)


async def _invalid(scope: Scope, send: Send, problems: list[dict[str, str]]) -> None:
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
    response = JSONResponse(
        error_body("validation_error", f"Invalid request: {summary}", problems), status_code=422
    )
    await response(scope, _no_receive, send)


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    response = JSONResponse(
        error_body(
            "payload_too_large",
            f"Request bodies are limited to {limit} bytes.",
            {"max_body_bytes": limit},
        ),
        status_code=413,
        headers={"Connection": "close"},
    )
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


class RequestGuardMiddleware:
    """Reads the body once (bounded), checks it and the query, then replays it to the app."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problems = query_problems(scope.get("query_string", b""))
        if "\x00" in scope.get("path", ""):
            problems.append(_nul("path", "path"))
        if problems:
            await _invalid(scope, send, problems)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _too_large(scope, send, self.max_body_bytes)
            return
        try:
            body = await self._read(receive)
        except BodyTooLarge:
            await _too_large(scope, send, self.max_body_bytes)
            return
        if body and _is_json(scope):
            problems = body_problems(body)
            if problems:
                await _invalid(scope, send, problems)
                return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class UnhandledErrorMiddleware:
    """Answers an exception nothing else handled with the 500 body naming the request id, logs
    ``unhandled_error`` with that id, and returns normally: an exception escaping the app made
    the server drop the client's keep-alive connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            request_id = scope.get("state", {}).get("request_id")
            log.exception("unhandled_error", path=scope.get("path"), request_id=request_id)
            if started:
                return  # the answer is half sent; nothing better can be said
            response = JSONResponse(
                error_body(
                    "internal_error",
                    "Mission Control hit an unexpected error; the request id identifies it in "
                    "the logs.",
                    {"request_id": request_id},
                ),
                status_code=500,
            )
            await response(scope, receive, send)


def install_request_guard(app: FastAPI, *, max_body_bytes: int) -> None:
    """Register both layers; call it before the request-context middleware so they run inside
    it (the request id is bound, and the access log sees the final status)."""
    app.add_middleware(RequestGuardMiddleware, max_body_bytes=max_body_bytes)
    app.add_middleware(UnhandledErrorMiddleware)
