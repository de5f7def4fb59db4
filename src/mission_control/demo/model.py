"""Mission Control's built-in DEMO model: a scripted, offline OpenAI-compatible model server
(stdlib asyncio only). It is not an AI model. It exists so a local gateway can run real agent
turns with no internet and no model account: ``missionctl demo-model`` / ``missionctl try-it``
configure it into a gateway as a custom provider, and the end-to-end tests use the same server.

It answers ``POST /v1/chat/completions`` with streamed ``chat.completion.chunk`` events and knows
nothing but what arrives in the request: it reads ``BASE_URL=`` and ``AUTH_TOKEN=`` lines from the
prompt the gateway sends (Mission Control writes them into the agent's AGENTS.md "## Tools"
section, which the gateway passes in the system message) and makes the agent run::

    exec {"command": "curl -s -X POST -H 'X-Agent-Token: <token>' <base>/api/v1/agent/heartbeat"}

so every wake or scheduled heartbeat of an agent checks it in with Mission Control, and nothing
else. Once a tool result exists after the last real user message it answers a final text and
stops. The gateway appends an internal-context *user* message after tool results (E2E.md pitfall
1), so "last message is a tool result" is not the stop rule. Tool calls are capped per turn
(since the last real user message) and optionally for the whole server, so a misbehaving loop
ends instead of running until the timeout.

The server runs its own event loop in a thread, so a busy or blocked caller never stalls the
gateway's model calls; ``stop()`` closes it and joins the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

INTERNAL_CONTEXT_MARKER = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>"
CHAT_PATH = "/v1/chat/completions"
HEARTBEAT_PATH = "/api/v1/agent/heartbeat"
EXEC_TOOL = "exec"
MAX_BODY_BYTES = 16 * 1024 * 1024

_BASE_URL_LINE = re.compile(r"^[ \t>*-]*BASE_URL=(?P<value>\S+)[ \t]*$", re.MULTILINE)
_AUTH_TOKEN_LINE = re.compile(r"^[ \t>*-]*AUTH_TOKEN=(?P<value>\S+)[ \t]*$", re.MULTILINE)
# What may go into the shell command: anything else is refused rather than quoted.
_SAFE_BASE_URL = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/\-]*)?$")
_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_.~\-]{16,512}$")

# "error" answers the model call with an HTTP 400 carrying ``text`` (a model call that fails).
ReplyKind = Literal["tool_call", "final", "refusal", "error"]


@dataclass(frozen=True, slots=True)
class Credentials:
    base_url: str
    token: str

    @property
    def heartbeat_command(self) -> str:
        return (
            f"curl -s -X POST -H 'X-Agent-Token: {self.token}' "
            f"{self.base_url.rstrip('/')}{HEARTBEAT_PATH}"
        )


@dataclass(frozen=True, slots=True)
class Reply:
    kind: ReplyKind
    text: str = ""
    command: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One call the gateway made, what it carried and what the script answered."""

    method: str
    path: str
    at: float
    body: Mapping[str, Any] | None
    reply: Reply | None
    credentials: Credentials | None = None
    status: int = 200


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a chat message whose content is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "\n".join(parts)
    return ""


def is_real_user_message(message: Mapping[str, Any]) -> bool:
    if message.get("role") != "user":
        return False
    return not message_text(message).lstrip().startswith(INTERNAL_CONTEXT_MARKER)


def _last_real_user_index(messages: Sequence[Mapping[str, Any]]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if is_real_user_message(messages[index]):
            return index
    return -1


def tool_result_after_last_user(messages: Sequence[Mapping[str, Any]]) -> bool:
    start = _last_real_user_index(messages) + 1
    return any(message.get("role") == "tool" for message in messages[start:])


def tool_calls_in(messages: Iterable[Mapping[str, Any]]) -> int:
    """Tool calls the assistant already made in this conversation (ids are not compared:
    the gateway rewrites them, E2E.md pitfall 4)."""
    count = 0
    for message in messages:
        calls = message.get("tool_calls") if message.get("role") == "assistant" else None
        if isinstance(calls, list):
            count += len(calls)
    return count


def find_credentials(messages: Sequence[Mapping[str, Any]]) -> Credentials | None:
    """BASE_URL and AUTH_TOKEN as Mission Control wrote them; system messages first."""
    ordered = sorted(messages, key=lambda m: 0 if m.get("role") in {"system", "developer"} else 1)
    base_url = token = None
    for message in ordered:
        text = message_text(message)
        if base_url is None and (match := _BASE_URL_LINE.search(text)):
            base_url = match.group("value").strip("`")
        if token is None and (match := _AUTH_TOKEN_LINE.search(text)):
            token = match.group("value").strip("`")
    if base_url is None or token is None:
        return None
    return Credentials(base_url=base_url, token=token)


def _offers_tool(request: Mapping[str, Any], name: str) -> bool:
    tools = request.get("tools")
    if not isinstance(tools, list):
        return False
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and function.get("name") == name:
            return True
    return False


@dataclass
class HeartbeatScript:
    """Decides each reply from the request alone."""

    max_tool_calls_per_turn: int = 3
    final_text: str = "Checked in with Mission Control."

    def decide(self, request: Mapping[str, Any]) -> tuple[Reply, Credentials | None]:
        raw = request.get("messages")
        messages = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
        if tool_result_after_last_user(messages):
            return Reply("final", self.final_text), None
        turn = messages[_last_real_user_index(messages) + 1 :]
        if tool_calls_in(turn) >= self.max_tool_calls_per_turn:
            return Reply("refusal", "Tool-call limit for this turn reached."), None
        credentials = find_credentials(messages)
        if credentials is None:
            return Reply("refusal", "No BASE_URL/AUTH_TOKEN lines in my workspace prompt."), None
        if not _SAFE_BASE_URL.match(credentials.base_url) or not _SAFE_TOKEN.match(
            credentials.token
        ):
            return Reply("refusal", "BASE_URL or AUTH_TOKEN has unexpected characters."), None
        if not _offers_tool(request, EXEC_TOOL):
            return Reply("refusal", f"The gateway offers no '{EXEC_TOOL}' tool."), credentials
        return Reply("tool_call", command=credentials.heartbeat_command), credentials


# -- wire format ---------------------------------------------------------------------------


def _chunk(
    completion_id: str, model: str, created: int, choices: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
        **extra,
    }


def stream_chunks(reply: Reply, model: str) -> list[dict[str, Any]]:
    """The chunks of one streamed answer (E2E.md "What the scripted model server must speak")."""
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())

    def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "finish_reason": finish}]

    chunks = [_chunk(completion_id, model, created, choice({"role": "assistant", "content": ""}))]
    if reply.kind == "tool_call":
        assert reply.command is not None
        call_id = f"call_{uuid.uuid4().hex[:16]}"
        header = {
            "index": 0,
            "id": call_id,
            "type": "function",
            "function": {"name": EXEC_TOOL, "arguments": ""},
        }
        arguments = json.dumps({"command": reply.command})
        chunks.append(_chunk(completion_id, model, created, choice({"tool_calls": [header]})))
        chunks.append(
            _chunk(
                completion_id,
                model,
                created,
                choice({"tool_calls": [{"index": 0, "function": {"arguments": arguments}}]}),
            )
        )
        chunks.append(_chunk(completion_id, model, created, choice({}, "tool_calls")))
    else:
        chunks.append(_chunk(completion_id, model, created, choice({"content": reply.text})))
        chunks.append(_chunk(completion_id, model, created, choice({}, "stop")))
    usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    chunks.append(_chunk(completion_id, model, created, [], usage=usage))
    return chunks


def completion_object(reply: Reply, model: str) -> dict[str, Any]:
    """The same answer for a non-streaming request."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    finish = "stop"
    if reply.kind == "tool_call":
        finish = "tool_calls"
        message["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:16]}",
                "type": "function",
                "function": {
                    "name": EXEC_TOOL,
                    "arguments": json.dumps({"command": reply.command}),
                },
            }
        ]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


class _BadRequest(Exception):
    pass


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError as error:
        raise _BadRequest("malformed request line") from error
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            if len(body) + size > MAX_BODY_BYTES:
                raise _BadRequest("body too large")
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        return method, target.split("?", 1)[0], headers, bytes(body)
    length = int(headers.get("content-length", "0") or "0")
    if length > MAX_BODY_BYTES:
        raise _BadRequest("body too large")
    body_bytes = await reader.readexactly(length) if length else b""
    return method, target.split("?", 1)[0], headers, body_bytes


def _response_head(status: int, reason: str, content_type: str, length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}", "Connection: close"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    else:
        lines.append("Cache-Control: no-cache")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _loopback_port(avoid: Sequence[range], port: int = 0) -> socket.socket:
    """A bound loopback socket on ``port``, or on a free port outside every range in ``avoid``."""
    if port:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as error:
            sock.close()
            raise RuntimeError(f"port {port} for the demo model is in use: {error}") from error
        return sock
    for _ in range(200):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        if not any(port in span for span in avoid):
            return sock
        sock.close()
    raise RuntimeError("no free loopback port outside the gateways' port ranges")


@dataclass
class ScriptedModelServer:
    """``start()`` binds a free loopback port (outside ``avoid_ports``) and serves from a thread;
    ``stop()`` closes it. Every request is recorded in ``requests``."""

    model_id: str = "scripted-heartbeat"
    script: HeartbeatScript = field(default_factory=HeartbeatScript)
    max_total_tool_calls: int | None = 50
    avoid_ports: Sequence[range] = ()
    chunk_delay: float = 0.0
    port: int = 0
    host_port: int = 0
    # A long-running demo keeps only the newest requests; tests keep them all (None).
    keep_requests: int | None = None
    _tool_call_total: int = field(default=0, init=False, repr=False)
    _requests: list[RecordedRequest] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _server: asyncio.Server | None = field(default=None, init=False, repr=False)
    _stopped: asyncio.Event | None = field(default=None, init=False, repr=False)
    _connections: dict[asyncio.Task[None], asyncio.StreamWriter] = field(
        default_factory=dict, init=False, repr=False
    )

    @property
    def base_url(self) -> str:
        """What the gateway's provider ``baseUrl`` must be."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == CHAT_PATH and r.body is not None]

    def tool_calls(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.reply is not None and r.reply.kind == "tool_call"]

    def summary(self) -> str:
        """One line per request, for failure messages."""
        lines = []
        for r in self.requests:
            kind = r.reply.kind if r.reply else "-"
            detail = (r.reply.command or r.reply.text) if r.reply else ""
            if r.credentials is not None:
                detail = detail.replace(r.credentials.token, "<token>")
            lines.append(f"{r.method} {r.path} -> {r.status} {kind}: {detail[:160]}")
        return "\n".join(lines) or "(no requests)"

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            raise RuntimeError("scripted model server already started")
        sock = _loopback_port(self.avoid_ports, self.host_port)
        self.port = sock.getsockname()[1]
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve(sock, ready))
            except BaseException as error:  # reported to start() or logged by the thread
                errors.append(error)
                ready.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="scripted-model", daemon=True)
        self._thread.start()
        if not ready.wait(timeout) or errors:
            self.stop()
            raise RuntimeError(f"scripted model server did not start: {errors!r}")

    async def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        self._stopped = asyncio.Event()
        self._server = await asyncio.start_server(self._handle, sock=sock)
        ready.set()
        async with self._server:
            await self._stopped.wait()
            self._server.close()
            # Streams in progress get a moment to finish; idle keep-alive connections do not.
            pending = set(self._connections)
            if pending:
                _done, pending = await asyncio.wait(pending, timeout=2.0)
            for task in pending:
                writer = self._connections.get(task)
                if writer is not None:
                    writer.transport.abort()
            if pending:
                await asyncio.wait(pending, timeout=2.0)

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop, stopped = self._thread, self._loop, self._stopped
        self._thread = None
        if thread is None:
            return
        if loop is not None and stopped is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closed in between
                loop.call_soon_threadsafe(stopped.set)
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError("scripted model server thread did not stop")

    def __enter__(self) -> ScriptedModelServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- requests ----------------------------------------------------------------------

    def _record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(entry)
            if entry.reply is not None and entry.reply.kind == "tool_call":
                self._tool_call_total += 1
            if self.keep_requests is not None and len(self._requests) > self.keep_requests:
                del self._requests[: len(self._requests) - self.keep_requests]

    def _total_tool_calls(self) -> int:
        with self._lock:
            return self._tool_call_total

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections[task] = writer
            task.add_done_callback(lambda done: self._connections.pop(done, None))
        try:
            await self._respond(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _respond(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, path, _headers, raw = await _read_request(reader)
        except _BadRequest as error:
            await self._send_json(writer, 400, "Bad Request", {"error": {"message": str(error)}})
            return
        now = time.time()
        if method != "POST" or path != CHAT_PATH:
            self._record(RecordedRequest(method, path, now, None, None, status=404))
            body = {"error": {"message": f"only POST {CHAT_PATH} is served"}}
            await self._send_json(writer, 404, "Not Found", body)
            return
        try:
            request = json.loads(raw)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            self._record(RecordedRequest(method, path, now, None, None, status=400))
            body = {"error": {"message": "body is not a JSON object"}}
            await self._send_json(writer, 400, "Bad Request", body)
            return
        reply, credentials = self.script.decide(request)
        limit = self.max_total_tool_calls
        if reply.kind == "tool_call" and limit is not None and self._total_tool_calls() >= limit:
            reply = Reply("refusal", "Tool-call limit for this server reached.")
        self._record(RecordedRequest(method, path, now, request, reply, credentials))
        model = str(request.get("model") or self.model_id)
        if reply.kind == "error":
            body = {"error": {"message": reply.text, "type": "invalid_request_error"}}
            await self._send_json(writer, 400, "Bad Request", body)
            return
        if request.get("stream") is False:
            await self._send_json(writer, 200, "OK", completion_object(reply, model))
            return
        writer.write(_response_head(200, "OK", "text/event-stream", None))
        for chunk in stream_chunks(reply, model):
            writer.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await writer.drain()
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
        writer.write(b"data: [DONE]\n\n")
        await writer.drain()

    async def _send_json(
        self, writer: asyncio.StreamWriter, status: int, reason: str, body: Mapping[str, Any]
    ) -> None:
        data = json.dumps(body).encode()
        writer.write(_response_head(status, reason, "application/json", len(data)) + data)
        await writer.drain()
