"""Memory tables: board memory items (notes and chat) and board-group memory items."""

from __future__ import annotations

import uuid

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mission_control.core.db import Base, Timestamps, UUIDPrimaryKey
from mission_control.core.types import JSONType


class BoardMemory(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "board_memory"
    __table_args__ = (
        Index("ix_board_memory_board_id_is_chat_created_at", "board_id", "is_chat", "created_at"),
    )

    board_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source: Mapped[str | None] = mapped_column(String(200))
    is_chat: Mapped[bool] = mapped_column(Boolean, default=False)
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    author_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )


class BoardGroupMemory(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "board_group_memory"
    __table_args__ = (
        Index(
            "ix_board_group_memory_group_id_is_chat_created_at",
            "board_group_id",
            "is_chat",
            "created_at",
        ),
    )

    board_group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("board_groups.id", ondelete="CASCADE")
    )
    content: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source: Mapped[str | None] = mapped_column(String(200))
    is_chat: Mapped[bool] = mapped_column(Boolean, default=False)
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    author_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
