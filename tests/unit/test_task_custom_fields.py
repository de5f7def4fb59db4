"""Custom field values: each type's parsing and stored form, patterns, defaults, required."""

from __future__ import annotations

from typing import Any

import pytest

from mission_control.core.errors import InvalidInput
from mission_control.tasks.custom_fields import (
    FieldSpec,
    FieldValueError,
    check_regex,
    normalise,
    validate_values,
)


@pytest.mark.parametrize(
    ("field_type", "value", "stored"),
    [
        ("text", "hello", "hello"),
        ("integer", -3, -3),
        ("decimal", 1.5, "1.5"),
        ("decimal", "0.10", "0.10"),
        ("decimal", 7, "7"),
        ("boolean", False, False),
        ("date", "2026-02-28", "2026-02-28"),
        ("datetime", "2026-02-28T23:30:00-01:00", "2026-03-01T00:30:00+00:00"),
        ("url", " https://example.test/a?b=c ", "https://example.test/a?b=c"),
        ("json", [1, {"a": None}], [1, {"a": None}]),
    ],
)
def test_valid_values(field_type: str, value: Any, stored: Any) -> None:
    assert normalise(field_type, None, value) == stored


@pytest.mark.parametrize(
    ("field_type", "value"),
    [
        ("text", 1),
        ("text", "x" * 10_001),
        ("integer", 1.0),
        ("integer", False),
        ("decimal", True),
        ("decimal", "Infinity"),
        ("decimal", [1]),
        ("boolean", 0),
        ("date", "2026-02-30"),
        ("datetime", "yesterday"),
        ("datetime", "2026-02-28T10:00:00"),
        ("datetime", "9999-12-31T23:59:59-14:00"),
        ("url", "example.test"),
        ("url", "javascript:alert(1)"),
    ],
)
def test_invalid_values(field_type: str, value: Any) -> None:
    with pytest.raises(FieldValueError):
        normalise(field_type, None, value)


def test_pattern_must_match_the_whole_stored_text() -> None:
    assert normalise("integer", r"\d{3}", 123) == 123
    with pytest.raises(FieldValueError, match="pattern"):
        normalise("integer", r"\d{3}", 1234)
    with pytest.raises(FieldValueError):
        normalise("text", "[a-z]+", "abc1")


def test_regex_checks() -> None:
    check_regex(r"^\w+$", "text")
    check_regex(None, "json")
    with pytest.raises(FieldValueError):
        check_regex("(", "text")
    with pytest.raises(FieldValueError):
        check_regex(".*", "boolean")


def test_defaults_and_required() -> None:
    specs = {
        "size": FieldSpec("size", "integer", required=True, validation_regex=None, default_value=1),
        "owner": FieldSpec(
            "owner", "text", required=True, validation_regex=None, default_value=None
        ),
        "note": FieldSpec(
            "note", "text", required=False, validation_regex=None, default_value=None
        ),
    }
    assert validate_values(specs, {"owner": "me"}, creating=True) == {"size": 1, "owner": "me"}
    assert validate_values(specs, {"note": None}, creating=False) == {"note": None}
    with pytest.raises(InvalidInput) as missing:
        validate_values(specs, {}, creating=True)
    assert missing.value.details == [
        {"field": "custom_fields.owner", "location": "body", "message": "is required"}
    ]
    with pytest.raises(InvalidInput):
        validate_values(specs, {"owner": None}, creating=False)
