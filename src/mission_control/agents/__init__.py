"""Agents: board leads, board workers and gateway-main agents, and their lifecycle state."""
