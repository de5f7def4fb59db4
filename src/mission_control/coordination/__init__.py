"""Coordination between agents through their gateways (docs/coordination.md)."""
