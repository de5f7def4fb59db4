"""What an operator does to one agent from the console beyond the lifecycle API: wake it,
nudge it with a message, read the workspace files Mission Control wrote. Same access rules as
the API (org admins act; board readers read); the gateway call runs with no transaction open."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mission_control.access.service import require_admin
from mission_control.activity import service as activity
from mission_control.agents.lifecycle import visible_agent
from mission_control.agents.models import Agent
from mission_control.coordination import dispatch
from mission_control.core.errors import Conflict
from mission_control.core.runtime import Runtime
from mission_control.core.unit_of_work import after_commit, end_transaction
from mission_control.gateway.errors import GatewayError
from mission_control.gateways.failures import gateway_failure
from mission_control.gateways.models import Gateway
from mission_control.organizations.service import UserContext
from mission_control.provisioning.context import agent_ref
from mission_control.provisioning.identities import agent_session_key, gateway_agent_id
from mission_control.provisioning.tokens import read_auth_token


@dataclass(frozen=True, slots=True)
class WorkspaceFile:
    name: str
    content: str | None
    missing: bool


def _session_key(agent: Agent) -> str:
    return agent.openclaw_session_id or agent_session_key(agent_ref(agent))


async def _provisioned(
    session: AsyncSession, context: UserContext, agent_id: uuid.UUID
) -> tuple[Agent, Gateway]:
    require_admin(context)
    agent = await visible_agent(session, context, agent_id, write=True)
    if agent.agent_token_hash is None:
        raise Conflict(
            f"{agent.name} has not been provisioned yet; wait for provisioning or provision it "
            "again.",
            code="agent_not_provisioned",
        )
    gateway = await session.get(Gateway, agent.gateway_id)
    assert gateway is not None
    return agent, gateway


def wake_text(name: str) -> str:
    return (
        f"Hello {name}, an operator asks you to check in now: read AGENTS.md and call Mission "
        "Control's heartbeat endpoint as it describes. If something stops you, say what."
    )


async def send_to_agent(
    session: AsyncSession,
    runtime: Runtime,
    context: UserContext,
    agent_id: uuid.UUID,
    *,
    message: str,
    verb: str,
) -> None:
    """Delivers ``message`` into the agent's own session (``verb``: wake or nudge) once the
    request committed, and records ``agent.<verb>.sent``; a gateway failure is the API's
    gateway error with what to check."""
    agent, gateway = await _provisioned(session, context, agent_id)
    name, board_id, key = agent.name, agent.board_id, _session_key(agent)

    async def deliver() -> None:
        try:
            await dispatch.send(
                runtime,
                gateway,
                session_key=key,
                label=name,
                message=message,
                deliver=True,
                idempotency_key=f"mc-console-{verb}-{uuid.uuid4().hex}",
            )
        except GatewayError as error:
            raise gateway_failure(error, f"Gateway {verb} failed") from error
        async with runtime.database.unit_of_work() as outcome:
            activity.record(
                outcome,
                f"agent.{verb}.sent",
                f"{verb.capitalize()} sent to {name} by {context.user.name or 'an operator'}.",
                organization_id=context.organization.id,
                board_id=board_id,
                agent_id=agent_id,
                actor_user_id=context.user.id,
            )

    after_commit(session, deliver)


TOKEN_HIDDEN = "(hidden: the agent's token is shown only to the agent)"


def hide_token(content: str | None) -> str | None:
    """The file without the agent's token: tokens are never shown after they are minted."""
    if content is None:
        return None
    token = read_auth_token(content)
    return content.replace(token, TOKEN_HIDDEN) if token else content


async def workspace_files(
    session: AsyncSession, runtime: Runtime, context: UserContext, agent_id: uuid.UUID
) -> list[WorkspaceFile]:
    """The agent's workspace files as the gateway holds them (read only)."""
    agent = await visible_agent(session, context, agent_id, write=False)
    gateway = await session.get(Gateway, agent.gateway_id)
    assert gateway is not None
    ref = gateway_agent_id(agent_ref(agent))
    await end_transaction(session)
    try:
        client = await runtime.gateway_pool.client(runtime.gateway_target(gateway))
        listed = await client.files_list(ref)
        present = [entry.name for entry in listed if not entry.missing]
        stored = await asyncio.gather(*(client.files_get(ref, name) for name in present))
        contents = {item.name: hide_token(item.content) for item in stored}
        files = [
            WorkspaceFile(entry.name, contents.get(entry.name), entry.missing) for entry in listed
        ]
    except GatewayError as error:
        raise gateway_failure(error, "Reading the workspace failed") from error
    return files
