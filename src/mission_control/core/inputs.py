"""Request input types shared by every domain: UTC instants the databases can store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC; naive values are read as UTC. Instants UTC cannot represent
    (9999-12-31T23:59:59-12:00 is in year 10000) are invalid input, not a 500."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("is out of range once converted to UTC") from error


# An instant with an explicit offset, normalised to UTC (request bodies).
UtcInstant = Annotated[AwareDatetime, AfterValidator(to_utc)]
# An instant where a missing offset means UTC (query filters such as ``since``).
UtcFilterInstant = Annotated[datetime, AfterValidator(to_utc)]
