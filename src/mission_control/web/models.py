"""Console sign-in sessions, stored server side: the cookie holds a random secret, the table
its SHA-256 digest, so a leaked database row cannot be replayed and sign-out revokes at once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from mission_control.core.clock import utcnow
from mission_control.core.db import Base, UUIDPrimaryKey
from mission_control.core.types import UTCDateTime


class ConsoleSession(UUIDPrimaryKey, Base):
    """One signed-in browser. Ends at ``expires_at`` or when ``revoked_at`` is set."""

    __tablename__ = "console_sessions"

    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # The personal API token pasted at sign-in (none for the operator token): revoking that
    # token ends the console sessions it opened.
    user_token_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user_tokens.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
