"""The agent page shows workspace files without the agent's token (tokens are never shown
after they are minted)."""

from __future__ import annotations

from mission_control.agents.console_actions import TOKEN_HIDDEN, hide_token


def test_the_auth_token_line_is_hidden_and_the_rest_kept() -> None:
    secret = "mca_0123456789abcdef0123456789abcdef"
    text = f"# Tools\n\n- `BASE_URL=http://127.0.0.1:8000`\n- `AUTH_TOKEN={secret}`\n"
    shown = hide_token(text)
    assert shown is not None
    assert secret not in shown
    assert TOKEN_HIDDEN in shown
    assert "BASE_URL=http://127.0.0.1:8000" in shown


def test_files_without_a_token_are_unchanged() -> None:
    assert hide_token("# Soul\nBe kind.\n") == "# Soul\nBe kind.\n"
    assert hide_token(None) is None
