"""Issue 11: secrets never leave through gateway text (transcripts, session lists, messages)."""

from __future__ import annotations

import secrets

from mission_control.core.redaction import REDACTED, redact
from mission_control.core.security import USER_TOKEN_PREFIX, mint_token


def test_agent_and_user_tokens_are_redacted_by_shape() -> None:
    agent = mint_token().raw
    user = mint_token(USER_TOKEN_PREFIX).raw
    transcript = [
        {"role": "user", "content": f"my token is {agent}."},
        {"role": "assistant", "content": [{"type": "text", "text": f"X-Agent-Token:{agent}"}]},
        {"role": "tool", "content": f"curl -H 'Authorization: Bearer {user}'", "n": 3},
    ]
    cleaned = redact(transcript)
    text = repr(cleaned)
    assert agent not in text
    assert user not in text
    assert cleaned[0]["content"] == f"my token is {REDACTED}."
    assert cleaned[2]["n"] == 3
    # Words that merely start alike are left alone.
    assert redact("mca_ is the prefix; mcabc_1") == "mca_ is the prefix; mcabc_1"


def test_known_secrets_are_redacted_by_value_keys_included() -> None:
    operator = secrets.token_urlsafe(48)
    gateway = secrets.token_hex(24)
    value = {f"k{gateway}": f"operator={operator} gateway={gateway}", "short": "abc"}
    cleaned = redact(value, [operator, gateway, None, "abc"])
    assert cleaned == {f"k{REDACTED}": f"operator={REDACTED} gateway={REDACTED}", "short": "abc"}
