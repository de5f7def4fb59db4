"""The heartbeat governor (SPEC 10): idle agents back off, busy agents wake up."""
