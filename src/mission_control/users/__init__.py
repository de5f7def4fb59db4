"""People who operate Mission Control, and their personal API tokens."""
