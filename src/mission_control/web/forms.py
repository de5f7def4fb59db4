"""Form values to the API's request models: blanks, checkboxes, dates, id lists, JSON.

Each helper returns plain Python values; the pydantic models then validate them exactly as
the API would, so a bad value gets the API's own message."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from mission_control.core.errors import InvalidInput
from mission_control.web.routing import Form


def text_or_none(form: Form, name: str) -> str | None:
    value = form.get(name).strip()
    return value or None


def checked(form: Form, name: str) -> bool:
    return form.get(name) in ("on", "true", "1")


def date_or_none(form: Form, name: str) -> datetime | None:
    """A date input (YYYY-MM-DD) as midnight UTC; a datetime-local input as that UTC time."""
    raw = form.get(name).strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as error:
        raise InvalidInput(
            f"{name}: not a date (use YYYY-MM-DD).",
            details=[{"field": name, "location": "body", "message": "not a date"}],
        ) from error
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def uuid_or_none(form: Form, name: str) -> uuid.UUID | None:
    raw = form.get(name).strip()
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError as error:
        raise InvalidInput(
            f"{name}: not an id.",
            details=[{"field": name, "location": "body", "message": "not a UUID"}],
        ) from error


def uuid_list(form: Form, name: str) -> list[uuid.UUID]:
    result = []
    for raw in form.all(name):
        try:
            result.append(uuid.UUID(raw))
        except ValueError as error:
            raise InvalidInput(
                f"{name}: {raw!r} is not an id.",
                details=[{"field": name, "location": "body", "message": "not a UUID"}],
            ) from error
    return result


def json_object_or_none(form: Form, name: str) -> dict[str, Any] | None:
    raw = form.get(name).strip()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"{name}: not valid JSON ({error.msg}).",
            details=[{"field": name, "location": "body", "message": "not JSON"}],
        ) from error
    if not isinstance(value, dict):
        raise InvalidInput(
            f'{name}: must be a JSON object, e.g. {{"signups": 100}}.',
            details=[{"field": name, "location": "body", "message": "not an object"}],
        )
    return value


def custom_field_values(form: Form, prefix: str = "cf.") -> dict[str, Any]:
    """``cf.<key>`` inputs; blank ones are left out (the API applies defaults)."""
    values: dict[str, Any] = {}
    for name, value in form.as_dict().items():
        if name.startswith(prefix) and value.strip():
            values[name[len(prefix) :]] = value.strip()
    return values
