"""OpenClaw gateways registered by an organisation."""
