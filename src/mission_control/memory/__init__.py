"""Board and group memory: durable notes and the human-agent chat channel."""
