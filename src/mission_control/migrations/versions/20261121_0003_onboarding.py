"""At most one open onboarding session per board (partial unique index).

Revision ID: 0003_onboarding
Revises: 0002
Create Date: 2026-11-21 22:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_onboarding"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN = "status IN ('active', 'draft_ready')"


def upgrade() -> None:
    with op.batch_alter_table("board_onboarding_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "uq_board_onboarding_sessions_open_per_board",
            ["board_id"],
            unique=True,
            postgresql_where=sa.text(_OPEN),
            sqlite_where=sa.text(_OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("board_onboarding_sessions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_board_onboarding_sessions_open_per_board",
            postgresql_where=sa.text(_OPEN),
            sqlite_where=sa.text(_OPEN),
        )
