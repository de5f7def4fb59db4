"""Mission Control: a control plane for fleets of AI agents on OpenClaw gateways."""

__version__ = "0.1.0"
