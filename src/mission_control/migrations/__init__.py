"""Alembic migration scripts for Mission Control's schema."""
