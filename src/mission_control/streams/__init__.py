"""Live updates over Server-Sent Events, fed by the event bus and scoped by access."""
