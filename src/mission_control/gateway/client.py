"""Typed OpenClaw RPC methods (agents, workspace files, config, sessions, chat, agent runs) on top
of one shared GatewayConnection; shapes follow the connected gateway's profile."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mission_control.gateway.connection import EventSubscription, GatewayConnection
from mission_control.gateway.errors import (
    GatewayConfigConflict,
    GatewayConnectionLost,
    GatewayError,
    GatewayRateLimited,
    GatewayUnsupportedFile,
    GatewayUnsupportedMethod,
    classify_error,
)
from mission_control.gateway.frames import JsonObject, ResponseFrame
from mission_control.gateway.profile import (
    EXEC_HOST_PATH,
    HEARTBEAT_VISIBILITY_PATH,
    GatewayProfile,
    WritableConfig,
    agent_entries_path,
    release_writable_config,
    writable_from_schema,
)
from mission_control.gateway.session_keys import agent_id_of

RUN_EVENTS = frozenset({"agent", "chat"})


# Methods that write the gateway's config file. One at a time per connection: while the gateway
# applies one write's reload, a second write supersedes it ("config reload superseded"), the
# gateway cannot commit the first reload and restarts to recover (measured on 2026.9.6: an
# agents.delete of a converted agent overlapping the config.patch that registered its new id).
CONFIG_WRITES = frozenset(
    {
        "config.patch",
        "config.apply",
        "config.set",
        "agents.create",
        "agents.update",
        "agents.delete",
    }
)


@dataclass(frozen=True)
class AgentHeartbeat:
    """One agent's heartbeat as `health` reports it; `every` is None when it is not a string."""

    agent_id: str
    enabled: bool
    every: str | None


@dataclass(frozen=True)
class GatewayHealth:
    """`health`: whether the gateway is ok, and each agent's heartbeat as it runs it."""

    ok: bool
    heartbeats: tuple[AgentHeartbeat, ...]


@dataclass(frozen=True)
class GatewayAgent:
    id: str
    name: str | None
    workspace: str | None
    model: Any = None
    raw: JsonObject = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class AgentList:
    default_id: str | None
    main_key: str | None
    agents: tuple[GatewayAgent, ...]

    def get(self, agent_id: str) -> GatewayAgent | None:
        return next((agent for agent in self.agents if agent.id == agent_id), None)


@dataclass(frozen=True)
class AgentFile:
    agent_id: str
    name: str
    content: str | None
    hash: str | None
    missing: bool
    raw: JsonObject = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ConfigSnapshot:
    config: JsonObject
    hash: str
    raw: JsonObject = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ConfigPatched:
    """A `config.patch` that went through. `hash` is the config's hash after the write, to base
    the next patch on; current gateways report it after a write, a no-op and 2026.5.7 do not."""

    hash: str | None


@dataclass(frozen=True)
class AgentRunResult:
    """How an `agent` run ended: status `ok`/`error`/`timeout`/... plus the gateway's error."""

    run_id: str
    status: str
    summary: str | None
    payload: JsonObject
    error: GatewayError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status in {"ok", "completed", "done", "success"}


@dataclass(frozen=True)
class SessionRow:
    """One session of `sessions.list`. 2026.5.7 rows carry no `agentId`: it is read from the
    key there; `parent_session_key` is `parentSessionKey`, else the legacy `spawnedBy`."""

    key: str
    agent_id: str | None
    label: str | None
    display_name: str | None
    kind: str | None
    session_id: str | None
    parent_session_key: str | None
    model: str | None
    updated_at: datetime | None
    raw: JsonObject = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class SessionList:
    sessions: tuple[SessionRow, ...]

    def get(self, key: str) -> SessionRow | None:
        return next((row for row in self.sessions if row.key == key), None)


@dataclass(frozen=True)
class ChatMessage:
    """One `chat.history` message: its role and its text (a list content's text parts joined
    by newlines; other parts such as tool calls left out)."""

    role: str
    text: str
    timestamp: datetime | None
    raw: JsonObject = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ChatHistory:
    session_key: str | None
    session_id: str | None
    messages: tuple[ChatMessage, ...]
    raw: JsonObject = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class ChildSession:
    key: str
    session_id: str | None
    parent_session_key: str | None
    raw: JsonObject = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class SentMessage:
    """`chat.send`: the run the message started (the idempotency key) and its status."""

    run_id: str | None
    status: str | None


@dataclass(frozen=True)
class HistoryPage:
    """`chat.history`: kind `tail` (a page), `delta` (catch-up after a cursor) or `reset`."""

    kind: str
    messages: tuple[JsonObject, ...]
    delta_cursor: str | None
    raw: JsonObject = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class LedgerTask:
    """One row of the gateway's task ledger (`tasks.list` / `tasks.get`)."""

    task_id: str
    run_id: str | None
    status: str
    kind: str | None
    error: str | None
    result: str | None
    terminal_summary: str | None
    raw: JsonObject = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class SessionUsage:
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    cost_usd: float | None
    source: str


class AgentRun:
    """Handle for an accepted `agent` run; `result()` waits for the second answer."""

    def __init__(
        self, client: GatewayClient, accepted: JsonObject, final: asyncio.Future[ResponseFrame]
    ) -> None:
        self._client = client
        self.accepted = accepted
        self.run_id = str(accepted.get("runId", ""))
        self.session_key = accepted.get("sessionKey")
        self.status = str(accepted.get("status", ""))
        self._final = final

    async def result(self, timeout: float = 120.0) -> AgentRunResult:
        try:
            frame = await asyncio.wait_for(asyncio.shield(self._final), timeout)
        except GatewayConnectionLost:
            # The run keeps going on the gateway; ask for its outcome on the new connection.
            return await self._client.agent_wait(self.run_id, timeout=timeout)
        except TimeoutError:
            return AgentRunResult(self.run_id, "timeout", None, {})
        return _run_result(self.run_id, frame)

    async def final(self) -> AgentRunResult:
        """The second answer as it comes; raises GatewayConnectionLost when the connection
        drops first (the caller then asks `agent.wait` or the ledger itself)."""
        return _run_result(self.run_id, await asyncio.shield(self._final))


class GatewayClient:
    """The gateway API Mission Control uses; one per gateway, shared through the pool."""

    def __init__(self, connection: GatewayConnection) -> None:
        self.connection = connection
        # server version -> the config keys it accepts (a reconnect may reach another release)
        self._writable: dict[str, WritableConfig] = {}

    @property
    def profile(self) -> GatewayProfile:
        return self.connection.profile

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        if method in CONFIG_WRITES:
            async with self.connection.config_writes:
                return await self.connection.request(method, params, timeout=timeout)
        return await self.connection.request(method, params, timeout=timeout)

    async def _object(
        self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float | None = None
    ) -> JsonObject:
        payload = await self.call(method, params, timeout=timeout)
        return payload if isinstance(payload, dict) else {"value": payload}

    # -- health / agents ------------------------------------------------------------------

    async def health(self, *, probe: bool = False, timeout: float | None = None) -> GatewayHealth:
        """`probe` makes the answer reflect the current config rather than a cached snapshot."""
        payload = await self._object("health", {"probe": True} if probe else {}, timeout=timeout)
        agents = payload.get("agents")
        items = agents if isinstance(agents, list) else []
        return GatewayHealth(
            ok=payload.get("ok") is True,
            heartbeats=tuple(
                _heartbeat(item)
                for item in items
                if isinstance(item, dict) and isinstance(item.get("agentId"), str)
            ),
        )

    async def heartbeat_cadences(self) -> dict[str, str | None]:
        """Each agent's effective heartbeat cadence as the gateway runs it (None when off)."""
        health = await self.health(probe=True)
        return {beat.agent_id: beat.every if beat.enabled else None for beat in health.heartbeats}

    async def agents_list(self) -> AgentList:
        payload = await self._object("agents.list", {})
        agents = tuple(_agent(item) for item in payload.get("agents", []) if isinstance(item, dict))
        return AgentList(
            default_id=_opt_str(payload.get("defaultId")),
            main_key=_opt_str(payload.get("mainKey")),
            agents=agents,
        )

    async def agents_create(
        self,
        name: str,
        *,
        workspace: str | None = None,
        model: str | None = None,
        emoji: str | None = None,
    ) -> str:
        """Create an agent; returns its id, the gateway's slug of `name` (its `agentId`)."""
        if workspace is None and self.profile.create_requires_workspace:
            raise ValueError(
                f"gateway {self.profile.server_version} needs an explicit workspace for "
                "agents.create"
            )
        params = _drop_none({"name": name, "workspace": workspace, "model": model, "emoji": emoji})
        payload = await self._object("agents.create", params)
        agent_id = payload.get("agentId")
        if not isinstance(agent_id, str):
            raise GatewayError(
                "agents.create answered without the new agent's id",
                code="INVALID_RESPONSE",
                details={"answer": payload},
                method="agents.create",
            )
        return agent_id

    async def agents_update(
        self,
        agent_id: str,
        *,
        name: str | None = None,
        workspace: str | None = None,
        model: str | None = None,
    ) -> None:
        params = _drop_none(
            {"agentId": agent_id, "name": name, "workspace": workspace, "model": model}
        )
        await self._object("agents.update", params)

    async def agents_delete(self, agent_id: str, *, delete_files: bool = True) -> None:
        await self._object("agents.delete", {"agentId": agent_id, "deleteFiles": delete_files})

    # -- workspace files ------------------------------------------------------------------

    async def files_list(self, agent_id: str) -> list[AgentFile]:
        payload = await self._object("agents.files.list", {"agentId": agent_id})
        files = payload.get("files", [])
        return [_agent_file(agent_id, item) for item in files if isinstance(item, dict)]

    async def files_get(self, agent_id: str, name: str) -> AgentFile:
        self._check_file(name)
        payload = await self._object("agents.files.get", {"agentId": agent_id, "name": name})
        return _agent_file(agent_id, payload.get("file", {}))

    async def files_set(
        self, agent_id: str, name: str, content: str, *, expected_hash: str | None = None
    ) -> AgentFile:
        """Write a workspace file; `expected_hash` makes it conditional where supported."""
        self._check_file(name)
        params: JsonObject = {"agentId": agent_id, "name": name, "content": content}
        if expected_hash is not None and self.profile.file_hashes:
            params["expectedHash"] = expected_hash
        payload = await self._object("agents.files.set", params)
        return _agent_file(agent_id, payload.get("file", {}))

    async def files_delete(self, agent_id: str, name: str) -> None:
        if not self.profile.files_delete:
            raise GatewayUnsupportedMethod(
                f"gateway {self.profile.server_version} has no agents.files.delete",
                method="agents.files.delete",
            )
        await self._object("agents.files.delete", {"agentId": agent_id, "name": name})

    def _check_file(self, name: str) -> None:
        # Refuse locally what this gateway version is known to refuse, with the same error type.
        if not self.profile.allows_file(name):
            raise GatewayUnsupportedFile(
                f'unsupported file "{name}" (gateway {self.profile.server_version} accepts '
                f"{', '.join(sorted(self.profile.workspace_files))})",
                details={"name": name},
            )

    # -- config ---------------------------------------------------------------------------

    async def config_get(self) -> ConfigSnapshot:
        payload = await self._object("config.get", {})
        config = payload.get("config")
        return ConfigSnapshot(
            config=config if isinstance(config, dict) else {},
            hash=str(payload.get("hash", "")),
            raw=payload,
        )

    async def _schema_node(self, path: str) -> JsonObject | None:
        """The release's schema node for one config path; None when the path does not exist.
        A JSON-schema node is free-form by nature, so it stays a plain object; only
        `writable_from_schema` reads it."""
        try:
            return await self._object("config.schema.lookup", {"path": path})
        except GatewayError as error:
            if error.retryable:
                raise
            return None

    async def writable_config(self) -> WritableConfig:
        """The config keys this release accepts (cached per server version): from its schema
        when it serves ``config.schema.lookup``, else from its protocol generation."""
        profile = self.profile
        known = self._writable.get(profile.server_version)
        if known is not None:
            return known
        if not profile.supports("config.schema.lookup"):
            writable = release_writable_config(profile)
        else:
            exec_host, visibility, heartbeat = await asyncio.gather(
                self._schema_node(EXEC_HOST_PATH),
                self._schema_node(HEARTBEAT_VISIBILITY_PATH),
                self._schema_node(f"{agent_entries_path(profile)}.heartbeat"),
            )
            writable = writable_from_schema(exec_host, visibility, heartbeat)
        self._writable[profile.server_version] = writable
        return writable

    async def config_patch(
        self,
        patch: Mapping[str, Any],
        *,
        base_hash: str,
        replace_paths: Sequence[str] | None = None,
        note: str | None = None,
        timeout: float | None = None,
    ) -> ConfigPatched:
        """JSON merge patch (null deletes). A stale `base_hash` raises GatewayConfigConflict."""
        params: JsonObject = {"raw": json.dumps(patch), "baseHash": base_hash}
        if replace_paths:
            params["replacePaths"] = list(replace_paths)
        if note:
            params["note"] = note
        payload = await self._object("config.patch", params, timeout=timeout)
        return ConfigPatched(hash=_opt_str(payload.get("hash")))

    async def config_patch_fresh(
        self,
        patch: Mapping[str, Any],
        *,
        base_hash: str | None = None,
        replace_paths: Sequence[str] | None = None,
        note: str | None = None,
        max_rate_limit_wait: float = 60.0,
    ) -> ConfigPatched:
        """Patch against `base_hash` (or a fresh read). On a stale hash re-read and retry once;
        when rate limited, wait the gateway's `retryAfterMs` (up to `max_rate_limit_wait`) once."""
        if base_hash is None:
            base_hash = (await self.config_get()).hash
        try:
            return await self.config_patch(
                patch, base_hash=base_hash, replace_paths=replace_paths, note=note
            )
        except GatewayConfigConflict:
            pass
        except GatewayRateLimited as exc:
            wait = exc.retry_after if exc.retry_after is not None else max_rate_limit_wait
            if wait > max_rate_limit_wait:
                raise
            await asyncio.sleep(wait)
        fresh = await self.config_get()
        return await self.config_patch(
            patch, base_hash=fresh.hash, replace_paths=replace_paths, note=note
        )

    # -- sessions -------------------------------------------------------------------------

    async def sessions_list(
        self, *, agent_id: str | None = None, limit: int | None = None
    ) -> SessionList:
        """The session rows of the answer (its `sessions`, or the answer itself when it is a
        list); entries that are not objects with a string `key` are dropped."""
        payload = await self.call(
            "sessions.list", _drop_none({"agentId": agent_id, "limit": limit})
        )
        items = payload.get("sessions") if isinstance(payload, dict) else payload
        rows = items if isinstance(items, list) else []
        return SessionList(tuple(_session_row(row) for row in rows if _is_session_row(row)))

    async def sessions_patch(self, key: str, **fields: Any) -> None:
        """Set fields of a session; creates the session when it does not exist."""
        await self._object("sessions.patch", {"key": key, **fields})

    async def sessions_reset(self, key: str) -> None:
        await self._object("sessions.reset", {"key": key})

    async def sessions_delete(self, key: str) -> None:
        await self._object("sessions.delete", {"key": key})

    # -- chat / agent runs ----------------------------------------------------------------

    async def chat_send(
        self,
        session_key: str,
        message: str,
        *,
        idempotency_key: str | None = None,
        deliver: bool | None = None,
    ) -> SentMessage:
        params = _drop_none(
            {
                "sessionKey": session_key,
                "message": message,
                "idempotencyKey": idempotency_key or uuid.uuid4().hex,
                "deliver": deliver,
            }
        )
        payload = await self._object("chat.send", params)
        return SentMessage(
            run_id=_opt_str(payload.get("runId")), status=_opt_str(payload.get("status"))
        )

    async def chat_history(
        self, session_key: str, *, limit: int | None = None, cursor: str | None = None
    ) -> ChatHistory:
        params = _drop_none({"sessionKey": session_key, "limit": limit, "cursor": cursor})
        payload = await self._object("chat.history", params)
        messages = payload.get("messages")
        return ChatHistory(
            session_key=_opt_str(payload.get("sessionKey")),
            session_id=_opt_str(payload.get("sessionId")),
            messages=tuple(map(_chat_message, messages if isinstance(messages, list) else [])),
            raw=payload,
        )

    async def agent(
        self,
        message: str,
        *,
        agent_id: str | None = None,
        session_key: str | None = None,
        idempotency_key: str | None = None,
        deliver: bool | None = None,
        label: str | None = None,
        timeout: float | None = None,
    ) -> AgentRun:
        """Start an agent turn; returns once accepted. Await `run.result()` for the outcome."""
        if (agent_id is None) == (session_key is None):
            raise ValueError("pass exactly one of agent_id or session_key")
        params = _drop_none(
            {
                "message": message,
                "idempotencyKey": idempotency_key or uuid.uuid4().hex,
                "agentId": agent_id,
                "sessionKey": session_key,
                "deliver": deliver,
                "label": label,
            }
        )
        accepted, final = await self.connection.request_two_phase("agent", params, timeout=timeout)
        return AgentRun(self, accepted if isinstance(accepted, dict) else {}, final)

    async def agent_wait(self, run_id: str, *, timeout: float = 60.0) -> AgentRunResult:
        payload = await self._object(
            "agent.wait",
            {"runId": run_id, "timeoutMs": int(timeout * 1000)},
            timeout=timeout + 10.0,
        )
        error = payload.get("error")
        return AgentRunResult(
            run_id=run_id,
            status=str(payload.get("status", "unknown")),
            summary=_opt_str(payload.get("summary")) or (error if isinstance(error, str) else None),
            payload=payload,
            error=GatewayError(error, code="RUN_FAILED") if isinstance(error, str) else None,
        )

    def subscribe_run(
        self,
        *,
        run_id: str | None = None,
        session_key: str | None = None,
        events: frozenset[str] = RUN_EVENTS,
    ) -> EventSubscription:
        """`agent` and `chat` events for one run id or session key."""
        return self.connection.subscribe(events, run_id=run_id, session_key=session_key)

    # -- task runs: child sessions, dispatch, catch-up, ledger, usage (docs/runs.md) -----------

    async def child_session_create(
        self,
        agent_id: str,
        *,
        key: str,
        parent_session_key: str,
        label: str | None = None,
        model: str | None = None,
        cwd: str | None = None,
        agent_runtime: str | None = None,
        idempotency_key: str | None = None,
    ) -> ChildSession:
        """A child session under `parent_session_key` with the exact `key` Mission Control chose.
        The current gateway makes it with `sessions.create` (a replay with the same key and
        idempotency key answers the same session); 2026.5.7's `sessions.create` takes no cwd,
        runtime or idempotency key (the key alone names the session there); a gateway without
        the method gets `sessions.patch spawnedBy`, which takes no model either. Asking a
        gateway for what it cannot set is refused."""
        options = self.profile.child_session_options
        if self.profile.supports("sessions.create"):
            unsupported = [
                name
                for name, param, value in (
                    ("cwd", "cwd", cwd),
                    ("runtime", "agentRuntime", agent_runtime),
                )
                if value is not None and param not in options
            ]
            if unsupported:
                raise GatewayUnsupportedMethod(
                    f"gateway {self.profile.server_version} cannot set "
                    f"{', '.join(unsupported)} on a child session (its sessions.create has no "
                    "such parameter)",
                    method="sessions.create",
                )
            params = _drop_none(
                {
                    "key": key,
                    "agentId": agent_id,
                    "parentSessionKey": parent_session_key,
                    "label": label,
                    "model": model,
                    "cwd": cwd,
                    "agentRuntime": agent_runtime,
                    "idempotencyKey": idempotency_key if "idempotencyKey" in options else None,
                }
            )
            payload = await self._object("sessions.create", params)
        else:
            unsupported = [n for n, v in (("model", model), ("cwd", cwd)) if v is not None]
            if agent_runtime is not None:
                unsupported.append("runtime")
            if unsupported:
                raise GatewayUnsupportedMethod(
                    f"gateway {self.profile.server_version} cannot set "
                    f"{', '.join(unsupported)} on a child session (it has no sessions.create)",
                    method="sessions.create",
                )
            fields = _drop_none({"spawnedBy": parent_session_key, "label": label})
            payload = await self._object("sessions.patch", {"key": key, **fields})
        entry = payload.get("entry")
        entry = entry if isinstance(entry, dict) else {}
        return ChildSession(
            key=str(payload.get("key") or key),
            session_id=_opt_str(payload.get("sessionId")) or _opt_str(entry.get("sessionId")),
            parent_session_key=_opt_str(entry.get("parentSessionKey"))
            or _opt_str(entry.get("spawnedBy")),
            raw=payload,
        )

    async def session_delete(self, key: str, *, delete_transcript: bool = True) -> None:
        """Delete a session and (where the gateway supports choosing) its transcript."""
        params: JsonObject = {"key": key}
        if self.profile.protocol >= 4:
            params["deleteTranscript"] = delete_transcript
        await self._object("sessions.delete", params)

    async def run_abort(self, session_key: str, run_id: str | None = None) -> None:
        """Stop one run (`sessions.abort {key, runId}`; `chat.abort` where that is missing)."""
        if self.profile.supports("sessions.abort"):
            await self._object("sessions.abort", _drop_none({"key": session_key, "runId": run_id}))
        else:
            await self._object(
                "chat.abort", _drop_none({"sessionKey": session_key, "runId": run_id})
            )

    async def history_page(
        self, session_key: str, *, cursor: str | None = None, limit: int = 200
    ) -> HistoryPage:
        """A tail page (`cursor` None) or the catch-up after `cursor`: `reset` means the cursor
        is no longer valid and a tail page must be read instead."""
        params = _drop_none(
            {"sessionKey": session_key, "cursor": cursor, "limit": None if cursor else limit}
        )
        payload = await self._object("chat.history", params)
        raw = payload.get("messages")
        messages: list[JsonObject] = []
        for item in raw if isinstance(raw, list) else []:
            if not isinstance(item, dict):
                continue
            # Catch-up entries wrap the message like a live `session.message` payload.
            inner = item.get("message")
            messages.append(inner if isinstance(inner, dict) else item)
        return HistoryPage(
            kind=str(payload.get("kind") or "tail"),
            messages=tuple(messages),
            delta_cursor=_opt_str(payload.get("deltaCursor")),
            raw=payload,
        )

    async def ledger_tasks(self, session_key: str) -> list[LedgerTask]:
        """The gateway's task ledger for one session, newest first; [] where there is none."""
        if not self.profile.supports("tasks.list"):
            return []
        payload = await self._object("tasks.list", {"sessionKey": session_key})
        items = payload.get("tasks")
        return [_ledger_task(t) for t in (items if isinstance(items, list) else []) if t]

    async def ledger_task(self, task_id: str) -> LedgerTask | None:
        if not self.profile.supports("tasks.get"):
            return None
        payload = await self._object("tasks.get", {"taskId": task_id})
        task = payload.get("task")
        return _ledger_task(task) if isinstance(task, dict) else None

    async def session_usage(self, session_key: str) -> SessionUsage:
        """Token counts and the cost estimate of one session. The session row
        (`sessions.describe`, else `sessions.list`) carries them and answers at once;
        `sessions.usage` (not advertised, and it refreshes a cost cache first: 18 s measured
        on a loaded host) is asked only when the row has no figures."""
        on_row = await self._row_usage(session_key)
        if on_row is not None:
            return on_row
        payload = await self._object("sessions.usage", {"key": session_key})
        for item in payload.get("sessions") or []:
            usage = item.get("usage") if isinstance(item, dict) else None
            if isinstance(usage, dict) and item.get("key") == session_key:
                return SessionUsage(
                    input_tokens=_opt_int(usage.get("input")),
                    output_tokens=_opt_int(usage.get("output")),
                    total_tokens=_opt_int(usage.get("totalTokens")),
                    cost_usd=_opt_float(usage.get("totalCost")),
                    source="sessions.usage",
                )
        return SessionUsage(None, None, None, None, source="none")

    async def _row_usage(self, session_key: str) -> SessionUsage | None:
        """The figures on the session's row; None when the row has no token counts."""
        row: JsonObject
        if self.profile.supports("sessions.describe"):
            payload = await self._object("sessions.describe", {"key": session_key})
            described = payload.get("session")
            row = described if isinstance(described, dict) else {}
        else:
            found = (await self.sessions_list(limit=500)).get(session_key)
            row = found.raw if found is not None else {}
        if not any(isinstance(row.get(k), int) for k in ("inputTokens", "outputTokens")):
            return None
        return SessionUsage(
            input_tokens=_opt_int(row.get("inputTokens")),
            output_tokens=_opt_int(row.get("outputTokens")),
            total_tokens=_opt_int(row.get("totalTokens")),
            cost_usd=_opt_float(row.get("estimatedCostUsd")),
            source="session row",
        )


def _run_result(run_id: str, frame: ResponseFrame) -> AgentRunResult:
    payload = frame.payload if isinstance(frame.payload, dict) else {}
    error = None
    if not frame.ok and frame.error is not None:
        error = classify_error(frame.error, method="agent")
    status = str(payload.get("status") or ("error" if error else "ok"))
    summary = _opt_str(payload.get("summary")) or (error.message if error else None)
    return AgentRunResult(run_id, status, summary, payload, error)


def _heartbeat(item: JsonObject) -> AgentHeartbeat:
    beat = item.get("heartbeat")
    beat = beat if isinstance(beat, dict) else {}
    return AgentHeartbeat(
        agent_id=str(item["agentId"]),
        enabled=bool(beat.get("enabled")),
        every=_opt_str(beat.get("every")),
    )


def _agent(item: JsonObject) -> GatewayAgent:
    return GatewayAgent(
        id=str(item.get("id", "")),
        name=_opt_str(item.get("name")),
        workspace=_opt_str(item.get("workspace")),
        model=item.get("model"),
        raw=item,
    )


def _is_session_row(item: object) -> bool:
    return isinstance(item, dict) and isinstance(item.get("key"), str)


def _session_row(item: JsonObject) -> SessionRow:
    key = str(item["key"])
    return SessionRow(
        key=key,
        agent_id=_opt_str(item.get("agentId")) or agent_id_of(key),
        label=_opt_str(item.get("label")),
        display_name=_opt_str(item.get("displayName")),
        kind=_opt_str(item.get("kind")),
        session_id=_opt_str(item.get("sessionId")),
        parent_session_key=_opt_str(item.get("parentSessionKey"))
        or _opt_str(item.get("spawnedBy")),
        model=_opt_str(item.get("model")),
        updated_at=_from_epoch_ms(item.get("updatedAt")),
        raw=item,
    )


def _chat_message(item: object) -> ChatMessage:
    if not isinstance(item, dict):
        return ChatMessage(role="", text=str(item), timestamp=None)
    content = item.get("content")
    if isinstance(content, list):
        parts = [
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        ]
        text = "\n".join(part for part in parts if part)
    else:
        text = "" if content is None else str(content)
    return ChatMessage(
        role=str(item.get("role", "")),
        text=text,
        timestamp=_from_epoch_ms(item.get("timestamp")),
        raw=item,
    )


def _from_epoch_ms(value: object) -> datetime | None:
    milliseconds = _opt_float(value)
    if milliseconds is None:
        return None
    try:
        return datetime.fromtimestamp(milliseconds / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None  # far outside any date a gateway writes


def _agent_file(agent_id: str, item: Any) -> AgentFile:
    data: JsonObject = item if isinstance(item, dict) else {}
    content = data.get("content")
    return AgentFile(
        agent_id=agent_id,
        name=str(data.get("name", "")),
        content=content if isinstance(content, str) else None,
        hash=_opt_str(data.get("hash")),
        missing=bool(data.get("missing", False)),
        raw=data,
    )


def _ledger_task(item: JsonObject) -> LedgerTask:
    return LedgerTask(
        task_id=str(item.get("taskId") or item.get("id") or ""),
        run_id=_opt_str(item.get("runId")),
        status=str(item.get("status") or "unknown"),
        kind=_opt_str(item.get("kind")),
        error=_opt_str(item.get("error")),
        result=_opt_str(item.get("result")),
        terminal_summary=_opt_str(item.get("terminalSummary")),
        raw=item,
    )


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _drop_none(params: Mapping[str, Any]) -> JsonObject:
    return {key: value for key, value in params.items() if value is not None}


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None
