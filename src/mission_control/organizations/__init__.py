"""Organisations, memberships, board grants and invites: who may see and change what."""
