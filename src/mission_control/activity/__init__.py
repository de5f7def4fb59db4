"""The append-only activity log: every lifecycle step, failure and decision."""
