"""Points a running OpenClaw gateway at the scripted model server, live (E2E.md "Gateway
configuration that worked"): a custom OpenAI-compatible provider, that model as every agent's
default, host shell execution without approval prompts, and a bounded run time."""

from __future__ import annotations

from typing import Any

from mission_control.gateway.client import GatewayClient
from mission_control.gateway.dev import PORT_SPAN, DevGateway

PROVIDER_NAME = "scripted"
DEFAULT_RUN_TIMEOUT_SECONDS = 90


def claimed_ports(gateway: DevGateway) -> range:
    """A gateway on port P also claims P+2..P+110: keep every other server out of this range."""
    return range(gateway.port, gateway.port + PORT_SPAN)


def scripted_model_patch(
    base_url: str,
    model_id: str,
    *,
    provider: str = PROVIDER_NAME,
    run_timeout_seconds: int = DEFAULT_RUN_TIMEOUT_SECONDS,
    provider_timeout_seconds: int = 30,
) -> dict[str, Any]:
    """The JSON merge patch (also usable as config-file content before start)."""
    return {
        "models": {
            "mode": "merge",
            "providers": {
                provider: {
                    "baseUrl": base_url,
                    "apiKey": "scripted-offline-key",
                    "api": "openai-completions",
                    "timeoutSeconds": provider_timeout_seconds,
                    "models": [
                        {
                            "id": model_id,
                            "name": "Scripted heartbeat model",
                            "reasoning": False,
                            "input": ["text"],
                            "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
                            "contextWindow": 128000,
                            "maxTokens": 4096,
                        }
                    ],
                }
            },
        },
        "agents": {
            "defaults": {
                "model": {"primary": f"{provider}/{model_id}"},
                "timeoutSeconds": run_timeout_seconds,
            }
        },
        "tools": {"exec": {"host": "gateway", "mode": "full"}},
    }


async def use_scripted_model(
    client: GatewayClient,
    base_url: str,
    model_id: str,
    *,
    provider: str = PROVIDER_NAME,
    run_timeout_seconds: int = DEFAULT_RUN_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """Applies the patch with ``config.patch`` (no restart needed); returns the resulting config
    as the gateway reports it."""
    patch = scripted_model_patch(
        base_url, model_id, provider=provider, run_timeout_seconds=run_timeout_seconds
    )
    await client.config_patch_fresh(patch, note="Mission Control e2e: scripted model")
    snapshot = await client.config_get()
    return snapshot.config
