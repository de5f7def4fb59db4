"""Coordination between agents through their gateways (SPEC 8.0-8.6)."""
