"""OpenClaw wire frames: request, response and event, parsed from and encoded to JSON text."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JsonObject = dict[str, Any]


class FrameError(ValueError):
    """A frame from the gateway was not valid JSON or not a known frame shape."""


@dataclass(frozen=True)
class RequestFrame:
    id: str
    method: str
    params: JsonObject = field(default_factory=dict)

    def encode(self) -> str:
        return json.dumps(
            {"type": "req", "id": self.id, "method": self.method, "params": self.params},
            separators=(",", ":"),
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class ResponseFrame:
    id: str
    ok: bool
    payload: Any = None
    error: JsonObject | None = None


@dataclass(frozen=True)
class EventFrame:
    event: str
    payload: Any = None
    seq: int | None = None


Frame = RequestFrame | ResponseFrame | EventFrame


def parse_frame(text: str | bytes) -> Frame:
    """Parse one WebSocket text message into a frame; raise FrameError when it is not one."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FrameError(f"frame is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise FrameError("frame is not a JSON object")
    kind = data.get("type")
    if kind == "res":
        return _parse_response(data)
    if kind == "event":
        return _parse_event(data)
    if kind == "req":
        return _parse_request(data)
    raise FrameError(f"unknown frame type: {kind!r}")


def _parse_response(data: JsonObject) -> ResponseFrame:
    frame_id = data.get("id")
    ok = data.get("ok")
    if not isinstance(frame_id, str) or not isinstance(ok, bool):
        raise FrameError("response frame needs a string id and a boolean ok")
    error = data.get("error")
    if error is not None and not isinstance(error, dict):
        raise FrameError("response error must be an object")
    if not ok and error is None:
        error = {"code": "UNKNOWN", "message": "gateway answered ok=false without an error"}
    return ResponseFrame(id=frame_id, ok=ok, payload=data.get("payload"), error=error)


def _parse_event(data: JsonObject) -> EventFrame:
    name = data.get("event")
    if not isinstance(name, str):
        raise FrameError("event frame needs a string event name")
    seq = data.get("seq")
    return EventFrame(
        event=name,
        payload=data.get("payload"),
        seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
    )


def _parse_request(data: JsonObject) -> RequestFrame:
    frame_id = data.get("id")
    method = data.get("method")
    params = data.get("params", {})
    if not isinstance(frame_id, str) or not isinstance(method, str):
        raise FrameError("request frame needs a string id and method")
    return RequestFrame(
        id=frame_id, method=method, params=params if isinstance(params, dict) else {}
    )
