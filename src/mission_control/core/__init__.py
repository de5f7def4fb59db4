"""Cross-cutting pieces: database, errors, auth, security, logging, metrics, clock."""
