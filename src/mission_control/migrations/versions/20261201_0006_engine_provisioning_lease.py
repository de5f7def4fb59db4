"""Agents: provisioning parking and lease columns (issue 11 convergence, issue 19 batching).

Revision ID: 0006_engine_provisioning
Revises: 0005_runs
Create Date: 2026-12-01 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_engine_provisioning"
down_revision: str | None = "0005_runs"
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
