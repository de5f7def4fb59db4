"""GatewayProfile: what one connected gateway serves, parsed from `hello-ok`, and the wire choices
(config shape, workspace files, heartbeat off, child sessions) that follow from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mission_control.gateway.frames import JsonObject
from mission_control.gateway.session_keys import MAIN, session_key

ConfigShape = Literal["agents.entries", "agents.list"]
ChildSessionMethod = Literal["sessions.create", "spawnedBy"]

# Measured against openclaw 2026.9.6 (protocol 4) and 2026.5.7 (protocol 3): hello-ok does not
# advertise these, so they follow from the protocol generation.
CURRENT_WORKSPACE_FILES = frozenset(
    {"AGENTS.md", "SOUL.md", "IDENTITY.md", "USER.md", "BOOTSTRAP.md", "MEMORY.md"}
)
LEGACY_WORKSPACE_FILES = CURRENT_WORKSPACE_FILES | {"TOOLS.md", "HEARTBEAT.md"}
HEARTBEAT_OFF: Mapping[str, str] = {"every": "0m"}
# `sessions.create` params beyond key, agentId, label, model and parentSessionKey. 2026.5.7
# serves the method too, but its schema refuses these ("unexpected property 'cwd'").
CURRENT_CHILD_SESSION_OPTIONS = frozenset({"cwd", "agentRuntime", "idempotencyKey"})


class HelloError(ValueError):
    """The hello-ok payload is missing a field the client relies on."""


@dataclass(frozen=True)
class GatewayProfile:
    server_version: str
    protocol: int
    methods: frozenset[str]
    events: frozenset[str]
    capabilities: frozenset[str]
    max_payload: int
    max_buffered_bytes: int
    tick_interval_ms: int
    default_agent_id: str
    main_key: str
    main_session_key: str
    scopes: tuple[str, ...]
    auth_method: str | None
    device_token: str | None
    config_shape: ConfigShape
    workspace_files: frozenset[str]
    files_delete: bool
    file_hashes: bool
    create_requires_workspace: bool
    heartbeat_off: Mapping[str, str]
    child_session: ChildSessionMethod
    child_session_options: frozenset[str]

    def supports(self, method: str) -> bool:
        return method in self.methods

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes or "operator.admin" in self.scopes

    def allows_file(self, name: str) -> bool:
        return name in self.workspace_files


def profile_from_hello(hello: Mapping[str, Any]) -> GatewayProfile:
    """Build the profile from the `hello-ok` payload of a successful connect."""
    protocol = hello.get("protocol")
    if not isinstance(protocol, int):
        raise HelloError("hello-ok has no integer protocol")
    server = _object(hello, "server")
    features = _object(hello, "features")
    snapshot = _object(hello, "snapshot")
    policy = _object(hello, "policy")
    auth = _object(hello, "auth")
    defaults = snapshot.get("sessionDefaults")
    session_defaults: JsonObject = defaults if isinstance(defaults, dict) else {}
    methods = _names(features.get("methods"))
    current = protocol >= 4
    return GatewayProfile(
        server_version=str(server.get("version", "unknown")),
        protocol=protocol,
        methods=methods,
        events=_names(features.get("events")),
        capabilities=_names(features.get("capabilities")),
        max_payload=_int(policy.get("maxPayload"), 25 * 1024 * 1024),
        max_buffered_bytes=_int(policy.get("maxBufferedBytes"), 50 * 1024 * 1024),
        tick_interval_ms=_int(policy.get("tickIntervalMs"), 30_000),
        default_agent_id=str(session_defaults.get("defaultAgentId", "main")),
        main_key=str(session_defaults.get("mainKey", "main")),
        main_session_key=str(session_defaults.get("mainSessionKey", session_key(MAIN))),
        scopes=tuple(str(s) for s in auth.get("scopes", []) if isinstance(s, str)),
        auth_method=auth.get("method") if isinstance(auth.get("method"), str) else None,
        device_token=auth.get("deviceToken") if isinstance(auth.get("deviceToken"), str) else None,
        config_shape="agents.entries" if current else "agents.list",
        workspace_files=CURRENT_WORKSPACE_FILES if current else LEGACY_WORKSPACE_FILES,
        files_delete="agents.files.delete" in methods,
        file_hashes=current,
        create_requires_workspace=not current,
        heartbeat_off=HEARTBEAT_OFF,
        child_session="sessions.create" if "sessions.create" in methods else "spawnedBy",
        child_session_options=CURRENT_CHILD_SESSION_OPTIONS if current else frozenset(),
    )


def _object(data: Mapping[str, Any], key: str) -> JsonObject:
    value = data.get(key)
    if not isinstance(value, dict):
        raise HelloError(f"hello-ok has no {key!r} object")
    return value


def _names(value: object) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(item for item in value if isinstance(item, str))


def _int(value: object, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default


# -- config keys Mission Control writes --------------------------------------------------------

EXEC_HOST_PATH = "tools.exec.host"
HEARTBEAT_VISIBILITY_PATH = "channels.defaults.heartbeatVisibility"


@dataclass(frozen=True)
class WritableConfig:
    """The config keys Mission Control may write on one release, read from the release's own
    schema (``config.schema.lookup``) when it offers one, else from its protocol generation.

    ``heartbeat_keys`` None means "not known": every planned heartbeat key is written."""

    exec_host: bool
    heartbeat_visibility: frozenset[str]
    heartbeat_keys: frozenset[str] | None
    source: Literal["schema", "release"]

    def heartbeat(self, block: Mapping[str, Any]) -> dict[str, Any]:
        """The heartbeat block without keys this release does not accept."""
        if self.heartbeat_keys is None:
            return dict(block)
        return {key: value for key, value in block.items() if key in self.heartbeat_keys}


def agent_entries_path(profile: GatewayProfile) -> str:
    """Where one agent's config entry lives, as a schema path (``*`` for the agent)."""
    return "agents.entries.*" if profile.config_shape == "agents.entries" else "agents.list.*"


def release_writable_config(profile: GatewayProfile) -> WritableConfig:
    """Without a schema: what each generation was measured to accept (GATEWAY.md). 2026.5.7
    from its bare config refuses ``channels.defaults.heartbeatVisibility``."""
    current = profile.protocol >= 4
    return WritableConfig(
        exec_host=True,
        heartbeat_visibility=(
            frozenset({"showOk", "showAlerts", "useIndicator"}) if current else frozenset()
        ),
        heartbeat_keys=None,
        source="release",
    )


def schema_children(lookup: Mapping[str, Any] | None) -> frozenset[str] | None:
    """The child keys of a ``config.schema.lookup`` answer; None when the path does not exist."""
    if lookup is None:
        return None
    children = lookup.get("children")
    if not isinstance(children, list):
        return frozenset()
    return frozenset(
        str(child["key"])
        for child in children
        if isinstance(child, dict) and isinstance(child.get("key"), str) and child["key"] != "*"
    )


def writable_from_schema(
    exec_host: Mapping[str, Any] | None,
    visibility: Mapping[str, Any] | None,
    heartbeat: Mapping[str, Any] | None,
) -> WritableConfig:
    """From the lookups of ``tools.exec.host``, the heartbeat visibility object and one agent
    entry's ``heartbeat`` object (None: the release has no such path)."""
    beat = schema_children(heartbeat)
    return WritableConfig(
        exec_host=exec_host is not None,
        heartbeat_visibility=schema_children(visibility) or frozenset(),
        heartbeat_keys=beat if beat else None,
        source="schema",
    )
