"""An agent's identity and soul override templates are untrusted text: substitution, a few
filters and if-blocks render; anything that reaches Python objects or grows without bound is
refused with a message naming it."""

from __future__ import annotations

import pytest

from mission_control.provisioning.templates import (
    OverrideTemplateError,
    check_override,
    render_override,
)

CONTEXT = {"agent_name": "Ann", "board_type": "general", "identity_role": ""}


def test_substitution_filters_and_conditions_render() -> None:
    source = (
        "I am {{ agent_name|upper }}, {{ identity_role|default('a generalist', true) }}."
        "{% if board_type == 'general' %} General board.{% else %} Other.{% endif %}"
        "{% if identity_role is defined %} Role known.{% endif %}"
    )
    assert render_override(source, CONTEXT) == "I am ANN, a generalist. General board. Role known."


@pytest.mark.parametrize(
    ("source", "refused_for"),
    [
        ("{{ cycler.__init__.__globals__.os.getcwd() }}", "function or method calls"),
        ("{{ agent_name.__class__ }}", "attribute access"),
        ("{{ agent_name['x'] }}", "indexing"),
        ("{% for i in range(9) %}{% for j in range(9) %}x{% endfor %}{% endfor %}", "loops"),
        ("{{ 'a' * 1000000000 }}", "arithmetic"),
        ("{{ agent_name|center(1000000000) }}", "Filter 'center'"),
        ("{% include 'AGENTS.md.j2' %}", "other templates"),
        ("{% set x = agent_name %}{{ x }}", "assignments"),
        ("{% macro m() %}x{% endmacro %}", "macros"),
        ("{{ nope }}", "Unknown variable 'nope'"),
        ("{% if agent_name is callable %}x{% endif %}", "Test 'callable'"),
        ("{{ agent_name ", "syntax error on line 1"),
    ],
)
def test_dangerous_or_broken_templates_are_refused(source: str, refused_for: str) -> None:
    with pytest.raises(OverrideTemplateError, match=refused_for):
        check_override(source)
    with pytest.raises(OverrideTemplateError):
        render_override(source, CONTEXT)
