"""Renders an agent's workspace files and heartbeat prompt from our Jinja2 templates (SPEC 3)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from mission_control.provisioning.context import AgentKind

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "workspace_templates"

BASE_FILES = ("AGENTS.md", "IDENTITY.md", "MEMORY.md", "SOUL.md", "USER.md")
LEGACY_ONLY_FILES = ("HEARTBEAT.md", "TOOLS.md")
BOOTSTRAP = "BOOTSTRAP.md"

# Files the agent may edit: written when absent, left alone on update (SPEC 3.1). The
# gateway-main agent's USER.md follows the organisation's owner, so it is rewritten.
PRESERVED_ON_UPDATE: Mapping[AgentKind, frozenset[str]] = {
    "board_worker": frozenset({"USER.md", "MEMORY.md"}),
    "board_lead": frozenset({"USER.md", "MEMORY.md"}),
    "gateway_main": frozenset({"MEMORY.md"}),
}


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=False,  # noqa: S701  (Markdown for agents, not HTML)
        keep_trailing_newline=True,
    )


def file_names(kind: AgentKind, allowed: Collection[str], *, include_bootstrap: bool) -> list[str]:
    """The files this agent kind gets on a gateway that accepts ``allowed`` names."""
    names = list(BASE_FILES)
    if kind == "board_lead" and include_bootstrap:
        names.append(BOOTSTRAP)
    names.extend(name for name in LEGACY_ONLY_FILES if name in allowed)
    return sorted(name for name in names if name in allowed)


def include_bootstrap(action: str, force: bool, listing: Mapping[str, bool] | None) -> bool:
    """SPEC 3.4. ``listing`` maps existing file names to their gateway "missing" flag.

    A lead that ran and deleted its BOOTSTRAP.md does not get it back on routine updates.
    """
    if action != "update" or force:
        return True
    if not listing:
        return False
    if BOOTSTRAP not in listing:
        return True
    return not listing[BOOTSTRAP]


def _render(template_name: str, context: Mapping[str, str]) -> str:
    return environment().get_template(template_name).render(**context).strip()


def render_override(source: str, context: Mapping[str, str]) -> str:
    return environment().from_string(source).render(**context).strip()


def render_workspace(
    context: Mapping[str, str],
    *,
    names: Collection[str],
    identity_template: str | None = None,
    soul_template: str | None = None,
) -> dict[str, str]:
    """Rendered content per file name, in name order (SPEC 3.2 overrides included)."""
    overrides = {"IDENTITY.md": identity_template, "SOUL.md": soul_template}
    tools_inline = "false" if "TOOLS.md" in names else "true"
    full = {**context, "tools_in_agents_md": tools_inline}
    rendered: dict[str, str] = {}
    for name in sorted(names):
        override = (overrides.get(name) or "").strip()
        if override:
            rendered[name] = render_override(override, full)
        else:
            rendered[name] = _render(f"{name}.j2", full)
    return rendered


def render_heartbeat_prompt(context: Mapping[str, str]) -> str:
    """The per-beat instructions, sent verbatim by the gateway on each heartbeat."""
    return _render("HEARTBEAT.md.j2", {**context, "tools_in_agents_md": "true"})
