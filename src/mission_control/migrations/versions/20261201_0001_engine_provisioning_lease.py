"""Agents: provisioning parking and lease columns (issue 11 convergence, issue 19 batching).

Revision ID: 20261201_0001_engine
Revises: 0003_onboarding
Create Date: 2026-12-01 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_0001_engine"
down_revision: str | None = "0003_onboarding"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provision_parked_generation", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("provision_flags", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("provision_lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("provision_lease_until", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("provision_lease_until")
        batch_op.drop_column("provision_lease_owner")
        batch_op.drop_column("provision_flags")
        batch_op.drop_column("provision_parked_generation")
