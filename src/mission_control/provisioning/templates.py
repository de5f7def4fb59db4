"""Renders an agent's workspace files and heartbeat prompt from our Jinja2 templates
(docs/provisioning.md#workspace-files)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache
from pathlib import Path

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    nodes,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mission_control.provisioning.context import AgentKind, context_keys

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "workspace_templates"

BASE_FILES = ("AGENTS.md", "IDENTITY.md", "MEMORY.md", "SOUL.md", "USER.md")
LEGACY_ONLY_FILES = ("HEARTBEAT.md", "TOOLS.md")
BOOTSTRAP = "BOOTSTRAP.md"

# Characters per rendered file of our own templates (the gateway cuts every workspace file at
# agents.defaults.bootstrapMaxChars, 20,000 by default): tests render every kind on both gateway
# kinds and hold each file to this. User text (USER.md notes, a role soul, overrides) comes on top.
SIZE_BUDGET: Mapping[str, int] = {
    "AGENTS.md": 12_000,
    "TOOLS.md": 1_500,
    "HEARTBEAT.md": 1_200,
    "BOOTSTRAP.md": 1_000,
}
DEFAULT_SIZE_BUDGET = 2_500


def size_budget(name: str) -> int:
    return SIZE_BUDGET.get(name, DEFAULT_SIZE_BUDGET)


# Files the agent may edit: written when absent, left alone on update
# (docs/provisioning.md#files-the-agent-may-edit). The gateway-main agent's USER.md follows the
# organisation's owner, so it is rewritten.
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
    """docs/provisioning.md#bootstrapmd-on-update. ``listing`` maps existing file names to
    their gateway "missing" flag.

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


# An agent's IDENTITY.md / SOUL.md override is written by an organisation admin, a board lead
# or the agent itself (SOUL write), so it is untrusted text: it may substitute variables, apply
# a few size-safe filters and branch with if, nothing else (no loops, calls, attribute access
# or arithmetic: those reach Python objects or let a short template grow without bound). It is
# also rendered in Jinja's sandbox, in case a construct slips past the check.
_OVERRIDE_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.Not,
    nodes.And,
    nodes.Or,
    nodes.Compare,
    nodes.Operand,
    nodes.Concat,
    nodes.Filter,
    nodes.Test,
)
_OVERRIDE_FILTERS = frozenset({"upper", "lower", "title", "capitalize", "trim", "default", "d"})
_OVERRIDE_TESTS = frozenset({"defined", "undefined", "none", "eq", "ne", "in"})


class OverrideTemplateError(TemplateError, ValueError):
    """An override template that is refused or does not render; the message says why."""


@lru_cache(maxsize=1)
def override_environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,  # Markdown for agents, not HTML
        keep_trailing_newline=True,
    )


def check_override(source: str) -> None:
    """Raises OverrideTemplateError when ``source`` is not a template an agent may have."""
    try:
        tree = override_environment().parse(source)
    except TemplateSyntaxError as exc:
        raise OverrideTemplateError(
            f"Template syntax error on line {exc.lineno}: {exc.message}"
        ) from exc
    for node in (tree, *tree.find_all(nodes.Node)):
        _check_override_node(node)


_ARITHMETIC = ("Add", "Sub", "Mul", "Div", "FloorDiv", "Mod", "Pow", "Neg", "Pos")
_CONSTRUCTS = {
    "Call": "function or method calls",
    "For": "loops",
    "Getattr": "attribute access",
    "Getitem": "indexing",
    "Include": "other templates",
    "Import": "other templates",
    "FromImport": "other templates",
    "Extends": "other templates",
    "Assign": "assignments",
    "AssignBlock": "assignments",
    "Macro": "macros",
    "CallBlock": "macros",
    **dict.fromkeys(_ARITHMETIC, "arithmetic"),
}


def literal_template(text: str) -> str:
    """An override template that renders to exactly ``text`` (for text an agent wrote, such as
    its SOUL): every ``{`` becomes an expression printing it, so nothing in ``text`` is
    interpreted, whatever it contains."""
    return text.replace("{", "{{ '{' }}")


def _check_override_node(node: nodes.Node) -> None:
    allowed = (
        "Use {{ variable }}, the filters " + ", ".join(sorted(_OVERRIDE_FILTERS)) + " and {% if %}."
    )
    if not isinstance(node, _OVERRIDE_NODES):
        what = _CONSTRUCTS.get(type(node).__name__, type(node).__name__.lower())
        raise OverrideTemplateError(f"Templates may not use {what} (line {node.lineno}). {allowed}")
    if isinstance(node, nodes.Name) and node.name not in context_keys():
        raise OverrideTemplateError(
            f"Unknown variable {node.name!r} (line {node.lineno}). Known variables: "
            + ", ".join(sorted(context_keys()))
            + "."
        )
    if isinstance(node, nodes.Filter) and node.name not in _OVERRIDE_FILTERS:
        raise OverrideTemplateError(
            f"Filter {node.name!r} is not allowed (line {node.lineno}). {allowed}"
        )
    if isinstance(node, nodes.Test) and node.name not in _OVERRIDE_TESTS:
        raise OverrideTemplateError(
            f"Test {node.name!r} is not allowed (line {node.lineno}); use one of "
            + ", ".join(sorted(_OVERRIDE_TESTS))
            + "."
        )


def render_override(source: str, context: Mapping[str, str]) -> str:
    check_override(source)
    return override_environment().from_string(source).render(**context).strip()


def render_workspace(
    context: Mapping[str, str],
    *,
    names: Collection[str],
    identity_template: str | None = None,
    soul_template: str | None = None,
) -> dict[str, str]:
    """Rendered content per file name, in name order (overrides included,
    docs/provisioning.md#overrides)."""
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
