"""Sends onboarding messages into the gateway-main agent's session, right away
(docs/onboarding.md#messages-to-the-agent).

The user is waiting in the console, so a message that cannot be delivered is a 502 that says
what to check, not a silent retry hours later (the notification outbox's job). Each message
carries an idempotency key derived from the onboarding and the message, so a retried request
never runs the agent twice. No database work happens here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mission_control.core import errors
from mission_control.core.logging import get_logger
from mission_control.core.runtime import Runtime
from mission_control.core.security import SecretBoxError
from mission_control.gateway import (
    AgentList,
    GatewayClient,
    GatewayError,
    GatewayPairingRequired,
    GatewayUnreachable,
)
from mission_control.gateway.delivery import DeliveryTimeout, Pooled, deliver_message, retry_gateway
from mission_control.gateways.models import Gateway
from mission_control.provisioning.identities import MAIN_SESSION_LABEL, gateway_main_agent_id

log = get_logger("mission_control.onboarding")

Operation = Literal["start", "answer"]
# The user waits in the console: transient errors are retried this long per gateway call.
DISPATCH_BUDGET_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Dispatch:
    operation: Operation
    session_key: str
    message: str
    idempotency_key: str
    trace_id: str


def _failure(operation: Operation, gateway: Gateway, reason: str, **details: object) -> Exception:
    return errors.GatewayUnavailable(
        f"Gateway onboarding {operation} dispatch failed: {reason}",
        code=f"onboarding_{operation}_failed",
        details={"gateway_id": str(gateway.id), "gateway_url": gateway.url, **details},
    )


def _timeout_reason(gateway: Gateway) -> str:
    return (
        f"the gateway did not answer within {DISPATCH_BUDGET_SECONDS:g} s. Check that "
        f"gateway {gateway.name} at {gateway.url} is running and not overloaded."
    )


def _reason(error: GatewayError, gateway: Gateway) -> str:
    if isinstance(error, DeliveryTimeout):
        if error.last_error is None:
            return _timeout_reason(gateway)
        return _reason(error.last_error, gateway)
    if isinstance(error, GatewayUnreachable):
        return (
            f"{error} Check that gateway {gateway.name} is running at {gateway.url} and "
            "reachable from Mission Control, then try again."
        )
    if isinstance(error, GatewayPairingRequired):
        return str(error)  # already names the approval commands to run on the gateway host
    return f"{error} (gateway error {error.code})."


async def _ensure_main_registered(source: Pooled, gateway: Gateway) -> None:
    # sessions.patch accepts keys of unknown agents and creates orphans (GATEWAY.md): check.
    async def listing(client: GatewayClient) -> AgentList:
        return await client.agents_list()

    agents = await retry_gateway(source, listing, budget_s=DISPATCH_BUDGET_SECONDS)
    if agents.get(gateway_main_agent_id(gateway.id)) is None:
        raise errors.Conflict(
            f"Gateway {gateway.name} does not run its main agent yet, so nobody can interview "
            "the user. Update the gateway in Mission Control (or wait for the reconciler to "
            "provision its main agent), then start onboarding again.",
            code="gateway_main_not_provisioned",
            details={"gateway_id": str(gateway.id)},
        )


async def _send(
    runtime: Runtime, gateway: Gateway, dispatch: Dispatch, *, check_main: bool
) -> None:
    source = Pooled(runtime.gateway_pool, runtime.gateway_target(gateway))
    try:
        if check_main:
            await _ensure_main_registered(source, gateway)
        await deliver_message(
            source,
            dispatch.session_key,
            dispatch.message,
            idempotency_key=dispatch.idempotency_key,
            deliver=False,
            label=MAIN_SESSION_LABEL,
            budget_s=DISPATCH_BUDGET_SECONDS,
        )
    except GatewayError as error:
        cause = error.last_error if isinstance(error, DeliveryTimeout) else None
        raise _failure(
            dispatch.operation,
            gateway,
            _reason(error, gateway),
            gateway_error=(cause or error).code,
            retryable=True if isinstance(error, DeliveryTimeout) else error.retryable,
        ) from error


async def send(
    runtime: Runtime, gateway: Gateway, dispatch: Dispatch, *, check_main: bool = False
) -> None:
    """Ensure the session (label ``Gateway Agent``) and ``chat.send`` with deliver=false.

    Raises ``GatewayUnavailable`` (502, code ``onboarding_<operation>_failed``) when the
    gateway cannot take the message, ``Conflict`` when its main agent is missing (with
    ``check_main``).
    """
    try:
        await _send(runtime, gateway, dispatch, check_main=check_main)
    except SecretBoxError as error:
        raise _failure(
            dispatch.operation,
            gateway,
            f"{error} Re-enter the gateway token in Mission Control.",
        ) from error
    log.info(
        "onboarding_dispatched",
        operation=dispatch.operation,
        trace_id=dispatch.trace_id,
        gateway_id=str(gateway.id),
    )
