"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 20:02:15.997347
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "organizations",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
    )
    op.create_table(
        "users",
        sa.Column("auth_subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("preferred_name", sa.String(length=200), nullable=True),
        sa.Column("pronouns", sa.String(length=100), nullable=True),
        sa.Column("timezone", sa.String(length=100), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("auth_subject", name=op.f("uq_users_auth_subject")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "board_groups",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_board_groups_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_groups")),
        sa.UniqueConstraint(
            "organization_id", "slug", name=op.f("uq_board_groups_organization_id_slug")
        ),
    )
    op.create_table(
        "custom_field_definitions",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("field_type", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("validation_regex", sa.String(length=500), nullable=True),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column(
            "default_value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "field_type IN ('text', 'integer', 'decimal', 'boolean', 'date', 'datetime', 'url', 'json')",
            name=op.f("ck_custom_field_definitions_field_type_known"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_custom_field_definitions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_field_definitions")),
        sa.UniqueConstraint(
            "organization_id", "key", name=op.f("uq_custom_field_definitions_organization_id_key")
        ),
    )
    op.create_table(
        "gateways",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("token_ciphertext", sa.Text(), nullable=True),
        sa.Column("workspace_root", sa.String(length=1024), nullable=False),
        sa.Column("allow_insecure_tls", sa.Boolean(), nullable=False),
        sa.Column("disable_device_pairing", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_gateways_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateways")),
        sa.UniqueConstraint(
            "organization_id", "name", name=op.f("uq_gateways_organization_id_name")
        ),
    )
    op.create_table(
        "organization_invites",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column(
            "role",
            sa.Enum("owner", "admin", "member", name="member_role", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("all_boards_read", sa.Boolean(), nullable=False),
        sa.Column("all_boards_write", sa.Boolean(), nullable=False),
        sa.Column(
            "board_grants",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=200), nullable=False),
        sa.Column("invited_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("accepted_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["accepted_by_user_id"],
            ["users.id"],
            name=op.f("fk_organization_invites_accepted_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by_user_id"],
            ["users.id"],
            name=op.f("fk_organization_invites_invited_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_invites_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_invites")),
        sa.UniqueConstraint("token_id", name=op.f("uq_organization_invites_token_id")),
    )
    with op.batch_alter_table("organization_invites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_invites_accepted_by_user_id"),
            ["accepted_by_user_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_organization_invites_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_organization_invites_invited_by_user_id"),
            ["invited_by_user_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_organization_invites_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "organization_members",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("owner", "admin", "member", name="member_role", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("all_boards_read", sa.Boolean(), nullable=False),
        sa.Column("all_boards_write", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_members_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_organization_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_members")),
        sa.UniqueConstraint(
            "organization_id",
            "user_id",
            name=op.f("uq_organization_members_organization_id_user_id"),
        ),
    )
    with op.batch_alter_table("organization_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organization_members_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "tags",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("color", sa.String(length=20), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_tags_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("organization_id", "slug", name=op.f("uq_tags_organization_id_slug")),
    )
    op.create_table(
        "user_tokens",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=200), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_tokens")),
        sa.UniqueConstraint("token_id", name=op.f("uq_user_tokens_token_id")),
    )
    with op.batch_alter_table("user_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "boards",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("gateway_id", sa.Uuid(), nullable=True),
        sa.Column("board_group_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("board_type", sa.String(length=20), nullable=False),
        sa.Column("objective", sa.Text(), nullable=True),
        sa.Column(
            "success_metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("target_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("goal_confirmed", sa.Boolean(), nullable=False),
        sa.Column("require_approval_for_done", sa.Boolean(), nullable=False),
        sa.Column("require_review_before_done", sa.Boolean(), nullable=False),
        sa.Column("comment_required_for_review", sa.Boolean(), nullable=False),
        sa.Column("block_status_changes_with_pending_approval", sa.Boolean(), nullable=False),
        sa.Column("only_lead_can_change_status", sa.Boolean(), nullable=False),
        sa.Column("max_agents", sa.Integer(), nullable=False),
        sa.Column("governor_enabled", sa.Boolean(), nullable=False),
        sa.Column("governor_active_every", sa.String(length=20), nullable=False),
        sa.Column(
            "governor_ladder",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("governor_lead_cap", sa.String(length=20), nullable=False),
        sa.Column("governor_activity_trigger", sa.String(length=20), nullable=False),
        sa.Column("governor_active_window_minutes", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "board_type IN ('goal', 'general')", name=op.f("ck_boards_board_type_known")
        ),
        sa.CheckConstraint(
            "governor_activity_trigger IN ('chat', 'chat_or_tasks')",
            name=op.f("ck_boards_governor_activity_trigger_known"),
        ),
        sa.CheckConstraint("max_agents >= 0", name=op.f("ck_boards_max_agents_not_negative")),
        sa.ForeignKeyConstraint(
            ["board_group_id"],
            ["board_groups.id"],
            name=op.f("fk_boards_board_group_id_board_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["gateways.id"],
            name=op.f("fk_boards_gateway_id_gateways"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_boards_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boards")),
        sa.UniqueConstraint("organization_id", "slug", name=op.f("uq_boards_organization_id_slug")),
    )
    with op.batch_alter_table("boards", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_boards_board_group_id"), ["board_group_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_boards_gateway_id"), ["gateway_id"], unique=False)

    op.create_table(
        "agents",
        sa.Column("board_id", sa.Uuid(), nullable=True),
        sa.Column("gateway_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("openclaw_session_id", sa.String(length=300), nullable=True),
        sa.Column("is_board_lead", sa.Boolean(), nullable=False),
        sa.Column("token_id", sa.String(length=32), nullable=True),
        sa.Column("agent_token_hash", sa.String(length=200), nullable=True),
        sa.Column(
            "heartbeat_config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "identity_profile",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("identity_template", sa.Text(), nullable=True),
        sa.Column("soul_template", sa.Text(), nullable=True),
        sa.Column("provision_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provision_action", sa.String(length=20), nullable=True),
        sa.Column("provision_confirm_token_hash", sa.String(length=200), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("applied_generation", sa.Integer(), nullable=False),
        sa.Column("template_version", sa.String(length=64), nullable=True),
        sa.Column("last_provision_error", sa.Text(), nullable=True),
        sa.Column("last_provisioned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delete_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wake_attempts", sa.Integer(), nullable=False),
        sa.Column("last_wake_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkin_deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("auto_heartbeat_enabled", sa.Boolean(), nullable=False),
        sa.Column("auto_heartbeat_step", sa.Integer(), nullable=False),
        sa.Column("auto_heartbeat_off", sa.Boolean(), nullable=False),
        sa.Column("auto_heartbeat_every", sa.String(length=20), nullable=True),
        sa.Column("auto_heartbeat_last_active_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "NOT is_board_lead OR board_id IS NOT NULL", name=op.f("ck_agents_lead_has_board")
        ),
        sa.CheckConstraint("wake_attempts >= 0", name=op.f("ck_agents_wake_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_agents_board_id_boards"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["gateways.id"],
            name=op.f("fk_agents_gateway_id_gateways"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint(
            "gateway_id",
            "openclaw_session_id",
            name=op.f("uq_agents_gateway_id_openclaw_session_id"),
        ),
        sa.UniqueConstraint("token_id", name=op.f("uq_agents_token_id")),
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_agents_board_id_created_at", ["board_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_agents_checkin_deadline_at"), ["checkin_deadline_at"], unique=False
        )
        batch_op.create_index(
            "ix_agents_gateway_id_created_at", ["gateway_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_agents_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_agents_board_agent_name_per_gateway",
            ["gateway_id", "name_key"],
            unique=True,
            postgresql_where=sa.text("board_id IS NOT NULL"),
            sqlite_where=sa.text("board_id IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_agents_one_lead_per_board",
            ["board_id"],
            unique=True,
            postgresql_where=sa.text("is_board_lead"),
            sqlite_where=sa.text("is_board_lead = 1"),
        )
        batch_op.create_index(
            "uq_agents_one_main_per_gateway",
            ["gateway_id"],
            unique=True,
            postgresql_where=sa.text("board_id IS NULL"),
            sqlite_where=sa.text("board_id IS NULL"),
        )

    op.create_table(
        "board_access_grants",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("board_id", sa.Uuid(), nullable=False),
        sa.Column("can_read", sa.Boolean(), nullable=False),
        sa.Column("can_write", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_board_access_grants_board_id_boards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["organization_members.id"],
            name=op.f("fk_board_access_grants_member_id_organization_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_access_grants")),
        sa.UniqueConstraint(
            "member_id", "board_id", name=op.f("uq_board_access_grants_member_id_board_id")
        ),
    )
    with op.batch_alter_table("board_access_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_board_access_grants_board_id"), ["board_id"], unique=False
        )

    op.create_table(
        "board_custom_fields",
        sa.Column("board_id", sa.Uuid(), nullable=False),
        sa.Column("definition_id", sa.Uuid(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_board_custom_fields_board_id_boards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["custom_field_definitions.id"],
            name=op.f("fk_board_custom_fields_definition_id_custom_field_definitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("board_id", "definition_id", name=op.f("pk_board_custom_fields")),
    )
    with op.batch_alter_table("board_custom_fields", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_board_custom_fields_definition_id"), ["definition_id"], unique=False
        )

    op.create_table(
        "board_onboarding_sessions",
        sa.Column("board_id", sa.Uuid(), nullable=False),
        sa.Column("session_key", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "messages",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "draft",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'draft_ready', 'confirmed', 'abandoned')",
            name=op.f("ck_board_onboarding_sessions_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_board_onboarding_sessions_board_id_boards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_board_onboarding_sessions_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_onboarding_sessions")),
    )
    with op.batch_alter_table("board_onboarding_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_board_onboarding_sessions_board_id_status", ["board_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_board_onboarding_sessions_created_by_user_id"),
            ["created_by_user_id"],
            unique=False,
        )

    op.create_table(
        "approvals",
        sa.Column("board_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("action_type", sa.String(length=100), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("confidence", sa.Integer(), nullable=True),
        sa.Column(
            "rubric_scores",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("resolved_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sa.String(length=2000), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name=op.f("ck_approvals_status_known")
        ),
        sa.CheckConstraint(
            "confidence IS NULL OR (confidence >= 0 AND confidence <= 100)",
            name=op.f("ck_approvals_confidence_range"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_approvals_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_approvals_board_id_boards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_approvals_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_user_id"],
            ["users.id"],
            name=op.f("fk_approvals_resolved_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approvals_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index("ix_approvals_board_id_status", ["board_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_approvals_created_by_user_id"), ["created_by_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_approvals_resolved_by_user_id"), ["resolved_by_user_id"], unique=False
        )

    op.create_table(
        "board_group_memory",
        sa.Column("board_group_id", sa.Uuid(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("is_chat", sa.Boolean(), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=True),
        sa.Column("author_agent_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_agent_id"],
            ["agents.id"],
            name=op.f("fk_board_group_memory_author_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_board_group_memory_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["board_group_id"],
            ["board_groups.id"],
            name=op.f("fk_board_group_memory_board_group_id_board_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_group_memory")),
    )
    with op.batch_alter_table("board_group_memory", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_board_group_memory_author_agent_id"), ["author_agent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_board_group_memory_author_user_id"), ["author_user_id"], unique=False
        )
        batch_op.create_index(
            "ix_board_group_memory_group_id_is_chat_created_at",
            ["board_group_id", "is_chat", "created_at"],
            unique=False,
        )

    op.create_table(
        "board_memory",
        sa.Column("board_id", sa.Uuid(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("is_chat", sa.Boolean(), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=True),
        sa.Column("author_agent_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_agent_id"],
            ["agents.id"],
            name=op.f("fk_board_memory_author_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_board_memory_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_board_memory_board_id_boards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_memory")),
    )
    with op.batch_alter_table("board_memory", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_board_memory_author_agent_id"), ["author_agent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_board_memory_author_user_id"), ["author_user_id"], unique=False
        )
        batch_op.create_index(
            "ix_board_memory_board_id_is_chat_created_at",
            ["board_id", "is_chat", "created_at"],
            unique=False,
        )

    op.create_table(
        "board_webhooks",
        sa.Column("board_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("secret_ciphertext", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("target_agent_id", sa.Uuid(), nullable=True),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_board_webhooks_board_id_boards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_agent_id"],
            ["agents.id"],
            name=op.f("fk_board_webhooks_target_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_webhooks")),
        sa.UniqueConstraint("public_id", name=op.f("uq_board_webhooks_public_id")),
    )
    with op.batch_alter_table("board_webhooks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_board_webhooks_board_id"), ["board_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_board_webhooks_target_agent_id"), ["target_agent_id"], unique=False
        )

    op.create_table(
        "tasks",
        sa.Column("board_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_agent_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_agent_id", sa.Uuid(), nullable=True),
        sa.Column("in_progress_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "priority IN ('low', 'medium', 'high', 'urgent')", name=op.f("ck_tasks_priority_known")
        ),
        sa.CheckConstraint(
            "status IN ('inbox', 'in_progress', 'review', 'done')",
            name=op.f("ck_tasks_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["assigned_agent_id"],
            ["agents.id"],
            name=op.f("fk_tasks_assigned_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_tasks_board_id_boards"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by_agent_id"],
            ["agents.id"],
            name=op.f("fk_tasks_created_by_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_tasks_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tasks_assigned_agent_id"), ["assigned_agent_id"], unique=False
        )
        batch_op.create_index(
            "ix_tasks_board_id_created_at", ["board_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_tasks_board_id_status", ["board_id", "status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_tasks_created_by_agent_id"), ["created_by_agent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_created_by_user_id"), ["created_by_user_id"], unique=False
        )

    op.create_table(
        "activity_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("board_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("actor_type", sa.String(length=20), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_agent_id", sa.Uuid(), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_agent_id"],
            ["agents.id"],
            name=op.f("fk_activity_events_actor_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_activity_events_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_activity_events_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_activity_events_board_id_boards"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_activity_events_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_activity_events_task_id_tasks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_events")),
    )
    with op.batch_alter_table("activity_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activity_events_actor_agent_id"), ["actor_agent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_activity_events_actor_user_id"), ["actor_user_id"], unique=False
        )
        batch_op.create_index("ix_activity_events_agent_id_id", ["agent_id", "id"], unique=False)
        batch_op.create_index("ix_activity_events_board_id_id", ["board_id", "id"], unique=False)
        batch_op.create_index("ix_activity_events_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_activity_events_event_type", ["event_type"], unique=False)
        batch_op.create_index(
            "ix_activity_events_organization_id_id", ["organization_id", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_activity_events_task_id"), ["task_id"], unique=False)

    op.create_table(
        "approval_task_links",
        sa.Column("approval_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["approvals.id"],
            name=op.f("fk_approval_task_links_approval_id_approvals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_approval_task_links_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("approval_id", "task_id", name=op.f("pk_approval_task_links")),
    )
    with op.batch_alter_table("approval_task_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_approval_task_links_task_id"), ["task_id"], unique=False
        )
        batch_op.create_index(
            "uq_approval_task_links_one_pending_per_task",
            ["task_id"],
            unique=True,
            postgresql_where=sa.text("pending"),
            sqlite_where=sa.text("pending = 1"),
        )

    op.create_table(
        "board_webhook_payloads",
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("board_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column(
            "headers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature_valid", sa.Boolean(), nullable=True),
        sa.Column("memory_id", sa.Uuid(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_error", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_board_webhook_payloads_board_id_boards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["memory_id"],
            ["board_memory.id"],
            name=op.f("fk_board_webhook_payloads_memory_id_board_memory"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["board_webhooks.id"],
            name=op.f("fk_board_webhook_payloads_webhook_id_board_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_webhook_payloads")),
    )
    with op.batch_alter_table("board_webhook_payloads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_board_webhook_payloads_board_id"), ["board_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_board_webhook_payloads_memory_id"), ["memory_id"], unique=False
        )
        batch_op.create_index(
            "ix_board_webhook_payloads_webhook_id_received_at",
            ["webhook_id", "received_at"],
            unique=False,
        )

    op.create_table(
        "task_comments",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=True),
        sa.Column("author_agent_id", sa.Uuid(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_agent_id"],
            ["agents.id"],
            name=op.f("fk_task_comments_author_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_task_comments_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_comments_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_comments")),
    )
    with op.batch_alter_table("task_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_comments_author_agent_id"), ["author_agent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_task_comments_author_user_id"), ["author_user_id"], unique=False
        )
        batch_op.create_index(
            "ix_task_comments_task_id_created_at", ["task_id", "created_at"], unique=False
        )

    op.create_table(
        "task_custom_field_values",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("definition_id", sa.Uuid(), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["custom_field_definitions.id"],
            name=op.f("fk_task_custom_field_values_definition_id_custom_field_definitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_custom_field_values_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "task_id", "definition_id", name=op.f("pk_task_custom_field_values")
        ),
    )
    with op.batch_alter_table("task_custom_field_values", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_custom_field_values_definition_id"), ["definition_id"], unique=False
        )

    op.create_table(
        "task_dependencies",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("depends_on_task_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "task_id <> depends_on_task_id", name=op.f("ck_task_dependencies_not_self")
        ),
        sa.ForeignKeyConstraint(
            ["depends_on_task_id"],
            ["tasks.id"],
            name=op.f("fk_task_dependencies_depends_on_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_dependencies_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", "depends_on_task_id", name=op.f("pk_task_dependencies")),
    )
    with op.batch_alter_table("task_dependencies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_dependencies_depends_on_task_id"),
            ["depends_on_task_id"],
            unique=False,
        )

    op.create_table(
        "task_tags",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("tag_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_task_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_tags_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", "tag_id", name=op.f("pk_task_tags")),
    )
    with op.batch_alter_table("task_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_tags_tag_id"), ["tag_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("task_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_tags_tag_id"))

    op.drop_table("task_tags")
    with op.batch_alter_table("task_dependencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_dependencies_depends_on_task_id"))

    op.drop_table("task_dependencies")
    with op.batch_alter_table("task_custom_field_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_custom_field_values_definition_id"))

    op.drop_table("task_custom_field_values")
    with op.batch_alter_table("task_comments", schema=None) as batch_op:
        batch_op.drop_index("ix_task_comments_task_id_created_at")
        batch_op.drop_index(batch_op.f("ix_task_comments_author_user_id"))
        batch_op.drop_index(batch_op.f("ix_task_comments_author_agent_id"))

    op.drop_table("task_comments")
    with op.batch_alter_table("board_webhook_payloads", schema=None) as batch_op:
        batch_op.drop_index("ix_board_webhook_payloads_webhook_id_received_at")
        batch_op.drop_index(batch_op.f("ix_board_webhook_payloads_memory_id"))
        batch_op.drop_index(batch_op.f("ix_board_webhook_payloads_board_id"))

    op.drop_table("board_webhook_payloads")
    with op.batch_alter_table("approval_task_links", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_approval_task_links_one_pending_per_task",
            postgresql_where=sa.text("pending"),
            sqlite_where=sa.text("pending = 1"),
        )
        batch_op.drop_index(batch_op.f("ix_approval_task_links_task_id"))

    op.drop_table("approval_task_links")
    with op.batch_alter_table("activity_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activity_events_task_id"))
        batch_op.drop_index("ix_activity_events_organization_id_id")
        batch_op.drop_index("ix_activity_events_event_type")
        batch_op.drop_index("ix_activity_events_created_at")
        batch_op.drop_index("ix_activity_events_board_id_id")
        batch_op.drop_index("ix_activity_events_agent_id_id")
        batch_op.drop_index(batch_op.f("ix_activity_events_actor_user_id"))
        batch_op.drop_index(batch_op.f("ix_activity_events_actor_agent_id"))

    op.drop_table("activity_events")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_created_by_user_id"))
        batch_op.drop_index(batch_op.f("ix_tasks_created_by_agent_id"))
        batch_op.drop_index("ix_tasks_board_id_status")
        batch_op.drop_index("ix_tasks_board_id_created_at")
        batch_op.drop_index(batch_op.f("ix_tasks_assigned_agent_id"))

    op.drop_table("tasks")
    with op.batch_alter_table("board_webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_board_webhooks_target_agent_id"))
        batch_op.drop_index(batch_op.f("ix_board_webhooks_board_id"))

    op.drop_table("board_webhooks")
    with op.batch_alter_table("board_memory", schema=None) as batch_op:
        batch_op.drop_index("ix_board_memory_board_id_is_chat_created_at")
        batch_op.drop_index(batch_op.f("ix_board_memory_author_user_id"))
        batch_op.drop_index(batch_op.f("ix_board_memory_author_agent_id"))

    op.drop_table("board_memory")
    with op.batch_alter_table("board_group_memory", schema=None) as batch_op:
        batch_op.drop_index("ix_board_group_memory_group_id_is_chat_created_at")
        batch_op.drop_index(batch_op.f("ix_board_group_memory_author_user_id"))
        batch_op.drop_index(batch_op.f("ix_board_group_memory_author_agent_id"))

    op.drop_table("board_group_memory")
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approvals_resolved_by_user_id"))
        batch_op.drop_index(batch_op.f("ix_approvals_created_by_user_id"))
        batch_op.drop_index("ix_approvals_board_id_status")
        batch_op.drop_index(batch_op.f("ix_approvals_agent_id"))

    op.drop_table("approvals")
    with op.batch_alter_table("board_onboarding_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_board_onboarding_sessions_created_by_user_id"))
        batch_op.drop_index("ix_board_onboarding_sessions_board_id_status")

    op.drop_table("board_onboarding_sessions")
    with op.batch_alter_table("board_custom_fields", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_board_custom_fields_definition_id"))

    op.drop_table("board_custom_fields")
    with op.batch_alter_table("board_access_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_board_access_grants_board_id"))

    op.drop_table("board_access_grants")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_agents_one_main_per_gateway",
            postgresql_where=sa.text("board_id IS NULL"),
            sqlite_where=sa.text("board_id IS NULL"),
        )
        batch_op.drop_index(
            "uq_agents_one_lead_per_board",
            postgresql_where=sa.text("is_board_lead"),
            sqlite_where=sa.text("is_board_lead = 1"),
        )
        batch_op.drop_index(
            "uq_agents_board_agent_name_per_gateway",
            postgresql_where=sa.text("board_id IS NOT NULL"),
            sqlite_where=sa.text("board_id IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_agents_status"))
        batch_op.drop_index("ix_agents_gateway_id_created_at")
        batch_op.drop_index(batch_op.f("ix_agents_checkin_deadline_at"))
        batch_op.drop_index("ix_agents_board_id_created_at")

    op.drop_table("agents")
    with op.batch_alter_table("boards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_boards_gateway_id"))
        batch_op.drop_index(batch_op.f("ix_boards_board_group_id"))

    op.drop_table("boards")
    with op.batch_alter_table("user_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_tokens_user_id"))

    op.drop_table("user_tokens")
    op.drop_table("tags")
    with op.batch_alter_table("organization_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_members_user_id"))

    op.drop_table("organization_members")
    with op.batch_alter_table("organization_invites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_invites_organization_id"))
        batch_op.drop_index(batch_op.f("ix_organization_invites_invited_by_user_id"))
        batch_op.drop_index(batch_op.f("ix_organization_invites_email"))
        batch_op.drop_index(batch_op.f("ix_organization_invites_accepted_by_user_id"))

    op.drop_table("organization_invites")
    op.drop_table("gateways")
    op.drop_table("custom_field_definitions")
    op.drop_table("board_groups")
    op.drop_table("users")
    op.drop_table("organizations")
