"""A parsed urlencoded form, as pages and templates read it."""

from __future__ import annotations


class Form:
    """A parsed urlencoded form: ``get`` for one value, ``all`` for repeated fields."""

    def __init__(self, values: dict[str, list[str]]) -> None:
        self._values = values

    def get(self, name: str, default: str = "") -> str:
        items = self._values.get(name)
        return items[0] if items else default

    def all(self, name: str) -> list[str]:
        return [item for item in self._values.get(name, []) if item != ""]

    def has(self, name: str) -> bool:
        return name in self._values

    def __bool__(self) -> bool:
        """True when a form was sent (templates then show its values, not the stored ones)."""
        return bool(self._values)

    def as_dict(self) -> dict[str, str]:
        return {name: items[0] for name, items in self._values.items() if items}
