"""Typed custom field values: parse, normalise and validate a value against its definition.

Values are stored as JSON: decimals as strings (no float rounding), dates and datetimes as
ISO 8601 text (datetimes in UTC).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlparse

from mission_control.core.errors import InvalidInput

MAX_TEXT_LENGTH = 10_000
# Types whose stored form is text the validation regex can be applied to.
REGEX_TYPES = frozenset({"text", "url", "integer", "decimal", "date", "datetime"})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A definition as bound to one board (the binding may override ``required``)."""

    key: str
    field_type: str
    required: bool
    validation_regex: str | None
    default_value: Any


class FieldValueError(ValueError):
    """The value does not fit the field; the message says what would."""


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise FieldValueError("must be a string")
    if len(value) > MAX_TEXT_LENGTH:
        raise FieldValueError(f"must be at most {MAX_TEXT_LENGTH} characters")
    return value


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldValueError("must be an integer")
    return value


def _decimal(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FieldValueError("must be a decimal number (a number or a numeric string)")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as error:
        raise FieldValueError("must be a decimal number, e.g. 12.50") from error
    if not number.is_finite():
        raise FieldValueError("must be a finite decimal number")
    return str(number)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise FieldValueError("must be true or false")
    return value


def _date(value: Any) -> str:
    try:
        return date.fromisoformat(_text(value)).isoformat()
    except ValueError as error:
        raise FieldValueError("must be a date like 2026-12-31") from error


def _datetime(value: Any) -> str:
    try:
        parsed = datetime.fromisoformat(_text(value))
    except ValueError as error:
        raise FieldValueError("must be a date and time like 2026-12-31T09:00:00Z") from error
    if parsed.tzinfo is None:
        raise FieldValueError("must include a time zone, e.g. 2026-12-31T09:00:00Z")
    try:
        return parsed.astimezone(UTC).isoformat()
    except OverflowError as error:
        raise FieldValueError("is out of range once converted to UTC") from error


def _url(value: Any) -> str:
    text = _text(value).strip()
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise FieldValueError("must be an http:// or https:// URL with a host")
    return text


def _json(value: Any) -> Any:
    return value


_PARSERS = {
    "text": _text,
    "integer": _integer,
    "decimal": _decimal,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "url": _url,
    "json": _json,
}


def normalise(field_type: str, validation_regex: str | None, value: Any) -> Any:
    """The stored form of ``value``; raises FieldValueError when it does not fit."""
    stored = _PARSERS[field_type](value)
    if (
        validation_regex
        and field_type in REGEX_TYPES
        and re.fullmatch(validation_regex, str(stored)) is None
    ):
        raise FieldValueError(f"must match the pattern {validation_regex}")
    return stored


def check_regex(pattern: str | None, field_type: str) -> None:
    """A definition's pattern must compile and apply to its type."""
    if pattern is None:
        return
    if field_type not in REGEX_TYPES:
        raise FieldValueError(f"a {field_type} field cannot have a validation regex")
    try:
        re.compile(pattern)
    except re.error as error:
        raise FieldValueError(f"is not a valid regular expression ({error})") from error


def _invalid(key: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"Custom field {key!r} {message}.",
        code="invalid_custom_field",
        details=[{"field": f"custom_fields.{key}", "location": "body", "message": message}],
    )


def validate_values(
    specs: Mapping[str, FieldSpec],
    values: Mapping[str, Any],
    *,
    creating: bool,
) -> dict[str, Any]:
    """Normalised values to store; on create, defaults fill the gaps and required fields must
    end up set. ``None`` clears a field (not allowed for required ones)."""
    result: dict[str, Any] = {}
    for key, value in values.items():
        spec = specs.get(key)
        if spec is None:
            known = ", ".join(sorted(specs)) or "none"
            raise _invalid(key, f"is not a field of this board (its fields: {known})")
        if value is None:
            if spec.required:
                raise _invalid(key, "is required and cannot be cleared")
            result[key] = None
            continue
        try:
            result[key] = normalise(spec.field_type, spec.validation_regex, value)
        except FieldValueError as error:
            raise _invalid(key, str(error)) from error
    if creating:
        for key, spec in specs.items():
            if key in result:
                continue
            if spec.default_value is not None:
                result[key] = spec.default_value
            elif spec.required:
                raise _invalid(key, "is required")
    return result
