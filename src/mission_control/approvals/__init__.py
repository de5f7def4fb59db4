"""Approvals that gate risky work until a user resolves them."""
