"""Gateway table: where a gateway is, how to reach it, and its write-only secret."""

from __future__ import annotations

import uuid

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mission_control.core.db import Base, Timestamps, UUIDPrimaryKey


class Gateway(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "gateways"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2048))
    # Encrypted with the installation's secret key; never returned by any read API.
    token_ciphertext: Mapped[str | None] = mapped_column(Text)
    workspace_root: Mapped[str] = mapped_column(String(1024))
    allow_insecure_tls: Mapped[bool] = mapped_column(Boolean, default=False)
    disable_device_pairing: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def has_token(self) -> bool:
        return self.token_ciphertext is not None
