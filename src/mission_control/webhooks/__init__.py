"""Inbound webhooks: external systems post to a board; agents are told to act."""
