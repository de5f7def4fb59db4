"""Template syncs as durable intent: template_syncs (issue 12).

Revision ID: 0007_template_syncs
Revises: 0006_engine_provisioning
Create Date: 2026-12-02 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_template_syncs"
down_revision: str | None = "0006_engine_provisioning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "template_syncs",
        sa.Column("gateway_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("include_main", sa.Boolean(), nullable=False),
        sa.Column("reset_sessions", sa.Boolean(), nullable=False),
        sa.Column("rotate_tokens", sa.Boolean(), nullable=False),
        sa.Column("force_bootstrap", sa.Boolean(), nullable=False),
        sa.Column("board_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "report",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')",
            name=op.f("ck_template_syncs_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_template_syncs_board_id_boards"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["gateways.id"],
            name=op.f("fk_template_syncs_gateway_id_gateways"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_template_syncs_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"],
            ["users.id"],
            name=op.f("fk_template_syncs_requested_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_syncs")),
    )
    with op.batch_alter_table("template_syncs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_template_syncs_gateway_id_requested_at", ["gateway_id", "requested_at"]
        )
        batch_op.create_index("ix_template_syncs_status_lease_until", ["status", "lease_until"])


def downgrade() -> None:
    with op.batch_alter_table("template_syncs", schema=None) as batch_op:
        batch_op.drop_index("ix_template_syncs_status_lease_until")
        batch_op.drop_index("ix_template_syncs_gateway_id_requested_at")
    op.drop_table("template_syncs")
