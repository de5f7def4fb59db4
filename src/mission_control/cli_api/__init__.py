"""``missionctl``'s everyday commands over a running server's HTTP API (status, boards, agents,
tasks, approvals, gateways, tokens)."""

from mission_control.cli_api.commands import register

__all__ = ["register"]
