"""The demo model as an OpenClaw model provider (E2E.md "Gateway configuration that worked"): a
custom OpenAI-compatible provider, that model as every agent's default, host shell execution
without approval prompts (the demo model's only tool call is a ``curl`` to Mission Control),
and a bounded run time. Usable as config-file content before a start or live via
``config.patch``."""

from __future__ import annotations

from typing import Any

from mission_control.gateway.client import GatewayClient

PROVIDER_NAME = "mc-demo"
DEMO_MODEL_ID = "scripted-heartbeat"
DEFAULT_RUN_TIMEOUT_SECONDS = 90


def demo_model_ref(provider: str = PROVIDER_NAME, model_id: str = DEMO_MODEL_ID) -> str:
    """How agents name the model: ``<provider>/<model id>``."""
    return f"{provider}/{model_id}"


def scripted_model_patch(
    base_url: str,
    model_id: str = DEMO_MODEL_ID,
    *,
    provider: str = PROVIDER_NAME,
    run_timeout_seconds: int = DEFAULT_RUN_TIMEOUT_SECONDS,
    provider_timeout_seconds: int = 30,
) -> dict[str, Any]:
    """The JSON merge patch that makes the scripted model every agent's default."""
    return {
        "models": {
            "mode": "merge",
            "providers": {
                provider: {
                    "baseUrl": base_url,
                    "apiKey": "demo-offline-key",
                    "api": "openai-completions",
                    "timeoutSeconds": provider_timeout_seconds,
                    "models": [
                        {
                            "id": model_id,
                            "name": "Mission Control demo model (scripted, offline)",
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
                "model": {"primary": demo_model_ref(provider, model_id)},
                "timeoutSeconds": run_timeout_seconds,
            }
        },
        "tools": {"exec": {"host": "gateway", "mode": "full"}},
    }


async def use_scripted_model(
    client: GatewayClient,
    base_url: str,
    model_id: str = DEMO_MODEL_ID,
    *,
    provider: str = PROVIDER_NAME,
    run_timeout_seconds: int = DEFAULT_RUN_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """Applies the patch with ``config.patch`` (no restart needed); returns the resulting config
    as the gateway reports it."""
    patch = scripted_model_patch(
        base_url, model_id, provider=provider, run_timeout_seconds=run_timeout_seconds
    )
    await client.config_patch_fresh(patch, note="Mission Control demo model")
    snapshot = await client.config_get()
    return snapshot.config
