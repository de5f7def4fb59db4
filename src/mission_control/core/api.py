"""Constants of the public HTTP API."""

API_PREFIX = "/api/v1"
