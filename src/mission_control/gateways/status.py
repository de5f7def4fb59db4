"""Gateway status: connect, then report version, protocol, pairing and scopes, agents and
sessions. Reading status never writes, on the gateway or in the database
(docs/gateway.md#reads-never-write)."""

from __future__ import annotations

import asyncio
import uuid

from mission_control.access.service import require_admin
from mission_control.core.errors import RateLimited
from mission_control.core.redaction import Redactor
from mission_control.core.runtime import Runtime
from mission_control.gateway.client import GatewayClient
from mission_control.gateway.connection import (
    DEFAULT_SCOPES,
    ConnectionOptions,
    GatewayConnection,
    GatewayTarget,
)
from mission_control.gateway.errors import (
    GatewayError,
    GatewayMissingScope,
    GatewayPairingRequired,
    GatewayTimeout,
    GatewayUnreachable,
)
from mission_control.gateway.identity import DeviceIdentity
from mission_control.gateways.failures import gateway_failure, pairing_details
from mission_control.gateways.models import Gateway
from mission_control.gateways.schemas import (
    GatewayAgentEntry,
    GatewayProbe,
    GatewayStatusRead,
    PairingRead,
    ProblemRead,
)
from mission_control.gateways.sessions import SESSIONS_LIST_LIMIT, session_read
from mission_control.organizations.service import UserContext
from mission_control.provisioning.identities import gateway_main_agent_id, gateway_main_session_key
from mission_control.webhooks.service import TokenBuckets

STATUS_TIMEOUT_SECONDS = 15.0
# A request connects to a gateway for at most this long (issue 11: a silent gateway held
# requests for 157 s); the reconciler keeps trying in the background with its own timeouts.
REQUEST_CONNECT_SECONDS = 8.0
PROBE_OPTIONS = ConnectionOptions(connect_timeout=10.0, request_timeout=10.0)
# Probing makes the server connect to a URL an admin typed: a handful per minute per user.
PROBE_LIMITS = TokenBuckets(capacity=5.0, per_second=5.0 / 60.0)


def _device_id(runtime: Runtime) -> str | None:
    try:
        return DeviceIdentity.load_or_create(runtime.device_identity_path).device_id
    except (OSError, ValueError):
        return None


async def _pooled_client(
    runtime: Runtime, gateway: Gateway, target: GatewayTarget
) -> GatewayClient:
    """The shared client, waited for at most REQUEST_CONNECT_SECONDS."""
    try:
        async with asyncio.timeout(REQUEST_CONNECT_SECONDS):
            return await runtime.gateway_pool.client(target)
    except TimeoutError:
        raise GatewayTimeout(
            f"the gateway at {gateway.url} did not complete the connection within "
            f"{REQUEST_CONNECT_SECONDS:.0f} s (it accepts connections but does not answer: "
            "is it starting, overloaded, or behind a proxy whose backend is down?); queued "
            "work is applied by the reconciler once it answers"
        ) from None


def _failed(
    url: str, gateway_id: uuid.UUID | None, error: GatewayError, device_id: str | None
) -> GatewayStatusRead:
    problem = gateway_failure(error)
    if isinstance(error, GatewayPairingRequired):
        steps = pairing_details(error)
        pairing = PairingRead(
            state="approval_required",
            device_id=steps["device_id"] or device_id,
            request_id=steps["request_id"],
            approve_commands=steps["approve_commands"],
        )
    else:
        pairing = PairingRead(state="unknown", device_id=device_id)
    details = problem.details if isinstance(problem.details, dict) else None
    return GatewayStatusRead(
        connected=False,
        gateway_id=gateway_id,
        gateway_url=url,
        pairing=pairing,
        main_agent_gateway_id=gateway_main_agent_id(gateway_id) if gateway_id else None,
        error=ProblemRead(code=problem.code, message=problem.message, details=details),
    )


def _pairing(client: GatewayClient, device_id: str | None) -> PairingRead:
    granted = list(client.profile.scopes)
    missing = [scope for scope in DEFAULT_SCOPES if not client.profile.has_scope(scope)]
    return PairingRead(
        state="scope_upgrade_required" if missing else "approved",
        device_id=device_id,
        granted_scopes=granted,
        missing_scopes=missing,
        approve_commands=(
            ["openclaw devices list", "openclaw devices approve <requestId>"] if missing else []
        ),
    )


async def _report(
    client: GatewayClient, url: str, gateway_id: uuid.UUID | None, device_id: str | None
) -> GatewayStatusRead:
    profile = client.profile
    status = GatewayStatusRead(
        connected=True,
        gateway_id=gateway_id,
        gateway_url=url,
        server_version=profile.server_version,
        protocol=profile.protocol,
        pairing=_pairing(client, device_id),
    )
    # Agents and sessions are listed side by side, each within the budget: a gateway whose
    # session store is slow (an agent's turn holds it) still reports its agents.
    listed_task = asyncio.ensure_future(client.agents_list())
    sessions_task = asyncio.ensure_future(client.sessions_list(limit=SESSIONS_LIST_LIMIT))
    done, pending = await asyncio.wait((listed_task, sessions_task), timeout=STATUS_TIMEOUT_SECONDS)
    for task in pending:
        task.cancel()
    for task in done:
        error = task.exception()
        if isinstance(error, GatewayMissingScope):
            problem = gateway_failure(error)
            status.error = ProblemRead(code=problem.code, message=problem.message)
            return status
        if error is not None:
            raise error
    if listed_task in done:
        listed = listed_task.result()
        status.agents = [
            GatewayAgentEntry(id=a.id, name=a.name, workspace=a.workspace) for a in listed.agents
        ]
        status.agents_count = len(status.agents)
    if sessions_task in done:
        status.sessions = [session_read(row) for row in sessions_task.result().sessions]
        status.sessions_count = len(status.sessions)
    if pending:
        status.error = ProblemRead(
            code="gateway_timeout",
            message=f"The gateway at {url} connected but did not list its "
            + " and ".join(
                what
                for what, task in (("agents", listed_task), ("sessions", sessions_task))
                if task in pending
            )
            + f" within {STATUS_TIMEOUT_SECONDS:.0f} s; check its load and logs.",
        )
    if gateway_id is not None:
        main_id = gateway_main_agent_id(gateway_id)
        main_key = gateway_main_session_key(gateway_id)
        status.main_agent_gateway_id = main_id
        if listed_task in done:
            status.main_agent_present = listed_task.result().get(main_id) is not None
        status.main_session = next((s for s in status.sessions if s.key == main_key), None)
    return status


def _redacted(status: GatewayStatusRead, redactor: Redactor) -> GatewayStatusRead:
    """Session entries and messages come from the gateway: no token leaves through them."""
    status.sessions = [redactor.model(session) for session in status.sessions]
    if status.main_session is not None:
        status.main_session = redactor.model(status.main_session)
    if status.error is not None:
        status.error.message = redactor.text(status.error.message)
        status.error.details = redactor.value(status.error.details)
    return status


async def gateway_status(runtime: Runtime, gateway: Gateway) -> GatewayStatusRead:
    """Status of a registered gateway over the shared pooled connection."""
    target = runtime.gateway_target(gateway)
    return _redacted(
        await _gateway_status(runtime, gateway, target),
        Redactor([runtime.operator_token, target.token]),
    )


async def _gateway_status(
    runtime: Runtime, gateway: Gateway, target: GatewayTarget
) -> GatewayStatusRead:
    device_id = _device_id(runtime)
    try:
        client = await _pooled_client(runtime, gateway, target)
        if not client.connection.connected:
            # The shared connection dropped and is reconnecting: say so instead of waiting.
            raise GatewayUnreachable(
                f"the connection to the gateway at {gateway.url} dropped; Mission Control is "
                "reconnecting"
            )
        return await _report(client, gateway.url, gateway.id, device_id)
    except GatewayError as error:
        return _failed(gateway.url, gateway.id, error, device_id)


async def probe(runtime: Runtime, context: UserContext, data: GatewayProbe) -> GatewayStatusRead:
    """Connect once to a URL that is not registered (nothing is stored or pooled)."""
    require_admin(context)
    retry_after = PROBE_LIMITS.take(context.user.id)
    if retry_after is not None:
        raise RateLimited(
            "Too many gateway probes; wait before probing again.",
            details={"retry_after_seconds": max(1, round(retry_after + 0.5))},
        )
    target = GatewayTarget(
        url=data.url,
        token=data.token.get_secret_value() if data.token else "",
        identity_path=runtime.device_identity_path,
        allow_self_signed=data.allow_insecure_tls,
    )
    device_id = _device_id(runtime)
    redactor = Redactor([runtime.operator_token, target.token])
    connection = GatewayConnection(target, PROBE_OPTIONS)
    try:
        await connection.connect()
        return _redacted(
            await _report(GatewayClient(connection), data.url, None, device_id), redactor
        )
    except GatewayError as error:
        return _redacted(_failed(data.url, None, error, device_id), redactor)
    finally:
        await connection.close()
