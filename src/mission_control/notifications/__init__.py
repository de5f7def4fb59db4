"""Messages to agents: a durable outbox delivered through the gateway, retried until sent."""
