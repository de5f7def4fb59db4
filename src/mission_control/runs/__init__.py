"""Task runs: a board task executed in an isolated child session of its agent (docs/runs.md)."""
