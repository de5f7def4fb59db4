"""The one place that decides who may read or change what."""
