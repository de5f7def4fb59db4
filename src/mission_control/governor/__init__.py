"""The heartbeat governor (docs/governor.md): idle agents back off, busy agents wake up."""
