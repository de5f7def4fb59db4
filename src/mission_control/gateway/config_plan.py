"""Pure planning of one batched gateway config change: heartbeat entries for Mission Control's
agents, the exec-host and heartbeat-visibility defaults, and keeping the operator's agents'
implicit heartbeats alive. Produces a JSON merge patch (or nothing when nothing changes)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mission_control.gateway.profile import WritableConfig

ConfigShape = Literal["agents.entries", "agents.list"]

HEARTBEAT_VISIBILITY_DEFAULTS: Mapping[str, bool] = {
    "showOk": False,
    "showAlerts": True,
    "useIndicator": True,
}


@dataclass(frozen=True, slots=True)
class HeartbeatEntry:
    """The desired heartbeat of one agent. A ``partial`` entry (the governor's) only sets the
    given heartbeat keys (None removes one) of an agent that already has a heartbeat block,
    leaving its workspace and other keys alone; agents without a block are not touched."""

    agent_id: str
    workspace: str
    heartbeat: Mapping[str, Any]
    partial: bool = False
    # The display name, set in the same patch (saves an agents.update, i.e. a config write and
    # a reload per agent); None leaves the name alone.
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ConfigChange:
    patch: dict[str, Any] | None
    # Operator agents that heartbeated implicitly and now get an explicit block to keep doing so.
    kept_heartbeating: tuple[str, ...] = ()
    changed_agents: tuple[str, ...] = field(default_factory=tuple)


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _existing_entries(config: Mapping[str, Any], shape: ConfigShape) -> dict[str, dict[str, Any]]:
    agents = _as_dict(config.get("agents"))
    if shape == "agents.entries":
        return {k: _as_dict(v) for k, v in _as_dict(agents.get("entries")).items()}
    items = agents.get("list")
    listed = items if isinstance(items, list) else []
    return {str(e["id"]): e for e in listed if isinstance(e, dict) and isinstance(e.get("id"), str)}


def _replace_block(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """A merge patch that turns ``current`` into exactly ``desired`` (stale keys -> null)."""
    patch: dict[str, Any] = {key: None for key in current if key not in desired}
    patch.update({k: v for k, v in desired.items() if current.get(k) != v})
    return patch


def _defaults_patch(config: Mapping[str, Any], writable: WritableConfig | None) -> dict[str, Any]:
    """The exec-host and heartbeat-visibility defaults when missing, limited to the keys the
    release accepts (``writable``; None: all)."""
    patch: dict[str, Any] = {}
    exec_config = _as_dict(_as_dict(config.get("tools")).get("exec"))
    if not exec_config.get("host") and (writable is None or writable.exec_host):
        patch["tools"] = {"exec": {"host": "gateway"}}
    defaults = _as_dict(_as_dict(config.get("channels")).get("defaults"))
    visibility = _as_dict(defaults.get("heartbeatVisibility"))
    missing = {
        k: v
        for k, v in HEARTBEAT_VISIBILITY_DEFAULTS.items()
        if k not in visibility and (writable is None or k in writable.heartbeat_visibility)
    }
    if missing:
        patch["channels"] = {"defaults": {"heartbeatVisibility": missing}}
    return patch


def has_heartbeat_blocks(config: Mapping[str, Any], shape: ConfigShape) -> bool:
    """Whether the gateway already runs explicit heartbeats only (then no agent beats
    implicitly and there is nothing to keep alive)."""
    return any("heartbeat" in entry for entry in _existing_entries(config, shape).values())


def _implicit_keepers(
    existing: Mapping[str, Mapping[str, Any]],
    owned: set[str],
    effective_every: Mapping[str, str | None],
) -> dict[str, dict[str, Any]]:
    """While no agent has a heartbeat block, the gateway beats implicitly; the first block we
    add stops that for everyone else. Pin the operator's beating agents to their cadence."""
    if any("heartbeat" in entry for entry in existing.values()):  # see has_heartbeat_blocks
        return {}
    return {
        agent_id: {"every": every}
        for agent_id, every in sorted(effective_every.items())
        if agent_id not in owned and every and every != "0m"
    }


def _entry_diff(current: Mapping[str, Any], entry: HeartbeatEntry) -> dict[str, Any]:
    """The merge patch that gives one existing (or new) config entry what ``entry`` wants."""
    if entry.partial:
        beat = _as_dict(current.get("heartbeat"))
        if "heartbeat" not in current:
            return {}
        keys = {k: v for k, v in entry.heartbeat.items() if beat.get(k) != v}
        changed = {k: v for k, v in keys.items() if v is not None or k in beat}
        return {"heartbeat": changed} if changed else {}
    diff: dict[str, Any] = {}
    if current.get("workspace") != entry.workspace:
        diff["workspace"] = entry.workspace
    if entry.name is not None and current.get("name") != entry.name:
        diff["name"] = entry.name
    block = _replace_block(_as_dict(current.get("heartbeat")), entry.heartbeat)
    if block or "heartbeat" not in current:
        diff["heartbeat"] = block if "heartbeat" in current else dict(entry.heartbeat)
    return diff


def plan_config_change(
    config: Mapping[str, Any],
    shape: ConfigShape,
    entries: Sequence[HeartbeatEntry],
    *,
    effective_every: Mapping[str, str | None] | None = None,
    include_defaults: bool = True,
    writable: WritableConfig | None = None,
) -> ConfigChange:
    """``effective_every`` is each agent's current heartbeat cadence as the gateway reports it
    (``health``), None when off; used only to keep operator agents beating.
    ``include_defaults`` adds the exec-host and heartbeat-visibility defaults when missing.
    ``writable`` (the gateway profile's decision) drops every key the release does not accept:
    defaults it has no path for, heartbeat keys its schema does not list."""
    existing = _existing_entries(config, shape)
    owned = {entry.agent_id for entry in entries}
    adds_blocks = any(not entry.partial for entry in entries)
    keepers = _implicit_keepers(existing, owned, effective_every or {}) if adds_blocks else {}
    changed: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.partial and entry.agent_id not in existing:
            continue
        if writable is not None:
            entry = HeartbeatEntry(
                entry.agent_id,
                entry.workspace,
                writable.heartbeat(entry.heartbeat),
                entry.partial,
                entry.name,
            )
        diff = _entry_diff(existing.get(entry.agent_id, {}), entry)
        if diff:
            changed[entry.agent_id] = diff
    for agent_id, block in keepers.items():
        changed[agent_id] = {"heartbeat": block}
    patch = _defaults_patch(config, writable) if include_defaults else {}
    if changed:
        patch["agents"] = _agents_patch(config, shape, changed)
    return ConfigChange(
        patch=patch or None,
        kept_heartbeating=tuple(keepers),
        changed_agents=tuple(sorted(changed)),
    )


def _agents_patch(
    config: Mapping[str, Any],
    shape: ConfigShape,
    changed: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    if shape == "agents.entries":
        patch: dict[str, Any] = {
            "entries": {agent_id: dict(diff) for agent_id, diff in changed.items()}
        }
        if _needs_explicit_ownership(config, changed):
            patch["ownership"] = "explicit"
        return patch
    # Legacy: arrays are replaced whole by a merge patch, so send the merged list.
    items = _as_dict(config.get("agents")).get("list")
    merged = copy.deepcopy(items) if isinstance(items, list) else []
    seen: set[str] = set()
    for item in merged:
        if isinstance(item, dict) and item.get("id") in changed:
            seen.add(item["id"])
            _apply_merge(item, changed[item["id"]])
    for agent_id, diff in changed.items():
        if agent_id not in seen:
            item = {"id": agent_id}
            _apply_merge(item, diff)
            merged.append(item)
    return {"list": merged}


def _needs_explicit_ownership(
    config: Mapping[str, Any], changed: Mapping[str, Mapping[str, Any]]
) -> bool:
    """The current release refuses a roster of several agents unless ``agents.ownership`` is
    "explicit" (or one entry carries the old ``default: true`` marker); its own agents.create
    sets it when a second agent joins, and so does a patch that adds agents."""
    agents = _as_dict(config.get("agents"))
    if agents.get("ownership"):
        return False
    entries = _as_dict(agents.get("entries"))
    if any(_as_dict(entry).get("default") is True for entry in entries.values()):
        return False
    return len(set(entries) | set(changed)) > 1


def _apply_merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _apply_merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
