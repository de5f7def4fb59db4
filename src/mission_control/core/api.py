"""Constants of the public HTTP API."""

API_PREFIX = "/api/v1"

# OpenAPI tags naming the agent kinds allowed to call an agent-facing operation, so each kind
# can find its toolset in the OpenAPI document.
AGENT_LEAD = "agent-lead"
AGENT_WORKER = "agent-worker"
AGENT_MAIN = "agent-main"
AGENT_KINDS: tuple[str, ...] = (AGENT_LEAD, AGENT_WORKER, AGENT_MAIN)
BOARD_AGENT_KINDS: tuple[str, ...] = (AGENT_LEAD, AGENT_WORKER)
