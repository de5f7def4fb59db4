"""People who operate Mission Control."""
